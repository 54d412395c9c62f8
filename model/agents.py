"""Agents: member states that choose an alignment, and powers that press and court them.

Mechanisms (each is an equation in ``docs/model.md``):

* A :class:`MemberState` weighs the security benefit, economic benefit and
  autonomy cost of aligning with each pole (Russia, the West, China, Türkiye),
  plus coercion, identity and its tied neighbours' alignment, and moves part of
  the way toward the mix that maximises utility plus an entropy bonus set by its
  multi-vector (hedging) preference (a softmax, as in logit choice with a
  diversification motive). Coercion pulls a dependent state and pushes a
  sovereignty-sensitive one (Hirschman 1945; Drezner 1999).
* Russian guarantees are discounted by the state's trust, which falls when a
  conflict flares and Russia stays closer to the adversary (Snyder 1984, fear of
  abandonment) and recovers slowly.
* Trade and arms-import shares drift with engagement, access, supply capacity
  and alignment.
* Institutional choices climb or descend a ladder of statuses when a
  commitment score crosses thresholds for ``patience`` quarters, with
  hysteresis (step-up thresholds above step-down ones).
* A :class:`Power` spreads pressure and inducements over the states within its
  capacity; Russia reacts to a drifting state by escalating or courting.

The decision rules are written as small pure functions (``preferred_mix``,
``move``, ``ladder_step``) so that tests can script them with given drivers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa import Agent
from mesa.discrete_space import FixedAgent

from model.catalogue import (
    INSTITUTIONS,
    POLES,
    STATES,
    STATUS_TIER,
    STEP_DOWN,
    STEP_UP_FROM_OUT,
)

if TYPE_CHECKING:
    from model.model import AllianceModel
    from model.scenario import Ladder, PowerParams, StateParams

R, W, C, T = range(4)  # pole indices, in catalogue order
FORCES_UNIT = 5.0  # thousand troops that count as a full tripwire

_sum = np.add.reduce
_max = np.maximum.reduce


# --------------------------------------------------------------------------- pure rules


def preferred_mix(utility: np.ndarray, temperature: np.ndarray | float) -> np.ndarray:
    """The alignment that maximises expected utility plus ``temperature`` times entropy.

    The maximiser of ``u . x + tau * H(x)`` over the simplex is ``softmax(u / tau)``:
    a state that values a spread (multi-vector) alignment has a higher ``tau``.
    Works on one state (a vector of 4) or on many (rows).

    Args:
        utility: utility of aligning with each pole (last axis).
        temperature: spread, > 0 (a scalar, or one per row).

    Returns:
        Points on the simplex, the shape of ``utility``.

    """
    tau = np.asarray(temperature, dtype=float)
    if utility.ndim == 2:
        tau = tau.reshape(-1, 1)
    # ufunc reductions rather than the array methods: the same numbers, less overhead
    # on these tiny arrays (the model calls this every quarter).
    z = (utility - _max(utility, axis=-1, keepdims=True)) / tau
    e = np.exp(z)
    return e / _sum(e, axis=-1, keepdims=True)


def move(
    current: np.ndarray, target: np.ndarray, *, rate: float, shock: np.ndarray | None = None
) -> np.ndarray:
    """Move ``rate`` of the way from ``current`` to ``target``, then apply log-normal noise.

    Args:
        current: alignment now (on the simplex; a vector or rows).
        target: preferred alignment, same shape.
        rate: share of the gap closed, in (0, 1].
        shock: normal log-perturbations, same shape (None for no noise).

    Returns:
        The new alignment, on the simplex.

    """
    new = current + rate * (target - current)
    if shock is not None:
        new = new * np.exp(shock)
    return new / _sum(new, axis=-1, keepdims=True)


def ladder_step(
    institution: str,
    status: str,
    commitment: float,
    streak: int,
    ladder: Ladder,
    *,
    patience: int,
    may_rise: bool = True,
) -> tuple[str, int]:
    """One quarter of an institutional choice with thresholds and hysteresis.

    A full member whose commitment stays below ``step_down`` for ``patience``
    quarters steps down (CIS: associate, CSTO: frozen, EAEU: leaves). A partial
    member or observer below ``leave`` withdraws; above ``step_up`` it becomes a
    full member. An outsider above ``join`` joins (EAEU: as observer first).
    ``streak`` counts consecutive quarters pushing up (> 0) or down (< 0).

    Args:
        institution: "cis", "csto" or "eaeu".
        status: current status.
        commitment: the state's commitment to this institution (0-1).
        streak: the running streak from last quarter.
        ladder: the institution's thresholds.
        patience: quarters a threshold must be crossed before acting.
        may_rise: False forbids moving up (e.g. a neutral state and the CSTO).

    Returns:
        The new status and the new streak.

    """
    tier = STATUS_TIER[status]
    if tier == 3:
        up, down = False, commitment < ladder.step_down
    elif tier > 0:
        up, down = may_rise and commitment > ladder.step_up, commitment < ladder.leave
    else:
        up, down = may_rise and commitment > ladder.join, False
    if up:
        streak = max(streak, 0) + 1
        if streak >= patience:
            return ("member" if tier > 0 else STEP_UP_FROM_OUT[institution]), 0
        return status, streak
    if down:
        streak = min(streak, 0) - 1
        if -streak >= patience:
            return (STEP_DOWN[institution] if tier == 3 else "withdrawn"), 0
        return status, streak
    return status, 0


# --------------------------------------------------------------------------- the states' rules
# Applied to every state at once: each row of the model's state table is one
# MemberState, so the rules below read as one state's rule with the state
# index left implicit.


class Terms:
    """The parts of the rules that change only when a driver does (a shock, a status change).

    The model builds them when first needed and drops them whenever a driver
    changes (``AllianceModel.invalidate``, called by every write through a
    :class:`MemberState` or :class:`Power` attribute, by shocks and by status
    changes), so a quarter recomputes only what moves every quarter: alignments,
    trade and arms shares, opinion and trust. ``utility_parts`` spells the same
    utility out term by term; a test checks that the two agree.
    """

    __slots__ = (
        "affinity",
        "arms_supply",
        "arms_weight",
        "autonomy_base",
        "backlash_inducement",
        "backlash_pressure",
        "cis_threat",
        "cost",
        "credibility",
        "dominance",
        "exposure_base",
        "in_conflict",
        "inducement_level",
        "log_supply",
        "need_guarantee",
        "pressure_level",
        "russia_press",
        "sovereign_dominance",
        "sovereignty",
        "tau",
        "turkey_court",
        "west_court",
    )

    def __init__(self, model: AllianceModel) -> None:
        """Compute the terms from the model's current drivers."""
        m = model
        t = m.table
        w = m.config.weights
        institutions = m.config.institutions
        dyn = m.config.dynamics
        n = m.n_states
        powers = m.powers
        self.credibility = np.array([p.security_credibility for p in powers])
        self.dominance = np.array([p.dominance for p in powers])
        self.arms_supply = np.array([p.arms_supply for p in powers])
        sovereignty = t["sovereignty"]
        self.in_conflict = bool(m.conflict.any())
        forces = np.minimum(t["russian_forces"] / FORCES_UNIT, 1.0)
        # x_ik - trade_ik: remittances and energy dependence count as exposure to Russia.
        self.exposure_base = np.zeros((n, 4))
        self.exposure_base[:, R] = w.remittances * t["remittances"] + w.energy * t["energy_dependence"]
        # need_i G_ik before trust: G = cred_k min(1, tie_ik), tie_iR += 0.5 csto_i + w_f f_i.
        ties = t["defence_pacts"].copy()
        ties[:, R] += 0.5 * m.csto_level + w.forces * forces
        need = t["external_threat"] + _sum(m.conflict, axis=1)
        self.need_guarantee = need[:, None] * self.credibility * np.minimum(ties, 1.0)
        self.arms_weight = w.arms * self.arms_supply
        # A_ik = sigma_i dom_k (1 + held_ik) + [k = R] sigma_i w_f f_i = base + sigma dom held.
        self.sovereignty = sovereignty[:, None]
        self.sovereign_dominance = self.sovereignty * self.dominance
        self.autonomy_base = self.sovereign_dominance.copy()
        self.autonomy_base[:, R] += sovereignty * w.forces * forces
        self.affinity = t["affinity"] * w.identity  # weighted; its Russia column is 0
        self.tau = (dyn.temperature + dyn.hedging_temperature * t["hedging"])[:, None]
        self.log_supply = np.log(np.maximum(self.arms_supply, 0.05))
        self.backlash_inducement = dyn.opinion_backlash * (1 - sovereignty)
        self.backlash_pressure = dyn.opinion_backlash * sovereignty
        self.cost = np.array([institutions[inst].cost for inst in INSTITUTIONS]) * self.sovereignty
        self.cis_threat = institutions.cis_threat * t["threat_from_russia"]
        # Targeting weights that do not move within a quarter, and each power's totals.
        self.russia_press = 0.1 + m.depth
        self.west_court = 0.2 + 0.5 * t["hedging"]
        self.turkey_court = 0.2 + t["affinity"][:, T]
        self.pressure_level = np.array([[p.pressure * p.capacity * n] for p in powers])
        self.inducement_level = np.array([[w.inducement * p.engagement * p.capacity * n] for p in powers])


def utilities(model: AllianceModel) -> None:
    """Utility of aligning with each pole for every state (docs/model.md, section 4.2).

    ``U = w_s S + w_e X - w_a A + w_c K + w_id Id + w_soc N`` with security S,
    economic benefit X, autonomy cost A, coercion K, identity Id and neighbours'
    alignment N, computed with the slow-moving parts taken from ``model.terms``
    (:func:`utility_parts` writes each part out). Also stores Russia's economic
    and security value to each state, which the commitments use.
    """
    m = model
    t = m.table
    w = m.config.weights
    k = m.terms
    a = m.alignment

    exposure = t["trade"][:, :4] + k.exposure_base
    economy = exposure + m.inducement.T
    held = np.minimum(exposure, 1.0)

    security = k.need_guarantee * 1.0  # a fresh array
    security_russia = security[:, R]
    security_russia *= t["trust_russia"]
    security_russia -= t["threat_from_russia"]
    security += k.arms_weight * t["arms"][:, :4]
    if k.in_conflict:
        security -= m.conflict @ a

    utility = w.security * security
    utility += w.economy * economy
    utility -= w.autonomy * (k.autonomy_base + k.sovereign_dominance * held)
    utility += w.coercion * (m.pressure.T * (held - k.sovereignty))
    utility += k.affinity
    utility[:, R] += w.identity * t["opinion_russia"]
    if m.has_ties:
        utility += w.social * (m.tie_share @ a)
    m.utility = utility
    m.economy_russia = economy[:, R]
    m.security_russia = security_russia


def utility_parts(model: AllianceModel) -> dict[str, np.ndarray]:
    """Each part of this quarter's utility, written out as in docs/model.md 4.2 (states x poles).

    The readable form of :func:`utilities`, for explaining a state's choice:
    ``w_s S + w_e X - w_a A + w_c K + w_id Id + w_soc N`` over the parts returned
    here equals ``model.utility`` (a test checks it).

    Returns:
        security, economy, autonomy, coercion, identity and social, each states x poles.
    """
    m = model
    t = m.table
    w = m.config.weights
    k = m.terms  # only the powers' parameters as arrays; everything else is written out here
    forces = np.minimum(t["russian_forces"] / FORCES_UNIT, 1.0)

    exposure = t["trade"][:, :4].copy()
    exposure[:, R] += w.remittances * t["remittances"] + w.energy * t["energy_dependence"]
    held = np.minimum(exposure, 1.0)

    ties = t["defence_pacts"].copy()
    ties[:, R] += 0.5 * m.csto_level + w.forces * forces
    guarantee = k.credibility * np.minimum(ties, 1.0)
    guarantee[:, R] *= t["trust_russia"]
    need = t["external_threat"] + m.conflict.sum(axis=1)
    security = need[:, None] * guarantee + w.arms * t["arms"][:, :4] * k.arms_supply
    security -= m.conflict @ m.alignment
    security[:, R] -= t["threat_from_russia"]

    sovereignty = t["sovereignty"][:, None]
    autonomy = sovereignty * k.dominance * (1.0 + held)
    autonomy[:, R] += t["sovereignty"] * w.forces * forces

    identity = t["affinity"].copy()
    identity[:, R] = t["opinion_russia"]
    return {
        "security": security,
        "economy": exposure + m.inducement.T,
        "autonomy": autonomy,
        "coercion": m.pressure.T * (held - sovereignty),
        "identity": identity,
        "social": m.tie_share @ m.alignment,
    }


def temperatures(model: AllianceModel) -> np.ndarray:
    """Each state's spread (a column): base temperature plus hedging preference times its gain."""
    return model.terms.tau


def drift(model: AllianceModel) -> None:
    """Trade and arms shares, opinion of Russia and trust follow this quarter's conditions.

    Trade shares grow with a partner's relative inducement, route access and
    the state's lean toward it, and trade with Russia suffers from Western
    secondary sanctions; arms shares grow with a supplier's delivery capacity
    and the lean; opinion returns toward its anchor and answers Russian
    inducement and coercion; trust in Russia recovers slowly. Shares are updated
    in place (the "other" partner's growth is 0, so only the poles' shares are
    scaled before renormalising).
    """
    m = model
    t = m.table
    k = m.terms
    dyn = m.config.dynamics
    inducement = m.inducement.T
    lean = m.alignment - 0.25

    growth = inducement - _sum(inducement, axis=1, keepdims=True) / 4
    growth += t["access"]
    growth += 0.5 * lean
    growth *= dyn.trade_drift
    growth[:, R] -= dyn.trade_drift * m.pressure[W]
    trade = t["trade"]
    trade[:, :4] *= np.exp(growth)
    trade /= _sum(trade, axis=1, keepdims=True)

    arms = t["arms"]
    arms[:, :4] *= np.exp(dyn.arms_drift * (k.log_supply + lean))
    arms /= _sum(arms, axis=1, keepdims=True)

    opinion = t["opinion_russia"]
    opinion += dyn.opinion_recovery * (t["opinion_anchor"] - opinion)
    opinion += k.backlash_inducement * m.inducement[R] - k.backlash_pressure * m.pressure[R]
    np.minimum(np.maximum(opinion, 0.0, out=opinion), 1.0, out=opinion)  # clip to [0, 1]
    trust = t["trust_russia"]
    trust += dyn.trust_recovery * (1.0 - trust)


def commitments(model: AllianceModel) -> np.ndarray:
    """Commitment of every state to CIS, CSTO and EAEU (states x 3).

    ``c = a_R / 2 + b / 2 - cost * sovereignty`` where ``b`` is Russia's
    economic value (CIS, EAEU) or its security value (CSTO), clipped to [0, 1].
    The CIS is a cheap club kept for its economic links (free trade, visa-free
    travel); a state threatened by Russia itself leaves it (Georgia 2008,
    Ukraine 2014, Moldova from 2023), so CIS commitment also falls by
    ``cis_threat`` times the threat from Russia.
    """
    m = model
    commitment = np.empty((m.n_states, 3))
    commitment[:, 0] = m.economy_russia
    commitment[:, 1] = m.security_russia
    commitment[:, 2] = m.economy_russia
    np.minimum(np.maximum(commitment, 0.0, out=commitment), 1.0, out=commitment)  # b, clipped
    commitment *= 0.5
    commitment += 0.5 * m.alignment[:, R : R + 1]
    commitment -= m.terms.cost
    commitment[:, 0] -= m.terms.cis_threat
    return commitment


# --------------------------------------------------------------------------- agents


class Column:
    """A MemberState attribute stored in a row of the model's state table.

    The states' rules run on whole columns at once (fast); an agent reads and
    writes its own row through these descriptors (clear). A write through an
    agent also tells the model to rebuild its slow-moving :class:`Terms`; code
    that writes ``model.table`` directly must call ``model.invalidate()``.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, agent: MemberState | None, owner: type | None = None):
        if agent is None:
            return self
        return agent.model.table[self.name][agent.index]

    def __set__(self, agent: MemberState, value) -> None:
        agent.model.table[self.name][agent.index] = value
        agent.model.invalidate()


#: Columns of the state table: name -> width (0 for a scalar).
TABLE_COLUMNS = {
    "trade": 5,
    "arms": 5,
    "remittances": 0,
    "energy_dependence": 0,
    "external_threat": 0,
    "threat_from_russia": 0,
    "russian_forces": 0,
    "defence_pacts": 4,
    "affinity": 4,
    "opinion_russia": 0,
    "opinion_anchor": 0,
    "trust_russia": 0,
    "hedging": 0,
    "sovereignty": 0,
    "access": 4,
}


def state_table(params: list[StateParams]) -> dict[str, np.ndarray]:
    """Build the state table (one row per state) from the scenario entries."""

    def row(p: StateParams) -> dict[str, object]:
        return {
            "trade": p.trade.as_list(),
            "arms": p.arms.as_list(),
            "remittances": p.remittances,
            "energy_dependence": p.energy_dependence,
            "external_threat": p.external_threat,
            "threat_from_russia": p.threat_from_russia,
            "russian_forces": p.russian_forces,
            "defence_pacts": p.defence_pacts.as_list(),
            "affinity": [0.0, p.affinity.west, p.affinity.china, p.affinity.turkey],
            "opinion_russia": p.opinion_russia,
            "opinion_anchor": p.opinion_russia,
            "trust_russia": p.trust_russia,
            "hedging": p.hedging,
            "sovereignty": p.sovereignty,
            "access": [0.0] * 4,
        }

    rows = [row(p) for p in params]
    return {name: np.array([r[name] for r in rows], dtype=float) for name in TABLE_COLUMNS}


class MemberState(FixedAgent):
    """A post-Soviet state choosing its alignment and its institutional ties.

    Reads from its scenario entry (``StateParams``): economic_weight, trade, arms,
    remittances, energy_dependence, external_threat, threat_from_russia,
    russian_forces, defence_pacts, affinity, opinion_russia, trust_russia,
    hedging, sovereignty, neutral, status, air_defence; and the scenario's
    ``weights``, ``dynamics`` and ``institutions``.

    Its drivers live in a row of the model's state table (see :class:`Column`);
    its institutional choices are its own (``choose_institutions``).

    Attributes:
        code: ISO 3166 alpha-3 code.
        alignment: weights over (Russia, West, China, Türkiye), on the simplex.
        status: institution -> status.

    """

    trade = Column()
    arms = Column()
    remittances = Column()
    energy_dependence = Column()
    external_threat = Column()
    threat_from_russia = Column()
    russian_forces = Column()
    defence_pacts = Column()
    affinity = Column()
    opinion_russia = Column()
    opinion_anchor = Column()
    trust_russia = Column()
    hedging = Column()
    sovereignty = Column()
    access = Column()

    def __init__(self, model: AllianceModel, code: str, params: StateParams, index: int) -> None:
        """Create the state; ``index`` is its row in the model's state table."""
        super().__init__(model)
        self.code = code
        self.name = STATES[code][0]
        self.index = index
        self.economic_weight = params.economic_weight
        self.neutral = params.neutral
        self.status = {inst: getattr(params.status, inst) for inst in INSTITUTIONS}
        self.streak = dict.fromkeys(INSTITUTIONS, 0)
        self.air_defence = params.air_defence
        self.air_defence_streak = 0
        self.boycotts = 0

    @property
    def alignment(self) -> np.ndarray:
        """Weights over (Russia, West, China, Türkiye), on the simplex."""
        return self.model.alignment[self.index]

    @property
    def commitment(self) -> dict[str, float]:
        """This quarter's commitment to each institution (0-1; see ``commitments``)."""
        return dict(zip(INSTITUTIONS, self.model.commitment[self.index].tolist(), strict=True))

    @property
    def utility(self) -> np.ndarray:
        """This quarter's utility of aligning with each pole."""
        return self.model.utility[self.index]

    def preferred(self) -> np.ndarray:
        """The alignment this state would choose now (before inertia and noise)."""
        return preferred_mix(self.utility, temperatures(self.model)[self.index])

    def choose_institutions(self) -> None:
        """Climb or descend each institution's ladder; join or leave air defence; boycotts."""
        m = self.model
        rules = m.config.institutions
        commitment = self.commitment
        for inst in INSTITUTIONS:
            old = self.status[inst]
            new, self.streak[inst] = ladder_step(
                inst,
                old,
                commitment[inst],
                self.streak[inst],
                rules[inst],
                patience=rules.patience,
                may_rise=not (self.neutral and inst == "csto"),
            )
            if new != old:
                self.status[inst] = new
                m.record_change(self, inst, old, new)
        self._air_defence(commitment["csto"], rules)
        if m.summit_quarter:
            for inst in INSTITUTIONS:
                if self.status[inst] == "member" and commitment[inst] < rules.boycott:
                    self.boycotts += 1
                    m.record_change(self, inst, "member", "boycott")
        m.streaking[self.index] = self.undecided

    @property
    def undecided(self) -> bool:
        """Whether a threshold streak is running (the state is part-way to acting)."""
        return self.air_defence_streak != 0 or any(self.streak.values())

    def _air_defence(self, commitment: float, rules) -> None:
        """Join or leave the unified CIS air-defence system (not if neutral or out of the CIS)."""
        eligible = not self.neutral and STATUS_TIER[self.status["cis"]] >= 2
        if self.air_defence:
            leaving = commitment < rules.air_defence_leave or not eligible
            self.air_defence_streak = min(self.air_defence_streak, 0) - 1 if leaving else 0
            if -self.air_defence_streak >= rules.patience:
                self.air_defence, self.air_defence_streak = False, 0
                self.model.record_change(self, "air_defence", "member", "withdrawn")
        else:
            joining = eligible and commitment > rules.air_defence_join
            self.air_defence_streak = max(self.air_defence_streak, 0) + 1 if joining else 0
            if self.air_defence_streak >= rules.patience:
                self.air_defence, self.air_defence_streak = True, 0
                self.model.record_change(self, "air_defence", "none", "member")


#: Power attributes the rules read; writing one makes the model rebuild its terms.
POWER_PARAMS = (
    "pressure",
    "engagement",
    "capacity",
    "security_credibility",
    "arms_supply",
    "dominance",
    "reaction",
)


class Power(Agent):
    """An external power: Russia, the West, China or Türkiye.

    Reads ``powers.<pole>`` (pressure, engagement, capacity,
    security_credibility, arms_supply, dominance, reaction) and
    ``dynamics.reaction_gain``. Each quarter it spreads pressure and
    inducements over the states in proportion to targeting weights; the means
    over states are ``pressure * capacity`` and ``engagement * capacity``, so
    more attention to one state means less to the others.
    """

    def __init__(self, model: AllianceModel, pole: str, params: PowerParams) -> None:
        """Create the power from its scenario entry."""
        super().__init__(model)
        self.pole = pole
        self.index = POLES.index(pole)
        for name in POWER_PARAMS:
            setattr(self, name, getattr(params, name))

    def __setattr__(self, name: str, value) -> None:
        """Set an attribute; a changed parameter makes the model rebuild its terms."""
        super().__setattr__(name, value)
        if name in POWER_PARAMS:
            self.model.invalidate()

    def target(self) -> None:
        """Write this quarter's targeting weights into the model's rows, before normalisation.

        Russia presses states in proportion to 0.1 plus their membership depth
        (it polices its own sphere most) and courts those aligned with it; with
        ``reaction`` it shifts attention to states that drifted away from their
        starting Russian alignment (escalating if > 0, courting if < 0). The West
        aims secondary sanctions at Russia's partners and courts the states
        leaning West or hedging; China courts its trade partners; Türkiye its
        Turkic kin. China and Türkiye press all states alike.
        """
        m = self.model
        k = m.terms
        a = m.alignment
        press, court = m.pressure[self.index], m.inducement[self.index]
        if self.pole == "russia":
            press[:] = k.russia_press  # 0.1 + depth
            np.add(0.2, a[:, R], out=court)
            if self.reaction != 0.0:  # (1 + |reaction| x drift) on the reacting side
                drift = np.maximum(m.initial_russia - a[:, R], 0.0) * m.config.dynamics.reaction_gain
                if self.reaction > 0.0:
                    press *= 1.0 + self.reaction * drift
                else:
                    court *= 1.0 - self.reaction * drift
        elif self.pole == "west":
            np.add(0.1, a[:, R], out=press)
            np.add(k.west_court, a[:, W], out=court)  # 0.2 + 0.5 hedging + a_W
        elif self.pole == "china":
            press.fill(1.0)
            np.add(m.table["trade"][:, C], a[:, C], out=court)
            court += 0.2
        else:
            press.fill(1.0)
            np.add(k.turkey_court, a[:, T], out=court)  # 0.2 + Turkic affinity + a_T

    def act(self) -> None:
        """Write this quarter's pressure and inducement on each state into the model."""
        self.target()
        spread(self.model, slice(self.index, self.index + 1))


def spread(model: AllianceModel, powers: slice = slice(None)) -> None:
    """Scale the powers' targeting weights so that each power's total is its capacity's share.

    Pressure on state i is ``pressure x capacity x n x weight_i / sum(weights)``,
    and likewise for inducements (times the inducement weight).
    """
    k = model.terms
    press, court = model.pressure[powers], model.inducement[powers]
    press *= k.pressure_level[powers] / _sum(press, axis=1, keepdims=True)
    court *= k.inducement_level[powers] / _sum(court, axis=1, keepdims=True)
