"""The project as a stranger gets it: a wheel installed in a fresh environment, used from any folder.

The wheel is built offline from this checkout (``pip wheel --no-build-isolation``, with the
setuptools of the test extra), its contents are checked, and it is installed into a fresh
virtual environment whose only access to the dependencies is a ``.pth`` line pointing at
the development environment's site-packages (a path line does not run that folder's own
``.pth`` files, so the editable install of this checkout stays invisible). In an empty
folder outside the repository, the installed ``cohesion`` then lists, runs, extends and
sweeps the built-in scenarios and designs, and ``python -m model.validate`` runs.

The repository-wide checks below keep the data where the scenarios cite it: no tracked file
points outside the repository, and every source key cited in a shipped scenario is listed in
``data/SOURCES.md``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from model.scenario import DATA_DIR, SCENARIO_DIR
from tests.conftest import ROOT

SCENARIOS = sorted(p.name for p in (ROOT / "scenarios").glob("*.yaml"))
DESIGNS = sorted(p.name for p in (ROOT / "experiments" / "designs").glob("*.yaml"))
DATA = sorted(p.name for p in (ROOT / "data").iterdir() if p.suffix in {".md", ".csv"})


#: Paths that lead out of the repository: the sibling data folder the sources first came from
#: and this machine's work folder (spelt in pieces so that this file does not match itself).
OUTSIDE = ("../" + "shared", "/" + "work/")


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [ROOT / name for name in listed.stdout.decode().split("\0") if name]


# --------------------------------------------------------------------------- the repository


def test_no_tracked_file_points_outside_the_repository():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    offenders = []
    for path in tracked_files():
        if path.suffix in {".png", ".parquet", ".ico", ".woff", ".woff2"} or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if any(marker in line for marker in OUTSIDE):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert offenders == []


def source_keys() -> set[str]:
    """The keys listed in data/SOURCES.md ("T4-T7" lists T4, T5, T6 and T7)."""
    keys = {"SEED"}
    text = (DATA_DIR / "SOURCES.md").read_text()
    sources = text.split("## Sources", 1)[1].split("\n## ", 1)[0]
    for letter, low, high in re.findall(r"\b([A-Z])(\d+)(?:-[A-Z](\d+))?\b", sources):
        for n in range(int(low), int(high or low) + 1):
            keys.add(f"{letter}{n}")
    return keys


def test_the_source_list_names_the_families_the_docs_describe():
    keys = source_keys()
    for key in ("T1", "T5", "T17", "R5", "A6", "B1", "B6", "M1", "M8", "X2", "SEED"):
        assert key in keys
    assert "B4" not in keys  # SOURCES.md has no B4: the parser must not invent one


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_source_key_a_scenario_cites_is_listed(name):
    keys = source_keys()
    cited = set()
    for line in (ROOT / "scenarios" / name).read_text().splitlines():
        if "#" in line:
            comment = line.split("#", 1)[1]
            cited |= set(re.findall(r"\b(?:[TRABMX]\d{1,2}|SEED)\b", comment))
    assert cited - keys == set(), f"{name} cites keys missing from data/SOURCES.md"


def test_every_schema_line_names_a_file_beside_it():
    lines = 0
    for path in ROOT.glob("scenarios/*.yaml"):
        for target in re.findall(r"\$schema=(\S+)", path.read_text()):
            lines += 1
            assert (path.parent / target).is_file(), (path.name, target)
    assert lines


def test_the_packaged_folders_are_the_repository_folders():
    assert SCENARIO_DIR.resolve() == (ROOT / "scenarios").resolve() or "site-packages" in str(SCENARIO_DIR)
    assert sorted(p.name for p in SCENARIO_DIR.glob("*.yaml")) == SCENARIOS
    assert sorted(p.name for p in DATA_DIR.iterdir() if p.suffix in {".md", ".csv"}) == DATA


# --------------------------------------------------------------------------- the wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy, so that setuptools' build/ and egg-info never land in the checkout.
    source = tmp_path_factory.mktemp("source") / "alliance-cohesion"
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "build", "results", "*.egg-info", "__pycache__", "*_cache"
    )
    shutil.copytree(ROOT, source, ignore=ignore)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--quiet", "--wheel-dir", str(out), str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    (path,) = out.glob("alliance_cohesion-*.whl")
    return path


def test_the_wheel_carries_the_scenarios_designs_data_and_licence(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in SCENARIOS:
        assert f"model/scenarios/{name}" in names
    assert "model/scenarios/README.md" in names
    assert "model/scenarios/scenario.schema.json" in names  # what the scenarios' $schema line names
    assert SCENARIOS and DESIGNS and DATA  # the lists themselves are not empty
    for name in DESIGNS:
        assert f"experiments/designs/{name}" in names
    for name in DATA:
        assert f"model/data/{name}" in names
    for name in ("posterior.csv", "posterior.json"):  # what `cohesion hindcast` draws from by default
        assert f"model/data/posterior/{name}" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any(n.startswith(("tests/", "benchmarks/", "scenarios/", "data/")) for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Requires-Python: >=3.12" in text
    assert "License-Expression: MIT" in text


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel installed; returns its bin/ folder."""
    env = tmp_path_factory.mktemp("venv")
    venv.create(env, with_pip=False)
    bin_dir = env / "bin"
    site = Path(
        subprocess.run(
            [str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    # Dependencies come from the development environment (nothing is downloaded).
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install", "--no-deps",
         "--no-index", "--quiet", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return bin_dir


@pytest.fixture
def stranger(tmp_path, installed):
    """Run a command of the fresh environment in an empty folder outside the repository."""
    folder = tmp_path / "anywhere"
    folder.mkdir()
    environment = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    environment["PATH"] = f"{installed}{os.pathsep}{environment.get('PATH', '')}"

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        done = subprocess.run(
            list(args), cwd=folder, env=environment, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stderr[-3000:]}"
        return done

    run.folder = folder
    return run


def test_the_installed_package_is_the_wheel_not_this_checkout(stranger, installed):
    where = stranger("python", "-c", "import model, experiments; print(model.__file__, experiments.__file__)")
    for path in where.stdout.split():
        assert Path(path).is_relative_to(installed.parent), path
        assert not Path(path).is_relative_to(ROOT)


def test_list_run_extend_validate_and_sweep_from_an_installed_wheel(stranger):
    listed = stranger("cohesion", "list").stdout
    for name in SCENARIOS:
        assert Path(name).stem in listed

    stranger("cohesion", "run", "baseline", "--steps", "4", "--out", "base")
    manifest = json.loads((stranger.folder / "base" / "manifest.json").read_text())
    assert manifest["scenario"] == "baseline"
    assert (stranger.folder / "base" / "states.parquet").stat().st_size > 0

    (stranger.folder / "mine.yaml").write_text(
        "extends: baseline\nname: mine\ndescription: a student's variant\n"
        "powers:\n  russia:\n    pressure: 0.9\n"
    )
    stranger("cohesion", "check", "mine.yaml")
    stranger("cohesion", "run", "mine.yaml", "--steps", "4", "--out", "mine")
    mine = json.loads((stranger.folder / "mine" / "manifest.json").read_text())
    assert mine["scenario"] == "mine"
    assert mine["resolved_scenario"]["powers"]["russia"]["pressure"] == 0.9

    validated = stranger("python", "-m", "model.validate").stdout
    assert "seeds" in validated

    stranger("cohesion", "sweep", "pressure_vs_engagement", "--out", "sweep", "--workers", "2", "-q")
    stranger("cohesion", "analyze", "sweep", "--out", "figures")
    store = json.loads((stranger.folder / "sweep" / "manifest.json").read_text())
    assert store["design"]["name"] == "pressure_vs_engagement"
    assert any((stranger.folder / "figures").glob("*.png"))
    assert "pressure_vs_engagement" in stranger("cohesion", "designs").stdout
    stranger("cohesion", "rerun", "sweep", "5", "--out", "run5", "-q")
    assert (stranger.folder / "run5" / "states.parquet").stat().st_size > 0


def test_calibrate_and_hindcast_from_an_installed_wheel(stranger):
    # the record, the historical scenario, the prior and the shipped posterior travel in the wheel
    stranger("cohesion", "calibrate", "--draws", "20", "--accept", "0.25", "--out", "post", "-q")
    meta = json.loads((stranger.folder / "post" / "posterior.json").read_text())
    assert meta["accepted"] == 5 and meta["origins"] == ["1999Q2", "2007Q1"]
    stranger("cohesion", "hindcast", "--reps", "4", "--out", "hindcast", "-q")
    scores = (stranger.folder / "hindcast" / "scores.csv").read_text().splitlines()
    assert scores[0] == "forecaster,period,brier,log_loss,n" and len(scores) == 8
    assert (stranger.folder / "hindcast" / "differences.csv").exists()
    stranger("cohesion", "hindcast", "--reps", "4", "--posterior", "post", "--out", "mine", "-q")


def test_a_run_outside_a_checkout_records_no_commit(tmp_path):
    """An installed package inside someone's git repository must not report that repository's commit."""
    from model.output import git_commit

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(
        ["git", "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "--allow-empty", "-m", "x"],
        cwd=tmp_path, check=True,
    )  # fmt: skip
    assert git_commit(tmp_path) is None
    assert git_commit(ROOT) is None or re.fullmatch(r"[0-9a-f]{40}(-dirty)?", git_commit(ROOT))
