"""Commitments and institutional choices: ladders, air defence, boycotts (docs/model.md 4.5)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.rules.world import (
    CIS,
    CSTO,
    DOWN_TO,
    EAEU,
    MEMBER,
    TIER,
    UP_TO,
    WITHDRAWN,
    Bools,
    Floats,
    Ints,
    World,
)

_INSTITUTION_AXIS = np.arange(3)
_IS_CSTO = _INSTITUTION_AXIS == CSTO


def standing(status: Ints) -> tuple[Floats, Floats]:
    """Membership depth (mean over institutions of tier / 3) and CSTO guarantee level, ``[runs, states]``."""
    depth: Floats = np.add.reduce(TIER[status], axis=2) / 9.0
    return depth, _GUARANTEE[status[..., CSTO]]


#: The CSTO guarantee level of each status code: 1 for a full member, 0.5 partial, 0 out.
_GUARANTEE: Floats = np.where(TIER == 3, 1.0, np.where(TIER == 2, 0.5, 0.0))


def commitments(world: World) -> Floats:
    """Commitment of every state to CIS, CSTO and EAEU, ``[runs, states, institutions]``.

    ``c = a_R / 2 + b / 2 - cost x sovereignty`` where ``b`` is Russia's economic
    value (CIS, EAEU) or its security value (CSTO), clipped to [0, 1]. The CIS is a
    cheap club kept for its economic links; a state threatened by Russia itself
    leaves it, so CIS commitment also falls by ``cis_threat`` times that threat.
    """
    s = world.scalars
    commitment = np.empty(world.status.shape)
    commitment[..., CIS] = world.economy_russia
    commitment[..., CSTO] = world.security_russia
    commitment[..., EAEU] = world.economy_russia
    commitment = 0.5 * np.minimum(np.maximum(commitment, 0.0), 1.0)
    commitment += 0.5 * world.alignment[..., 0:1]
    commitment -= world.ladder["cost"] * s["sovereignty"][..., None]
    commitment[..., CIS] -= world.thresholds["cis_threat"][..., 0] * s["threat_from_russia"]
    return commitment


def ladder_step(
    status: Ints,
    commitment: Floats,
    streak: Ints,
    ladder: dict[str, Floats],
    patience: Ints | int,
    may_rise: Bools | bool = True,
) -> tuple[Ints, Ints]:
    """One quarter of the institutional ladders, with thresholds and hysteresis.

    A full member whose commitment stays below ``step_down`` for ``patience``
    quarters steps down (CIS: associate, CSTO: frozen, EAEU: leaves). A partial
    member or observer below ``leave`` withdraws; above ``step_up`` it becomes a
    full member. An outsider above ``join`` joins (EAEU: as observer first).
    ``streak`` counts consecutive quarters pushing up (> 0) or down (< 0).

    Args:
        status: status codes, last axis the institutions (CIS, CSTO, EAEU).
        commitment: commitments, the same shape.
        streak: last quarter's streaks, the same shape.
        ladder: thresholds ``step_down``, ``leave``, ``step_up``, ``join``, each
            broadcastable (one per institution on the last axis).
        patience: quarters a threshold must be crossed before acting.
        may_rise: False forbids moving up (a neutral state and the CSTO).

    Returns:
        The new status codes and streaks.
    """
    tier = TIER[status]
    full, out = tier == 3, tier == 0
    # The thresholds that push this rung up and down (none above a member or below an outsider).
    upper = np.where(full, np.inf, np.where(out, ladder["join"], ladder["step_up"]))
    lower = np.where(full, ladder["step_down"], np.where(out, -np.inf, ladder["leave"]))
    up = may_rise & (commitment > upper)
    down = commitment < lower
    if not (up.any() or down.any()):  # nothing pushes: every streak resets, nobody moves
        return status, np.zeros_like(streak)
    streak = np.where(up, np.maximum(streak, 0) + 1, np.where(down, np.minimum(streak, 0) - 1, 0))
    rise = up & (streak >= patience)
    fall = ~up & down & (-streak >= patience)
    moved = rise | fall
    if not moved.any():  # most quarters: nobody moves a rung
        return status, streak
    status = np.where(
        rise, UP_TO[_INSTITUTION_AXIS, tier], np.where(fall, DOWN_TO[_INSTITUTION_AXIS, tier], status)
    )
    return status, np.where(moved, 0, streak)


@dataclass(frozen=True)
class Choices:
    """What the states decided this quarter (before and after, for the event log)."""

    before: Ints
    after: Ints
    air_joined: Bools
    air_left: Bools
    boycott: Bools

    @property
    def changed(self) -> Bools:
        """Status changed, ``[runs, states, institutions]``."""
        changed: Bools = self.before != self.after
        return changed


def choose(world: World, summit: bool) -> Choices:
    """Every state climbs or descends its ladders, joins or leaves air defence, boycotts summits.

    Air defence: a state joins the unified CIS system when its CSTO commitment
    stays above ``air_defence_join`` for ``patience`` quarters (never if neutral
    or not at least a partial CIS member, judged after this quarter's ladders),
    and leaves when it stays below ``air_defence_leave`` or stops being eligible.
    In a summit quarter (each fourth), a full member whose commitment is below
    ``boycott`` boycotts that institution's summit.

    Updates the world's statuses, streaks, air defence, boycotts and counters.
    """
    c = world.commitment
    patience = world.patience
    before = world.status
    neutral = world.neutral
    may_rise = ~(neutral[..., None] & _IS_CSTO)
    after, world.streak = ladder_step(before, c, world.streak, world.ladder, patience, may_rise)
    world.status = after

    t = world.thresholds
    inside = world.air_defence
    eligible = ~neutral & (TIER[after[..., CIS]] >= 2)
    csto = c[..., CSTO]
    leaving = (csto < t["air_defence_leave"][..., 0]) | ~eligible
    joining = eligible & (csto > t["air_defence_join"][..., 0])
    if np.where(inside, leaving, joining).any():
        s = world.air_streak
        s = np.where(
            inside, np.where(leaving, np.minimum(s, 0) - 1, 0), np.where(joining, np.maximum(s, 0) + 1, 0)
        )
        left = inside & (-s >= patience[..., 0])
        joined = ~inside & (s >= patience[..., 0])
        world.air_defence = (inside & ~left) | joined
        world.air_streak = np.where(left | joined, 0, s)
    else:  # nothing pushes: every streak resets, nobody moves (patience >= 1: the schema's bound,
        # which the engine checks before writing a value straight into the arrays)
        left = joined = np.zeros(inside.shape, dtype=bool)
        world.air_streak = np.zeros_like(world.air_streak)

    if summit:
        boycott = (after == MEMBER) & (c < t["boycott"])
        world.boycotts = world.boycotts + boycott.sum(axis=2)
        world.boycott_count = world.boycott_count + boycott.sum(axis=(1, 2))
    else:
        boycott = np.zeros(after.shape, dtype=bool)
    if after is not before:  # a rung moved somewhere (ladder_step returns its input otherwise)
        changed = before != after
        rose = changed & (TIER[after] > TIER[before])
        left_out = changed & ~rose & (after == WITHDRAWN)
        world.entries = world.entries + rose.sum(axis=(1, 2))
        world.exits = world.exits + left_out.sum(axis=(1, 2))
        world.suspensions = world.suspensions + (changed & ~rose & ~left_out).sum(axis=(1, 2))
    return Choices(before=before, after=after, air_joined=joined, air_left=left, boycott=boycott)
