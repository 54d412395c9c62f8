"""Mechanism checks on the shipped scenarios: each asserts what a rule must do, not a number it gave.

Each test here failed on a rule that was wrong (see CHANGELOG.md), except the Afghan
spill-over check, which documents that a threat works through the guarantees it should.
"""

from __future__ import annotations

import numpy as np
import pytest

from model.model import AllianceModel
from model.rules import powers
from model.rules.world import R
from model.scenario import Scenario, load_scenario
from tests.conftest import neutral_state, scripted


def _quiet(name: str, **overrides: object) -> Scenario:
    return load_scenario(name).with_overrides({"dynamics.noise": 0.0, **overrides})


def _run(scenario: Scenario, steps: int | None = None) -> AllianceModel:
    model = AllianceModel(scenario, rng=0)
    for _ in range(scenario.horizon if steps is None else steps):
        model.step()
    return model


# --------------------------------------------------------------------------- 1. capacity is a total


def test_added_states_spread_a_power_thinner():
    """Georgia, Moldova and Ukraine added: every other state gets less from every power, not more."""
    base = AllianceModel(load_scenario("baseline"), rng=0)
    wide = AllianceModel(load_scenario("wider_region"), rng=0)
    shared = [wide.codes.index(code) for code in base.codes]
    wide.alignment[shared] = base.alignment  # the same alignments, so only the added states differ
    for model in (base, wide):
        model.initial_russia[:] = model.alignment[:, R]  # and no drift for Russia to react to
        model.evaluate()
    assert (wide.pressure[:, shared] < base.pressure).all()
    assert (wide.inducement[:, shared] < base.inducement).all()
    # the totals are the same: what the added states receive is what the others lost
    np.testing.assert_allclose(wide.pressure.sum(axis=1), base.pressure.sum(axis=1))
    np.testing.assert_allclose(wide.inducement.sum(axis=1), base.inducement.sum(axis=1))


def test_a_power_total_is_its_level_times_capacity_times_the_reference_states():
    scenario = scripted({c: neutral_state() for c in ("KAZ", "KGZ")}, powers={"russia": {"pressure": 0.5}})
    model = AllianceModel(scenario, rng=0)
    total = model.pressure[R].sum()
    assert total == pytest.approx(0.5 * 1.0 * powers.N_REF)


# --------------------------------------------------------------------------- 2. abandonment


def _trust_change_at_flare(scenario: Scenario) -> tuple[AllianceModel, np.ndarray]:
    model = AllianceModel(scenario, rng=0)
    flare = next(s for s in scenario.shocks if s.kind == "conflict")
    step = flare.date.index - scenario.start.index + 1
    for _ in range(step - 1):
        model.step()
    before = model.world.scalars["trust_russia"][0].copy()
    model.step()
    return model, before - model.world.scalars["trust_russia"][0]


def test_the_ally_under_a_russian_guarantee_loses_the_most_trust_when_russia_stays_out():
    """Caucasus flare-up, Russia out (2022): Armenia (CSTO, treaty, Gyumri base) feels abandoned."""
    model, lost = _trust_change_at_flare(_quiet("caucasus_flare_up"))
    arm, aze = model.codes.index("ARM"), model.codes.index("AZE")
    assert lost[arm] > lost[aze]
    assert lost[arm] > 0.05  # a material loss: a sixth of Armenia's trust or more
    assert lost[aze] < 0.1  # Azerbaijan was promised little (a 2022 declaration, no CSTO, no troops)


def test_a_party_without_a_russian_guarantee_loses_no_trust():
    states = {
        "ARM": neutral_state(),  # a CSTO member
        "AZE": neutral_state(status={"cis": "member", "csto": "withdrawn", "eaeu": "none"}),
    }
    scenario = scripted(
        states,
        conflicts={"ARM-AZE": {"intensity": 0.2}},
        shocks=[{"date": "2025Q2", "kind": "conflict", "states": ["ARM", "AZE"], "delta": 0.5}],
    )
    _, lost = _trust_change_at_flare(scenario)
    # tie 0.5 (a CSTO member), flare 0.5: trust 1 -> 0.75, then a quarter's recovery of 0.5%
    assert lost[0] == pytest.approx(1.0 - (0.75 + 0.005 * 0.25))
    assert lost[1] == pytest.approx(0.0)
