"""Sweeps: serial, local pool and a real Dask cluster give identical tables; a killed or
interrupted sweep resumes to exactly what an uninterrupted one gives; failing runs are
recorded and the others complete; a store made by another design is refused."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from experiments.design import load_design
from experiments.runs import run_seed
from experiments.store import Store
from experiments.sweep import Progress, rerun, sweep
from model import load_scenario, simulate
from model.ensemble import run_points
from model.errors import ScenarioError

BIN = Path(sys.executable).parent
TINY = {
    "name": "tiny_sweep",
    "description": "Two factors, replicated, with series.",
    "scenario": "baseline",
    "factors": {
        "powers.russia.pressure": [0.2, 0.8],
        "states.KAZ.hedging": {"min": 0.2, "max": 0.8, "num": 3},
    },
    "replications": 4,
    "quarters": 4,
    "outputs": {"series": {"every": 2, "measures": ["cohesion", "cohesion_csto"]}},
    "seed": 42,
}  # 24 runs


def write_design(tmp_path: Path, data: dict, name: str = "design.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def tables(out: Path) -> dict[str, pd.DataFrame]:
    store = Store(out)
    return {name: store.read(name) for name in ("runs", "series", "failures")}


def assert_same_tables(a: Path, b: Path) -> None:
    ta, tb = tables(a), tables(b)
    pd.testing.assert_frame_equal(ta["runs"], tb["runs"])
    pd.testing.assert_frame_equal(ta["series"], tb["series"])
    pd.testing.assert_frame_equal(
        ta["failures"].drop(columns="traceback", errors="ignore"),
        tb["failures"].drop(columns="traceback", errors="ignore"),
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path]:
    """The tiny design run serially: (design file, store)."""
    folder = tmp_path_factory.mktemp("reference")
    path = write_design(folder, TINY)
    out = folder / "serial"
    sweep(load_design(path), out, workers=1, progress=False)
    return path, out


def cohesion(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "cohesion"), *args], capture_output=True, text=True, timeout=timeout)


# --------------------------------------------------------------------------- the store


def test_a_sweep_writes_parts_a_manifest_and_one_row_per_run(reference):
    path, out = reference
    design = load_design(path)
    runs = tables(out)["runs"]
    assert runs["run_id"].tolist() == list(range(24))
    assert len(Store(out).parts("runs")) > 1  # written chunk by chunk, not as one table
    factors = ["powers.russia.pressure", "states.KAZ.hedging"]
    assert design.draws is not None
    drawn = list(design.draws.paths)  # each run's posterior draw, a column per parameter
    assert list(runs.columns[: 8 + len(drawn)]) == [
        "run_id",
        "point_id",
        "replication",
        *factors,
        *drawn,
        "seed_entropy",
        "seed_spawn_key",
        "cohesion",
    ]
    np.testing.assert_array_equal(
        runs[drawn].to_numpy(), design.draws.for_replications(runs["replication"].to_numpy())
    )
    assert runs.groupby("replication")[drawn].nunique().eq(1).all().all()  # one draw per replication
    assert (runs["seed_entropy"] == 42).all() and (runs["seed_spawn_key"] == runs["run_id"]).all()
    assert runs.groupby("point_id").size().eq(4).all()
    series = tables(out)["series"]
    assert list(series.columns) == ["run_id", "step", "date", "cohesion", "cohesion_csto"]
    assert all(steps == [0, 2, 4] for steps in series.groupby("run_id")["step"].apply(list))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["design_hash"] == design.digest
    assert manifest["status"] == "complete"
    assert manifest["design"]["scenario"]["resolved"]["name"] == "baseline"
    assert {"python", "numpy", "mesa", "SALib", "dask"} <= set(manifest["versions"])
    assert "git_commit" in manifest
    assert pd.read_parquet(out / "failures.parquet").empty


def test_end_of_run_outputs_equal_those_of_simulate():
    scenario = load_scenario("russian_pressure_high").model_copy(update={"horizon": 6})
    ids = (0, 5)
    engine = run_points(scenario, [], np.zeros((2, 0)), [run_seed(3, run_id) for run_id in ids])
    for row, run_id in enumerate(ids):
        final = simulate(scenario, seed=run_seed(3, run_id), collect="final").final()
        for name in ("cohesion", "exits", "mean_alignment_china"):
            assert engine.measures[name][row] == pytest.approx(final[name], abs=1e-12)


def test_any_stored_run_can_be_rerun_alone(reference):
    _, out = reference
    row = tables(out)["runs"].iloc[13]
    again = rerun(out, 13)
    final = again.final()
    for name in ("cohesion", "cohesion_cis", "mean_alignment_russia", "exits"):
        assert final[name] == row[name]
    assert len(again.states)  # all tables, not only the end-of-run row


def test_cohesion_rerun_writes_the_full_tables_of_a_stored_run(reference, tmp_path):
    _, out = reference
    row = tables(out)["runs"].iloc[13]
    done = cohesion("rerun", str(out), "13", "--out", str(tmp_path / "r"), "-q")
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout
    last = pd.read_parquet(tmp_path / "r" / "model.parquet").iloc[-1]
    stored = [m for m in load_design_measures(out) if m in last.index]
    assert len(stored) >= 4
    for name in stored:
        assert last[name] == row[name], name
    states = pd.read_parquet(tmp_path / "r" / "states.parquet")
    assert states["step"].nunique() == len(pd.read_parquet(tmp_path / "r" / "model.parquet"))


def load_design_measures(out: Path) -> list[str]:
    return json.loads((out / "manifest.json").read_text())["design"]["outputs"]["measures"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [(["13000"], "run 13000 is not stored"), (["-1"], "-1"), (["x"], "'x'")],
)
def test_cohesion_rerun_of_a_run_not_stored_is_one_line(reference, tmp_path, args, fragment):
    _, out = reference
    done = cohesion("rerun", str(out), *args, "--out", str(tmp_path / "r"))
    assert done.returncode == 2
    assert fragment in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "r").exists()


def test_cohesion_rerun_of_a_folder_that_is_not_a_store_is_one_line(tmp_path):
    done = cohesion("rerun", str(tmp_path), "0", "--out", str(tmp_path / "r"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------- executors


def test_the_local_pool_gives_the_serial_tables(reference, tmp_path):
    path, out = reference
    report = sweep(load_design(path), tmp_path / "pool", workers=2, chunk_size=5, progress=False)
    assert report.backend == "local pool, 2 workers" and report.ran == 24
    assert_same_tables(out, tmp_path / "pool")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A real `dask scheduler` and `dask worker` (two single-thread workers) on 127.0.0.1."""
    pytest.importorskip("distributed")
    from distributed import Client

    logs = tmp_path_factory.mktemp("dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=(logs / "scheduler.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    worker = subprocess.Popen(
        [
            str(BIN / "dask"),
            "worker",
            address,
            "--host",
            "127.0.0.1",
            "--nthreads",
            "1",
            "--nworkers",
            "2",
            "--no-dashboard",
            "--local-directory",
            str(logs),
        ],
        stdout=(logs / "worker.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in (worker, scheduler):
            process.terminate()
        for process in (worker, scheduler):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_a_dask_cluster_gives_the_serial_tables(reference, tmp_path, dask_cluster):
    path, out = reference
    done = cohesion(
        "sweep", str(path), "--scheduler", dask_cluster, "--out", str(tmp_path / "dask"), "--chunk-size", "3"
    )
    assert done.returncode == 0, done.stderr
    assert f"Dask at {dask_cluster}, 2 worker threads" in done.stdout
    assert_same_tables(out, tmp_path / "dask")


def test_a_lost_dask_worker_leaves_the_same_tables(tmp_path, dask_cluster):
    from distributed import Client

    data = {**TINY, "name": "lost_worker", "quarters": 40, "replications": 10}  # 60 runs
    path = write_design(tmp_path, data)
    sweep(load_design(path), tmp_path / "serial", workers=1, progress=False)
    run = subprocess.Popen(
        [
            str(BIN / "cohesion"),
            "sweep",
            str(path),
            "--scheduler",
            dask_cluster,
            "--out",
            str(tmp_path / "dask"),
            "--chunk-size",
            "2",
            "-q",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    runs = tmp_path / "dask" / "runs"
    deadline = time.monotonic() + 60
    while not (runs.is_dir() and len(list(runs.glob("part-*"))) >= 3) and time.monotonic() < deadline:
        time.sleep(0.02)
    with Client(dask_cluster, timeout=30) as client:
        pids = sorted(client.run(os.getpid).values())
        os.kill(pids[0], signal.SIGKILL)  # its nanny restarts it; its tasks are rerun elsewhere
    _out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert_same_tables(tmp_path / "serial", tmp_path / "dask")
    with Client(dask_cluster, timeout=30) as client:
        client.wait_for_workers(2, timeout=60)


def test_an_unreachable_scheduler_is_one_line_and_leaves_no_store(reference, tmp_path):
    from experiments.backends import DaskBackend

    with pytest.raises(ScenarioError) as info:
        DaskBackend(f"tcp://127.0.0.1:{free_port()}", timeout=1)
    assert "cannot reach a Dask scheduler there" in str(info.value) and "\n" not in str(info.value)
    path, _ = reference
    with pytest.raises(ScenarioError, match="give one or the other"):
        sweep(load_design(path), tmp_path / "never", workers=2, scheduler="tcp://127.0.0.1:1", progress=False)
    assert not (tmp_path / "never").exists()


def test_workers_and_scheduler_together_are_refused(reference, tmp_path):
    path, _ = reference
    with pytest.raises(ScenarioError, match="give one or the other"):
        sweep(load_design(path), tmp_path / "x", workers=2, scheduler="tcp://127.0.0.1:1", progress=False)


# --------------------------------------------------------------------------- kill and resume


def start_sweep(path: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(BIN / "cohesion"),
            "sweep",
            str(path),
            "--out",
            str(out),
            "--workers",
            "2",
            "--chunk-size",
            "2",
            "-q",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for_parts(out: Path, n: int, process: subprocess.Popen) -> None:
    runs = out / "runs"
    deadline = time.monotonic() + 60
    while not (runs.is_dir() and len(list(runs.glob("part-*"))) >= n):
        assert process.poll() is None, "the sweep ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.01)


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


SLOW = {**TINY, "name": "slow_sweep", "quarters": 40, "replications": 20}  # 120 runs, a few seconds
SLOW_RUNS = 120


@pytest.fixture(scope="module")
def slow_reference(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("slow")
    path = write_design(folder, SLOW)
    sweep(load_design(path), folder / "uninterrupted", workers=2, progress=False)
    return path, folder / "uninterrupted"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_killed_sweep_resumes_to_the_uninterrupted_tables(slow_reference, tmp_path):
    path, uninterrupted = slow_reference
    out = tmp_path / "killed"
    process = start_sweep(path, out)
    wait_for_parts(out, 3, process)
    workers = children(process.pid)
    assert len(workers) >= 2
    process.kill()  # SIGKILL: no clean-up of any kind
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers), "workers outlived the driver"
    assert_resumes_to(uninterrupted, path, out, status="running")
    assert not list(out.rglob(".*tmp*"))


def assert_resumes_to(uninterrupted: Path, path: Path, out: Path, *, status: str) -> int:
    """A sweep stopped part-way: its manifest says ``status``; --resume yields the full tables.

    Returns:
        How many runs were stored when the sweep stopped.
    """
    stored = len(Store(out).done_ids())
    assert 0 < stored < SLOW_RUNS
    assert json.loads((out / "manifest.json").read_text())["status"] == status
    done = cohesion("sweep", str(path), "--out", str(out), "--resume", "--workers", "2", "-q")
    assert done.returncode == 0, done.stderr
    assert f"{stored} were already stored" in done.stdout
    assert_same_tables(uninterrupted, out)
    return stored


def spawned_workers(pid: int) -> list[int]:
    """The pool's worker processes among the children of ``pid`` (not its resource tracker)."""
    found = []
    for child in children(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.append(child)
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_killed_local_worker_stops_the_sweep_in_one_line_and_resume_finishes(slow_reference, tmp_path):
    path, uninterrupted = slow_reference
    out = tmp_path / "worker_killed"
    process = start_sweep(path, out)
    wait_for_parts(out, 3, process)
    workers = spawned_workers(process.pid)
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)  # as the kernel's out-of-memory killer would
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert err.count("\n") == 1 and "a worker process died" in err and "--resume" in err, err
    assert_resumes_to(uninterrupted, path, out, status="interrupted")


def test_ctrl_c_stops_cleanly_with_exit_130_and_resume_finishes(slow_reference, tmp_path):
    path, uninterrupted = slow_reference
    out = tmp_path / "interrupted"
    process = start_sweep(path, out)
    wait_for_parts(out, 2, process)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.count("\n") == 1 and "--resume" in err and "is complete" in err
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    sweep(load_design(path), out, resume=True, workers=1, progress=False)
    assert_same_tables(uninterrupted, out)


def test_resume_deletes_series_of_a_chunk_killed_before_its_runs_part(reference, tmp_path):
    path, out = reference
    copy = tmp_path / "copy"
    sweep(load_design(path), copy, workers=1, chunk_size=6, progress=False)
    last = sorted((copy / "runs").glob("part-*"))[-1]
    last.unlink()  # as if killed after writing the series part, before the runs part
    (copy / "runs" / ".part-x.parquet.tmp-1").write_bytes(b"half a file")
    sweep(load_design(path), copy, resume=True, workers=1, chunk_size=4, progress=False)
    assert_same_tables(out, copy)


def test_resume_refuses_a_store_made_by_another_design(reference, tmp_path):
    _path, out = reference
    other = write_design(tmp_path, {**TINY, "seed": 43})
    done = cohesion("sweep", str(other), "--out", str(out), "--resume")
    assert done.returncode == 2
    message = done.stderr.strip()
    assert "\n" not in message
    old = json.loads((out / "manifest.json").read_text())["design_hash"]
    new = load_design(other).digest
    assert f"hash {old[:12]}" in message and f"hash {new[:12]}" in message
    assert "use a new --out" in message


def test_a_second_sweep_into_a_store_without_resume_is_refused(reference):
    path, out = reference
    with pytest.raises(ScenarioError, match="already holds a sweep; resume it"):
        sweep(load_design(path), out, workers=1, progress=False)


def test_resuming_a_complete_sweep_runs_nothing(reference):
    path, out = reference
    done = cohesion("sweep", str(path), "--out", str(out), "--resume", "-q")
    assert done.returncode == 0
    assert "nothing to run; all 24 runs are stored" in done.stdout


# --------------------------------------------------------------------------- failures


FAILING = {
    "name": "failing",
    "description": "step_down 0.4 breaks the CSTO ladder's order (step_up is 0.35).",
    "factors": {"institutions.csto.step_down": [0.1, 0.4, 0.2]},
    "replications": 3,
    "quarters": 3,
    "seed": 1,
}


def test_failing_runs_are_recorded_the_others_complete_and_the_exit_code_is_1(tmp_path):
    path = write_design(tmp_path, FAILING)
    out = tmp_path / "out"
    done = cohesion("sweep", str(path), "--out", str(out), "--workers", "2", "--chunk-size", "2", "-q")
    assert done.returncode == 1
    assert "3 of 9 runs failed" in done.stderr
    failures = pd.read_parquet(out / "failures.parquet")
    assert failures["run_id"].tolist() == [3, 4, 5]
    assert (failures["institutions.csto.step_down"] == 0.4).all()
    assert failures["seed_spawn_key"].tolist() == [3, 4, 5]
    assert failures["error"].str.startswith("ScenarioError: ").all()
    assert failures["error"].str.contains("step_down < step_up").all()
    runs = Store(out).read("runs")
    assert runs["run_id"].tolist() == [0, 1, 2, 6, 7, 8]
    assert runs["cohesion"].notna().all()
    # resume treats failures as stored; --retry-failed runs them again (and they fail again)
    again = cohesion("sweep", str(path), "--out", str(out), "--resume", "--retry-failed", "-q")
    assert again.returncode == 1
    assert pd.read_parquet(out / "failures.parquet")["run_id"].tolist() == [3, 4, 5]


# --------------------------------------------------------------------------- progress


def test_progress_off_a_terminal_prints_a_line_every_tenth():
    stream = io.StringIO()
    bar = Progress(100, stream=stream)
    for _ in range(50):
        bar.update(2)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[-1].startswith("sweep [########################] 100/100 runs (100%), ")
    assert "runs/s" in lines[0] and "left" in lines[0]


def test_progress_counts_runs_already_stored_and_failures():
    stream = io.StringIO()
    bar = Progress(40, done=20, stream=stream)
    bar.update(20, failed=3)
    assert "40/40 runs" in stream.getvalue() and "3 failed" in stream.getvalue()


def test_quiet_progress_prints_nothing():
    stream = io.StringIO()
    bar = Progress(10, stream=stream, enabled=False)
    bar.update(10)
    bar.close()
    assert stream.getvalue() == ""


def test_chunks_are_contiguous_run_ids_with_their_points():
    from experiments.runs import plan_chunks

    points = np.array([[0.1], [0.2], [0.3]])
    chunks = list(plan_chunks(np.array([0, 1, 2, 4, 5, 8]), points, 3, 4))
    assert [c.run_ids.tolist() for c in chunks] == [[0, 1, 2, 4], [5, 8]]
    assert chunks[0].point_ids.tolist() == [0, 0, 0, 1]
    assert chunks[1].replications.tolist() == [2, 2]
    assert chunks[1].values[:, 0].tolist() == [0.2, 0.3]


def test_cohesion_designs_lists_each_built_in_design_with_its_size():
    from experiments.design import available_designs

    done = cohesion("designs")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    paths = available_designs()
    assert len(lines) == len(paths) >= 3
    for path, line in zip(paths, lines, strict=True):
        design = load_design(path)
        assert line.split()[:3] == [design.name, f"{design.n_runs:,}", "runs"]
