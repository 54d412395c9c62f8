"""The model as a whole: determinism, invariants, calibration checks, shocks, measures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import AllianceModel, simulate
from model.catalogue import INSTITUTIONS, POLES
from model.rules.measures import cohesion_index, two_bloc_energy
from model.scenario import available_scenarios, load_scenario
from model.validate import checks, mean_alignment

ALIGN = [f"alignment_{p}" for p in POLES]
TRADE = [f"trade_{p}" for p in (*POLES, "other")]
ARMS = [f"arms_{p}" for p in (*POLES, "other")]

# --------------------------------------------------------------------------- reproducibility


def test_same_seed_reproduces_a_run_exactly(baseline):
    a = simulate(baseline, seed=7, steps=12)
    b = simulate(baseline, seed=7, steps=12)
    pd.testing.assert_frame_equal(a.model, b.model)
    pd.testing.assert_frame_equal(a.states, b.states)
    pd.testing.assert_frame_equal(a.events, b.events)


def test_a_different_seed_gives_a_different_run(baseline):
    a = simulate(baseline, seed=1, steps=12)
    b = simulate(baseline, seed=2, steps=12)
    assert not np.allclose(a.states[ALIGN].to_numpy(), b.states[ALIGN].to_numpy())
    # ... but the same starting point: only the noise differs
    first = a.states["step"] == 0
    np.testing.assert_allclose(a.states.loc[first, ALIGN], b.states.loc[first, ALIGN])


def test_seed_sequence_children_are_accepted_and_reproducible(baseline):
    child_a, child_b = np.random.SeedSequence(99).spawn(2)
    again = np.random.SeedSequence(99).spawn(2)[0]
    a = simulate(baseline, seed=child_a, steps=6, collect="final")
    b = simulate(baseline, seed=again, steps=6, collect="final")
    c = simulate(baseline, seed=child_b, steps=6, collect="final")
    assert a.final()["cohesion"] == b.final()["cohesion"]
    assert a.final()["cohesion"] != c.final()["cohesion"]


def test_collect_modes_agree_on_the_final_state(baseline):
    full = simulate(baseline, seed=3, steps=9)
    final = simulate(baseline, seed=3, steps=9, collect="final")
    thinned = simulate(baseline, seed=3, steps=9, collect="model", every=4)
    pd.testing.assert_series_equal(full.final(), final.final(), check_names=False)
    assert list(thinned.model["step"]) == [0, 4, 8, 9]
    assert list(final.model["step"]) == [0, 9]
    assert final.states.empty


# --------------------------------------------------------------------------- invariants

levels = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    russian_pressure=levels,
    western=levels,
    chinese=levels,
    turkish=levels,
    noise=st.floats(min_value=0.0, max_value=0.3),
)
def test_shares_and_alignments_stay_on_the_simplex(
    baseline, seed, russian_pressure, western, chinese, turkish, noise
):
    scenario = baseline.with_overrides(
        {
            "powers.russia.pressure": russian_pressure,
            "powers.west.engagement": western,
            "powers.china.engagement": chinese,
            "powers.turkey.engagement": turkish,
            "dynamics.noise": noise,
        }
    )
    states = simulate(scenario, seed=seed, steps=12).states
    for columns in (ALIGN, TRADE, ARMS):
        values = states[columns].to_numpy()
        assert ((values >= 0) & (values <= 1)).all()
        np.testing.assert_allclose(values.sum(axis=1), 1.0, atol=1e-9)
    for column in ("opinion_russia", "trust_russia", *(f"commitment_{i}" for i in INSTITUTIONS)):
        assert states[column].between(-1, 1).all()
    assert states["opinion_russia"].between(0, 1).all()
    assert states["trust_russia"].between(0, 1).all()


@settings(max_examples=40, deadline=None)
@given(
    alignment=st.lists(st.floats(0.0, 1.0), min_size=6, max_size=6),
    weights=st.lists(st.floats(0.0, 100.0), min_size=6, max_size=6),
)
def test_cohesion_index_lies_in_the_unit_interval(alignment, weights):
    value = cohesion_index(np.array(alignment), np.array(weights))
    assert 0.0 <= value <= 1.0


# --------------------------------------------------------------------------- measures


def test_cohesion_index_known_answers():
    # a united alliance all at 0.8: no dispersion, index = mean
    assert cohesion_index(np.array([0.8, 0.8]), np.array([1.0, 3.0])) == pytest.approx(0.8)
    # two equal members at 1 and 0: mean 0.5, sd 0.5, index 0.5 * (1 - 1) = 0
    assert cohesion_index(np.array([1.0, 0.0]), np.array([1.0, 1.0])) == pytest.approx(0.0)
    # weights 3:1 at 1 and 0: mean 0.75, sd sqrt(0.1875) = 0.4330, index 0.75 * 0.1340 = 0.1005
    assert cohesion_index(np.array([1.0, 0.0]), np.array([3.0, 1.0])) == pytest.approx(
        0.75 * (1 - 2 * np.sqrt(0.1875))
    )
    assert cohesion_index(np.array([0.5]), np.array([0.0])) == 0.0  # nobody weighted
    rows = cohesion_index(np.array([0.8, 0.2]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    np.testing.assert_allclose(rows, [0.8, 0.2])


def test_two_bloc_energy_matches_a_hand_computation():
    # One state fully with Russia, one fully with the West, equal sizes, no conflict.
    # Actors: A (1,0,0,0), B (0,1,0,0), Russia (1,0,0,0); sizes normalised to 1/3 each.
    # Propensities p = cos - 1/2: p_AB = -1/2, p_AR = +1/2, p_BR = -1/2.
    # Blocs: A and Russia together, B apart, so d_AB = d_BR = 1.
    # E = 2 * (1/3)^2 * (p_AB + p_BR) = 2/9 * (-1) = -2/9.
    energy, blocs = two_bloc_energy(
        np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]), np.array([5.0, 5.0]), np.zeros((2, 2))
    )
    assert energy == pytest.approx(-2 / 9)
    assert list(blocs) == [1, 0]


# --------------------------------------------------------------------------- calibration


@pytest.fixture(scope="module")
def twenty_baseline_runs(baseline):
    seeds = np.random.SeedSequence(2024).spawn(20)
    return [simulate(baseline, seed=s) for s in seeds]


def test_baseline_starts_from_the_end_2024_memberships(baseline):
    first = simulate(baseline, seed=0, steps=1).states.query("step == 0").set_index("state")
    for code, params in baseline.states.items():
        for inst in INSTITUTIONS:
            assert first.loc[code, inst] == getattr(params.status, inst)
    assert first["quarter"].iloc[0] == "2024Q4"


@pytest.mark.slow
def test_baseline_keeps_russias_closest_partners_across_seeds(twenty_baseline_runs):
    """With the calibrated parameters the end-2024 statuses are the start, not the rest state
    (Kazakhstan's CSTO membership, for one, is at risk: docs/model.md 7); but Belarus, Tajikistan
    and Kyrgyzstan, the most aligned with Russia, keep every membership they have in all 20 seeds,
    and every state stays in the CIS."""
    changed_any = False
    for run in twenty_baseline_runs:
        changes = run.events[run.events["to"] != "boycott"]
        changed_any |= not changes.empty
        assert not changes["state"].isin(["BLR", "TJK", "KGZ"]).any(), changes.to_string()
        assert not (changes["institution"] == "cis").any(), changes.to_string()
        assert run.final()["cis_members"] == 8
    assert changed_any  # the status quo is not imposed: some seed moves a status


@pytest.mark.slow
def test_baseline_orders_states_plausibly(twenty_baseline_runs, baseline):
    """Belarus most aligned with Russia; Armenia and Azerbaijan least among CIS members;
    Kazakhstan, Kyrgyzstan, Tajikistan and Uzbekistan with Russia and China among their top
    three poles, China ahead of the West (docs/model.md, section 7, says how this was checked)."""
    cis = [c for c, s in baseline.states.items() if s.status.cis == "member"]
    assert "TKM" not in cis  # an associate
    means = mean_alignment(twenty_baseline_runs)
    failed = [name for name, holds in checks(means, cis).items() if not holds]
    assert not failed, means.round(3).to_string()
    # and in (nearly) every single seed, not only on average
    per_seed = [checks(r.states.groupby("state")[ALIGN].mean(), cis) for r in twenty_baseline_runs]
    assert all(sum(c.values()) >= len(c) - 1 for c in per_seed)


def test_ordering_checks_can_fail():
    """The checks are not vacuous: a table with Armenia loyal to Russia fails them."""
    table = pd.DataFrame(
        {
            "alignment_russia": [0.9, 0.95, 0.2],
            "alignment_west": [0.05, 0.0, 0.3],
            "alignment_china": [0.03, 0.05, 0.3],
            "alignment_turkey": [0.02, 0.0, 0.2],
        },
        index=["ARM", "BLR", "AZE"],
    )
    result = checks(
        pd.concat(
            [
                table,
                pd.DataFrame(
                    [[0.3, 0.4, 0.2, 0.1]] * 4,
                    columns=table.columns,
                    index=["KAZ", "KGZ", "TJK", "UZB"],
                ),
            ]
        ),
        ["ARM", "BLR", "AZE", "KAZ", "KGZ", "TJK", "UZB"],
    )
    assert result["Belarus most aligned with Russia"]
    assert not result["Armenia, Azerbaijan least among CIS members"]
    assert not result["KAZ hedges between Russia and China"]  # West ahead of China


# --------------------------------------------------------------------------- scenarios


@pytest.mark.parametrize("path", available_scenarios(), ids=lambda p: p.stem)
def test_every_scenario_loads_and_runs(path):
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    run = simulate(scenario, seed=0, steps=6)
    assert len(run.model) == 7
    assert run.model["cohesion"].between(0, 1).all()


def test_scenario_names_are_unique():
    names = [load_scenario(p).name for p in available_scenarios()]
    assert len(names) == len(set(names)) >= 8


@pytest.mark.parametrize(
    ("variant", "direction"),
    [("russian_pressure_high", -1), ("russian_pressure_low", +1)],
)
def test_pressure_scenarios_move_cohesion_the_expected_way(baseline, variant, direction):
    """Averaged over seeds, high Russian pressure lowers end cohesion and low pressure raises it."""
    seeds = np.random.SeedSequence(11).spawn(5)
    base = np.mean([simulate(baseline, seed=s, collect="final").final()["cohesion"] for s in seeds])
    other = load_scenario(variant)
    value = np.mean([simulate(other, seed=s, collect="final").final()["cohesion"] for s in seeds])
    assert np.sign(value - base) == direction


def test_a_temporary_shock_applies_then_reverts():
    scenario = load_scenario("afghan_spillover")
    model = AllianceModel(scenario, rng=0)
    tjk = model.states[model.codes.index("TJK")]
    before = tjk.external_threat
    timeline = []
    for _ in range(16):
        model.step()
        timeline.append((model.quarter, float(tjk.external_threat)))
    raised = dict(timeline)
    assert raised["2026Q2"] == pytest.approx(before)
    assert raised["2026Q3"] == pytest.approx(before + 0.3)
    assert raised["2028Q2"] == pytest.approx(before + 0.3)
    assert raised["2028Q3"] == pytest.approx(before)  # eight quarters later


def test_trade_access_shock_shifts_trade_toward_the_partner(baseline):
    corridor = load_scenario("middle_corridor")
    base = simulate(baseline, seed=0).states
    shocked = simulate(corridor, seed=0).states
    end = base["step"].max()

    def west_share(states):
        row = states[(states["step"] == end) & (states["state"] == "KAZ")]
        return float(row["trade_west"].iloc[0])

    assert west_share(shocked) > west_share(base) + 0.02


def test_model_outputs_have_calendar_dates(baseline):
    run = simulate(baseline, seed=0, steps=5)
    assert list(run.model["quarter"]) == [
        "2024Q4",
        "2025Q1",
        "2025Q2",
        "2025Q3",
        "2025Q4",
        "2026Q1",
    ]
    assert run.model["date"].iloc[1] == pd.Timestamp("2025-03-31")
    assert run.model["date"].iloc[-1] == pd.Timestamp("2026-03-31")
