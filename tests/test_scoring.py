"""Scoring a hindcast against the membership record, and its report."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments import scoring
from experiments.hindcast_report import write_report
from experiments.scoring import (
    DIFFERENCE_COLUMNS,
    EVENT_CLASSES,
    SCORED_STATES,
    brier_difference,
    difference_table,
    probabilities,
    record_statuses,
    reference_data,
    reference_forecasts,
    reliability_table,
    score,
    score_table,
    statuses_at_year_ends,
    timing_errors,
)

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "data" / "membership_events.csv"
#: A status word of each class, to turn a record into a simulation.
STATUS_OF = {"in": "member", "partial": "frozen", "out": "none"}


@pytest.fixture(scope="module")
def record() -> pd.DataFrame:
    return record_statuses(EVENTS)


@pytest.fixture(scope="module")
def reference() -> scoring.Reference:
    return reference_data(EVENTS)


def cls_of(record: pd.DataFrame, state: str, institution: str, year: int) -> str:
    row = record[
        (record["state"] == state) & (record["institution"] == institution) & (record["year"] == year)
    ]
    assert len(row) == 1, (state, institution, year)
    return row["cls"].iloc[0]


def perfect_simulation(record: pd.DataFrame, runs: int = 2) -> pd.DataFrame:
    """Runs that all follow the record (plus EAEU rows before 2015, which are not scored)."""
    one = record.assign(status=record["cls"].map(STATUS_OF)).drop(columns="cls")
    early = pd.DataFrame(
        [(s, "eaeu", y, "none") for s in SCORED_STATES for y in range(1999, 2015)],
        columns=["state", "institution", "year", "status"],
    )
    one = pd.concat([one, early], ignore_index=True)
    return pd.concat([one.assign(run=r) for r in range(runs)], ignore_index=True)


def write_events(path: Path, rows: list[str]) -> Path:
    path.write_text("date,state,institution,event,source\n" + "\n".join(rows) + "\n")
    return path


# --------------------------------------------------------------------------- the record


def test_georgia_leaves_the_cis_in_2009_not_at_its_notice(record):
    assert cls_of(record, "GEO", "cis", 2008) == "in"  # exit notified in August 2008: no change
    assert cls_of(record, "GEO", "cis", 2009) == "out"
    assert cls_of(record, "GEO", "cis", 2024) == "out"


def test_uzbekistan_in_the_csto(record):
    assert {cls_of(record, "UZB", "csto", y) for y in range(1999, 2006)} == {"out"}
    assert {cls_of(record, "UZB", "csto", y) for y in range(2006, 2012)} == {"in"}
    assert {cls_of(record, "UZB", "csto", y) for y in range(2012, 2025)} == {"partial"}


def test_armenia_freezes_the_csto_in_2024(record):
    assert cls_of(record, "ARM", "csto", 2023) == "in"  # boycotts and requests are not status changes
    assert cls_of(record, "ARM", "csto", 2024) == "partial"


def test_turkmenistan_is_a_cis_associate_from_2005(record):
    assert cls_of(record, "TKM", "cis", 2004) == "in"
    assert {cls_of(record, "TKM", "cis", y) for y in range(2005, 2025)} == {"partial"}


def test_ukraine_leaves_the_cis_in_two_steps(record):
    assert cls_of(record, "UKR", "cis", 2013) == "in"
    assert {cls_of(record, "UKR", "cis", y) for y in range(2014, 2018)} == {"partial"}
    assert {cls_of(record, "UKR", "cis", y) for y in range(2018, 2025)} == {"out"}


def test_the_eaeu_is_scored_from_2015_only(record):
    eaeu = record[record["institution"] == "eaeu"]
    assert eaeu["year"].min() == 2015
    assert set(eaeu["state"]) == set(SCORED_STATES)
    assert cls_of(record, "ARM", "eaeu", 2015) == "in"
    assert cls_of(record, "KGZ", "eaeu", 2015) == "in"
    assert cls_of(record, "MDA", "eaeu", 2016) == "out"
    assert cls_of(record, "MDA", "eaeu", 2017) == "partial"


def test_the_record_has_every_cell_once_and_no_russia(record):
    assert list(record.columns) == ["state", "institution", "year", "cls"]
    assert len(record) == 11 * (2 * 26 + 10)
    assert not record.duplicated(["state", "institution", "year"]).any()
    assert "RUS" not in set(record["state"])
    assert set(record["cls"]) <= {"in", "partial", "out"}
    # a state with no event is out: Azerbaijan was never in the EAEU, Moldova never in the CSTO
    assert cls_of(record, "AZE", "eaeu", 2024) == "out"
    assert cls_of(record, "MDA", "csto", 2010) == "out"


def test_an_unknown_event_text_raises_naming_it(tmp_path):
    path = write_events(
        tmp_path / "events.csv", ["1991-12-21,ARM,CIS,joined,M5", "2025-03-01,ARM,CSTO,left in a huff,M6"]
    )
    with pytest.raises(ValueError, match=r"unknown event text 'left in a huff'"):
        record_statuses(path)


def test_sco_rows_are_skipped_and_unknown_institutions_refused(tmp_path):
    ok = write_events(tmp_path / "ok.csv", ["1991-12-21,ARM,CIS,joined,M5", "2001-06-15,KAZ,SCO,anything,M8"])
    assert cls_of(record_statuses(ok, years=[2001]), "KAZ", "cis", 2001) == "out"
    bad = write_events(tmp_path / "bad.csv", ["1991-12-21,ARM,GUAM,joined,M5"])
    with pytest.raises(ValueError, match="unknown institution 'GUAM'"):
        record_statuses(bad)


def test_cst_and_csto_are_one_institution_and_same_day_events_keep_file_order(tmp_path):
    path = write_events(
        tmp_path / "events.csv",
        [
            "1992-05-15,ARM,CST,signed,M1",
            "2010-03-01,ARM,CSTO,suspended,M1",
            "2010-03-01,ARM,CSTO,rejoined,M1",
        ],
    )
    r = record_statuses(path, states=["ARM"], years=[2009, 2010])
    assert cls_of(r, "ARM", "csto", 2009) == "in"
    assert cls_of(r, "ARM", "csto", 2010) == "in"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"states": ["ARM", "RUS"]}, "'RUS' is never scored"),
        ({"states": "ARM"}, "not a list of state codes"),
        ({"years": [2001, 2000]}, "not increasing"),
        ({"years": [2000.5]}, "not a whole year"),
    ],
)
def test_bad_states_and_years_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        record_statuses(EVENTS, **kwargs)


def test_the_mapping_table_is_documented_in_the_module_docstring():
    table = {}
    for line in scoring.__doc__.splitlines():
        match = re.fullmatch(r"\s*``(.+)``\s+(in|partial|out|no change)", line)
        if match:
            table[match[1]] = None if match[2] == "no change" else match[2]
    assert table == dict(EVENT_CLASSES)


def test_the_reference_starts_and_base_rate(reference):
    starts = reference.starts.set_index(["period", "state", "institution"])["cls"]
    # in sample: 1 April 1999, before the treaty exits
    assert starts["in_sample", "AZE", "csto"] == "in"
    assert starts["in_sample", "UZB", "csto"] == "in"
    assert ("in_sample", "ARM", "eaeu") not in starts.index
    # out of sample: end-2014, and the EAEU on 2015-01-02
    assert starts["out_of_sample", "UKR", "cis"] == "partial"
    assert starts["out_of_sample", "ARM", "eaeu"] == "in"
    assert starts["out_of_sample", "KGZ", "eaeu"] == "out"
    # 1999: AZE, GEO, UZB leave the CST; TKM 2005, UZB 2006, GEO 2009, UZB 2012, UKR 2014
    assert (reference.changes, reference.cells) == (8, 11 * 2 * 16)
    assert reference.rate == pytest.approx(8 / 352)


# --------------------------------------------------------------------------- scores


def test_a_perfect_forecast_scores_zero_brier(record):
    probs = probabilities(perfect_simulation(record))
    s = score(probs, record)
    assert s.brier == 0.0
    assert s.log_loss == pytest.approx(-math.log(0.99 / 1.01))
    assert s.n == len(record)


def test_a_uniform_forecast_scores_two_thirds(record):
    uniform = record[["state", "institution", "year"]].assign(p_in=1 / 3, p_partial=1 / 3, p_out=1 / 3)
    s = score(uniform, record)
    assert s.brier == pytest.approx(2 / 3)
    assert s.log_loss == pytest.approx(math.log(3))


def test_a_confident_miss_scores_two_and_a_bounded_log_loss(record):
    cells = record.head(5)
    wrong = cells[["state", "institution", "year"]].assign(
        p_in=(cells["cls"] != "in").astype(float), p_partial=0.0, p_out=(cells["cls"] == "in").astype(float)
    )
    s = score(wrong, cells)
    assert s.brier == pytest.approx(2.0)
    assert s.log_loss == pytest.approx(-math.log(0.01 / 1.01))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(*(st.floats(0.0, 1.0),) * 3, st.sampled_from(["in", "partial", "out"])),
        min_size=1,
        max_size=30,
    )
)
def test_brier_is_within_0_and_2_and_log_loss_is_bounded(rows):
    weights = np.array([r[:3] for r in rows]) + 1e-9
    p = weights / weights.sum(axis=1, keepdims=True)
    cells = pd.DataFrame(
        {"state": "ARM", "institution": "cis", "year": np.arange(len(rows)), "cls": [r[3] for r in rows]}
    )
    forecast = cells[["state", "institution", "year"]].assign(p_in=p[:, 0], p_partial=p[:, 1], p_out=p[:, 2])
    s = score(forecast, cells)
    assert 0.0 <= s.brier <= 2.0
    assert -math.log(0.99 / 1.01) - 1e-12 <= s.log_loss <= -math.log(0.01 / 1.98) + 1e-12
    assert s.n == len(rows)


def test_a_forecast_missing_a_cell_or_not_a_distribution_is_refused(record):
    probs = probabilities(perfect_simulation(record))
    with pytest.raises(ValueError, match="no probabilities for"):
        score(probs.iloc[1:], record)
    bad = probs.assign(p_in=probs["p_in"] + 0.5)
    with pytest.raises(ValueError, match="not summing to 1"):
        score(bad, record)
    with pytest.raises(ValueError, match="record cls"):
        score(probs, record.assign(cls="member"))


def test_persistence_scores_zero_on_a_period_without_change():
    # BLR, KAZ, TJK, AZE and GEO change no class in 2015-2024 (the EAEU counted from 2015-01-02)
    states = ["AZE", "BLR", "GEO", "KAZ", "TJK"]
    record = record_statuses(EVENTS, states=states)
    reference = reference_data(EVENTS, states=states)
    later = record[record["year"] >= 2015]
    forecasts = reference_forecasts(later, reference, period="out_of_sample")
    assert score(forecasts["persistence"], later).brier == 0.0
    assert score(forecasts["base_rate"], later).brier > 0.0
    # in sample AZE and GEO left the CST in 1999: persistence from 1 April 1999 misses it
    earlier = record[record["year"] <= 2014]
    assert (
        score(reference_forecasts(earlier, reference, period="in_sample")["persistence"], earlier).brier > 0
    )


def test_the_base_rate_forecast_decays_from_the_start_class(record, reference):
    base = reference_forecasts(record, reference, period="out_of_sample")["base_rate"]
    r = reference.rate
    row = base[(base["state"] == "UKR") & (base["institution"] == "cis")].set_index("year")
    assert row.loc[2015, "p_partial"] == pytest.approx(1 - r)
    assert row.loc[2015, "p_in"] == pytest.approx(r / 2)
    assert row.loc[2024, "p_partial"] == pytest.approx((1 - r) ** 10)
    probs = base[["p_in", "p_partial", "p_out"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert len(base) == 11 * 3 * 10


def test_score_table_has_six_rows_and_the_exact_columns(record, reference):
    table = score_table(probabilities(perfect_simulation(record)), record, reference=reference)
    assert list(table.columns) == ["forecaster", "period", "brier", "log_loss", "n"]
    assert len(table) == 6
    assert list(table["forecaster"]) == ["model", "persistence", "base_rate"] * 2
    assert list(table["period"]) == ["in_sample"] * 3 + ["out_of_sample"] * 3
    assert list(table["n"]) == [352] * 3 + [330] * 3
    assert (table.loc[table["forecaster"] == "model", "brier"] == 0).all()
    assert (table.loc[table["forecaster"] != "model", "brier"] > 0).all()


def test_a_brier_difference_carries_a_series_bootstrap_interval(record, reference):
    later = record[record["year"] >= 2015]
    refs = reference_forecasts(later, reference, period="out_of_sample")
    perfect = probabilities(perfect_simulation(record))
    same = brier_difference(refs["persistence"], refs["persistence"], later)
    assert same == (0.0, 0.0, 0.0, 33, 330)  # a forecast against itself: nothing to tell apart
    d = brier_difference(perfect, refs["persistence"], later)
    assert d.difference == pytest.approx(-score(refs["persistence"], later).brier)
    assert d.low <= d.difference <= d.high <= 0.0  # the perfect forecast is never worse
    assert d.low < d.difference < d.high  # a few series hold the misses: the interval is wide
    flipped = brier_difference(refs["persistence"], perfect, later)
    assert flipped.difference == -d.difference and flipped.low == pytest.approx(-d.high)
    assert brier_difference(perfect, refs["persistence"], later) == d  # a fixed seed: the same interval
    # one series resampled is the same as many cells of one series: the interval is per series
    one = later[(later["state"] == "UKR") & (later["institution"] == "cis")]
    single = brier_difference(perfect, refs["persistence"], one)
    assert single.low == single.high == single.difference and single.series == 1
    with pytest.raises(ValueError, match="resamples"):
        brier_difference(perfect, refs["persistence"], later, resamples=10)
    with pytest.raises(ValueError, match="no probabilities for"):
        brier_difference(perfect[perfect["year"] != 2015], refs["persistence"], later)


def test_the_bootstrap_resamples_series_as_a_hand_loop_does():
    # two series of unequal length; A misses one cell of series 0, B one of series 1 and one of 0
    cells = pd.DataFrame(
        {
            "state": ["ARM"] * 3 + ["KAZ"] * 2,
            "institution": "cis",
            "year": [2015, 2016, 2017, 2015, 2016],
            "cls": "in",
        }
    )
    keys = cells[["state", "institution", "year"]]
    a = keys.assign(p_in=[0.0, 1, 1, 1, 1], p_partial=[1.0, 0, 0, 0, 0], p_out=0.0)
    b = keys.assign(p_in=[1, 0.5, 1, 0.0, 1], p_partial=[0, 0.5, 0, 1.0, 0], p_out=0.0)
    d = brier_difference(a, b, cells, resamples=500)
    gap = np.array([2.0, -0.5, 0, -2, 0])  # per cell: Brier of A minus Brier of B
    assert d.difference == pytest.approx(gap.mean()) and (d.series, d.n) == (2, 5)
    rng = np.random.default_rng(scoring.BOOTSTRAP_SEED)
    series = [gap[:3], gap[3:]]
    boot = []
    for pick in rng.integers(0, 2, size=(500, 2)):
        chosen = np.concatenate([series[i] for i in pick])
        boot.append(chosen.mean())
    low, high = np.percentile(boot, [2.5, 97.5])
    assert (d.low, d.high) == pytest.approx((low, high))
    # the only resamples are both series (the whole-data mean) or one of them twice
    assert {round(x, 9) for x in boot} <= {round(gap.mean(), 9), 0.5, -1.0}


def test_the_difference_table_has_a_row_per_period_and_reference(record, reference):
    table = difference_table(probabilities(perfect_simulation(record)), record, reference=reference)
    assert list(table.columns) == list(DIFFERENCE_COLUMNS)
    assert list(table["period"]) == ["in_sample"] * 2 + ["out_of_sample"] * 2
    assert list(table["reference"]) == ["persistence", "base_rate"] * 2
    assert (table["difference"] < 0).all() and (table["high"] <= 0).all()
    assert list(table["n"]) == [352, 352, 330, 330] and list(table["series"]) == [22, 22, 33, 33]


def test_reliability_of_a_perfect_forecast(record):
    table = reliability_table(probabilities(perfect_simulation(record)), record, bins=10)
    full = table[table["n"] > 0]
    assert list(full["bin"]) == [0, 9]
    assert list(full["observed"]) == [0.0, 1.0]
    assert full["n"].sum() == 3 * len(record)


# --------------------------------------------------------------------------- the simulation


def test_probabilities_are_shares_of_runs():
    sim = pd.DataFrame(
        {
            "run": [0, 1, 2, 3, 0, 1, 2, 3],
            "state": ["ARM"] * 8,
            "institution": ["csto"] * 8,
            "year": [2000] * 4 + [2001] * 4,
            "status": ["member", "frozen", "observer", "withdrawn", "none", "none", "member", "member"],
        }
    )
    p = probabilities(sim).set_index("year")
    assert p.loc[2000, ["p_in", "p_partial", "p_out"]].tolist() == [0.25, 0.5, 0.25]
    assert p.loc[2001, ["p_in", "p_partial", "p_out"]].tolist() == [0.5, 0.0, 0.5]
    assert (p["runs"] == 4).all()
    with pytest.raises(ValueError, match="holds 3 rows for 4 runs"):
        probabilities(sim.iloc[1:])
    with pytest.raises(ValueError, match="'gone' is not a status"):
        probabilities(sim.assign(status="gone"))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.lists(st.sampled_from(list(scoring.STATUS_CLASSES)), min_size=18, max_size=18))
def test_probabilities_sum_to_one(runs, pool):
    rows = [
        (r, s, "cis", y, pool[(r * 7 + i * 3 + y) % len(pool)])
        for r in range(runs)
        for i, s in enumerate(["ARM", "KAZ"])
        for y in (2000, 2001, 2002)
    ]
    p = probabilities(pd.DataFrame(rows, columns=["run", "state", "institution", "year", "status"]))
    values = p[["p_in", "p_partial", "p_out"]].to_numpy()
    assert ((values >= 0) & (values <= 1)).all()
    np.testing.assert_allclose(values.sum(axis=1), 1.0)
    assert len(p) == 6


START = pd.DataFrame(
    {
        "state": ["UZB", "ARM", "TKM"],
        "institution": ["csto", "csto", "cis"],
        "status": ["member", "member", "member"],
    }
)


def event(run, step, quarter, state, institution, old, new):
    return {
        "run": run,
        "step": step,
        "quarter": quarter,
        "state": state,
        "institution": institution,
        "from": old,
        "to": new,
    }


# step 1 is 1999Q2: step s is the quarter s - 1 after it
LOG = pd.DataFrame(
    [
        event(0, 1, "1999Q2", "UZB", "csto", "member", "withdrawn"),
        event(0, 3, "1999Q4", "ARM", "csto", "member", "boycott"),  # not a status change
        event(0, 7, "2000Q4", "TKM", "cis", "member", "associate"),  # in the last quarter: counts for 2000
        event(1, 8, "2001Q1", "ARM", "csto", "member", "frozen"),
        event(1, 8, "2001Q1", "ARM", "air_defence", "none", "member"),  # not a status change
        event(1, 10, "2001Q3", "ARM", "csto", "frozen", "member"),  # two events in one year: the last wins
        event(1, 11, "2001Q4", "UZB", "csto", "member", "suspended"),
        event(1, 14, "2002Q3", "UZB", "csto", "suspended", "withdrawn"),
    ]
)


def status_at(frame, run, state, institution, year):
    row = frame[
        (frame["run"] == run)
        & (frame["state"] == state)
        & (frame["institution"] == institution)
        & (frame["year"] == year)
    ]
    assert len(row) == 1
    return row["status"].iloc[0]


def test_statuses_at_year_ends_rebuilds_a_hand_made_log():
    out = statuses_at_year_ends(START, LOG, runs=3, start_quarter="1999Q2", years=range(1999, 2004))
    assert list(out.columns) == ["run", "state", "institution", "year", "status"]
    assert len(out) == 3 * 3 * 5
    assert [status_at(out, 0, "UZB", "csto", y) for y in range(1999, 2004)] == ["withdrawn"] * 5
    assert [status_at(out, 0, "TKM", "cis", y) for y in range(1999, 2004)] == ["member"] + ["associate"] * 4
    assert [status_at(out, 0, "ARM", "csto", y) for y in range(1999, 2004)] == ["member"] * 5
    assert [status_at(out, 1, "ARM", "csto", y) for y in range(1999, 2004)] == ["member"] * 5
    assert [status_at(out, 1, "UZB", "csto", y) for y in range(1999, 2004)] == [
        "member",
        "member",
        "suspended",
        "withdrawn",
        "withdrawn",
    ]
    assert set(out.loc[out["run"] == 2, "status"]) == {"member"}  # a run without events keeps its start
    assert set(out["institution"]) == {"cis", "csto"}  # air_defence is dropped


def test_statuses_at_year_ends_folds_events_before_the_first_year_wanted():
    out = statuses_at_year_ends(START, LOG, runs=[0, 1], start_quarter="1999Q2", years=[2002])
    assert status_at(out, 0, "UZB", "csto", 2002) == "withdrawn"
    assert status_at(out, 1, "UZB", "csto", 2002) == "withdrawn"
    assert status_at(out, 0, "TKM", "cis", 2002) == "associate"
    assert len(out) == 2 * 3


def test_statuses_at_year_ends_feeds_probabilities():
    out = statuses_at_year_ends(START, LOG, runs=4, start_quarter="1999Q2", years=range(1999, 2003))
    p = probabilities(out).set_index(["state", "institution", "year"])
    assert p.loc[("UZB", "csto", 2001), ["p_in", "p_partial", "p_out"]].tolist() == [0.5, 0.25, 0.25]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"quarter": "2000Q1"}, "is not the label of step 1"),
        ({"quarter": "1999-Q2"}, "is not a quarter label"),
        ({"from": "frozen"}, "goes from 'frozen' but was 'member'"),
        ({"to": "gone"}, "'gone' is not allowed"),
        ({"run": 9}, "run 9 is not one of the runs"),
        ({"state": "KAZ"}, "KAZ csto has no starting status"),
    ],
)
def test_statuses_at_year_ends_refuses_an_inconsistent_log(change, message):
    log = LOG.copy()
    for column, value in change.items():
        log.loc[0, column] = value
    with pytest.raises(ValueError, match=message):
        statuses_at_year_ends(START, log, runs=3, start_quarter="1999Q2", years=range(1999, 2004))


def test_statuses_at_year_ends_refuses_years_before_the_start():
    with pytest.raises(ValueError, match="before the start"):
        statuses_at_year_ends(START, LOG, runs=3, start_quarter="1999Q2", years=[1998, 1999])


# --------------------------------------------------------------------------- timing


def test_timing_errors_of_a_late_run_a_missed_change_and_a_false_alarm(record, reference):
    sim = perfect_simulation(record, runs=2)
    one = sim["run"] == 1
    uzb = one & (sim["state"] == "UZB") & (sim["institution"] == "csto")
    sim.loc[uzb & sim["year"].between(2006, 2007), "status"] = "none"  # rejoins in 2008, not 2006
    sim.loc[uzb & (sim["year"] >= 2012), "status"] = "member"  # never suspended
    kaz = one & (sim["state"] == "KAZ") & (sim["institution"] == "cis")
    sim.loc[kaz & (sim["year"] == 2003), "status"] = "associate"  # a change the record does not have
    timing = timing_errors(sim, record, period="in_sample", reference=reference)
    changes = timing.changes.set_index(["state", "institution", "recorded_year"])
    assert len(changes) == 8
    left = changes.loc[("UZB", "csto", 1999)]  # against the start of 1 April 1999
    assert (left["from_cls"], left["to_cls"], left["median_year"], left["share_never"]) == (
        "in",
        "out",
        1999,
        0,
    )
    back = changes.loc[("UZB", "csto", 2006)]
    assert (back["median_year"], back["median_abs_error"], back["share_never"]) == (2007.0, 1.0, 0.0)
    suspended = changes.loc[("UZB", "csto", 2012)]
    assert (suspended["median_year"], suspended["median_abs_error"], suspended["share_never"]) == (
        2012,
        0,
        0.5,
    )
    alarms = timing.false_alarms.set_index(["state", "institution"])
    assert alarms.loc[("KAZ", "cis"), "share_changed"] == 0.5
    assert alarms.loc[("KAZ", "cis"), "mean_changes"] == 1.0  # into associate and back: 2 changes in run 1
    assert alarms["share_changed"].iloc[0] == 0.5  # highest first
    assert len(alarms) == 11 * 2 - 6  # series without a recorded change in 1999-2014


def test_timing_errors_out_of_sample_start_from_the_record(record, reference):
    timing = timing_errors(perfect_simulation(record), record, period="out_of_sample", reference=reference)
    got = {(r.state, r.institution, r.recorded_year, r.to_cls) for r in timing.changes.itertuples()}
    assert got == {
        ("KGZ", "eaeu", 2015, "in"),
        ("MDA", "eaeu", 2017, "partial"),
        ("UKR", "cis", 2018, "out"),
        ("MDA", "cis", 2023, "partial"),
        ("ARM", "csto", 2024, "partial"),
    }
    assert (timing.changes["median_abs_error"] == 0).all()
    assert (timing.false_alarms["share_changed"] == 0).all()
    with pytest.raises(ValueError, match="period: 'later' is not a period"):
        timing_errors(perfect_simulation(record), record, period="later", reference=reference)


# --------------------------------------------------------------------------- the report


def test_write_report_writes_its_files_and_nothing_else(tmp_path, record, reference):
    sim = perfect_simulation(record, runs=3)
    sim.loc[(sim["run"] == 2) & (sim["state"] == "ARM") & (sim["institution"] == "csto"), "status"] = "frozen"
    probs = probabilities(sim)
    scores = score_table(probs, record, reference=reference)
    timing = [timing_errors(sim, record, period=p, reference=reference) for p in scoring.PERIODS]
    out = tmp_path / "hindcast"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    written = write_report(
        out,
        probabilities=probs,
        record=record,
        scores=scores,
        timing=timing,
        reference=reference,
        title="Test hindcast",
        notes=["3 runs", "seed 0"],
        differences=difference_table(probs, record, reference=reference),
    )
    names = {p.name for p in written}
    expected = {"report.md", "scores.csv", "differences.csv", "reliability.png"} | {
        f"timeline_{s}.png" for s in SCORED_STATES
    }
    assert names == expected
    assert {p.name for p in out.iterdir()} == expected | {"mine.txt"}  # no temporary file left
    assert (out / "mine.txt").read_text() == "keep me"
    assert list(pd.read_csv(out / "scores.csv").columns) == ["forecaster", "period", "brier", "log_loss", "n"]
    assert list(pd.read_csv(out / "differences.csv").columns) == list(DIFFERENCE_COLUMNS)
    for name in expected - {"report.md", "scores.csv", "differences.csv"}:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (out / "report.md").read_text()
    assert text.startswith("# Test hindcast")
    assert "- 3 runs" in text
    assert "](reliability.png)" in text and "](timeline_ARM.png)" in text
    assert "In sample (1999-2014)" in text and "Out of sample (2015-2024)" in text
    assert "difference" in text and "ratio" in text and "model better by" in text
    assert "95% interval" in text and "(excludes 0)" in text
    assert "## Timing of the recorded changes" in text and "## False alarms" in text
    assert "| out_of_sample | ARM | CSTO | in → partial | 2024 |" in text
    # writing again (two states) replaces its own files and leaves the other timelines alone
    two = record[record["state"].isin(["ARM", "UZB"])]
    before = (out / "timeline_KAZ.png").read_bytes()
    again = write_report(
        out,
        probabilities=probs,
        record=two,
        scores=scores,
        timing=timing[0],
        reference=reference,
        title="Again",
    )
    assert {p.name for p in again} == {
        "report.md",
        "scores.csv",
        "reliability.png",
        "timeline_ARM.png",
        "timeline_UZB.png",
    }
    assert (out / "report.md").read_text().startswith("# Again")
    assert (out / "timeline_KAZ.png").read_bytes() == before


def test_write_report_refuses_bad_arguments_before_writing(tmp_path, record, reference):
    probs = probabilities(perfect_simulation(record))
    scores = score_table(probs, record, reference=reference)
    timing = timing_errors(perfect_simulation(record), record, period="in_sample", reference=reference)
    out = tmp_path / "report"
    kwargs = {
        "probabilities": probs,
        "record": record,
        "scores": scores,
        "timing": timing,
        "reference": reference,
    }
    with pytest.raises(ValueError, match="scores: columns"):
        write_report(out, **{**kwargs, "scores": scores.drop(columns="n")})
    with pytest.raises(ValueError, match="no probabilities for"):
        write_report(out, **{**kwargs, "probabilities": probs.iloc[5:]})
    with pytest.raises(ValueError, match="one-line title"):
        write_report(out, **kwargs, title="two\nlines")
    with pytest.raises(ValueError, match="differences: columns"):
        write_report(out, **kwargs, differences=scores)
    assert not out.exists()
    written = write_report(out, **kwargs)  # without differences: no file, no interval
    assert "differences.csv" not in {p.name for p in written}
    assert "| 95% interval |" in (out / "report.md").read_text() and not (out / "differences.csv").exists()
    assert "| – |" in (out / "report.md").read_text()  # the interval cell says there is none
