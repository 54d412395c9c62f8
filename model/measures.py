"""Cohesion measures collected every quarter (definitions in ``docs/model.md``).

* The alliance cohesion index: the weighted mean alignment of the alliance's
  members with the leader (Russia), discounted by the weighted dispersion of
  that alignment: ``C = mu * (1 - 2 * sd)``, in [0, 1] because alignments lie
  in [0, 1] so ``sd <= 1/2``.
* The Axelrod-Bennett (1993) landscape energy of the current two-bloc
  configuration: Russia's bloc (states whose largest alignment is with
  Russia) against the rest, with propensities from the similarity of the
  alignment vectors and a penalty for open conflicts.
"""

from __future__ import annotations

import numpy as np

from model.landscape import energy


def cohesion_index(alignment_russia: np.ndarray, weights: np.ndarray) -> np.ndarray | float:
    """Weighted mean alignment with the leader, discounted by its weighted dispersion.

    Args:
        alignment_russia: each member's alignment with Russia, in [0, 1].
        weights: each member's weight (economic weight times membership depth),
            >= 0; a 2-D array gives one index per row (one alliance per row).

    Returns:
        ``mu * (1 - 2 * sd)`` in [0, 1] (one per row of ``weights``); 0 for an
        alliance with no weighted members.

    """
    w = np.atleast_2d(weights)
    total = w.sum(axis=1)
    safe = np.where(total > 0, total, 1.0)
    mu = w @ alignment_russia / safe
    sd = np.sqrt(np.einsum("kn,kn->k", w, (alignment_russia - mu[:, None]) ** 2) / safe)
    index = np.where(total > 0, np.maximum(mu * (1.0 - 2.0 * sd), 0.0), 0.0)
    return float(index[0]) if np.ndim(weights) == 1 else index


def two_bloc_energy(
    alignment: np.ndarray, sizes: np.ndarray, conflict: np.ndarray
) -> tuple[float, np.ndarray]:
    """Landscape energy of Russia's bloc against the rest.

    Actors are the states plus Russia (whose alignment is all Russia and whose
    size is the largest state's, so it neither swamps nor vanishes). Sizes are
    normalised to sum to 1. Propensity ``p_ij = cos(a_i, a_j) - 1/2 - c_ij``:
    states whose alignments point the same way attract, orthogonal ones repel,
    and open conflict repels further.

    Args:
        alignment: n x 4 alignments of the states.
        sizes: n economic weights.
        conflict: n x n conflict intensities (symmetric, zero diagonal).

    Returns:
        The energy and the bloc of each state (1 = Russia's bloc).

    """
    n = alignment.shape[0]
    vectors = np.empty((n + 1, 4))
    vectors[:n] = alignment
    vectors[n] = (1.0, 0.0, 0.0, 0.0)
    unit = vectors / np.sqrt((vectors * vectors).sum(axis=1))[:, None]
    propensity = unit @ unit.T - 0.5
    propensity[:n, :n] -= conflict
    np.fill_diagonal(propensity, 0.0)
    size = np.empty(n + 1)
    size[:n] = sizes
    size[n] = sizes.max()
    size /= size.sum()
    blocs = vectors.argmax(axis=1) == 0
    return energy(size, propensity, blocs, check=False), blocs[:n]
