"""Faults of sweeps and their stores: a second writer, damaged stores, a full disk, designs too
large to start, outputs that would overwrite someone's files, bad scheduler addresses and bad
arguments of the public functions. Each fault ends with a store that ``analyze`` reads, holding
every run exactly once (after ``--resume`` where needed); each user error is one line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from experiments.analysis import analyze
from experiments.compare import compare, write_comparison
from experiments.design import load_design
from experiments.store import Store
from experiments.sweep import TooManyRunsError, rerun, sweep
from model import simulate
from model.errors import ScenarioError
from model.output import write_results
from tests.test_experiments_sweep import BIN, TINY, assert_same_tables, cohesion, free_port, write_design

TINY_RUNS = 24


def one_line(text: str) -> str:
    """The single line of a user error on stderr (fails on a traceback or more lines)."""
    assert "Traceback" not in text and "Exception ignored" not in text, text
    assert text.count("\n") == 1 and text.endswith("\n"), text
    return text.strip()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    """The tiny design (24 runs, series) swept serially in chunks of 6: (design file, store)."""
    folder = tmp_path_factory.mktemp("tiny")
    path = write_design(folder, TINY)
    sweep(path, folder / "reference", workers=1, chunk_size=6, progress=False)
    return path, folder / "reference"


def copy_store(store: Path, to: Path) -> Path:
    shutil.copytree(store, to)
    return to


def assert_every_run_once(store: Path, n_runs: int = TINY_RUNS) -> None:
    runs = Store(store).read("runs")
    assert runs["run_id"].tolist() == list(range(n_runs))
    written, _ = analyze(store)
    assert any(p.name == "report.txt" for p in written)


def resume(path: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return cohesion("sweep", str(path), "--out", str(out), "--resume", "--workers", "1", "-q", *extra)


# --------------------------------------------------------------------------- one writer at a time

HOLD_LOCK = """
import sys
from pathlib import Path
from experiments.store import Store
Store(Path(sys.argv[1])).lock()
print("locked", flush=True)
sys.stdin.read()
"""


def hold_lock(store: Path) -> subprocess.Popen:
    """A live process holding the store's write lock until its stdin closes."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(store)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_store_locked_by_a_live_process_is_refused_in_one_line(tiny, tmp_path):
    path, reference = tiny
    out = copy_store(reference, tmp_path / "store")
    next((out / "runs").glob("part-*")).unlink()  # a few runs left to do
    holder = hold_lock(out)
    try:
        refused = resume(path, out)
        assert refused.returncode == 2
        message = one_line(refused.stderr)
        assert "another sweep is writing this store" in message and f"pid {holder.pid}" in message
        with pytest.raises(ScenarioError, match="another sweep is writing"):
            sweep(path, out, resume=True, workers=1, progress=False)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    done = resume(path, out)
    assert done.returncode == 0, done.stderr
    assert_same_tables(reference, out)
    assert_every_run_once(out)


def test_a_stale_lock_of_a_killed_process_does_not_block_resume(tiny, tmp_path):
    path, reference = tiny
    out = copy_store(reference, tmp_path / "store")
    for part in sorted((out / "runs").glob("part-*"))[1:]:
        part.unlink()
    holder = hold_lock(out)
    holder.kill()  # SIGKILL: no clean-up; the kernel releases the lock
    holder.wait(timeout=30)
    assert json.loads((out / ".lock").read_text())["pid"] == holder.pid  # the file stays
    done = resume(path, out)
    assert done.returncode == 0, done.stderr
    assert "18 runs" in done.stdout and "6 were already stored" in done.stdout
    assert_same_tables(reference, out)
    assert_every_run_once(out)


CONCURRENT = {**TINY, "name": "concurrent", "quarters": 40, "replications": 40}  # 240 runs, ~3 s


def test_two_resumes_at_once_leave_every_run_exactly_once(tmp_path):
    path = write_design(tmp_path, CONCURRENT)
    reference = tmp_path / "reference"
    sweep(path, reference, workers=1, chunk_size=10, progress=False)
    out = copy_store(reference, tmp_path / "store")
    for part in sorted((out / "runs").glob("part-*"))[2:]:
        part.unlink()  # as if killed after two chunks
    command = [
        str(BIN / "cohesion"),
        "sweep",
        str(path),
        "--out",
        str(out),
        "--resume",
        "--workers",
        "1",
        "-q",
    ]
    first, second = (
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    )
    results = [(p.wait(timeout=120), *p.communicate()) for p in (first, second)]
    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, 2]), results
    for code, _, err in results:
        if code == 2:
            assert "another sweep is writing this store" in one_line(err)
    assert_same_tables(reference, out)
    assert_every_run_once(out, 240)
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


# --------------------------------------------------------------------------- damaged stores


def empty_manifest(out: Path, other: Path) -> str:
    (out / "manifest.json").write_text("{}\n")
    return "manifest.json"


def manifest_not_json(out: Path, other: Path) -> str:
    (out / "manifest.json").write_text('{"kind": "alliance-cohesion sw')
    return "manifest.json"


def duplicated_part(out: Path, other: Path) -> str:
    shutil.copy(
        out / "runs" / "part-000000000-000000005.parquet", out / "runs" / "part-000000000-000000007.parquet"
    )
    return "runs/part-000000000-000000007.parquet"


def duplicated_part_without_ledger(out: Path, other: Path) -> str:
    """A store from before ledgers, written by two sweeps at once (the same runs twice)."""
    (out / "ledger.jsonl").unlink()
    shutil.copy(
        out / "runs" / "part-000000006-000000011.parquet", out / "runs" / "part-000000006-000000013.parquet"
    )
    return "runs/part-000000006-000000013.parquet"


def foreign_part(out: Path, other: Path) -> str:
    shutil.copy(other / "runs" / "part-000000000-000000003.parquet", out / "runs")
    return "runs/part-000000000-000000003.parquet"


def foreign_part_in_place(out: Path, other: Path) -> str:
    """Another design's part under the name of one of ours (ours lost)."""
    shutil.copy(other / "runs" / "part-000000006-000000011.parquet", out / "runs")
    return "runs/part-000000006-000000011.parquet"


def truncated_part(out: Path, other: Path) -> str:
    part = out / "runs" / "part-000000012-000000017.parquet"
    with part.open("r+b") as handle:
        handle.truncate(part.stat().st_size // 2)
    return "runs/part-000000012-000000017.parquet"


def truncated_series_part(out: Path, other: Path) -> str:
    part = out / "series" / "part-000000018-000000023.parquet"
    with part.open("r+b") as handle:
        handle.truncate(100)
    return "series/part-000000018-000000023.parquet"


@pytest.fixture(scope="module")
def other_design(tiny, tmp_path_factory) -> Path:
    """A store of another design (another seed) in the same chunking."""
    folder = tmp_path_factory.mktemp("other")
    path = write_design(folder, {**TINY, "seed": 43})
    out = folder / "store"
    sweep(path, out, workers=1, chunk_size=6, progress=False)
    shutil.copy(
        out / "runs" / "part-000000000-000000005.parquet", out / "runs" / "part-000000000-000000003.parquet"
    )
    return out


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (empty_manifest, "manifest.json is empty; rebuilt it from the design"),
        (manifest_not_json, "manifest.json cannot be read"),
        (duplicated_part, "not in the store's ledger"),
        (duplicated_part_without_ledger, "is already in runs/part-000000006-000000011.parquet"),
        (foreign_part, "written by another design"),
        (foreign_part_in_place, "written by another design"),
        (truncated_part, "checksum differs"),
        (truncated_series_part, "checksum differs"),
    ],
)
def test_a_damaged_store_is_refused_by_analyze_and_repaired_by_resume(
    tiny, other_design, tmp_path, damage, said
):
    path, reference = tiny
    out = copy_store(reference, tmp_path / "store")
    name = damage(out, other_design)
    original = (out / name).read_bytes()

    refused = cohesion("analyze", str(out), "-q")
    assert refused.returncode == 2
    assert "resume the sweep" in one_line(refused.stderr)
    with pytest.raises(ScenarioError, match="resume the sweep"):
        analyze(out)

    done = resume(path, out)
    assert done.returncode == 0, done.stderr
    assert said in one_line(done.stderr)
    assert "quarantine/" in done.stderr
    assert_same_tables(reference, out)
    assert_every_run_once(out)
    kept = list((out / "quarantine").glob(f"*/{name}"))
    assert len(kept) == 1 and kept[0].read_bytes() == original  # moved aside, never deleted
    again = resume(path, out)
    assert again.returncode == 0 and again.stderr == ""  # repaired once, sound since
    assert "nothing to run" in again.stdout


def _ledger_folder(store: Path) -> None:
    (store / "ledger.jsonl").unlink()
    (store / "ledger.jsonl").mkdir()


def _runs_file(store: Path) -> None:
    shutil.rmtree(store / "runs")
    (store / "runs").write_text("x")


def _deep_manifest(store: Path) -> None:
    (store / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)


def _manifest_folder(store: Path) -> None:
    (store / "manifest.json").unlink()
    (store / "manifest.json").mkdir()


def _manifest_fifo(store: Path) -> None:
    (store / "manifest.json").unlink()
    os.mkfifo(store / "manifest.json")


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (_ledger_folder, "ledger.jsonl: is a folder"),
        (_runs_file, "runs (not a folder)"),
        (_deep_manifest, "RecursionError"),
        (_manifest_folder, "manifest.json: is a folder"),
        (_manifest_fifo, "manifest.json: is not a regular file"),
    ],
)
def test_a_store_with_odd_files_is_refused_by_analyze_and_repaired_by_resume(
    tiny, tmp_path, damage, fragment
):
    path, reference = tiny
    store = copy_store(reference, tmp_path / "store")
    damage(store)
    refused = cohesion("analyze", str(store), "--out", str(tmp_path / "a"), "-q", timeout=20)
    assert refused.returncode == 2
    assert fragment in one_line(refused.stderr)
    assert not (tmp_path / "a").exists()
    repaired = resume(path, store)
    assert repaired.returncode == 0, repaired.stderr
    assert "quarantine/" in repaired.stderr
    assert_every_run_once(store)


def test_a_lock_that_is_not_a_file_is_refused_in_one_line(tiny, tmp_path):
    path, reference = tiny
    store = copy_store(reference, tmp_path / "store")
    (store / ".lock").unlink(missing_ok=True)
    (store / ".lock").mkdir()
    refused = resume(path, store)
    assert refused.returncode == 2
    assert ".lock: cannot be used as the store's lock file" in one_line(refused.stderr)
    (store / ".lock").rmdir()
    os.symlink(tmp_path / "elsewhere", store / ".lock")  # never written through
    assert resume(path, store).returncode == 2
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("where", ["file", "proc"])
def test_a_store_where_none_can_be_is_one_line(tiny, tmp_path, where):
    path, _ = tiny
    out = tmp_path / "a_file" if where == "file" else Path("/proc/no_store_here")
    if where == "file":
        out.write_text("mine")
    done = cohesion("sweep", str(path), "--out", str(out), "--workers", "1", "-q")
    assert done.returncode == 2
    one_line(done.stderr)
    if where == "file":
        assert out.read_text() == "mine"


def test_a_part_copied_from_another_store_of_the_same_design_is_a_duplicate(tiny, tmp_path):
    path, reference = tiny
    twin = tmp_path / "twin"
    sweep(path, twin, workers=1, chunk_size=4, progress=False)
    out = copy_store(reference, tmp_path / "store")
    shutil.copy(twin / "runs" / "part-000000004-000000007.parquet", out / "runs")
    with pytest.raises(ScenarioError, match="not in the store's ledger"):
        analyze(out)
    done = resume(path, out)
    assert done.returncode == 0 and "moved 1 file" in done.stderr
    assert_every_run_once(out)


def test_a_store_of_another_design_with_a_damaged_manifest_is_refused(tiny, other_design, tmp_path):
    path, _ = tiny
    out = copy_store(other_design, tmp_path / "store")
    (out / "manifest.json").write_text("{}")
    refused = resume(path, out)
    assert refused.returncode == 2
    assert "ledger names parts of another design" in one_line(refused.stderr)
    assert (out / "manifest.json").read_text() == "{}"  # left as found


def test_a_folder_with_someone_elses_manifest_is_not_taken_for_a_store(tiny, tmp_path):
    path, _ = tiny
    out = tmp_path / "theirs"
    out.mkdir()
    (out / "manifest.json").write_text('{"mine": true}')
    for extra in ((), ("--resume",)):
        refused = cohesion("sweep", str(path), "--out", str(out), "-q", *extra)
        assert refused.returncode == 2
        assert "holds a manifest.json that" in one_line(refused.stderr)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]  # not even a lock file
    assert (out / "manifest.json").read_text() == '{"mine": true}'


def test_a_folder_of_other_files_is_refused_and_left_as_it_was(tiny, tmp_path):
    path, _ = tiny
    out = tmp_path / "notes"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    for extra in ((), ("--resume",)):
        refused = cohesion("sweep", str(path), "--out", str(out), "-q", *extra)
        assert refused.returncode == 2
        assert "folder is not empty (notes.txt, ...) and holds no sweep" in one_line(refused.stderr)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "mine"


# --------------------------------------------------------------------------- a full disk

FULL_DISK = """
import errno
import sys

from experiments.store import Store

after, manifest_too = int(sys.argv[1]), sys.argv[2] == "1"
write_part, write_manifest = Store.write_part, Store.write_manifest
calls = [0]


def write_part_until_full(self, name, frame):
    calls[0] += 1
    if calls[0] > after:
        raise OSError(errno.ENOSPC, "No space left on device", str(self.root / name))
    return write_part(self, name, frame)


def write_manifest_until_full(self, manifest):
    if manifest_too and calls[0] > after:
        raise OSError(errno.ENOSPC, "No space left on device", str(self.manifest_path))
    return write_manifest(self, manifest)


Store.write_part, Store.write_manifest = write_part_until_full, write_manifest_until_full
from model.cli import main

sys.exit(main(sys.argv[3:]))
"""


@pytest.mark.parametrize(("manifest_too", "status"), [(False, "interrupted"), (True, "running")])
def test_a_full_disk_stops_in_one_line_with_the_resume_hint(tiny, tmp_path, manifest_too, status):
    path, reference = tiny
    out = tmp_path / "store"
    sweep_args = ["sweep", str(path), "--out", str(out), "--workers", "1", "--chunk-size", "2", "-q"]
    full = subprocess.run(
        [sys.executable, "-c", FULL_DISK, "5", "1" if manifest_too else "0", *sweep_args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert full.returncode == 1
    message = one_line(full.stderr)
    assert "No space left on device" in message and "free some space" in message
    assert f"cohesion sweep {path} --out {out} --resume --workers 1 --chunk-size 2 -q" in message
    assert json.loads((out / "manifest.json").read_text())["status"] == status
    assert 0 < len(Store(out).done_ids()) < TINY_RUNS
    done = resume(path, out)
    assert done.returncode == 0, done.stderr
    assert_same_tables(reference, out)
    assert_every_run_once(out)


@pytest.mark.parametrize(
    "flags",
    [[], ["--yes"], ["--max-runs", "5"], ["--workers", "2", "--chunk-size", "3", "-q"],
     ["--scheduler", "tcp://127.0.0.1:8786"]],
)  # fmt: skip
def test_the_resume_hint_runs_the_sweep_as_it_ran(flags, tmp_path):
    """The printed command parses to the same sweep, with --resume (a big design keeps --yes)."""
    import argparse
    import shlex

    from experiments.cli import register_sweep, resume_command

    parser = argparse.ArgumentParser()
    register_sweep(parser.add_subparsers())
    given = parser.parse_args(["sweep", "my design.yaml", "--out", str(tmp_path / "s"), *flags])
    hint = shlex.split(resume_command(given, tmp_path / "s"))
    assert hint[:2] == ["cohesion", "sweep"]
    again = parser.parse_args(hint[1:])
    assert again.resume and not given.resume
    assert {**vars(again), "resume": False} == vars(given)


# --------------------------------------------------------------------------- design size


def grid(tmp_path: Path, name: str, nums: list[int]) -> Path:
    paths = ["powers.russia.pressure", "powers.china.engagement", "powers.west.engagement"]
    data = {
        "name": name,
        "description": "A large grid.",
        "factors": {p: {"min": 0.0, "max": 1.0, "num": n} for p, n in zip(paths, nums, strict=False)},
        "seed": 1,
    }
    return write_design(tmp_path, data, f"{name}.yaml")


def test_a_design_above_a_million_runs_is_refused_unless_allowed(tmp_path):
    path = grid(tmp_path, "big", [1001, 1000])  # 1,001,000 runs
    out = tmp_path / "out"
    refused = cohesion("sweep", str(path), "--out", str(out))
    assert refused.returncode == 2
    message = one_line(refused.stderr)
    assert "1,001,000 runs" in message and "about" in message and " min on " in message
    assert "more than the 1,000,000 runs allowed" in message and "--yes" in message
    assert not out.exists()
    capped = cohesion("sweep", str(path), "--out", str(out), "--max-runs", "1000")
    assert capped.returncode == 2 and "more than the 1,000 runs allowed" in one_line(capped.stderr)
    design = load_design(path)
    with pytest.raises(TooManyRunsError) as info:
        sweep(design, out, workers=1, progress=False)
    assert "--" not in str(info.value) and "max_runs" in str(info.value)
    assert "_points" not in design.__dict__  # sized from its arithmetic: no sample was drawn
    assert not out.exists()


@pytest.mark.parametrize("nums", [[100_000, 100_000], [100_000, 100_000, 100_000]])
def test_a_design_that_cannot_fit_in_memory_is_refused_even_with_yes(tmp_path, nums):
    path = grid(tmp_path, "huge", nums)  # 10^10 and 10^15 runs
    out = tmp_path / "out"
    refused = cohesion("sweep", str(path), "--out", str(out), "--yes")
    assert refused.returncode == 2
    assert "GiB of memory" in one_line(refused.stderr)
    assert not out.exists()


def test_max_runs_allows_a_design_up_to_its_size_and_the_plan_is_printed(tiny, tmp_path):
    path, reference = tiny
    with pytest.raises(TooManyRunsError, match="24 runs"):
        sweep(path, tmp_path / "refused", workers=1, max_runs=23, progress=False)
    done = cohesion("sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "1", "--max-runs", "24")
    assert done.returncode == 0, done.stderr
    assert "tiny_sweep: 24 of 24 runs to run on serial, about " in done.stderr
    assert_same_tables(reference, tmp_path / "out")


# --------------------------------------------------------------------------- never overwrite


@pytest.fixture(scope="module")
def run_results():
    return simulate("baseline", seed=1, steps=2)


def test_a_run_refuses_a_sweep_store_and_someone_elses_manifest(tiny, tmp_path, run_results):
    _, reference = tiny
    store = copy_store(reference, tmp_path / "store")
    before = (store / "manifest.json").read_bytes()
    refused = cohesion("run", "baseline", "--steps", "2", "--out", str(store), "-q")
    assert refused.returncode == 2
    assert "of kind 'alliance-cohesion sweep'" in one_line(refused.stderr)
    assert (store / "manifest.json").read_bytes() == before
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "manifest.json").write_text('{"my": "notes"}')
    with pytest.raises(ScenarioError, match="not a run's"):
        write_results(run_results, theirs)
    assert sorted(p.name for p in theirs.iterdir()) == ["manifest.json"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "model.parquet").write_bytes(b"mine")
    with pytest.raises(ScenarioError, match="holds no run's output"):
        write_results(run_results, other)
    assert (other / "model.parquet").read_bytes() == b"mine"


def test_a_run_replaces_its_own_earlier_output_and_nothing_else(tmp_path, run_results):
    out = tmp_path / "run"
    first = write_results(run_results, out)
    assert json.loads((out / "manifest.json").read_text())["kind"] == "alliance-cohesion run"
    (out / "notes.txt").write_text("mine")
    again = write_results(run_results, out)
    assert [p.name for p in again] == [p.name for p in first]
    assert (out / "notes.txt").read_text() == "mine"
    legacy = json.loads((out / "manifest.json").read_text())
    del legacy["kind"]  # a run written before manifests had a kind
    (out / "manifest.json").write_text(json.dumps(legacy))
    write_results(run_results, out)


def test_analyze_refuses_a_folder_of_other_files_and_deletes_nothing(tiny, tmp_path):
    _, reference = tiny
    store = copy_store(reference, tmp_path / "store")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    for name in ("summary.csv", "figure.png", "report.txt"):
        (theirs / name).write_text("mine")
    refused = cohesion("analyze", str(store), "--out", str(theirs), "-q")
    assert refused.returncode == 2
    assert "no .cohesion-analysis" in one_line(refused.stderr)
    assert sorted(p.name for p in theirs.iterdir()) == ["figure.png", "report.txt", "summary.csv"]
    assert all((theirs / n).read_text() == "mine" for n in ("summary.csv", "figure.png", "report.txt"))


def test_analyze_again_replaces_only_its_own_files(tiny, tmp_path):
    _, reference = tiny
    store = copy_store(reference, tmp_path / "store")
    out = tmp_path / "analysis"
    first, _ = analyze(store, out=out, measures=["cohesion", "cohesion_csto"])
    listed = json.loads((out / ".cohesion-analysis").read_text())["files"]
    assert sorted(listed) == sorted(p.name for p in first)
    (out / "my_notes.csv").write_text("mine")
    second, _ = analyze(store, out=out, measures=["cohesion"])
    assert not (out / "heatmap_cohesion_csto.png").exists()  # the earlier analysis's, not redrawn
    assert (out / "my_notes.csv").read_text() == "mine"
    assert sorted(json.loads((out / ".cohesion-analysis").read_text())["files"]) == sorted(
        p.name for p in second
    )
    (out / "my_notes.csv").unlink()
    (out / "summary.csv").write_text("mine now")  # listed, but edited since: no longer the analysis's
    with pytest.raises(ScenarioError, match=r"summary\.csv: was not written by cohesion analyze"):
        analyze(store, out=out)
    assert (out / "summary.csv").read_text() == "mine now"
    (out / "summary.csv").unlink()
    analyze(store, out=out)


@pytest.mark.parametrize(
    ("files", "refused"),
    [
        ({"notes.txt": "0" * 64, "..": None, "a/b": None, "": None}, None),  # not its checksum
        ({"notes.txt": None}, None),  # no checksum
        ({"report.txt": None}, "report.txt: was not written by cohesion analyze"),  # a name it writes
        ({"report.txt": "0" * 64}, "report.txt: was not written by cohesion analyze"),
        (["notes.txt", "report.txt"], "lists files without checksums (written by alliance-cohesion 0.1)"),
    ],
)
def test_a_forged_marker_deletes_or_replaces_nothing(tiny, tmp_path, files, refused):
    _, reference = tiny
    store = copy_store(reference, tmp_path / "store")
    out = tmp_path / "analysis"
    out.mkdir()
    mine = {"notes.txt": "my notes", "report.txt": "my report"}
    for name, text in mine.items():
        (out / name).write_text(text)
    (out / ".cohesion-analysis").write_text(json.dumps({"files": files}))
    done = cohesion("analyze", str(store), "--out", str(out), "-q")
    if refused:
        assert done.returncode == 2
        assert refused in one_line(done.stderr)
    else:
        assert done.returncode == 2  # its report.txt would replace mine: refused, as for any folder
        assert "report.txt: was not written by cohesion analyze" in one_line(done.stderr)
        (out / "report.txt").unlink()
        mine.pop("report.txt")
        done = cohesion("analyze", str(store), "--out", str(out), "-q")
        assert done.returncode == 0, done.stderr
        listed = json.loads((out / ".cohesion-analysis").read_text())["files"]
        assert "notes.txt" not in listed and "report.txt" in listed
    for name, text in mine.items():
        assert (out / name).read_text() == text, name


def test_an_interrupted_analysis_is_recognised_when_run_again(tiny, tmp_path, monkeypatch):
    """Every file written before the interruption carries its checksum in the marker."""
    import experiments.analysis as analysis

    _, reference = tiny
    store = copy_store(reference, tmp_path / "store")
    out = tmp_path / "analysis"
    analyze(store, out=out)
    calls = {"n": 0}
    real = analysis._save

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(analysis, "_save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        analyze(store, out=out, measures=["cohesion"])
    monkeypatch.setattr(analysis, "_save", real)
    written, _ = analyze(store, out=out)  # every file is still the analysis's own
    assert {p.name for p in written} <= set(json.loads((out / ".cohesion-analysis").read_text())["files"])


def test_a_comparison_refuses_a_folder_of_other_files(tmp_path):
    result = compare("baseline", "baseline", reps=2, steps=1, workers=1)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "compare.csv").write_text("mine")
    with pytest.raises(ScenarioError, match=r"no \.cohesion-compare"):
        write_comparison(result, theirs)
    assert (theirs / "compare.csv").read_text() == "mine"
    out = tmp_path / "out"
    assert len(write_comparison(result, out)) == 3
    assert len(write_comparison(result, out)) == 3  # its own earlier output is replaced


# --------------------------------------------------------------------------- scheduler addresses


@pytest.mark.parametrize(
    "address", ["not a url", "tcp://", "tcp://host", "http://127.0.0.1:8786", "tcp://h:0"]
)
def test_a_malformed_scheduler_address_is_refused_at_once(tiny, tmp_path, address):
    path, _ = tiny
    with pytest.raises(ScenarioError, match="is not a scheduler address; allowed tcp://host:port"):
        sweep(path, tmp_path / "out", scheduler=address, progress=False)
    assert not (tmp_path / "out").exists()


def test_a_bad_or_unreachable_scheduler_is_one_line_on_the_command_line(tiny, tmp_path):
    path, _ = tiny
    start = time.monotonic()
    bad = cohesion("sweep", str(path), "--scheduler", "not a url", "--out", str(tmp_path / "a"))
    assert bad.returncode == 2 and "not a scheduler address" in one_line(bad.stderr)
    assert time.monotonic() - start < 15
    start = time.monotonic()
    address = f"tcp://127.0.0.1:{free_port()}"
    lost = cohesion("sweep", str(path), "--scheduler", address, "--out", str(tmp_path / "b"))
    assert lost.returncode == 2 and "cannot reach a Dask scheduler there" in one_line(lost.stderr)
    assert time.monotonic() - start < 20
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# --------------------------------------------------------------------------- public arguments


def test_sweep_accepts_a_design_path_or_name_string(tiny, tmp_path):
    path, reference = tiny
    report = sweep(str(path), str(tmp_path / "out"), workers=1, progress=False)
    assert report.ran == TINY_RUNS
    assert_same_tables(reference, tmp_path / "out")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p, o: sweep(p, o, workers=0), "workers: 0 is out of range; allowed 1 or more"),
        (lambda p, o: sweep(p, o, workers=-2), "workers: -2 is out of range; allowed 1 or more"),
        (lambda p, o: sweep(p, o, workers=1.5), "workers: 1.5 is not a whole number"),
        (lambda p, o: sweep(p, o, workers=True), "workers: True is not a whole number"),
        (lambda p, o: sweep(p, o, chunk_size=0), "chunk_size: 0 is out of range; allowed 1 or more"),
        (lambda p, o: sweep(p, o, max_runs=0), "max_runs: 0 is out of range; allowed 1 or more"),
        (lambda p, o: sweep(p, o, resume="yes"), "resume: 'yes' is not true or false"),
        (lambda p, o: sweep(p, o, retry_failed=True), "retry_failed: .* needs resume"),
        (lambda p, o: sweep(p, o, workers=2, scheduler="tcp://127.0.0.1:1"), "give one or the other"),
        (lambda p, o: sweep(5, o), "design: 5 is not a design; allowed a design name"),
        (lambda p, o: sweep(p, None), "out: None is not a folder"),
        (lambda p, o: sweep(p, ""), "out: '' is not a folder"),
        (lambda p, o: sweep("no_such_design", o), "no_such_design"),
        (lambda p, o: load_design(5), "design: 5 is not a design"),
        (lambda p, o: analyze(o, measures="cohesion"), "measures: 'cohesion' is not a list"),
        (lambda p, o: analyze(7), "root: 7 is not a folder"),
        (lambda p, o: compare("baseline", "baseline", reps=1), "reps: 1 is out of range; allowed 2 or more"),
        (lambda p, o: compare("baseline", "baseline", workers=0), "workers: 0 is out of range"),
        (lambda p, o: compare("baseline", 3), "scenario_b: 3 is not a scenario"),
        (lambda p, o: compare("baseline", "baseline", steps=0), "steps: 0 is out of range"),
        (lambda p, o: sweep(p, o, workers=10**5), "workers: 100,000 is more than this machine can use"),
        (lambda p, o: compare("baseline", "baseline", workers=10**5), "workers: 100,000 is more than"),
        (lambda p, o: compare("baseline", "baseline", reps=10**10), "reps: 10,000,000,000 is out of range"),
        (
            lambda p, o: compare("baseline", "baseline", measures=["cohesion"] * 2),
            "'cohesion' is listed twice",
        ),
        (lambda p, o: analyze(o, measures=["cohesion", "cohesion"]), "'cohesion' is listed twice"),
        (lambda p, o: rerun(o, 0), r"not a sweep store \(no such folder\)"),
        (lambda p, o: rerun(o, -1), "run_id: -1 is out of range"),
    ],
)
def test_public_functions_check_their_arguments_in_one_line(tiny, tmp_path, call, message):
    path, _ = tiny
    out = tmp_path / "out"
    with pytest.raises(ScenarioError, match=message) as info:
        call(path, out)
    text = str(info.value)
    assert "\n" not in text and "--" not in text  # library messages name arguments, not flags
    assert not out.exists()


def test_resume_keeps_runs_of_a_store_whose_series_part_lost_its_runs_part(tiny, tmp_path):
    path, reference = tiny
    out = copy_store(reference, tmp_path / "store")
    (out / "runs" / "part-000000006-000000011.parquet").unlink()  # killed between series and runs
    done = resume(path, out)
    assert done.returncode == 0 and done.stderr == ""
    assert_same_tables(reference, out)
    ledger = [json.loads(line) for line in (out / "ledger.jsonl").read_text().splitlines()]
    for name in Store(out).files():
        entry = [e for e in ledger if e["name"] == name][-1]
        assert entry["rows"] == pq.read_metadata(out / name).num_rows


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX")
def test_a_killed_sweep_leaves_no_lock_held(tmp_path):
    data = {**TINY, "name": "killed", "quarters": 40, "replications": 40}
    slow = write_design(tmp_path, data, "killed.yaml")
    out = tmp_path / "store"
    process = subprocess.Popen(
        [
            str(BIN / "cohesion"),
            "sweep",
            str(slow),
            "--out",
            str(out),
            "--workers",
            "1",
            "--chunk-size",
            "4",
            "-q",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not (out / "runs").is_dir() or len(list((out / "runs").glob("part-*"))) < 2:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    assert Store(out).writer() is not None and f"pid {process.pid}" in Store(out).writer()
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert Store(out).writer() is None
    done = resume(slow, out)
    assert done.returncode == 0, done.stderr
    assert_every_run_once(out, 240)


# --------------------------------------------------------------------------- optional packages

WITHOUT = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None  # an import of it now fails as if it were not installed
from model.cli import main
sys.exit(main(sys.argv[2:]))
"""

MORRIS = {
    "name": "tiny_morris",
    "description": "Two factors screened with two trajectories.",
    "scenario": "baseline",
    "sampler": {"method": "morris", "trajectories": 2, "levels": 4},
    "factors": {
        "powers.russia.pressure": {"min": 0.2, "max": 0.8},
        "states.KAZ.hedging": {"min": 0.2, "max": 0.8},
    },
    "replications": 1,
    "quarters": 2,
    "seed": 3,
}


def without(modules: str, *args: str) -> subprocess.CompletedProcess:
    """``cohesion ARGS`` in a process where ``modules`` cannot be imported."""
    return subprocess.run(
        [sys.executable, "-c", WITHOUT, modules, *args], capture_output=True, text=True, timeout=120
    )


def test_a_sampler_without_salib_is_one_line_naming_the_extra_and_writes_nothing(tmp_path):
    path = write_design(tmp_path, MORRIS)
    done = without("SALib", "sweep", str(path), "--out", str(tmp_path / "store"), "-q")
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "SALib" in line and "alliance-cohesion[experiments]" in line
    assert not (tmp_path / "store").exists()


def test_an_analysis_without_salib_is_one_line_and_writes_nothing(tmp_path):
    path = write_design(tmp_path, MORRIS)
    sweep(path, tmp_path / "store", workers=1, progress=False)
    done = without("SALib", "analyze", str(tmp_path / "store"), "--out", str(tmp_path / "analysis"))
    assert done.returncode == 2
    assert "alliance-cohesion[experiments]" in one_line(done.stderr)
    assert not (tmp_path / "analysis").exists()


def test_a_cluster_without_dask_is_one_line_naming_the_extra(tiny, tmp_path):
    path, _ = tiny
    done = without(
        "distributed",
        "sweep",
        str(path),
        "--out",
        str(tmp_path / "s"),
        "--scheduler",
        "tcp://127.0.0.1:9",
        "-q",
    )
    assert done.returncode == 2
    assert "alliance-cohesion[experiments]" in one_line(done.stderr)
    assert not (tmp_path / "s").exists()


def test_a_missing_experiments_layer_is_one_line(tmp_path):
    done = without("experiments.cli", "sweep", "--out", str(tmp_path / "s"), "pressure_vs_engagement")
    assert done.returncode == 2
    assert "alliance-cohesion[experiments]" in one_line(done.stderr)


def test_a_ledger_line_nested_deep_is_skipped_as_a_cut_line(tiny, tmp_path):
    _, reference = tiny
    store = copy_store(reference, tmp_path / "store")
    with (store / "ledger.jsonl").open("a") as ledger:
        ledger.write("[" * 100_000 + "]" * 100_000 + "\n")
    done = cohesion("analyze", str(store), "--out", str(tmp_path / "a"), "-q")
    assert done.returncode == 0, done.stderr
    assert_every_run_once(store)


@pytest.mark.parametrize("manifest", ["[" * 100_000 + "]" * 100_000, "fifo"])
def test_a_run_folder_whose_manifest_is_odd_is_refused_in_one_line(tmp_path, manifest):
    out = tmp_path / "out"
    out.mkdir()
    if manifest == "fifo":
        os.mkfifo(out / "manifest.json")
    else:
        (out / "manifest.json").write_text(manifest)
    done = cohesion("run", "baseline", "--steps", "1", "--out", str(out), timeout=30)
    assert done.returncode == 2
    assert "choose a new or empty folder" in one_line(done.stderr)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]


def _hand_edited_design(store: Path) -> None:
    manifest = json.loads((store / "manifest.json").read_text())
    manifest["design"]["outputs"]["measures"] = ["nope"]
    (store / "manifest.json").write_text(json.dumps(manifest))


def _truncated_part(store: Path) -> None:
    part = sorted((store / "runs").glob("part-*.parquet"))[0]
    with part.open("r+b") as handle:
        handle.truncate(100)


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (_hand_edited_design, "does not match its design_hash"),
        (_truncated_part, "checksum differs from the ledger's"),
    ],
)
def test_rerun_and_analyze_refuse_a_damaged_store_in_one_line(tiny, tmp_path, damage, fragment):
    _, reference = tiny
    store = copy_store(reference, tmp_path / "store")
    damage(store)
    for args in (("rerun", str(store), "0", "--out", str(tmp_path / "r")), ("analyze", str(store), "-q")):
        done = cohesion(*args)
        assert done.returncode == 2, done.stderr
        assert fragment in one_line(done.stderr)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("table", ["runs", "series"])
def test_a_table_linked_elsewhere_is_never_read_or_written_through(tiny, tmp_path, table):
    path, reference = tiny
    store = copy_store(reference, tmp_path / "store")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("mine")
    (victim / "part-000000000-000000000.parquet").write_text("mine too")
    shutil.rmtree(store / table)
    os.symlink(victim, store / table)
    refused = cohesion("analyze", str(store), "--out", str(tmp_path / "a"), "-q")
    assert refused.returncode == 2
    assert f"{table} (a symbolic link, not a folder of the store)" in one_line(refused.stderr)
    repaired = resume(path, store)
    assert repaired.returncode == 0, repaired.stderr
    assert sorted(p.name for p in victim.iterdir()) == ["part-000000000-000000000.parquet", "precious.txt"]
    assert (victim / "precious.txt").read_text() == "mine"
    assert not (store / table).is_symlink()
    assert_every_run_once(store)


def test_a_quarantine_linked_elsewhere_receives_nothing(tiny, tmp_path):
    path, reference = tiny
    store = copy_store(reference, tmp_path / "store")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, store / "quarantine")
    (store / "runs" / "stray.parquet").write_text("not a part")
    refused = resume(path, store)
    assert refused.returncode == 2
    assert "quarantine: is not a folder of the store" in one_line(refused.stderr)
    assert list(elsewhere.iterdir()) == []
