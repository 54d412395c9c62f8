"""The command line end to end, from a subprocess, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT

COHESION = Path(sys.executable).parent / "cohesion"


def cohesion(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(COHESION), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    result = cohesion("run", "baseline", "--steps", "8", "--seed", "5", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "ARM" in result.stdout and "cohesion" in result.stdout
    return out


def test_run_writes_every_output(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    assert {
        "model.parquet",
        "states.parquet",
        "events.parquet",
        "manifest.json",
        "summary.png",
    } <= names
    model = pd.read_parquet(run_dir / "model.parquet")
    assert list(model.columns[:4]) == ["step", "date", "quarter", "cohesion"]
    assert {"cis_members", "csto_members", "eaeu_members", "energy", "air_defence_rate"} <= set(model.columns)
    assert len(model) == 9
    states = pd.read_parquet(run_dir / "states.parquet")
    expected = {
        "step",
        "date",
        "state",
        "alignment_russia",
        "alignment_west",
        "alignment_china",
        "alignment_turkey",
        "cis",
        "csto",
        "eaeu",
        "trade_russia",
        "remittances",
    }
    assert expected <= set(states.columns)
    assert set(states["state"]) == {"ARM", "AZE", "BLR", "KAZ", "KGZ", "TJK", "TKM", "UZB"}
    assert (run_dir / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_manifest_records_provenance(run_dir, baseline):
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["scenario"] == "baseline"
    assert manifest["seed"] == 5 and manifest["steps"] == 8
    assert manifest["scenario_hash"] == baseline.model_copy(update={"horizon": 8}).digest()
    assert manifest["versions"]["mesa"].startswith("3.")
    assert manifest["resolved_scenario"]["powers"]["russia"]["pressure"] == 0.5
    assert "git_commit" in manifest


def test_same_seed_gives_identical_parquet_files(run_dir, tmp_path):
    again = cohesion("run", "baseline", "--steps", "8", "--seed", "5", "--out", str(tmp_path), "-q")
    assert again.returncode == 0, again.stderr
    for name in ("model.parquet", "states.parquet", "events.parquet"):
        assert (tmp_path / name).read_bytes() == (run_dir / name).read_bytes(), name


def test_different_seed_gives_a_different_run(run_dir, tmp_path):
    other = cohesion("run", "baseline", "--steps", "8", "--seed", "6", "--out", str(tmp_path), "-q")
    assert other.returncode == 0
    assert (tmp_path / "states.parquet").read_bytes() != (run_dir / "states.parquet").read_bytes()


def test_default_output_folder(tmp_path):
    result = cohesion("run", str(ROOT / "scenarios" / "baseline.yaml"), "--steps", "2", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "results" / "baseline" / "model.parquet").is_file()


def test_check_and_list():
    check = cohesion("check", "russian_pressure_high")
    assert check.returncode == 0 and "russian_pressure_high: ok" in check.stdout
    listing = cohesion("list")
    assert listing.returncode == 0
    names = [line.split()[0] for line in listing.stdout.splitlines()]
    assert names == sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))


def test_schema_command_prints_json_schema():
    result = cohesion("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout)["title"] == "alliance-cohesion scenario"


def test_landscape_json_lists_global_minimum_first():
    result = cohesion("landscape", str(ROOT / "tests" / "data" / "landscape_example.yaml"), "--json")
    assert result.returncode == 0, result.stderr
    minima = json.loads(result.stdout)["minima"]
    energies = [m["energy"] for m in minima]
    assert energies == sorted(energies)
    assert all(len(m["blocs"]) == 2 for m in minima)
    table = cohesion("landscape", str(ROOT / "tests" / "data" / "landscape_example.yaml"))
    assert "E = " in table.stdout


def test_a_flat_landscape_shows_the_lowest_minima_and_counts_them_all(tmp_path):
    flat = tmp_path / "flat.yaml"
    actors = [{"name": f"A{i}", "size": 1} for i in range(12)]
    flat.write_text(json.dumps({"actors": actors, "propensity": [[0] * 12 for _ in range(12)]}))
    table = cohesion("landscape", str(flat))
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "2,048 local minima (global first); the lowest 50 shown (--limit N shows more)"
    assert len(lines) == 51
    assert len(cohesion("landscape", str(flat), "--limit", "10000").stdout.splitlines()) == 2049
    assert_one_line_error(cohesion("landscape", str(flat), "--limit", "0"), "allowed 1 to 10,000")
    found = json.loads(cohesion("landscape", str(flat), "--json", "--limit", "3").stdout)
    assert found["count"] == 2048 and len(found["minima"]) == 3


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("run", "no_such_scenario"), ("no such scenario file", "built-in scenarios:")),
        (("run", "baseline", "--seed", "-3"), ("--seed", "-3 is out of range; allowed 0 or more")),
        (("run", "baseline", "--steps", "zero"), ("--steps", "not a whole number")),
        (("run", "baseline", "--steps", "999"), ("--steps", "out of range")),
        (("check", "README.md"), ("README.md",)),
        (("frobnicate",), ("invalid choice",)),
        (("landscape", "missing.yaml"), ("missing.yaml",)),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, fragments):
    assert_one_line_error(cohesion(*args), *fragments)


def test_bad_scenario_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: baseline\nname: bad\ndescription: x\npowers: {russia: {pressure: 7}}\n")
    assert_one_line_error(cohesion("run", str(bad)), str(bad), "powers.russia.pressure", "got 7")
    assert not (tmp_path / "results").exists()


def test_asymmetric_landscape_is_one_line(tmp_path):
    bad = tmp_path / "land.yaml"
    bad.write_text("actors: [{name: A, size: 1}, {name: B, size: 1}]\npropensity: [[0, 1], [-1, 0]]\n")
    assert_one_line_error(cohesion("landscape", str(bad)), "symmetric")


def test_schema_out_replaces_its_own_file_and_refuses_anyone_elses(tmp_path):
    mine = tmp_path / "scenario.schema.json"
    assert cohesion("schema", "--out", str(mine)).returncode == 0
    first = mine.read_text()
    mine.write_text(first.replace('"type": "object"', '"type": "object", "x": 1', 1))
    assert cohesion("schema", "--out", str(mine)).returncode == 0  # an earlier output: replaced
    assert mine.read_text() == first
    for text in ('{"title": "my own notes"}', "not json at all", "[1, 2]"):
        theirs = tmp_path / "theirs.json"
        theirs.write_text(text)
        refused = cohesion("schema", "--out", str(theirs))
        assert_one_line_error(refused, "is not a scenario schema written by cohesion schema")
        assert theirs.read_text() == text
    assert_one_line_error(cohesion("schema", "--out", str(tmp_path)), "is a folder")


BUG = """
import sys
import model.landscape

def broken(*args, **kwargs):
    raise ValueError("a bug in the search")

model.landscape.search = broken
from model.cli import main
sys.exit(main(["landscape", sys.argv[1]]))
"""


def test_a_bug_is_a_traceback_and_exit_1_not_a_user_error():
    """Only the project's own error type is a user error (exit 2); a ValueError from a bug is not."""
    example = ROOT / "tests" / "data" / "landscape_example.yaml"
    done = subprocess.run(
        [sys.executable, "-c", BUG, str(example)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "a bug in the search" in done.stderr


@pytest.mark.parametrize(
    "args", [["--bogus"], ["--seeds", "0"], ["--seeds", "1001"], ["--seeds", "x"], ["extra"]]
)
def test_the_validation_report_refuses_a_bad_argument_in_one_line(args):
    done = subprocess.run(
        [sys.executable, "-m", "model.validate", *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.startswith("python -m model.validate: error: ") and done.stderr.count("\n") == 1
    assert done.stdout == ""
