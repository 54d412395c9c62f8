"""The model's shortcuts give the answers of the plain rules they replace.

A run skips work in three places: the slow-moving terms of the utilities are
built once per change of a driver (``model.terms``), a state that crosses no
threshold skips its institutional choice (``_may_act``), and the starting
equilibrium of a scenario is computed once per process. Each test here runs the
shortcut against the plain computation.
"""

from __future__ import annotations

import numpy as np
import pytest

from model import AllianceModel
from model.agents import R, T, W, preferred_mix, temperatures, utilities
from model.scenario import available_scenarios, load_scenario

SCENARIOS = ["baseline", "caucasus_flare_up", "russian_pressure_high", "wider_region"]


def _weighted_parts(model: AllianceModel) -> np.ndarray:
    w = model.config.weights
    p = model.parts
    return (
        w.security * p["security"]
        + w.economy * p["economy"]
        - w.autonomy * p["autonomy"]
        + w.coercion * p["coercion"]
        + w.identity * p["identity"]
        + w.social * p["social"]
    )


@pytest.mark.parametrize("name", SCENARIOS)
def test_utilities_equal_the_sum_of_their_written_out_parts(name):
    model = AllianceModel(name, rng=3)
    for _ in range(12):  # through shocks, drift and status changes
        model.step()
        model._act_powers()  # this quarter's utilities at the alignments the step ended with
        utilities(model)
        np.testing.assert_allclose(model.utility, _weighted_parts(model), rtol=1e-12, atol=1e-12)


def test_writing_a_driver_through_an_agent_refreshes_the_terms(baseline):
    model = AllianceModel(baseline, rng=0)
    before = model.utility.copy()
    kaz = model.states[model.codes.index("KAZ")]
    kaz.russian_forces = 20.0
    kaz.sovereignty = 0.2
    model.powers[R].dominance = 0.1
    model.powers[W].security_credibility = 1.0
    model._act_powers()
    utilities(model)
    assert not np.allclose(model.utility, before)  # the writes matter ...
    np.testing.assert_allclose(model.utility, _weighted_parts(model), rtol=1e-12)  # ... and were seen


def test_a_power_acting_alone_spreads_what_all_powers_acting_together_spread(baseline):
    model = AllianceModel(baseline, rng=0)
    model.alignment = np.random.default_rng(1).dirichlet(np.ones(4), size=model.n_states)
    model._act_powers()
    together = model.pressure.copy(), model.inducement.copy()
    model.pressure[:] = model.inducement[:] = 0.0
    for power in model.powers:
        power.act()
    np.testing.assert_allclose(model.pressure, together[0], rtol=1e-14)
    np.testing.assert_allclose(model.inducement, together[1], rtol=1e-14)
    # China and Türkiye press every state alike, at pressure x capacity.
    for k in (2, T):
        power = model.powers[k]
        np.testing.assert_allclose(model.pressure[k], power.pressure * power.capacity)


@pytest.mark.parametrize(
    ("name", "boycott"), [*((path, None) for path in available_scenarios()), ("baseline", 0.4)]
)
def test_skipping_states_that_cross_no_threshold_changes_nothing(name, boycott, monkeypatch):
    # With the boycott threshold at 0.4, members boycott summits without crossing any
    # ladder threshold: the screen must still let them choose in summit quarters.
    scenario = load_scenario(name)
    if boycott is not None:
        scenario = scenario.with_overrides({"institutions.boycott": boycott})
    screened = AllianceModel(scenario, rng=11)
    everyone = AllianceModel(scenario, rng=11)
    monkeypatch.setattr(everyone, "_may_act", lambda: np.ones(everyone.n_states, dtype=bool))
    for model in (screened, everyone):
        while model.running:
            model.step()
    assert screened.events_frame().equals(everyone.events_frame())
    if boycott is not None:
        assert screened.boycotts > 0
    assert [s.status for s in screened.states] == [s.status for s in everyone.states]
    assert [s.air_defence for s in screened.states] == [s.air_defence for s in everyone.states]
    np.testing.assert_array_equal(screened.alignment, everyone.alignment)


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
        target = preferred_mix(model.utility, temperatures(model))
        np.testing.assert_allclose(target, model.alignment, atol=1e-5)


def test_a_state_part_way_to_acting_still_chooses_when_it_stops_crossing(baseline):
    model = AllianceModel(baseline, rng=0)
    kaz = model.states[model.codes.index("KAZ")]
    model.commitment[kaz.index, 1] = 0.0  # one quarter below the CSTO step-down threshold
    kaz.choose_institutions()
    assert kaz.streak["csto"] == -1 and model.streaking[kaz.index]
    model.step()  # back above it: the streak must be broken, not left running
    assert not model._may_act()[kaz.index]
    assert kaz.streak["csto"] == 0 and not model.streaking[kaz.index]
