"""Cohesion measures (docs/model.md 6), for every run at once.

* The alliance cohesion index: the weighted mean alignment of the alliance's
  members with the leader (Russia), discounted by the weighted dispersion of that
  alignment: ``C = mu (1 - 2 sd)``, in [0, 1] because alignments lie in [0, 1] so
  ``sd <= 1/2``.
* The Axelrod-Bennett (1993) landscape energy of the two-bloc configuration:
  Russia's bloc (states whose largest alignment is with Russia) against the rest,
  with propensities from the similarity of the alignment vectors and a penalty for
  open conflicts.
"""

from __future__ import annotations

import numpy as np

from model.catalogue import INSTITUTIONS, POLES
from model.rules.world import CIS, TIER, Bools, Floats, World

#: The model measures, in the order of the model table (after ``quarter``).
MEASURES = (
    "cohesion",
    *(f"cohesion_{inst}" for inst in INSTITUTIONS),
    *(f"{inst}_members" for inst in INSTITUTIONS),
    *(f"{inst}_partial" for inst in INSTITUTIONS),
    "exits",
    "suspensions",
    "entries",
    "boycotts",
    "air_defence_members",
    "air_defence_rate",
    "energy",
    "russia_bloc",
    *(f"mean_alignment_{p}" for p in POLES),
)
#: Measures that are counts (integers).
COUNTS = frozenset(
    {"exits", "suspensions", "entries", "boycotts", "air_defence_members", "russia_bloc"}
    | {f"{inst}_{kind}" for inst in INSTITUTIONS for kind in ("members", "partial")}
)
#: Measures checked to be finite numbers (the rest are counts or bounded rates).
CHECKED = (
    "cohesion",
    *(f"cohesion_{i}" for i in INSTITUTIONS),
    "energy",
    *(f"mean_alignment_{p}" for p in POLES),
)


def cohesion_index(alignment_russia: Floats, weights: Floats) -> Floats:
    """Weighted mean alignment with the leader, discounted by its weighted dispersion.

    Args:
        alignment_russia: each member's alignment with Russia, ``[..., states]``.
        weights: each member's weight (economic weight times membership depth),
            ``>= 0``, ``[..., alliances, states]``: one index per alliance.

    Returns:
        ``mu (1 - 2 sd)`` in [0, 1], ``[..., alliances]``; 0 for an alliance with no
        weighted members.
    """
    a = alignment_russia[..., None, :]
    total = np.add.reduce(weights, axis=-1)
    safe = np.where(total > 0, total, 1.0)
    mu = np.add.reduce(weights * a, axis=-1) / safe
    gap = a - mu[..., None]
    sd = np.sqrt(np.add.reduce(weights * gap * gap, axis=-1) / safe)
    index: Floats = np.where(total > 0, np.maximum(mu * (1.0 - 2.0 * sd), 0.0), 0.0)
    return index


def energy(sizes: Floats, propensity: Floats, blocs: Bools) -> Floats:
    """Energy ``E(X) = sum_i sum_{j != i} s_i s_j p_ij d_ij(X)`` (ordered pairs), per configuration.

    Args:
        sizes: ``[..., actors]``.
        propensity: ``[..., actors, actors]`` (the diagonal does not count: d_ii = 0).
        blocs: ``[..., actors]`` booleans.

    Returns:
        ``[...]``.
    """
    apart = propensity * (blocs[..., :, None] != blocs[..., None, :])
    total: Floats = np.add.reduce(sizes * (apart @ sizes[..., None])[..., 0], axis=-1) + 0.0
    return total


def two_bloc_energy(alignment: Floats, sizes: Floats, conflict: Floats) -> tuple[Floats, Bools]:
    """Landscape energy of Russia's bloc against the rest.

    Actors are the states plus Russia (whose alignment is all Russia and whose size
    is the largest state's, so it neither swamps nor vanishes). Sizes are normalised
    to sum to 1. Propensity ``p_ij = cos(a_i, a_j) - 1/2 - c_ij``.

    Args:
        alignment: ``[..., states, poles]``.
        sizes: economic weights, ``[..., states]``.
        conflict: ``[..., states, states]`` (symmetric, zero diagonal).

    Returns:
        The energy ``[...]`` and each state's bloc ``[..., states]`` (True: Russia's).
    """
    n = alignment.shape[-2]
    lead = alignment.shape[:-2]
    vectors = np.empty((*lead, n + 1, 4))
    vectors[..., :n, :] = alignment
    vectors[..., n, :] = _LEADER  # Russia's own alignment
    unit = vectors / np.sqrt(np.add.reduce(vectors * vectors, axis=-1))[..., None]
    propensity = unit @ np.swapaxes(unit, -1, -2)
    propensity -= 0.5
    propensity[..., :n, :n] -= conflict  # the diagonal never counts: an actor is in its own bloc
    size = np.empty((*lead, n + 1))
    size[..., :n] = sizes
    size[..., n] = np.maximum.reduce(sizes, axis=-1)
    size /= np.add.reduce(size, axis=-1)[..., None]
    blocs = vectors.argmax(axis=-1) == 0
    return energy(size, propensity, blocs), blocs[..., :n]


_LEADER = np.array([1.0, 0.0, 0.0, 0.0])


def measure(world: World) -> dict[str, Floats]:
    """Every model measure of every run, ``name -> [runs]`` (views of :func:`measure_table`)."""
    return dict(zip(MEASURES, measure_table(world).T, strict=True))


def measure_table(world: World) -> Floats:
    """Every model measure of every run, ``[runs, measures]`` in the order of :data:`MEASURES`.

    Counts are whole numbers held as floats.
    """
    a = world.alignment
    sizes = world.sizes
    tiers = TIER[world.status]
    full = tiers == 3
    runs, n = sizes.shape
    weights = np.empty((runs, 4, n))
    weights[:, 0] = np.add.reduce(tiers, axis=2) * full.any(axis=2)
    weights[:, 0] /= 9.0  # depth, for alliance members
    weights[:, 1:] = full.transpose(0, 2, 1)
    weights *= sizes[:, None, :]
    table = np.empty((runs, len(MEASURES)))
    table[:, _COHESION] = cohesion_index(a[..., 0], weights)
    table[:, _MEMBERS] = np.add.reduce(full, axis=1)
    table[:, _MEMBERS] += 1  # Russia counts
    table[:, _PARTIAL] = np.add.reduce(tiers == 2, axis=1)
    table[:, _EXITS] = world.exits
    table[:, _SUSPENSIONS] = world.suspensions
    table[:, _ENTRIES] = world.entries
    table[:, _BOYCOTTS] = world.boycott_count
    inside = world.air_defence
    cis_full = full[..., CIS]
    table[:, _AIR_MEMBERS] = np.add.reduce(inside, axis=1)
    counted = np.add.reduce(cis_full, axis=1)
    table[:, _AIR_RATE] = 0.0
    np.divide(np.add.reduce(inside & cis_full, axis=1), counted, out=table[:, _AIR_RATE], where=counted > 0)
    table[:, _ENERGY], blocs = two_bloc_energy(a, sizes, world.conflict)
    table[:, _BLOC] = np.add.reduce(blocs, axis=1)
    table[:, _MEAN] = np.add.reduce(sizes[..., None] * a, axis=1)
    table[:, _MEAN] /= np.add.reduce(sizes, axis=1)[:, None]
    return table


def _columns(*names: str) -> slice:
    first = MEASURES.index(names[0])
    assert MEASURES[first : first + len(names)] == names, names
    return slice(first, first + len(names))


_COHESION = _columns("cohesion", *(f"cohesion_{inst}" for inst in INSTITUTIONS))
_MEMBERS = _columns(*(f"{inst}_members" for inst in INSTITUTIONS))
_PARTIAL = _columns(*(f"{inst}_partial" for inst in INSTITUTIONS))
_MEAN = _columns(*(f"mean_alignment_{p}" for p in POLES))
_EXITS, _SUSPENSIONS, _ENTRIES, _BOYCOTTS, _AIR_MEMBERS, _AIR_RATE, _ENERGY, _BLOC = (
    MEASURES.index(name)
    for name in (
        "exits",
        "suspensions",
        "entries",
        "boycotts",
        "air_defence_members",
        "air_defence_rate",
        "energy",
        "russia_bloc",
    )
)
