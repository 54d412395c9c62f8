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
    sd = np.sqrt(np.add.reduce(weights * (a - mu[..., None]) ** 2, axis=-1) / safe)
    return np.where(total > 0, np.maximum(mu * (1.0 - 2.0 * sd), 0.0), 0.0)


def energy(sizes: Floats, propensity: Floats, blocs: Bools) -> Floats:
    """Energy ``E(X) = sum_i sum_{j != i} s_i s_j p_ij d_ij(X)`` (ordered pairs), per configuration.

    Args:
        sizes: ``[..., actors]``.
        propensity: ``[..., actors, actors]`` (the diagonal does not count: d_ii = 0).
        blocs: ``[..., actors]`` booleans.

    Returns:
        ``[...]``.
    """
    d = blocs[..., :, None] != blocs[..., None, :]
    terms = sizes[..., :, None] * sizes[..., None, :] * propensity * d
    return np.add.reduce(terms.reshape(*terms.shape[:-2], -1), axis=-1) + 0.0


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
    vectors[..., n, :] = (1.0, 0.0, 0.0, 0.0)
    unit = vectors / np.sqrt(np.add.reduce(vectors * vectors, axis=-1))[..., None]
    propensity = unit @ np.swapaxes(unit, -1, -2) - 0.5
    propensity[..., :n, :n] -= conflict
    propensity[..., np.arange(n + 1), np.arange(n + 1)] = 0.0
    size = np.empty((*lead, n + 1))
    size[..., :n] = sizes
    size[..., n] = sizes.max(axis=-1)
    size /= np.add.reduce(size, axis=-1, keepdims=True)
    blocs = vectors.argmax(axis=-1) == 0
    return energy(size, propensity, blocs), blocs[..., :n]


def measure(world: World) -> dict[str, Floats]:
    """Every model measure of every run, ``name -> [runs]`` (see :data:`MEASURES`)."""
    a_russia = world.alignment[..., 0]
    tiers = TIER[world.status]
    full = tiers == 3
    depth = np.add.reduce(tiers, axis=2) / 9.0
    alliance = full.any(axis=2)
    weights = np.concatenate([(depth * alliance)[:, None, :], full.transpose(0, 2, 1)], axis=1)
    weights = weights * world.sizes[:, None, :]
    index = cohesion_index(a_russia, weights)
    out: dict[str, Floats] = {"cohesion": index[:, 0]}
    for k, inst in enumerate(INSTITUTIONS):
        out[f"cohesion_{inst}"] = index[:, k + 1]
    for k, inst in enumerate(INSTITUTIONS):
        out[f"{inst}_members"] = full[..., k].sum(axis=1) + 1  # Russia counts
    for k, inst in enumerate(INSTITUTIONS):
        out[f"{inst}_partial"] = (tiers[..., k] == 2).sum(axis=1)
    out["exits"], out["suspensions"] = world.exits.copy(), world.suspensions.copy()
    out["entries"], out["boycotts"] = world.entries.copy(), world.boycott_count.copy()
    cis_full = full[..., CIS]
    inside = world.air_defence
    out["air_defence_members"] = inside.sum(axis=1)
    counted = cis_full.sum(axis=1)
    out["air_defence_rate"] = np.divide(
        (inside & cis_full).sum(axis=1), counted, out=np.zeros(world.runs), where=counted > 0
    )
    out["energy"], blocs = two_bloc_energy(world.alignment, world.sizes, world.conflict)
    out["russia_bloc"] = blocs.sum(axis=1)
    mean = np.einsum("rn,rnk->rk", world.sizes, world.alignment) / world.sizes.sum(axis=1, keepdims=True)
    for k, pole in enumerate(POLES):
        out[f"mean_alignment_{pole}"] = mean[:, k]
    return {name: out[name] for name in MEASURES}


def not_finite(values: dict[str, Floats]) -> Bools:
    """Runs whose measures include a value that is not a finite number."""
    bad = np.zeros(len(values["cohesion"]), dtype=bool)
    for name in CHECKED:
        bad |= ~np.isfinite(values[name])
    return bad
