"""Preferred mix, inertia and noise, and the starting equilibrium (docs/model.md 4.3)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from model.rules.world import Floats, World

_sum = np.add.reduce
_max = np.maximum.reduce

BURN_IN_ITERATIONS = 200
BURN_IN_TOLERANCE = 1e-6
BURN_IN_DAMPING = 0.5  # weight on the previous iterate once the plain iteration stops shrinking


def preferred_mix(utility: Floats, temperature: Floats | float) -> Floats:
    """The alignment that maximises expected utility plus ``temperature`` times entropy.

    The maximiser of ``u . x + tau * H(x)`` over the simplex is ``softmax(u / tau)``:
    a state that values a spread (multi-vector) alignment has a higher ``tau``.

    Args:
        utility: utility of aligning with each pole (last axis), any leading axes.
        temperature: spread, > 0, broadcastable to ``utility`` (a scalar, or a
            trailing axis of length 1).

    Returns:
        Points on the simplex, the shape of ``utility``.
    """
    z = (utility - _max(utility, axis=-1, keepdims=True)) / temperature
    e = np.exp(z)
    return e / _sum(e, axis=-1, keepdims=True)


def move(current: Floats, target: Floats, *, rate: Floats | float, shock: Floats | None = None) -> Floats:
    """Move ``rate`` of the way from ``current`` to ``target``, then apply log-normal noise.

    Args:
        current: alignment now (on the simplex, last axis).
        target: preferred alignment, same shape.
        rate: share of the gap closed, in (0, 1], broadcastable.
        shock: normal log-perturbations, same shape (None for no noise).

    Returns:
        The new alignment, on the simplex.
    """
    new = current + rate * (target - current)
    if shock is not None:
        new = new * np.exp(shock)
    return new / _sum(new, axis=-1, keepdims=True)


def temperature(world: World) -> Floats:
    """Each state's spread, ``[runs, states, 1]``: base temperature plus hedging times its gain."""
    d = world.dynamics
    return d["temperature"] + d["hedging_temperature"] * world.scalars["hedging"][..., None]


def equilibrium(world: World, evaluate: Callable[[World], None]) -> None:
    """Set each run's alignments to those its starting drivers imply (a fixed point, no noise).

    Plain fixed-point iteration ``a <- softmax(U(a) / tau)``; a run whose step grows
    instead of shrinking is damped from then on, and each run stops as soon as its
    largest change falls below the tolerance (so a run's result does not depend on
    the other runs it is computed with).

    Args:
        world: the runs; ``alignment`` is replaced.
        evaluate: sets the world's pressure, inducement and utility for its
            current alignments (:func:`model.rules.quarter.evaluate`).
    """
    tau = temperature(world)
    runs = world.runs
    damping = np.zeros((runs, 1, 1))
    last = np.full(runs, np.inf)
    active = np.ones(runs, dtype=bool)
    for _ in range(BURN_IN_ITERATIONS):
        evaluate(world)
        target = preferred_mix(world.utility, tau)
        change = np.abs(target - world.alignment).max(axis=(1, 2))
        damping[(change > last) & active] = BURN_IN_DAMPING
        last = np.where(active, change, last)
        new = np.where(damping > 0.0, (1 - damping) * target + damping * world.alignment, target)
        world.alignment[...] = np.where(active[:, None, None], new, world.alignment)
        active &= ~(change < BURN_IN_TOLERANCE)
        if not active.any():
            break
    evaluate(world)
