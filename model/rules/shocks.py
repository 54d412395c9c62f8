"""Scheduled shocks: dated changes of drivers, never of memberships (docs/model.md 5).

A scenario's shocks are compiled once into :class:`Shock` records that carry one
delta per run, so runs whose scenarios differ only in a shock's size share one
schedule. A shock with a duration is undone when it expires: what was applied
(after clipping to [0, 1]) is taken off again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from model.catalogue import POLES
from model.rules.drift import abandonment
from model.rules.world import Floats, World
from model.scenario import ConflictShock, PowerShock, TradeAccessShock

if TYPE_CHECKING:
    from model.scenario import Scenario

#: State-shock kinds and the driver each changes.
STATE_DRIVER = {
    "threat": "external_threat",
    "opinion": "opinion_anchor",
    "threat_from_russia": "threat_from_russia",
    "energy_dependence": "energy_dependence",
    "trust": "trust_russia",
}


@dataclass(frozen=True)
class Shock:
    """One scheduled shock, compiled.

    Attributes:
        target: "state", "access", "power" or "conflict".
        kind: the scenario's shock kind.
        states: state indices (two for a conflict; none for a power).
        pole: the power, or the trade partner of an access shock.
        step: the step it fires (1 is the first quarter).
        duration: quarters it lasts, or None.
        delta: the change, one per run.
    """

    target: str
    kind: str
    states: tuple[int, ...]
    pole: int
    step: int
    duration: int | None
    delta: Floats


@dataclass(frozen=True)
class Undo:
    """What a temporary shock applied, to take off when it expires."""

    shock: Shock
    applied: Floats  # [runs, len(states)] or [runs]


def signature(scenario: Scenario) -> tuple[object, ...]:
    """What runs must share to be simulated together: states, dates and every shock but its size."""
    shocks = tuple(
        (
            type(s).__name__,
            s.kind,
            str(s.date),
            s.duration,
            str(getattr(s, "states", "")),
            getattr(s, "power", ""),
            getattr(s, "partner", ""),
        )
        for s in scenario.shocks
    )
    return (tuple(scenario.states), str(scenario.start), scenario.horizon, shocks)


def compile_shocks(scenarios: Sequence[Scenario]) -> list[Shock]:
    """The shocks of scenarios that share a :func:`signature`, in their scheduled order.

    Raises:
        ValueError: the scenarios do not share a signature.
    """
    first = scenarios[0]
    if any(signature(s) != signature(first) for s in scenarios):
        raise ValueError(
            "the scenarios of one world must share states, dates and shocks (all but their sizes)"
        )
    codes = list(first.states)
    out = []
    for k, shock in enumerate(first.shocks):
        delta = np.array([s.shocks[k].delta for s in scenarios], dtype=np.float64)
        step = shock.date.index - first.start.index + 1
        states: tuple[int, ...] = ()
        pole = -1
        if isinstance(shock, ConflictShock):
            target = "conflict"
            states = tuple(codes.index(c) for c in shock.states)
        elif isinstance(shock, PowerShock):
            target = "power"
            pole = POLES.index(shock.power)
        else:  # a state shock or a trade-access shock
            target = "access" if isinstance(shock, TradeAccessShock) else "state"
            if isinstance(shock, TradeAccessShock):
                pole = POLES.index(shock.partner)
            chosen = range(len(codes)) if shock.states == "all" else (codes.index(c) for c in shock.states)
            states = tuple(chosen)
        out.append(Shock(target, shock.kind, states, pole, step, shock.duration, delta))
    return out


def apply(world: World, shock: Shock) -> Undo:
    """Apply a shock to every run; return what to undo when it expires.

    A state or power driver moves by ``delta``, clipped to [0, 1] (``opinion`` moves
    the anchor, which is undone on expiry, and the current opinion, which then
    returns toward the anchor by itself); route access moves by ``delta``; a
    conflict's intensity moves within [0, 1] and a rise costs the parties trust
    (:func:`model.rules.drift.abandonment`).
    """
    delta = shock.delta
    idx = list(shock.states)
    if shock.target == "power":
        levels = world.powers[shock.kind]
        old = levels[:, shock.pole].copy()
        levels[:, shock.pole] = np.clip(old + delta, 0.0, 1.0)
        return Undo(shock, levels[:, shock.pole] - old)
    if shock.target == "conflict":
        i, j = shock.states
        c = world.conflict
        applied = np.clip(c[:, i, j] + delta, 0.0, 1.0) - c[:, i, j]
        c[:, i, j] = c[:, j, i] = c[:, i, j] + applied
        world.scalars["trust_russia"][...] = abandonment(world, i, j, np.maximum(applied, 0.0))
        return Undo(shock, applied)
    if shock.target == "access":
        world.access[:, idx, shock.pole] += delta[:, None]
        return Undo(shock, np.repeat(delta[:, None], len(idx), axis=1))
    s = world.scalars
    name = STATE_DRIVER[shock.kind]
    old = s[name][:, idx]
    s[name][:, idx] = np.clip(old + delta[:, None], 0.0, 1.0)
    applied = s[name][:, idx] - old
    if shock.kind == "opinion":
        s["opinion_russia"][:, idx] = np.clip(s["opinion_russia"][:, idx] + delta[:, None], 0.0, 1.0)
    return Undo(shock, applied)


def undo(world: World, record: Undo) -> None:
    """Take an expired shock off again (what was applied, without clipping)."""
    shock, applied = record.shock, record.applied
    idx = list(shock.states)
    if shock.target == "power":
        world.powers[shock.kind][:, shock.pole] -= applied
    elif shock.target == "conflict":
        i, j = shock.states
        c = world.conflict
        c[:, i, j] = c[:, j, i] = c[:, i, j] - applied
    elif shock.target == "access":
        world.access[:, idx, shock.pole] -= applied
    else:
        world.scalars[STATE_DRIVER[shock.kind]][:, idx] -= applied


@dataclass
class Schedule:
    """The shocks by step, and the undos pending for temporary shocks that fired."""

    shocks: dict[int, list[Shock]] = field(default_factory=dict)
    pending: dict[int, list[Undo]] = field(default_factory=dict)

    @classmethod
    def of(cls, shocks: Sequence[Shock]) -> Schedule:
        """A schedule of compiled shocks."""
        schedule = cls()
        for shock in shocks:
            schedule.shocks.setdefault(shock.step, []).append(shock)
        return schedule

    def fire(self, world: World, step: int) -> tuple[list[Undo], list[Shock]]:
        """Undo what expires at ``step``, then apply the shocks of ``step``; return both."""
        expired = self.pending.pop(step, [])
        for record in expired:
            undo(world, record)
        fired = self.shocks.get(step, [])
        for shock in fired:
            record = apply(world, shock)
            if shock.duration is not None:
                self.pending.setdefault(step + shock.duration, []).append(record)
        return expired, fired
