"""The arrays a run is made of, with a leading run axis: parameters, drivers and state.

A :class:`World` holds ``runs`` replications of one scenario shape (the same
states, start, horizon and shock schedule; any parameter values). It is built
from validated scenarios with :func:`build_world` and changed only by the rules
(:mod:`model.rules.quarter`) and by whoever owns it: the Mesa model writes
through its agents, which are views into row ``[0, i]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from model.catalogue import INSTITUTIONS, POLES, STATUS_TIER, STEP_DOWN, STEP_UP_FROM_OUT

if TYPE_CHECKING:
    from model.scenario import Scenario, StateParams

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]

R, W, C, T = range(4)  # pole indices, in catalogue order
CIS, CSTO, EAEU = range(3)  # institution indices, in catalogue order
FORCES_UNIT = 5.0  # thousand troops that count as a full tripwire

#: Status codes: an index into this tuple (the catalogue's order).
STATUSES: tuple[str, ...] = tuple(STATUS_TIER)
#: The ladder rung of each status code (3 full member, 2 partial, 1 observer, 0 out).
TIER: Ints = np.array([STATUS_TIER[s] for s in STATUSES], dtype=np.int64)
MEMBER = STATUSES.index("member")
WITHDRAWN = STATUSES.index("withdrawn")
#: Status reached by climbing one rung, per institution and current tier.
UP_TO: Ints = np.array(
    [[STATUSES.index(STEP_UP_FROM_OUT[i])] + [MEMBER] * 3 for i in INSTITUTIONS], dtype=np.int64
)
#: Status reached by descending one rung, per institution and current tier (tier 0 stays).
DOWN_TO: Ints = np.array(
    [[WITHDRAWN, WITHDRAWN, WITHDRAWN, STATUSES.index(STEP_DOWN[i])] for i in INSTITUTIONS], dtype=np.int64
)

WEIGHTS: tuple[str, ...] = ("security", "economy", "autonomy", "identity", "social", "inducement", "coercion")
WEIGHTS += ("remittances", "energy", "arms", "forces")
DYNAMICS: tuple[str, ...] = (
    "adjustment",
    "temperature",
    "hedging_temperature",
    "noise",
    "trade_drift",
    "arms_drift",
)
DYNAMICS += ("opinion_recovery", "opinion_backlash", "trust_recovery", "abandonment", "reaction_gain")
LADDER = ("step_down", "leave", "step_up", "join", "cost")
THRESHOLDS = ("air_defence_join", "air_defence_leave", "boycott", "cis_threat")
POWER = ("pressure", "engagement", "capacity", "security_credibility", "arms_supply", "dominance", "reaction")
#: Scalar drivers of a state, [runs, states].
STATE_SCALARS = (
    "remittances",
    "energy_dependence",
    "external_threat",
    "threat_from_russia",
    "russian_forces",
    "opinion_russia",
    "opinion_anchor",
    "trust_russia",
    "hedging",
    "sovereignty",
)


@dataclass(eq=False)
class World:
    """``runs`` replications of one scenario shape, as arrays (see the module docstring).

    Parameters (one value per run, shaped to broadcast): ``weights[name]`` and
    ``dynamics[name]`` are ``[runs, 1, 1]``; ``ladder[name]`` is
    ``[runs, 1, institutions]``; ``thresholds[name]`` and ``patience`` are
    ``[runs, 1, 1]``; ``powers[name]`` is ``[runs, poles]``.

    Drivers: ``trade`` and ``arms`` ``[runs, states, partners]`` (rows sum to 1),
    ``defence_pacts``, ``affinity`` (Russia column 0) and ``access``
    ``[runs, states, poles]``, ``scalars[name]`` ``[runs, states]``, ``sizes``
    (economic weights), ``neutral``, ``tie_share`` and ``conflict``
    ``[runs, states, states]``.

    State: ``alignment`` ``[runs, states, poles]``; ``status`` (codes into
    :data:`STATUSES`) and ``streak`` ``[runs, states, institutions]``;
    ``air_defence`` and ``air_streak`` ``[runs, states]``; ``boycotts`` per state;
    the counters ``exits``, ``suspensions``, ``entries``, ``boycott_count`` per run;
    ``initial_russia`` (the alignment with Russia after set-up; zeros before);
    ``trade_pull0`` (the trade pull of the starting picture, :func:`model.rules.drift.trade_pull`;
    zeros before set-up).

    This quarter's intermediate results: ``pressure`` and ``inducement``
    ``[runs, poles, states]``, ``utility`` ``[runs, states, poles]``,
    ``economy_russia`` and ``security_russia`` ``[runs, states]``, ``commitment``
    ``[runs, states, institutions]``.

    The rules write the arrays an agent exposes as a row (drivers, shares,
    alignment, utility, pressure, inducement, commitment) in place, so a view
    taken from an agent or the model (``x = state.trade``) stays the live row
    across quarters and a write through it is what the next quarter sees.
    """

    weights: dict[str, Floats]
    dynamics: dict[str, Floats]
    ladder: dict[str, Floats]
    thresholds: dict[str, Floats]
    patience: Ints
    powers: dict[str, Floats]
    trade: Floats
    arms: Floats
    defence_pacts: Floats
    affinity: Floats
    access: Floats
    scalars: dict[str, Floats]
    sizes: Floats
    neutral: Bools
    ties: Floats
    tie_share: Floats
    conflict: Floats
    alignment: Floats
    status: Ints
    streak: Ints
    air_defence: Bools
    air_streak: Ints
    boycotts: Ints
    exits: Ints
    suspensions: Ints
    entries: Ints
    boycott_count: Ints
    initial_russia: Floats
    pressure: Floats
    inducement: Floats
    utility: Floats
    economy_russia: Floats
    security_russia: Floats
    commitment: Floats
    trade_pull0: Floats

    @property
    def runs(self) -> int:
        """The number of replications."""
        return int(self.alignment.shape[0])

    @property
    def n_states(self) -> int:
        """The number of member states."""
        return int(self.alignment.shape[1])

    def take(self, rows: Ints | Sequence[int]) -> World:
        """A new world of the given runs (copies)."""
        index = np.asarray(rows, dtype=np.int64)
        values: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, dict):
                values[f.name] = {k: v[index].copy() for k, v in value.items()}
            else:
                values[f.name] = value[index].copy()
        return World(**values)


def _column(values: list[float], shape: tuple[int, ...] = (1, 1)) -> Floats:
    return np.array(values, dtype=np.float64).reshape(len(values), *shape)


def build_world(scenarios: Sequence[Scenario]) -> World:
    """Stack validated scenarios of one shape into a world, one run per scenario.

    Scenarios that are the same object are read once. Alignments start even
    (``1/4``); :func:`model.rules.choice.equilibrium` sets them.

    Raises:
        ValueError: no scenario, or scenarios with different states.
    """
    if not scenarios:
        raise ValueError("build_world needs at least one scenario")
    distinct: dict[int, int] = {}
    unique: list[Scenario] = []
    rows = []
    for s in scenarios:
        if id(s) not in distinct:
            distinct[id(s)] = len(unique)
            unique.append(s)
        rows.append(distinct[id(s)])
    codes = list(unique[0].states)
    if any(list(s.states) != codes for s in unique):
        raise ValueError("the scenarios of one world must have the same states, in the same order")
    n, u = len(codes), len(unique)
    index = {code: i for i, code in enumerate(codes)}

    def state_rows(read: Callable[[StateParams], object]) -> Floats:  # [u, n] or [u, n, k]
        return np.array([[read(s.states[c]) for c in codes] for s in unique], dtype=np.float64)

    def pairs(attr: str, value: str) -> Floats:
        out = np.zeros((u, n, n))
        for r, s in enumerate(unique):
            for (a, b), item in getattr(s, attr).items():
                out[r, index[a], index[b]] = out[r, index[b], index[a]] = getattr(item, value)
        return out

    ties = pairs("ties", "weight")
    totals = ties.sum(axis=2, keepdims=True)
    tie_share = np.divide(ties, totals, out=np.zeros_like(ties), where=totals > 0)

    def driver(name: str) -> Callable[[StateParams], object]:
        key = "opinion_russia" if name == "opinion_anchor" else name  # the anchor starts at the survey value
        return lambda p: getattr(p, key)

    scalars = {name: state_rows(driver(name)) for name in STATE_SCALARS}
    status = np.array(
        [
            [[STATUSES.index(getattr(s.states[c].status, i)) for i in INSTITUTIONS] for c in codes]
            for s in unique
        ],
        dtype=np.int64,
    )
    zeros = np.zeros((u, n))
    world = World(
        weights={k: _column([getattr(s.weights, k) for s in unique]) for k in WEIGHTS},
        dynamics={k: _column([getattr(s.dynamics, k) for s in unique]) for k in DYNAMICS},
        ladder={
            k: np.array([[[getattr(s.institutions[i], k) for i in INSTITUTIONS]] for s in unique])
            for k in LADDER
        },
        thresholds={k: _column([getattr(s.institutions, k) for s in unique]) for k in THRESHOLDS},
        patience=np.array([s.institutions.patience for s in unique], dtype=np.int64).reshape(u, 1, 1),
        powers={k: np.array([[getattr(s.powers[p], k) for p in POLES] for s in unique]) for k in POWER},
        trade=state_rows(lambda p: p.trade.as_list()),
        arms=state_rows(lambda p: p.arms.as_list()),
        defence_pacts=state_rows(lambda p: p.defence_pacts.as_list()),
        affinity=state_rows(lambda p: [0.0, p.affinity.west, p.affinity.china, p.affinity.turkey]),
        access=np.zeros((u, n, 4)),
        scalars=scalars,
        sizes=state_rows(lambda p: p.economic_weight),
        neutral=np.array([[s.states[c].neutral for c in codes] for s in unique], dtype=bool),
        ties=ties,
        tie_share=tie_share,
        conflict=pairs("conflicts", "intensity"),
        alignment=np.full((u, n, 4), 0.25),
        status=status,
        streak=np.zeros((u, n, 3), dtype=np.int64),
        air_defence=np.array([[s.states[c].air_defence for c in codes] for s in unique], dtype=bool),
        air_streak=np.zeros((u, n), dtype=np.int64),
        boycotts=np.zeros((u, n), dtype=np.int64),
        exits=np.zeros(u, dtype=np.int64),
        suspensions=np.zeros(u, dtype=np.int64),
        entries=np.zeros(u, dtype=np.int64),
        boycott_count=np.zeros(u, dtype=np.int64),
        initial_russia=zeros.copy(),
        pressure=np.zeros((u, 4, n)),
        inducement=np.zeros((u, 4, n)),
        utility=np.zeros((u, n, 4)),
        economy_russia=zeros.copy(),
        security_russia=zeros.copy(),
        commitment=np.zeros((u, n, 3)),
        trade_pull0=np.zeros((u, n, 4)),
    )
    return world if rows == list(range(u)) else world.take(rows)
