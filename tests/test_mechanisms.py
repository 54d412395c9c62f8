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
