"""Analysis reads a store and writes the figures and tables its design calls for; compare
runs two scenarios with common random numbers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.analysis import analyze
from experiments.compare import compare, format_table, write_comparison
from experiments.design import validate_design
from experiments.sweep import sweep
from model.errors import ScenarioError

BIN = Path(sys.executable).parent
BASE = {"description": "A small test design.", "scenario": "baseline", "quarters": 3, "seed": 9}


def store(tmp_path_factory, name: str, **design) -> Path:
    folder = tmp_path_factory.mktemp(name)
    resolved = validate_design({"name": name, **BASE, **design}, source=folder / f"{name}.yaml")
    sweep(resolved, folder / "store", workers=1, progress=False)
    return folder / "store"


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> Path:
    return store(
        tmp_path_factory,
        "grid",
        factors={"powers.russia.pressure": [0.1, 0.5, 0.9], "powers.china.engagement": [0.2, 0.8]},
        replications=3,
        outputs={"series": {"every": 1, "measures": ["cohesion"]}},
    )


@pytest.fixture(scope="module")
def sobol(tmp_path_factory) -> Path:
    return store(
        tmp_path_factory,
        "sobol",
        factors={
            "powers.russia.pressure": {"min": 0.0, "max": 1.0},
            "powers.west.engagement": {"min": 0.0, "max": 1.0},
            "weights.autonomy": {"min": 0.5, "max": 2.0},
        },
        sampler={"method": "sobol", "n": 8, "second_order": True},
        outputs={"measures": ["cohesion", "cohesion_csto", "exits"]},
    )


@pytest.fixture(scope="module")
def morris(tmp_path_factory) -> Path:
    return store(
        tmp_path_factory,
        "morris",
        factors={
            "powers.russia.pressure": {"min": 0.0, "max": 1.0},
            "states.KAZ.hedging": {"min": 0.0, "max": 1.0},
            "institutions.patience": {"min": 1, "max": 4},
        },
        sampler={"method": "morris", "trajectories": 4, "levels": 4},
        replications=2,
    )


def test_a_two_factor_grid_gets_heatmaps_grid_tables_and_fan_charts(grid):
    written, report = analyze(grid, measures=["cohesion"])
    names = {p.name for p in written}
    assert {"summary.csv", "points.csv", "heatmap_cohesion.png", "grid_cohesion.csv", "report.txt"} <= names
    assert {"fan_cohesion.png", "fan_cohesion.csv"} <= names
    for path in written:
        assert path.parent == grid / "analysis" and path.stat().st_size > 0
    assert (grid / "analysis" / "heatmap_cohesion.png").read_bytes()[:4] == b"\x89PNG"
    runs = pd.read_parquet(grid / "runs")
    table = pd.read_csv(grid / "analysis" / "grid_cohesion.csv", index_col=0)
    expected = runs.groupby(["powers.china.engagement", "powers.russia.pressure"])["cohesion"].mean()
    assert table.shape == (2, 3)
    assert np.allclose(table.to_numpy().ravel(), expected.to_numpy(), rtol=1e-5)
    fan = pd.read_csv(grid / "analysis" / "fan_cohesion.csv")
    assert list(fan.columns[-4:]) == ["p05", "p50", "p95", "runs"]
    assert (fan["p05"] <= fan["p50"]).all() and (fan["p50"] <= fan["p95"]).all()
    assert (fan["runs"] == 3).all()  # one fan per point, across its replications
    assert "Grid (cohesion): highest mean" in report
    assert (grid / "analysis" / "report.txt").read_text().strip() == report


def test_sobol_indices_come_with_confidence_intervals(sobol):
    written, report = analyze(sobol)
    table = pd.read_csv(sobol / "analysis" / "sobol_indices.csv")
    assert list(table.columns) == ["measure", "factor", "S1", "S1_conf", "ST", "ST_conf"]
    cohesion = table[table["measure"] == "cohesion"]
    assert cohesion["factor"].tolist() == [
        "powers.russia.pressure",
        "powers.west.engagement",
        "weights.autonomy",
    ]
    assert (cohesion["S1_conf"] > 0).all() and (cohesion["ST_conf"] > 0).all()
    second = pd.read_csv(sobol / "analysis" / "sobol_second_order.csv")
    assert len(second[second["measure"] == "cohesion"]) == 3  # pairs of three factors
    assert "sobol_cohesion.png" in {p.name for p in written}
    assert "Sobol (cohesion): largest total-order index" in report
    if "exits" not in set(table["measure"]):
        assert "no variance, not analysed: exits" in report


def test_morris_gives_mu_star_and_sigma(morris):
    written, report = analyze(morris, measures=["cohesion"])
    table = pd.read_csv(morris / "analysis" / "morris_indices.csv")
    assert list(table.columns) == ["measure", "factor", "mu", "mu_star", "mu_star_conf", "sigma"]
    cohesion = table[table["measure"] == "cohesion"]
    assert len(cohesion) == 3
    assert (cohesion["mu_star"] >= cohesion["mu"].abs() - 1e-12).all()
    assert "morris_cohesion.png" in {p.name for p in written}
    assert "Morris (cohesion): largest mu*" in report


def test_sensitivity_indices_wait_for_a_complete_store(sobol, tmp_path):
    import shutil

    partial = tmp_path / "partial"
    shutil.copytree(sobol, partial)
    next((partial / "runs").glob("part-*")).unlink()
    _, report = analyze(partial)
    assert "Sobol indices: not computed" in report and "finish the sweep by resuming it" in report
    assert not (partial / "analysis" / "sobol_indices.csv").exists()


def test_analyze_refuses_a_folder_that_is_not_a_store(tmp_path):
    with pytest.raises(ScenarioError, match="not a sweep store"):
        analyze(tmp_path)


def test_analyze_from_the_command_line(grid, tmp_path):
    done = subprocess.run(
        [str(BIN / "cohesion"), "analyze", str(grid), "--out", str(tmp_path / "a"), "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a" / "heatmap_cohesion_csto.png").is_file()
    assert done.stdout.startswith("wrote ")


# --------------------------------------------------------------------------- compare


def test_compare_uses_common_random_numbers():
    # a scenario against itself: identical seeds give identical runs, a zero difference
    result = compare("baseline", "baseline", reps=4, steps=3, workers=1)
    row = result.summary.set_index("measure").loc["cohesion"]
    assert row["difference"] == 0 and row["ci_low"] == 0 and row["ci_high"] == 0
    a = result.runs[result.runs["scenario"] == "A"]
    b = result.runs[result.runs["scenario"] == "B"]
    assert a["seed_spawn_key"].tolist() == b["seed_spawn_key"].tolist() == [0, 1, 2, 3]
    assert a["cohesion"].nunique() == 4  # replications differ


def test_compare_shows_the_difference_with_its_interval(tmp_path):
    result = compare("baseline", "russian_pressure_high", reps=6, steps=4, workers=2)
    summary = result.summary.set_index("measure")
    assert list(result.summary.columns) == [
        "measure",
        "mean_a",
        "mean_b",
        "difference",
        "sd_difference",
        "ci_low",
        "ci_high",
        "crn_gain",
    ]
    row = summary.loc["cohesion"]
    assert row["ci_low"] <= row["difference"] <= row["ci_high"]
    assert row["difference"] == pytest.approx(row["mean_b"] - row["mean_a"])
    text = format_table(result)
    assert "6 replications with common random numbers" in text and "95% CI of B - A" in text
    written = write_comparison(result, tmp_path)
    assert {p.name for p in written} == {"compare.csv", "runs.csv", "compare.png"}


def test_compare_from_the_command_line():
    done = subprocess.run(
        [
            str(BIN / "cohesion"),
            "compare",
            "baseline",
            "russian_pressure_low",
            "--reps",
            "3",
            "--steps",
            "2",
            "--workers",
            "1",
            "--measures",
            "cohesion,exits",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("compare baseline (A) with russian_pressure_low (B): 3 replications")
    assert lines[2].startswith("cohesion ") and lines[3].startswith("exits ")


def test_compare_rejects_an_unknown_measure_in_one_line():
    with pytest.raises(ScenarioError, match="unknown measure 'cohesin'"):
        compare("baseline", "baseline", reps=2, measures=["cohesin"])
