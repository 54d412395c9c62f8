"""The model's one shortcut (the kept equilibrium) and its agents as views of its world.

A scenario's starting equilibrium is computed once per process and kept; the
agents read and write the model's arrays directly, so a write through an agent,
even in place into a row, is what the next quarter's rules see.
"""

from __future__ import annotations

import numpy as np
import pytest

from model import AllianceModel
from model.rules.choice import preferred_mix, temperature
from model.rules.world import R, W
from model.scenario import load_scenario


def test_writes_through_agents_are_what_the_rules_see(baseline):
    model = AllianceModel(baseline, rng=0)
    kaz = model.states[model.codes.index("KAZ")]
    kaz.russian_forces = 20.0
    kaz.sovereignty = 0.2
    kaz.defence_pacts[W] = 1.0  # in place, into the row
    kaz.trade[:] = [0.5, 0.1, 0.2, 0.1, 0.1]
    model.powers[R].dominance = 0.1
    model.powers[W].security_credibility = 1.0
    alignment = model.alignment.copy()
    model.evaluate()

    entry = baseline.states["KAZ"].model_dump()
    entry.update(russian_forces=20.0, sovereignty=0.2)
    entry["defence_pacts"]["west"] = 1.0
    entry["trade"] = dict(
        zip(("russia", "west", "china", "turkey", "other"), [0.5, 0.1, 0.2, 0.1, 0.1], strict=True)
    )
    changed = baseline.with_overrides(
        {
            "states.KAZ": entry,
            "powers.russia.dominance": 0.1,
            "powers.west.security_credibility": 1.0,
        }
    )
    fresh = AllianceModel(changed, rng=0)
    fresh.alignment = alignment
    fresh.initial_russia[:] = model.initial_russia  # Russia reacts to drift from the start
    fresh.evaluate()
    np.testing.assert_allclose(model.utility, fresh.utility, rtol=1e-13, atol=1e-13)
    assert not np.allclose(model.utility, AllianceModel(baseline, rng=0).utility)  # the writes mattered


def test_a_row_held_across_quarters_stays_the_live_row(baseline):
    # A view taken before some quarters (drift, moves, shocks rewrite these arrays every
    # quarter) is still the model's row afterwards: it shows the new values, and a write
    # through it is what the next quarter sees, as a write through the agent would be.
    def held_and_written(through_held: bool) -> AllianceModel:
        model = AllianceModel(baseline, rng=4)
        kaz = model.states[model.codes.index("KAZ")]
        trade, alignment, utility = kaz.trade, kaz.alignment, model.utility
        for _ in range(3):
            model.step()
        assert np.array_equal(trade, kaz.trade) and np.shares_memory(trade, model.world.trade)
        assert np.array_equal(alignment, kaz.alignment) and np.array_equal(utility, model.utility)
        row = trade if through_held else kaz.trade
        row[:] = [0.6, 0.1, 0.1, 0.1, 0.1]
        model.step()
        return model

    held, fresh = held_and_written(True), held_and_written(False)
    np.testing.assert_array_equal(held.alignment, fresh.alignment)
    untouched = AllianceModel(baseline, rng=4)
    for _ in range(4):
        untouched.step()
    assert not np.array_equal(held.world.trade, untouched.world.trade)  # the write mattered


def test_the_kept_equilibrium_equals_a_fresh_one(baseline):
    first = AllianceModel(baseline, rng=0)
    again = AllianceModel(baseline, rng=1)  # the same scenario object: equilibrium kept
    fresh = AllianceModel(baseline.model_copy(), rng=0)  # an equal copy: computed again
    np.testing.assert_array_equal(first.initial_russia, again.initial_russia)
    np.testing.assert_array_equal(first.initial_russia, fresh.initial_russia)
    np.testing.assert_array_equal(first.utility, fresh.utility)


def test_the_equilibrium_is_a_fixed_point_of_the_choice_rule():
    for name in ("baseline", "wider_region"):
        model = AllianceModel(load_scenario(name), rng=0)
        target = preferred_mix(model.utility, temperature(model.world)[0])
        np.testing.assert_allclose(target, model.alignment, atol=1e-5)


def test_statuses_are_outcomes_not_settable_through_an_agent(baseline):
    model = AllianceModel(baseline, rng=0)
    kaz = model.states[model.codes.index("KAZ")]
    with pytest.raises(TypeError):
        kaz.status["csto"] = "withdrawn"  # type: ignore[index]
    assert kaz.status["csto"] == "member"
