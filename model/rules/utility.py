"""Utility of aligning with each pole (docs/model.md 4.2).

``U = w_s S + w_e X - w_a A + w_c K + w_id Id + w_soc N``: security S, economic
benefit X, autonomy cost A, coercion K, identity Id and the tied neighbours'
alignment N. :func:`parts` computes each part, :func:`utility` weighs them: the
rule exists once, and the view's explanation of a choice reads the same parts.
"""

from __future__ import annotations

import numpy as np

from model.rules.world import FORCES_UNIT, Floats, R, World

PARTS = ("security", "economy", "autonomy", "coercion", "identity", "social")
#: Sign of each part in the utility.
SIGN = {"security": 1.0, "economy": 1.0, "autonomy": -1.0, "coercion": 1.0, "identity": 1.0, "social": 1.0}
if set(SIGN.values()) - {1.0, -1.0}:  # utility() adds or subtracts each weighted part
    raise AssertionError("every sign is +1 or -1")


def tripwire(world: World) -> Floats:
    """``w_f f_i``, ``f_i = min(1, troops_i / 5000)``: the guarantee and autonomy cost of Russian forces."""
    f: Floats = np.minimum(world.scalars["russian_forces"] / FORCES_UNIT, 1.0)
    return world.weights["forces"][..., 0] * f


def ties(world: World, csto_level: Floats) -> Floats:
    """What each pole has promised each state, ``[runs, states, poles]``, capped at 1.

    ``tie_ik = min(1, pact_ik + [k = R](0.5 csto_i + w_f f_i))``: defence pacts, and for
    Russia also CSTO membership and the tripwire of its hosted forces.
    """
    tie = world.defence_pacts.copy()
    tie[..., R] += 0.5 * csto_level + tripwire(world)
    return np.minimum(tie, 1.0)


def guarantee(world: World, csto_level: Floats) -> Floats:
    """The credible guarantee ``G_ik = cred_k tie_ik``, Russia's times trust, ``[runs, states, poles]``."""
    g: Floats = world.powers["security_credibility"][:, None, :] * ties(world, csto_level)
    g[..., R] *= world.scalars["trust_russia"]
    return g


def parts(world: World, csto_level: Floats) -> dict[str, Floats]:
    """Each part of the utility, ``[runs, states, poles]``, before its weight.

    Args:
        world: the runs, with this quarter's pressure and inducement.
        csto_level: 1 for a CSTO member, 0.5 partial, 0 out, ``[runs, states]``.

    Returns:
        security, economy, autonomy, coercion, identity and social.
    """
    w, s = world.weights, world.scalars
    a = world.alignment

    # Exposure x_ik: trade, plus remittances and energy dependence toward Russia.
    exposure = world.trade[..., :4].copy()
    exposure[..., R] += (
        w["remittances"][..., 0] * s["remittances"] + w["energy"][..., 0] * s["energy_dependence"]
    )
    held = np.minimum(exposure, 1.0)

    need = s["external_threat"] + np.add.reduce(world.conflict, axis=2)
    security = (
        need[..., None] * guarantee(world, csto_level)
        + w["arms"] * world.arms[..., :4] * world.powers["arms_supply"][:, None, :]
    )
    security -= world.conflict @ a
    security[..., R] -= s["threat_from_russia"]

    sovereignty = s["sovereignty"][..., None]
    autonomy = sovereignty * world.powers["dominance"][:, None, :] * (1.0 + held)
    autonomy[..., R] += s["sovereignty"] * tripwire(world)

    identity = world.affinity.copy()
    identity[..., R] = s["opinion_russia"]
    return {
        "security": security,
        "economy": exposure + world.inducement.transpose(0, 2, 1),
        "autonomy": autonomy,
        "coercion": world.pressure.transpose(0, 2, 1) * (held - sovereignty),
        "identity": identity,
        "social": world.tie_share @ a,
    }


def utility(world: World, csto_level: Floats) -> tuple[Floats, dict[str, Floats]]:
    """The weighted sum of the parts, ``[runs, states, poles]``, and the parts."""
    p = parts(world, csto_level)
    w = world.weights
    total = w["security"] * p["security"]
    for name in PARTS[1:]:
        if SIGN[name] > 0:
            total += w[name] * p[name]
        else:
            total -= w[name] * p[name]
    return total, p


def evaluate(world: World, csto_level: Floats) -> None:
    """Set ``utility`` and Russia's economic and security value to each state (for commitments)."""
    world.utility[...], p = utility(world, csto_level)
    world.economy_russia = p["economy"][..., R]
    world.security_russia = p["security"][..., R]
