"""Scripted-response tests of the decision rules: given drivers, the expected move.

Each test fixes the drivers (and, where it matters, the neighbours' alignments)
and checks the direction of a state's response, in the manner of Axelrod's
``versus_test``.
"""

from __future__ import annotations

import numpy as np
import pytest

from model.catalogue import POLES
from model.model import AllianceModel
from model.rules.choice import move, preferred_mix
from model.rules.institutions import ladder_step as ladder_rule
from model.rules.world import STATUSES, R, T, W
from model.scenario import Ladder
from tests.conftest import neutral_state, scripted

C = POLES.index("china")
LADDER = Ladder(step_down=0.2, leave=0.1, step_up=0.4, join=0.6)


# --------------------------------------------------------------------------- choice


def test_preferred_mix_is_on_the_simplex_and_ranks_by_utility():
    mix = preferred_mix(np.array([1.0, 0.5, 0.2, -1.0]), 0.3)
    assert mix.sum() == pytest.approx(1.0)
    assert list(np.argsort(-mix)) == [0, 1, 2, 3]


def test_more_hedging_spreads_the_mix():
    u = np.array([1.0, 0.5, 0.2, 0.0])
    focused, hedged = preferred_mix(u, 0.2), preferred_mix(u, 1.0)

    def entropy(p):
        return -(p * np.log(p)).sum()

    assert entropy(hedged) > entropy(focused)
    assert focused[0] > hedged[0]


def test_preferred_mix_rows_match_single_rows():
    u = np.array([[1.0, 0.0, 0.5, 0.2], [0.1, 0.9, 0.3, 0.0]])
    tau = np.array([[0.3], [0.7]])  # one per row, on a trailing axis
    rows = preferred_mix(u, tau)
    for k in range(2):
        np.testing.assert_allclose(rows[k], preferred_mix(u[k], tau[k, 0]))


def test_move_closes_the_given_share_of_the_gap():
    current = np.array([0.7, 0.1, 0.1, 0.1])
    target = np.array([0.1, 0.7, 0.1, 0.1])
    np.testing.assert_allclose(move(current, target, rate=1.0), target)
    np.testing.assert_allclose(move(current, target, rate=0.5), [0.4, 0.4, 0.1, 0.1])
    noisy = move(current, target, rate=0.5, shock=np.array([0.1, -0.1, 0.0, 0.2]))
    assert noisy.sum() == pytest.approx(1.0) and (noisy > 0).all()


# --------------------------------------------------------------------------- ladders

LADDER_CASES = [
    # institution, status, commitment, streak, expected status, expected streak
    ("csto", "member", 0.1, 0, "member", -1),  # first quarter below step_down: wait
    ("csto", "member", 0.1, -1, "frozen", 0),  # second: freeze (Armenia 2024)
    ("cis", "member", 0.1, -1, "associate", 0),  # CIS: downgrade (Turkmenistan 2005)
    ("eaeu", "member", 0.1, -1, "withdrawn", 0),  # EAEU has no suspension: leave
    ("csto", "frozen", 0.05, -1, "withdrawn", 0),  # below leave: withdraw
    ("csto", "suspended", 0.5, 1, "member", 0),  # above step_up: back in (cf. Uzbekistan)
    ("csto", "none", 0.7, 1, "member", 0),  # outsider above join: joins CSTO directly
    ("eaeu", "none", 0.7, 1, "observer", 0),  # EAEU accession starts as observer
    ("eaeu", "observer", 0.5, 1, "member", 0),  # observer above step_up: full member
    ("csto", "member", 0.3, -1, "member", 0),  # inside the band: nothing, streak resets
    ("csto", "frozen", 0.3, 1, "frozen", 0),  # same commitment, other history: stays frozen
    ("csto", "withdrawn", 0.5, 3, "withdrawn", 0),  # below join: stays out (hysteresis)
    ("csto", "member", 0.1, 2, "member", -1),  # a rising streak flips to falling
]


def ladder_step(inst, status, commitment, streak, ladder, *, patience, may_rise=True):
    """One state's rung of one institution through the array rule (the other two stand still)."""
    k = ("cis", "csto", "eaeu").index(inst)
    codes = np.full((1, 1, 3), STATUSES.index("member"))
    codes[0, 0, k] = STATUSES.index(status)
    c = np.full((1, 1, 3), 0.3)
    c[0, 0, k] = commitment
    streaks = np.zeros((1, 1, 3), dtype=np.int64)
    streaks[0, 0, k] = streak
    thresholds = {name: getattr(ladder, name) for name in ("step_down", "leave", "step_up", "join")}
    new, left = ladder_rule(codes, c, streaks, thresholds, patience, may_rise)
    return STATUSES[new[0, 0, k]], int(left[0, 0, k])


@pytest.mark.parametrize(("inst", "status", "commitment", "streak", "expected", "left"), LADDER_CASES)
def test_ladder_step(inst, status, commitment, streak, expected, left):
    assert ladder_step(inst, status, commitment, streak, LADDER, patience=2) == (expected, left)


def test_a_state_that_may_not_rise_stays_out():
    assert ladder_step("csto", "none", 0.9, 5, LADDER, patience=2, may_rise=False) == ("none", 0)


def test_hysteresis_same_commitment_two_statuses():
    """A commitment of 0.3 keeps a member in and a frozen state frozen."""
    member, _ = ladder_step("csto", "member", 0.3, -5, LADDER, patience=1)
    frozen, _ = ladder_step("csto", "frozen", 0.3, 5, LADDER, patience=1)
    assert (member, frozen) == ("member", "frozen")


# --------------------------------------------------------------------------- utilities


def _model(states: dict, **top) -> AllianceModel:
    return AllianceModel(scripted(states, **top), rng=0)


def _utility_after(model: AllianceModel, alignment: np.ndarray | None = None) -> np.ndarray:
    if alignment is not None:
        model.alignment = alignment
    model.evaluate()
    return model.utility.copy()


def test_coercion_pulls_the_dependent_and_pushes_the_sovereign():
    states = {
        "BLR": neutral_state(
            trade={"russia": 0.8, "west": 0.05, "china": 0.05, "turkey": 0.05, "other": 0.05},
            sovereignty=0.1,
        ),
        "AZE": neutral_state(
            trade={"russia": 0.05, "west": 0.4, "china": 0.2, "turkey": 0.3, "other": 0.05},
            sovereignty=0.9,
        ),
    }
    calm = _model(states)
    pressed = _model(states, powers={"russia": {"pressure": 0.8}})
    fixed = calm.alignment.copy()
    delta = _utility_after(pressed, fixed.copy()) - _utility_after(calm, fixed.copy())
    dependent, sovereign = 0, 1
    assert delta[dependent, R] > 0.1
    assert delta[sovereign, R] < -0.1
    assert abs(delta[:, W]).max() < 1e-12  # Russian pressure does not touch other poles


def test_inducement_raises_the_courted_pole():
    states = {"KAZ": neutral_state(), "UZB": neutral_state()}
    base = _model(states)
    courted = _model(states, powers={"china": {"engagement": 0.8}})
    fixed = base.alignment.copy()
    delta = _utility_after(courted, fixed.copy()) - _utility_after(base, fixed.copy())
    assert (delta[:, C] > 0).all()
    assert np.allclose(delta[:, [R, W, T]], 0)


def test_an_adversary_aligned_with_a_pole_makes_it_a_threat():
    """Armenia's security value of Türkiye falls as Azerbaijan aligns with Türkiye."""
    states = {"ARM": neutral_state(), "AZE": neutral_state()}
    model = _model(states, conflicts={"ARM-AZE": {"intensity": 0.8}})
    neutral = np.full((2, 4), 0.25)
    turkish = neutral.copy()
    turkish[1] = [0.05, 0.05, 0.05, 0.85]
    _utility_after(model, neutral)
    before = model.parts["security"][0].copy()
    _utility_after(model, turkish)
    after = model.parts["security"][0]
    assert after[T] < before[T] - 0.4
    assert after[R] > before[R]  # Azerbaijan moved away from Russia


def test_low_trust_discounts_russian_guarantees():
    threatened = {"external_threat": 0.8}
    trusting = _model({"TJK": neutral_state(**threatened), "UZB": neutral_state()})
    wary = _model({"TJK": neutral_state(trust_russia=0.2, **threatened), "UZB": neutral_state()})
    fixed = trusting.alignment.copy()
    _utility_after(trusting, fixed.copy())
    _utility_after(wary, fixed.copy())
    assert wary.parts["security"][0, R] < trusting.parts["security"][0, R] - 0.1
    np.testing.assert_allclose(wary.parts["security"][0, 1:], trusting.parts["security"][0, 1:])


def test_remittances_and_energy_raise_russian_economic_benefit():
    plain = _model({"KGZ": neutral_state(), "KAZ": neutral_state()})
    tied = _model({"KGZ": neutral_state(remittances=0.3, energy_dependence=0.8), "KAZ": neutral_state()})
    fixed = plain.alignment.copy()
    _utility_after(plain, fixed.copy())
    _utility_after(tied, fixed.copy())
    gain = tied.parts["economy"][0, R] - plain.parts["economy"][0, R]
    w = plain.config.weights
    assert gain == pytest.approx(w.remittances * 0.3 + w.energy * 0.8)


def test_arms_protect_only_as_far_as_the_supplier_delivers():
    state = neutral_state(arms={"russia": 0.9, "west": 0.0, "china": 0.05, "turkey": 0.05, "other": 0.0})
    able = _model({"TJK": state, "KGZ": neutral_state()})
    short = _model({"TJK": state, "KGZ": neutral_state()}, powers={"russia": {"arms_supply": 0.2}})
    fixed = able.alignment.copy()
    _utility_after(able, fixed.copy())
    _utility_after(short, fixed.copy())
    assert short.parts["security"][0, R] < able.parts["security"][0, R]


def test_neighbours_pull_along_ties():
    states = {"KAZ": neutral_state(), "KGZ": neutral_state(), "UZB": neutral_state()}
    model = _model(states, ties={"KAZ-KGZ": {"weight": 1.0}})
    even = np.full((3, 4), 0.25)
    chinese = even.copy()
    chinese[1] = [0.0, 0.0, 1.0, 0.0]
    before = _utility_after(model, even)
    after = _utility_after(model, chinese)
    w = model.config.weights.social
    assert after[0, C] - before[0, C] == pytest.approx(w * 0.75)  # KAZ feels KGZ
    assert after[2, C] == pytest.approx(before[2, C])  # UZB is not tied to KGZ


def test_hedging_state_spreads_its_equilibrium_alignment():
    leaning = {"opinion_russia": 0.9}
    model = _model(
        {
            "KAZ": neutral_state(hedging=0.95, **leaning),
            "BLR": neutral_state(hedging=0.0, **leaning),
        }
    )
    hedger, loyal = model.alignment
    assert hedger.argmax() == loyal.argmax() == R
    assert hedger[R] < loyal[R] - 0.05


# --------------------------------------------------------------------------- powers


def test_powers_spread_a_fixed_capacity():
    model = AllianceModel("baseline", rng=0)
    for power in model.powers:
        mean_pressure = model.pressure[power.index].mean()
        assert mean_pressure == pytest.approx(power.pressure * power.capacity)
        mean_inducement = model.inducement[power.index].mean()
        expected = model.config.weights.inducement * power.engagement * power.capacity
        assert mean_inducement == pytest.approx(expected)


@pytest.mark.parametrize(("reaction", "escalates"), [(0.8, True), (-0.8, False)])
def test_russia_turns_to_a_drifting_state(reaction, escalates):
    states = {"KAZ": neutral_state(), "KGZ": neutral_state()}
    model = _model(states, powers={"russia": {"reaction": reaction, "pressure": 0.5, "engagement": 0.5}})
    model.evaluate()
    pressure_before, court_before = model.pressure[R].copy(), model.inducement[R].copy()
    model.initial_russia[:] = model.alignment[:, R] + np.array([0.3, 0.0])  # KAZ drifted 0.3
    model.evaluate()
    if escalates:
        assert model.pressure[R, 0] > pressure_before[0]
        assert model.pressure[R, 1] < pressure_before[1]  # capacity is spread, not created
        np.testing.assert_allclose(model.inducement[R], court_before)
    else:
        assert model.inducement[R, 0] > court_before[0]
        np.testing.assert_allclose(model.pressure[R], pressure_before)


@pytest.mark.parametrize("russia_leans_to", ["AZE", "ARM"])
def test_flare_up_costs_the_party_russia_owed_more_trust(russia_leans_to):
    """Abandonment is felt by the party under a Russian guarantee, whichever side Russia leans to."""
    states = {
        "ARM": neutral_state(defence_pacts={"russia": 0.5}),  # CSTO member and a treaty: tie 1
        "AZE": neutral_state(status={"cis": "member", "csto": "none", "eaeu": "none"}),  # tie 0
    }
    scenario = scripted(
        states,
        conflicts={"ARM-AZE": {"intensity": 0.2}},
        shocks=[{"date": "2025Q2", "kind": "conflict", "states": ["ARM", "AZE"], "delta": 0.5}],
    )
    model = AllianceModel(scenario, rng=0)
    leaning = np.array([[0.2, 0.4, 0.2, 0.2], [0.6, 0.1, 0.1, 0.2]])
    model.alignment = leaning if russia_leans_to == "AZE" else leaning[::-1].copy()
    model.step()  # 2025Q1: nothing
    trust = np.array([s.trust_russia for s in model.states]).copy()
    model.step()  # 2025Q2: the flare-up
    lost = trust - np.array([s.trust_russia for s in model.states])
    assert lost[0] > 0.4  # tie 1, flare 0.5: half its trust (less a quarter's recovery)
    assert lost[1] == pytest.approx(0.0)  # never promised Russian protection
    assert model.conflict[0, 1] == pytest.approx(0.7)


# --------------------------------------------------------------------------- institutions


def test_a_state_threatened_by_russia_leaves_the_cis_in_two_steps():
    """The Georgia path: member, then associate, then withdrawn; each counted and logged."""
    states = {
        "GEO": neutral_state(threat_from_russia=1.0, opinion_russia=0.0),
        "ARM": neutral_state(),
    }
    model = _model(states, institutions={"patience": 1})
    for _ in range(4):
        model.step()
    events = model.events_frame()
    cis = events[(events["state"] == "GEO") & (events["institution"] == "cis")]
    assert list(cis["to"]) == ["associate", "withdrawn"]
    assert model.states[0].status["cis"] == "withdrawn"
    assert model.measures["exits"] >= 1 and model.measures["suspensions"] >= 1
    assert model.measures["cis_members"] == 2  # Armenia and Russia


def test_a_neutral_state_never_joins_military_integration():
    loyal = neutral_state(
        neutral=True,
        status={"cis": "member", "csto": "none", "eaeu": "none"},
        trade={"russia": 0.9, "west": 0.025, "china": 0.025, "turkey": 0.025, "other": 0.025},
        external_threat=1.0,
        defence_pacts={"russia": 1.0},
        opinion_russia=1.0,
        sovereignty=0.0,
    )
    open_ = dict(loyal, neutral=False)
    model = _model({"TKM": loyal, "TJK": open_}, institutions={"patience": 1})
    for _ in range(6):
        model.step()
    neutral, other = model.states
    assert neutral.status["csto"] == "none" and not neutral.air_defence
    assert other.status["csto"] == "member" and other.air_defence
