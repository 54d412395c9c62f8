"""The order of a quarter (docs/model.md 3), for every run of a world at once.

a. shocks scheduled for the quarter change drivers (and expiring ones revert);
b. each power spreads its pressure and inducements over the states;
c. each state computes its utilities, chooses its preferred mix and moves part of
   the way toward it (simultaneously, from last quarter's alignments);
d. trade and arms-import shares, opinion of Russia and trust drift;
e. each state climbs or descends its institutional ladders, joins or leaves the
   unified air-defence system and decides on summit boycotts.

The measures (f) are taken by the caller when it collects (:func:`model.rules.measures.measure`).
"""

from __future__ import annotations

from dataclasses import dataclass

from model.rules import choice, institutions, powers, utility
from model.rules.drift import apply_drift, trade_pull
from model.rules.shocks import Schedule, Shock, Undo
from model.rules.world import Floats, World


def evaluate(world: World) -> None:
    """The powers act on the current alignments, then every state's utilities follow (b, c)."""
    depth, csto_level = institutions.standing(world.status)
    powers.act(world, depth)
    utility.evaluate(world, csto_level)


#: The arrays a run's starting picture hands to the run (its endogenous state at step 0).
PICTURED = (
    "alignment",
    "utility",
    "pressure",
    "inducement",
    "economy_russia",
    "security_russia",
    "commitment",
    "initial_russia",
    "trade_pull0",
)


def set_up(world: World, known: Floats | None = None, picture: World | None = None) -> None:
    """Step 0: alignments at the starting picture's equilibrium, with its utilities and commitments.

    The picture is the scenario's ``start_from`` (docs/model.md 3): the observed
    drivers and power levels, with the run's own behavioural parameters. Its
    equilibrium (found without noise) and what follows from it (utilities,
    pressures, commitments, the alignment Russia's reaction measures drift from,
    the trade pull the observed trade shares balance)
    become the world's step 0; the world's own drivers and levels then act from
    the first quarter. Without a picture the world is its own.

    Args:
        world: the runs, just built.
        known: the equilibrium alignments, if already found for these drivers
            (``[runs, states, poles]``); the iteration is then skipped.
        picture: the runs at their starting picture (same runs and states), or None.
    """
    source = world if picture is None else picture
    source.initial_russia[:] = 0.0  # no drift to react to while equilibrating
    if known is None:
        choice.equilibrium(source, evaluate)
    else:
        source.alignment[...] = known
        evaluate(source)
    source.initial_russia[...] = source.alignment[..., 0]
    source.commitment[...] = institutions.commitments(source)
    source.trade_pull0[...] = trade_pull(source)  # the observed shares balance the observed pull
    if picture is not None:
        for name in PICTURED:
            getattr(world, name)[...] = getattr(picture, name)


@dataclass(frozen=True)
class Quarter:
    """What happened in one quarter besides the world's new state."""

    expired: list[Undo]
    fired: list[Shock]
    choices: institutions.Choices


def advance(world: World, step: int, schedule: Schedule, noise: Floats | None, *, summit: bool) -> Quarter:
    """Advance every run of ``world`` by one quarter (a to e).

    Args:
        world: the runs, changed in place.
        step: the step being taken (1 is the first quarter).
        schedule: the shocks, and the undos pending.
        noise: this quarter's normal log-perturbations of the alignments
            ``[runs, states, poles]`` (None for none).
        summit: whether this is a summit quarter (the fourth of a year).
    """
    expired, fired = schedule.fire(world, step)
    evaluate(world)
    target = choice.preferred_mix(world.utility, choice.temperature(world))
    rate = world.dynamics["adjustment"]
    world.alignment[...] = choice.move(world.alignment, target, rate=rate, shock=noise)
    apply_drift(world)
    world.commitment[...] = institutions.commitments(world)
    return Quarter(expired, fired, institutions.choose(world, summit))
