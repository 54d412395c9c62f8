"""Ensembles draw the calibrated parameters from the posterior: each replication one accepted
draw, the same at every point and in both scenarios of a comparison; a factor, a scenario's own
value and `--median` keep theirs; a stored run re-runs to its numbers; the present-day
scenarios hold the posterior median."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from experiments.compare import compare
from experiments.design import load_design
from experiments.posterior import (
    MEDIAN_TOLERANCE,
    draw_rows,
    load_posterior,
    parameter_draws,
    scenario_value,
)
from experiments.store import Store
from experiments.sweep import rerun, sweep
from model import load_scenario
from model.errors import ScenarioError
from model.scenario import available_scenarios
from model.simulate import simulate

pytestmark = pytest.mark.slow

DESIGN = {
    "name": "drawn_sweep",
    "description": "Two points, replicated, over the baseline.",
    "scenario": "baseline",
    "factors": {"powers.russia.pressure": [0.2, 0.8], "weights.security": [1.0, 1.0]},
    "replications": 5,
    "quarters": 6,
    "seed": 11,
}


def _design(tmp_path: Path, **changes) -> Path:
    path = tmp_path / "design.yaml"
    path.write_text(yaml.safe_dump({**DESIGN, **changes}, sort_keys=False))
    return path


def test_the_present_day_scenarios_hold_the_posterior_median():
    post = load_posterior()
    for path in available_scenarios():
        scenario = load_scenario(path)
        if scenario.name == "historical_1999":  # the calibration's own scenario keeps the defaults
            assert parameter_draws(scenario, seed=0) is None
            continue
        for name, median in zip(post.paths, post.median().tolist(), strict=True):
            assert abs(scenario_value(scenario, name) - median) <= MEDIAN_TOLERANCE, (path.stem, name)


def test_a_replication_draws_the_same_row_wherever_it_runs():
    rows = draw_rows(7, np.arange(50), 400)
    assert rows.min() >= 0 and rows.max() < 400 and len(set(rows.tolist())) > 40
    np.testing.assert_array_equal(draw_rows(7, [3, 49], 400), rows[[3, 49]])  # chunking cannot change it
    assert not np.array_equal(draw_rows(8, np.arange(50), 400), rows)  # the master seed does


def test_a_sweep_draws_per_replication_and_keeps_its_factors(tmp_path):
    design = load_design(_design(tmp_path))
    draws = design.draws
    assert draws is not None and "weights.security" not in draws.paths  # a factor is never drawn
    assert len(draws.paths) == 9
    out = tmp_path / "store"
    sweep(design, out, workers=1, progress=False)
    runs = Store(out).read("runs").sort_values("run_id")
    assert design.as_json()["parameters"]["drawn"] == list(draws.paths)
    # each stored run is the base scenario with its point's factors and its replication's draw
    for r in range(5):
        point = runs[runs["replication"] == r]
        scenario = design.scenario.with_overrides(
            {"powers.russia.pressure": 0.2, "weights.security": 1.0}
            | dict(zip(draws.paths, draws.for_replications([r])[0].tolist(), strict=True))
        )
        final = simulate(
            scenario.model_copy(update={"horizon": 6}),
            seed=np.random.SeedSequence(11, spawn_key=(int(point["run_id"].iloc[0]),)),
            collect="final",
        ).final()
        assert point["cohesion"].iloc[0] == pytest.approx(final["cohesion"], abs=1e-12)
    stored = runs.iloc[7]
    again = rerun(out, int(stored["run_id"]), collect="final").final()
    assert again["cohesion"] == pytest.approx(stored["cohesion"], abs=1e-12)


def test_median_draws_nothing_and_a_scenarios_own_value_is_kept(tmp_path):
    median = load_design(_design(tmp_path, parameters="median"))
    assert median.draws is None and median.as_json()["parameters"] == {"mode": "median", "drawn": []}
    assert median.digest != load_design(_design(tmp_path)).digest  # a store of one refuses the other
    own = tmp_path / "own.yaml"
    own.write_text("extends: baseline\nname: own\ninstitutions:\n  cis_threat: 0.9\n")
    draws = parameter_draws(load_scenario(own), seed=0)
    assert draws is not None and "institutions.cis_threat" not in draws.paths
    with pytest.raises(ScenarioError, match="allowed: posterior, median"):
        parameter_draws(load_scenario("baseline"), seed=0, mode="mean")
    with pytest.raises(ScenarioError, match="parameters"):
        load_design(_design(tmp_path, parameters="mean"))


def test_a_comparison_gives_both_scenarios_the_same_draw():
    drawn = compare("baseline", "russian_pressure_low", reps=4, steps=4, workers=1, measures=["cohesion"])
    fixed = compare(
        "baseline",
        "russian_pressure_low",
        reps=4,
        steps=4,
        workers=1,
        measures=["cohesion"],
        parameters="median",
    )
    assert drawn.drawn and not fixed.drawn
    a = drawn.runs[drawn.runs["scenario"] == "A"]["cohesion"].to_numpy()
    assert np.ptp(a) > np.ptp(fixed.runs[fixed.runs["scenario"] == "A"]["cohesion"].to_numpy())
    # the draw is per replication, shared by A and B: B - A is far tighter than A's own spread
    d = drawn.runs.pivot(index="replication", columns="scenario", values="cohesion")
    assert np.std(d["B"] - d["A"]) < np.std(d["A"])
