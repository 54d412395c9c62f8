"""Ensembles draw the calibrated parameters from the posterior: each replication one accepted
draw, the same at every point and in both scenarios of a comparison; a factor, a scenario's own
value and `--median` keep theirs; a stored run re-runs to its numbers; the present-day
scenarios hold the posterior median."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from experiments.compare import compare
from experiments.design import load_design
from experiments.posterior import (
    MEDIAN_TOLERANCE,
    Posterior,
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


def test_a_sweep_draws_per_replication_and_keeps_its_factors(tmp_path, monkeypatch):
    design = load_design(_design(tmp_path))
    draws = design.draws
    assert draws is not None and "weights.security" not in draws.paths  # a factor is never drawn
    assert len(draws.paths) == len(load_posterior().paths) - 1
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
    # the row holds the draw, so the store alone reruns it, whatever posterior ships later
    import experiments.sweep as sweep_module

    shipped = load_posterior()
    other = Posterior(draws=shipped.draws.iloc[::-1].reset_index(drop=True), meta=shipped.meta)
    monkeypatch.setattr(sweep_module, "load_posterior", lambda: other)
    later = rerun(out, int(stored["run_id"]), collect="final").final()
    assert later["cohesion"] == pytest.approx(stored["cohesion"], abs=1e-12)
    # a store whose rows lack their draws (written before rows held them) draws again, and
    # refuses a posterior other than the one it drew from
    manifest = json.loads((out / "manifest.json").read_text())
    with pytest.raises(ScenarioError, match="another posterior"):
        sweep_module._stored_draws(out, manifest["design"])
    monkeypatch.setattr(sweep_module, "load_posterior", lambda: shipped)
    rebuilt = sweep_module._stored_draws(out, manifest["design"])
    assert rebuilt is not None and rebuilt.paths == draws.paths
    np.testing.assert_array_equal(rebuilt.for_replications([3]), draws.for_replications([3]))


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
    # each row holds its draw, the same in A and B
    by = drawn.runs.set_index(["scenario", "replication"])[list(drawn.drawn)]
    np.testing.assert_array_equal(by.loc["A"].to_numpy(), by.loc["B"].to_numpy())
    assert by.loc["A"].drop_duplicates().shape[0] == 4 and not set(drawn.drawn) & set(fixed.runs.columns)


def test_a_ladder_rung_is_drawn_only_where_every_draw_keeps_the_ladder_ordered(tmp_path):
    # a design varying the CSTO `leave` could meet a drawn CSTO step-down below it: that rung
    # then keeps the scenario's value, and no run fails
    design = load_design(_design(tmp_path, factors={"institutions.csto.leave": [0.0, 0.12]}, replications=10))
    assert "institutions.csto.step_down" not in design.draws.paths
    assert "institutions.cis.step_down" in design.draws.paths
    out = tmp_path / "store"
    report = sweep(design, out, workers=1, progress=False)
    assert report.failures == 0
    high = tmp_path / "high.yaml"  # a scenario whose own CSTO step-up sits inside the posterior's range
    high.write_text(
        "extends: baseline\nname: high\ninstitutions:\n"
        "  csto: {step_down: 0.139, leave: 0.06, step_up: 0.2, join: 0.5, cost: 0.0}\n"
    )
    assert "institutions.csto.step_down" not in parameter_draws(load_scenario(high), seed=0).paths


def test_the_calibration_needs_no_posterior(monkeypatch):
    import experiments.posterior as posterior

    def missing(*args, **kwargs):
        raise ScenarioError("no posterior there; run `cohesion calibrate` to make one")

    monkeypatch.setattr(posterior, "load_posterior", missing)
    design = load_design("calibration")
    assert design.draws is None and design.as_json()["parameters"] == {"mode": "median", "drawn": []}
    assert len(design.digest) == 64
    from experiments.hindcast import calibrate

    assert len(calibrate(draws=4, accept=0.5, progress=False).draws) == 2
    with pytest.raises(ScenarioError, match="no posterior there"):  # a design that draws says so
        parameter_draws(load_scenario("baseline"), seed=0)


def test_the_posterior_digest_is_of_its_values_not_its_bytes(tmp_path):
    from experiments.posterior import POSTERIOR_CSV, POSTERIOR_JSON, Posterior, posterior_digest

    shipped = load_posterior()
    crlf = tmp_path / "posterior.csv"
    crlf.write_bytes(POSTERIOR_CSV.read_bytes().replace(b"\n", b"\r\n"))
    again = load_posterior(crlf, POSTERIOR_JSON)
    assert posterior_digest(again) == posterior_digest(shipped)
    in_memory = Posterior(draws=shipped.draws.copy(), meta=dict(shipped.meta))
    assert posterior_digest(in_memory) == posterior_digest(shipped)
    changed = shipped.draws.copy()
    changed.loc[0, shipped.paths[0]] += 0.001
    assert posterior_digest(Posterior(draws=changed, meta=shipped.meta)) != posterior_digest(shipped)


def test_a_comparison_draws_only_what_both_scenarios_draw(tmp_path):
    own = tmp_path / "own.yaml"
    own.write_text("extends: baseline\nname: own\ninstitutions:\n  cis_threat: 0.9\n")
    result = compare("baseline", own, reps=3, steps=2, workers=1, measures=["cohesion"])
    assert result.drawn and "institutions.cis_threat" not in result.drawn
    assert f"{len(load_posterior().paths) - 1} calibrated parameters drawn" in result.parameters_text


def test_a_design_records_the_mode_it_asked_for(tmp_path):
    own = tmp_path / "bare.yaml"  # a scenario that sets every calibrated parameter itself
    own.write_text(
        "extends: baseline\nname: bare\nweights: {security: 1, economy: 1, autonomy: 1, identity: 0.6}\n"
        "dynamics: {temperature: 0.3, hedging_temperature: 0.6, noise: 0.03}\n"
        "institutions:\n  cis_threat: 0.5\n"
        "  cis: {step_down: 0.02, leave: 0.0, step_up: 0.3, join: 0.5, cost: 0.0}\n"
        "  csto: {step_down: 0.12, leave: 0.06, step_up: 0.35, join: 0.5, cost: 0.0}\n"
    )
    design = load_design(_design(tmp_path, scenario=str(own)))
    assert design.draws is None
    assert design.as_json()["parameters"] == {"mode": "posterior", "drawn": []}
