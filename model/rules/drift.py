"""Drift of trade, arms, opinion and trust, and the abandonment rule (docs/model.md 4.4)."""

from __future__ import annotations

import numpy as np

from model.rules.institutions import standing
from model.rules.utility import ties
from model.rules.world import Floats, R, W, World

_sum = np.add.reduce


def trade_pull(world: World) -> Floats:
    """The log-rate at which trade with each pole would grow now, ``[runs, states, poles]``.

    A partner's relative inducement, route access and the state's lean toward it pull
    trade toward it, and Western secondary sanctions push it away from Russia:
    ``g = trade_drift (I - mean I + access + 0.5 (a - 1/4)) - [k = R] trade_drift P_W``.
    """
    d = world.dynamics
    inducement = world.inducement.transpose(0, 2, 1)
    pull = inducement - _sum(inducement, axis=2, keepdims=True) / 4
    pull += world.access
    pull += 0.5 * (world.alignment - 0.25)
    pull *= d["trade_drift"]
    pull[..., R] -= d["trade_drift"][..., 0] * world.pressure[:, W]
    return pull


def drift(world: World) -> tuple[Floats, Floats, Floats, Floats]:
    """Trade and arms shares, opinion of Russia and trust after this quarter's conditions.

    Trade shares grow at the change of their pull since the starting picture
    (:func:`trade_pull` minus ``world.trade_pull0``): the observed shares are in
    balance with the observed conditions, and only a change of inducement, access,
    lean or sanctions moves them (the "other" partner's growth is 0). Arms shares
    grow with a supplier's delivery capacity and the lean; opinion returns toward
    its anchor and answers Russian inducement and coercion; trust in Russia
    recovers slowly.

    Returns:
        New trade, arms, opinion and trust arrays (the world is not changed).
    """
    d, s = world.dynamics, world.scalars
    lean = world.alignment - 0.25
    trade = world.trade.copy()
    trade[..., :4] *= np.exp(trade_pull(world) - world.trade_pull0)
    trade /= _sum(trade, axis=2, keepdims=True)

    log_supply = np.log(np.maximum(world.powers["arms_supply"], 0.05))[:, None, :]
    arms = world.arms.copy()
    arms[..., :4] *= np.exp(d["arms_drift"] * (log_supply + lean))
    arms /= _sum(arms, axis=2, keepdims=True)

    backlash = d["opinion_backlash"][..., 0]
    sovereignty = s["sovereignty"]
    opinion = s["opinion_russia"] + d["opinion_recovery"][..., 0] * (
        s["opinion_anchor"] - s["opinion_russia"]
    )
    opinion += (
        backlash * (1 - sovereignty) * world.inducement[:, R] - backlash * sovereignty * world.pressure[:, R]
    )
    opinion = np.minimum(np.maximum(opinion, 0.0), 1.0)
    trust = s["trust_russia"] + d["trust_recovery"][..., 0] * (1.0 - s["trust_russia"])
    return trade, arms, opinion, trust


def apply_drift(world: World) -> None:
    """Write the drifted trade, arms, opinion and trust into the world's arrays (in place)."""
    trade, arms, opinion, trust = drift(world)
    world.trade[...] = trade
    world.arms[...] = arms
    world.scalars["opinion_russia"][...] = opinion
    world.scalars["trust_russia"][...] = trust


def abandonment(world: World, i: int, j: int, flare: Floats) -> Floats:
    """Trust in Russia after a flare-up between states ``i`` and ``j`` that Russia does not answer.

    Each party feels abandoned in proportion to the attack it suffered (the rise of
    the conflict) and to what Russia owed it, its Russian guarantee tie (defence pact,
    CSTO membership, hosted forces; :func:`model.rules.utility.ties`):
    ``trust_i *= max(0, 1 - abandonment x flare x tie_iR)``. A party Russia never
    promised to defend loses nothing; the ally under a full guarantee loses the most.

    Args:
        world: the runs.
        i: one party (its row).
        j: the other party.
        flare: the rise of the conflict's intensity per run, ``[runs]`` (0 for none).

    Returns:
        The new trust array, ``[runs, states]``.
    """
    rate = world.dynamics["abandonment"][:, 0, 0]
    owed = ties(world, standing(world.status)[1])[..., R]
    trust = world.scalars["trust_russia"].copy()
    for me in (i, j):
        trust[:, me] *= np.maximum(0.0, 1.0 - rate * flare * owed[:, me])
    return trust
