"""Powers spread pressure and inducements over the states (docs/model.md 4.1)."""

from __future__ import annotations

import numpy as np

from model.rules.world import C, Floats, R, T, W, World

#: States over which a capacity of 1 was set: the eight 2024 members of the baseline
#: (``capacity: 1 = Russia 2024``). A power's total is ``level x capacity x N_REF``
#: whatever the number of states, so added states spread the same total thinner.
N_REF = 8


def targeting(world: World, depth: Floats) -> tuple[Floats, Floats]:
    """Each power's targeting weights over the states, before they are scaled.

    Russia presses states in proportion to 0.1 plus their membership depth (it
    polices its own sphere most) and courts those aligned with it; with
    ``reaction`` it shifts attention to states that drifted away from their
    starting Russian alignment (escalating if > 0, courting if < 0). The West aims
    secondary sanctions at Russia's partners and courts the states leaning West
    or hedging; China courts its trade partners; Türkiye its Turkic kin. China and
    Türkiye press all states alike.

    Args:
        world: the runs.
        depth: membership depth of each state, ``[runs, states]``.

    Returns:
        Pressure and inducement weights, each ``[runs, poles, states]``.
    """
    a = world.alignment
    runs, n = a.shape[:2]
    press = np.empty((runs, 4, n))
    court = np.empty((runs, 4, n))
    press[:, R] = 0.1 + depth
    court[:, R] = 0.2 + a[..., R]
    reaction = world.powers["reaction"][:, R : R + 1]
    if reaction.any():  # (1 + |reaction| x drift) on the reacting side
        drift = np.maximum(world.initial_russia - a[..., R], 0.0) * world.dynamics["reaction_gain"][..., 0]
        press[:, R] *= 1.0 + np.maximum(reaction, 0.0) * drift
        court[:, R] *= 1.0 - np.minimum(reaction, 0.0) * drift
    press[:, W] = 0.1 + a[..., R]
    court[:, W] = (0.2 + 0.5 * world.scalars["hedging"]) + a[..., W]
    press[:, C:] = 1.0  # China and Türkiye press all states alike
    court[:, C] = (world.trade[..., C] + a[..., C]) + 0.2
    court[:, T] = (0.2 + world.affinity[..., T]) + a[..., T]
    return press, court


def spread(world: World, press: Floats, court: Floats) -> tuple[Floats, Floats]:
    """Scale targeting weights so that each power's total over the states is fixed.

    Pressure on state i is ``pressure x capacity x N_REF x weight_i / sum(weights)``;
    inducement likewise, times the inducement weight. The total does not depend on
    the number of states: in the eight-state 2024 picture the mean is the level
    times capacity, and each added state takes its share from the others.

    Returns:
        Pressure and inducement on each state, each ``[runs, poles, states]``.
    """
    p = world.powers
    pressure_level = (p["pressure"] * p["capacity"] * N_REF)[..., None]
    inducement_level = (world.weights["inducement"][..., 0] * p["engagement"] * p["capacity"] * N_REF)[
        ..., None
    ]
    pressure = press * (pressure_level / np.add.reduce(press, axis=2, keepdims=True))
    inducement = court * (inducement_level / np.add.reduce(court, axis=2, keepdims=True))
    return pressure, inducement


def act(world: World, depth: Floats) -> None:
    """Every power targets the states and spreads its totals: sets ``pressure`` and ``inducement``."""
    world.pressure[...], world.inducement[...] = spread(world, *targeting(world, depth))
