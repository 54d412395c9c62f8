"""Calibration (rejection ABC on 1999-2014) and the hindcast scored against the record."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from experiments import hindcast as hc
from experiments.scoring import PERIODS
from model.errors import ScenarioError
from model.scenario import Quarter, load_scenario

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_posterior():
    return hc.calibrate(accept=0.25, draws=24, progress=False)


def test_calibration_keeps_the_closest_draws_and_says_how(small_posterior):
    post = small_posterior
    assert len(post.draws) == 6 and post.meta["draws"] == 24
    assert post.meta["acceptance_rate"] == pytest.approx(0.25)
    assert list(post.draws["distance"]) == sorted(post.draws["distance"])
    assert post.meta["tolerance"] == post.draws["distance"].max() <= post.meta["prior_distance"]["median"]
    for path, prior in post.meta["prior"].items():  # draws stay inside the prior
        assert post.draws[path].between(prior["min"], prior["max"]).all()
    again = hc.calibrate(accept=0.25, draws=24, progress=False)
    assert again.draws.equals(post.draws)  # the same design and seed give the same posterior


def test_a_calibration_distance_is_the_brier_score_of_the_run_against_the_record():
    scenario = hc.historical(hc.IN_SAMPLE_END)
    seeds = [np.random.SeedSequence(5, spawn_key=(k,)) for k in range(3)]
    simulated = hc.simulate_statuses(scenario, (), np.zeros((3, 0)), seeds)
    recorded = hc.record(years=hc.IN_SAMPLE, states=tuple(scenario.states))
    distance = hc.run_distances(simulated, recorded)
    one = simulated[simulated["run"] == 0].merge(recorded, on=["state", "institution", "year"])
    miss = (one["status"].map(hc.scoring.STATUS_CLASSES) != one["cls"]).mean()
    assert distance[0] == pytest.approx(2 * miss)
    assert len(one) == 11 * 2 * 16  # CIS and CSTO of eleven states at sixteen year-ends


def test_the_calibration_also_forecasts_from_the_2007_record():
    scenario = hc.historical(hc.IN_SAMPLE_END)
    origin = hc.calibration_origin(scenario)
    assert scenario.start.plus(origin.step - 1) == hc.IN_SAMPLE_ORIGIN == Quarter(2007, 1)
    start = hc.origin_statuses(scenario, origin).set_index(["state", "institution"])["status"]
    # the record at the end of 2006, in the model's words
    assert start["TKM", "cis"] == "associate" and start["UZB", "csto"] == "member"
    assert start["AZE", "csto"] == "withdrawn" and start["GEO", "cis"] == "member"
    assert start["UKR", "csto"] == "none"  # never in it: its own word, not "withdrawn"
    # the EAEU is not in the record before 2015: the scenario's Customs Union stays as it started
    assert start["KGZ", "eaeu"] == "member" and start["ARM", "eaeu"] == "none"
    with pytest.raises(ScenarioError, match="allowed a first quarter"):
        hc.calibration_origin(scenario, Quarter(2007, 3))
    with pytest.raises(ScenarioError, match="not one of its quarters"):
        hc.calibration_origin(scenario, Quarter(2016, 1))


def best_draw_forecasts(posterior, origins):
    """The posterior's closest draw rebuilt (its values and the calibration's seed for it), run
    through the in-sample scenario from each origin; with the in-sample record and the draw."""
    design = hc.load_design(hc.CALIBRATION, parameters="median")
    best = posterior.draws.iloc[0]
    values = best[list(posterior.paths)].to_numpy(float)[None, :]
    seed = [np.random.SeedSequence(design.seed, spawn_key=(int(best["draw"]),))]
    scenario = hc.historical(hc.IN_SAMPLE_END)
    recorded = hc.record(years=hc.IN_SAMPLE, states=tuple(scenario.states))
    parts = [
        hc.simulate_statuses(
            scenario, posterior.paths, values, seed, origin=None if at is None else at(scenario)
        )
        for at in origins
    ]
    return parts, recorded, best


def test_a_draws_distance_pools_its_two_forecasts(small_posterior):
    # the first accepted draw, rebuilt: its distance is the mean miss over the cells of the run
    # from 1999 (1999-2014) and of the same run re-started at 2007Q1 (2007-2014)
    parts, recorded, best = best_draw_forecasts(small_posterior, (None, hc.calibration_origin))
    assert parts[1]["year"].min() == 2007
    misses = [hc.run_distances(part, recorded)[0] for part in parts]
    cells = [len(part.merge(recorded, on=["state", "institution", "year"])) for part in parts]
    assert cells == [352, 176]
    pooled = (misses[0] * cells[0] + misses[1] * cells[1]) / sum(cells)
    assert best["distance"] == pytest.approx(pooled)
    assert small_posterior.meta["origins"] == ["1999Q2", "2007Q1"]


def test_calibration_never_runs_past_2014():
    scenario = hc.cut(load_scenario("historical_1999"), hc.IN_SAMPLE_END)
    assert scenario.start.plus(scenario.horizon - 1) == Quarter(2014, 4)
    assert all(s.date.index <= Quarter(2014, 4).index for s in scenario.shocks)
    with pytest.raises(ScenarioError, match="cannot run to 1990Q1"):
        hc.cut(scenario, Quarter(1990, 1))


def test_the_hindcast_scores_both_periods_against_both_references(small_posterior):
    result = hc.hindcast(reps=4, posterior=small_posterior, progress=False)
    assert list(result.scores.columns) == ["forecaster", "period", "brier", "log_loss", "n"]
    assert set(result.scores["period"]) == set(PERIODS)
    assert set(result.scores["forecaster"]) == {"model", "persistence", "base_rate", "model_from_1999"}
    assert result.scores.loc[result.scores["forecaster"] == "model_from_1999", "period"].tolist() == [
        "out_of_sample"
    ]
    assert result.simulated["run"].nunique() == 4 and result.simulated["year"].max() == 2024
    rows = np.isin(result.values, small_posterior.draws[list(small_posterior.paths)].to_numpy()).all(axis=1)
    assert rows.all()  # every replication runs a posterior draw
    median = hc.hindcast(reps=2, posterior=small_posterior, median=True, progress=False)
    np.testing.assert_array_equal(median.values[0], small_posterior.median())


def test_the_commands_write_their_files_and_refuse_a_folder_of_others(tmp_path, small_posterior):
    post = tmp_path / "post"
    hc.write_posterior(small_posterior, post)
    meta = json.loads((post / "posterior.json").read_text())
    assert meta["accepted"] == 6 and (post / "posterior.png").stat().st_size > 0
    out = tmp_path / "hc"
    cmd = [
        sys.executable,
        "-m",
        "model.cli",
        "hindcast",
        "--reps",
        "3",
        "--posterior",
        str(post),
        "--out",
        str(out),
    ]
    done = subprocess.run([*cmd, "-q"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    written = {"report.md", "scores.csv", "differences.csv", "reliability.png", "timeline_ARM.png"}
    assert written <= {p.name for p in out.iterdir()}
    assert written <= set(json.loads((out / ".cohesion-hindcast").read_text())["files"])  # ours
    differences = (out / "differences.csv").read_text().splitlines()
    assert differences[0] == "period,reference,difference,low,high,series,n" and len(differences) == 5
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("my notes")
    refused = subprocess.run([*cmd[:-1], str(foreign)], capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "not empty" in refused.stderr
    assert (foreign / "notes.txt").read_text() == "my notes"


def test_the_held_out_forecast_starts_from_the_statuses_persistence_starts_from(small_posterior):
    scenario = hc.historical()
    reference = hc.scoring.reference_data(hc.EVENTS_CSV, states=list(scenario.states))
    origin = hc.forecast_origin(scenario, reference)
    assert scenario.start.plus(origin.step - 1) == Quarter(2015, 1)
    start = hc.origin_statuses(scenario, origin).set_index(["state", "institution"])["status"]
    # the record at end-2014 (EAEU: 2 January 2015), in the model's words
    assert start["UKR", "cis"] == "associate" and start["UZB", "csto"] == "suspended"
    assert start["GEO", "cis"] == "withdrawn" and start["TKM", "cis"] == "associate"
    assert start["ARM", "eaeu"] == "member" and start["KGZ", "eaeu"] == "none"
    assert start["TJK", "eaeu"] == "none" and start["AZE", "cis"] == "member"
    result = hc.hindcast(reps=6, posterior=small_posterior, progress=False)
    held = result.simulated[result.simulated["year"] >= 2015]
    assert held["year"].min() == 2015 and held["run"].nunique() == 6
    # the runs from 1999 keep the Customs Union's Tajikistan in the EAEU; the forecast from 2015
    # starts it outside, where the record has it, and it cannot climb two rungs within 2015
    first = held[held["year"] == 2015].set_index(["run", "state", "institution"])["status"]
    assert (first.xs(("TJK", "eaeu"), level=("state", "institution")) != "member").all()
    assert result.from_1999.set_index(["state", "institution", "year"]).loc[("TJK", "eaeu", 2015), "p_in"] > 0
    in_sample = result.simulated[result.simulated["year"] < 2015]
    again = hc.simulate_statuses(
        scenario,
        small_posterior.paths,
        result.values,
        [np.random.SeedSequence(0, spawn_key=(r,)) for r in range(6)],
    )
    merged = in_sample.merge(again, on=["run", "state", "institution", "year"], suffixes=("", "_free"))
    assert len(merged) == len(in_sample) and (merged["status"] == merged["status_free"]).all()
    with pytest.raises(ScenarioError, match="not one of its quarters"):
        hc.forecast_origin(scenario, reference, at=Quarter(2030, 1))


def test_the_committed_report_is_what_the_shipped_posterior_gives():
    # docs/validation/scores.csv (and docs/validation.md, which quotes it) is what
    # `cohesion hindcast` gives today on the shipped posterior; a stale report fails here.
    from pathlib import Path

    import pandas as pd

    committed = pd.read_csv(Path(__file__).resolve().parents[1] / "docs" / "validation" / "scores.csv")
    result = hc.hindcast(reps=200, seed=0, progress=False)
    assert result.scores[["forecaster", "period", "n"]].equals(committed[["forecaster", "period", "n"]])
    np.testing.assert_allclose(result.scores["brier"], committed["brier"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.scores["log_loss"], committed["log_loss"], rtol=0, atol=1e-6)
    differences = pd.read_csv(Path(__file__).resolve().parents[1] / "docs" / "validation" / "differences.csv")
    assert result.differences[["period", "reference", "series", "n"]].equals(
        differences[["period", "reference", "series", "n"]]
    )
    for column in ("difference", "low", "high"):
        np.testing.assert_allclose(result.differences[column], differences[column], rtol=0, atol=1e-6)
    brier = result.scores.set_index(["forecaster", "period"])["brier"]
    # what the validation document claims of it: better than both references in sample and,
    # the bar, out of sample (the held-out forecast issued at 2015Q1); far worse from 1999
    for period in ("in_sample", "out_of_sample"):
        scored = brier.xs(period, level="period")
        assert scored["model"] < min(scored["persistence"], scored["base_rate"]), period
    assert brier["model_from_1999", "out_of_sample"] > brier["persistence", "out_of_sample"] + 0.1
    # ... and how sure: in sample the intervals exclude 0, out of sample they hold it
    gap = result.differences.set_index(["period", "reference"])
    assert (gap.loc["in_sample", "high"] < 0).all()
    assert ((gap.loc["out_of_sample", "low"] < 0) & (gap.loc["out_of_sample", "high"] > 0)).all()


def test_the_pattern_checks_read_the_runs_and_the_present_picture():
    from experiments import patterns
    from experiments.posterior import load_posterior
    from model.simulate import simulate

    post = load_posterior()
    found = patterns.pattern_checks(post, reps=1, seed=3)
    # the one run, rebuilt: its year-end alignments are the simulated column of each indicator
    values = hc.posterior_values(post, 1, seed=3, median=False)[0]
    child = np.random.SeedSequence(3).spawn(1)[0]
    run = simulate(
        hc.historical().with_overrides(dict(zip(post.paths, values.tolist(), strict=True))), seed=child
    )
    states = run.states
    vote = found.tables["unga_es11_1"].set_index("state")
    at_2022 = states[states["quarter"] == "2022Q4"].set_index("state")["alignment_russia"]
    for code in vote.index:
        assert vote.at[code, "simulated"] == pytest.approx(at_2022[code])
    assert all(-1 <= r <= 1 for r in found.rho.values())
    # where history arrives (2024Q4 of the run) against the baseline's starting picture
    present = found.present.set_index(["state", "quantity"])
    picture = simulate(load_scenario("baseline").run_for(1), seed=np.random.SeedSequence(3)).states
    start = picture[picture["step"] == 0].set_index("state")
    end = states[states["quarter"] == "2024Q4"].set_index("state")
    assert set(found.present["state"]) == set(start.index)  # the baseline's eight states
    for (code, quantity), row in present.iterrows():
        assert row["history"] == pytest.approx(end.at[code, quantity])
        assert row["picture"] == pytest.approx(start.at[code, quantity])
        assert row["gap"] == pytest.approx(row["history"] - row["picture"])
    lines = "\n".join(patterns.markdown(found))
    assert (
        "Where history arrives" in lines
        and f"| KAZ | {present.loc[('KAZ', 'alignment_russia'), 'history']:.2f}" in lines
    )
    # a cell is bold when its values as shown differ by 0.15 or more, and says "–" for a missing one
    assert patterns._present_cell(0.824, 0.966) == "**0.82 / 0.97**"  # shown 0.15 apart (0.142 unrounded)
    assert patterns._present_cell(0.50, 0.36) == "0.50 / 0.36" and patterns._present_cell(np.nan, 0.3) == "–"
    with pytest.raises(ValueError, match="share no state"):
        patterns.present_gaps(states.assign(state="RUS"))


def test_the_second_origin_can_be_moved_or_left_out(tmp_path):
    alone = hc.calibrate(accept=0.25, draws=8, progress=False, origin=None)
    assert alone.meta["origins"] == ["1999Q2"] and "pooled" not in alone.meta["distance"]
    (free,), recorded, best = best_draw_forecasts(alone, (None,))
    assert best["distance"] == pytest.approx(hc.run_distances(free, recorded)[0])  # the run from 1999 only
    moved = hc.calibrate(accept=0.25, draws=8, progress=False, origin=Quarter(2011, 1))
    assert moved.meta["origins"] == ["1999Q2", "2011Q1"] and "re-started at 2011Q1" in moved.meta["distance"]
    for bad in (Quarter(2011, 2), Quarter(2015, 1), Quarter(1999, 1), "2011Q1"):
        with pytest.raises(ScenarioError, match="origin"):
            hc.calibrate(draws=8, progress=False, origin=bad)
    # the CLI refuses a bad design or option, and an unwritable folder, in one line each
    from experiments import cli as experiments_cli
    from experiments.store import OutputFiles

    def read_only(self, path):
        raise OSError(30, "Read-only file system")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(OutputFiles, "claim", read_only)
        with pytest.raises(ScenarioError, match=r"cannot write there \(Read-only file system\)"):
            experiments_cli._owned(tmp_path / "ro", ".cohesion-calibrate", "cohesion calibrate", ["a.csv"])
    # on the command line: refused in one line before the folder is made
    out = tmp_path / "post"
    cmd = [sys.executable, "-m", "model.cli", "calibrate", "--draws", "8", "--out", str(out), "-q"]
    refused = subprocess.run([*cmd, "--origin", "2011Q2"], capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "first quarter" in refused.stderr and not out.exists()
    for args in (["nosuch"], ["--draws", "99999999999"]):  # the design is loaded before the folder is made
        refused = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=300)
        assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1 and not out.exists()
    done = subprocess.run(
        [*cmd, "--origin", "none", "--accept", "0.25"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "posterior.json").read_text())["origins"] == ["1999Q2"]
