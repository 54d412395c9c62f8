"""Landscape theory of aggregation: energy, frustration and local minima.

Implements the two-bloc landscape of Axelrod, R. and Bennett, D. S. (1993),
"A Landscape Theory of Aggregation", *British Journal of Political Science*
23(2): 211-233.

Definitions (kept exactly as in the paper):

* ``s_i >= 0`` is the size of actor ``i``.
* ``p`` is a symmetric propensity matrix; ``p_ij > 0`` means ``i`` and ``j``
  are inclined to be on the same side, ``p_ij < 0`` that they are inclined to
  be apart. The diagonal is ignored.
* A configuration ``X`` assigns every actor to one of two blocs (a 0/1
  vector); ``d_ij(X) = 1`` when ``i`` and ``j`` are in different blocs and
  ``0`` otherwise.
* Frustration of actor ``i``: ``F_i(X) = sum_{j != i} s_j p_ij d_ij(X)`` (the
  actor's own size is not part of it).
* Energy: ``E(X) = sum_i sum_{j != i} s_i s_j p_ij d_ij(X) = sum_i s_i F_i(X)``.
  The sum runs over *ordered* pairs, so every unordered pair ``{i, j}`` is
  counted twice; e.g. two actors of size 1 with ``p_12 = -1`` placed apart have
  ``E = -2``. Lower energy is more stable.

Switching identity. Moving actor ``k`` to the other bloc flips ``d_kj`` to
``1 - d_kj`` for every ``j != k`` and leaves all other ``d`` unchanged. Actor
``k`` appears in the ordered pairs ``(k, j)`` and ``(j, k)``, which by symmetry
of ``p`` contribute equally, so the change in energy is::

    delta_k = 2 s_k sum_{j != k} s_j p_kj (1 - 2 d_kj(X))
            = 2 s_k (sum_{j != k} s_j p_kj - 2 F_k(X)).

With spins ``sigma_i = 1 - 2 x_i`` (so ``1 - 2 d_kj = sigma_k sigma_j``) and
``W_kj = s_k s_j p_kj`` (zero diagonal) this is ``delta_k = 2 sigma_k (W sigma)_k``,
which is evaluated for many configurations at once with one matrix product.

Local minima. A configuration is a local minimum when no single actor switching
sides lowers ``E``; a switch that leaves ``E`` unchanged does not count as
lowering. To absorb floating-point rounding, a switch counts as lowering only
when ``delta_k < -tol`` with ``tol = 1e-10 * sum_ij |W_ij|`` (``tol = 0`` for
a landscape with no interactions). ``X`` and its complement describe the same
partition, so configurations are normalised with actor 0 in bloc 0 and every
partition is reported once.

Search. :func:`minima` enumerates all ``2**(n-1)`` normalised configurations
exactly when ``n <= exact_limit`` (vectorised, in chunks of bounded memory).
For larger ``n`` it uses a heuristic: multi-start steepest descent. Each of
``restarts`` random configurations repeatedly switches the actor with the most
negative ``delta`` until no switch lowers ``E``; the distinct end points are
returned. Every configuration returned by the heuristic is a true local
minimum, but the heuristic may miss local minima, including the global one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np

from model.errors import ScenarioError
from model.rules.measures import energy as bloc_energy
from model.safe_yaml import MAX_BYTES, clip_path, load_yaml, show

__all__ = [
    "Configuration",
    "energy",
    "frustration",
    "load_landscape",
    "minima",
    "minima_as_json",
    "validate",
]

_SYMMETRY_TOL = 1e-9
_REL_TOL = 1e-10
_CHUNK_ROWS = 1 << 15
_SHAPE_MSG = "propensity must be a square n x n matrix matching the n actors"


@dataclass(frozen=True)
class Configuration:
    """A two-bloc configuration and its energy.

    Attributes:
        blocs: Bloc (0 or 1) of each actor, in actor order. Configurations
            returned by :func:`minima` have actor 0 in bloc 0.
        energy: Energy ``E(X)`` of the configuration (ordered pairs, so each
            unordered pair counted twice).
    """

    blocs: tuple[int, ...]
    energy: float

    def groups(self, names: list[str] | tuple[str, ...]) -> list[list[str]]:
        """Return the two blocs as lists of actor names.

        Args:
            names: One name per actor, in actor order.

        Returns:
            Two lists of names, in actor order within each list; the bloc
            containing actor 0 comes first. The second list may be empty.

        Raises:
            ValueError: If the number of names differs from the number of
                actors.
        """
        names = list(names)
        if len(names) != len(self.blocs):
            raise ValueError(
                f"groups needs one name per actor; got {len(names)} names for {len(self.blocs)} actors"
            )
        if not self.blocs:
            return [[], []]
        first = self.blocs[0]
        return [
            [name for name, b in zip(names, self.blocs, strict=True) if b == first],
            [name for name, b in zip(names, self.blocs, strict=True) if b != first],
        ]


def _fmt(value: float) -> str:
    """Format a number compactly for error messages."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def validate(sizes: Any, propensity: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert and check actor sizes and a propensity matrix.

    Args:
        sizes: 1-D array-like of ``n >= 1`` finite sizes, each ``>= 0``.
        propensity: ``n x n`` array-like of finite numbers, symmetric within an
            absolute tolerance of ``1e-9``. The diagonal is ignored by the
            energy but must still be finite.

    Returns:
        ``(sizes, propensity)`` as new float64 arrays of shape ``(n,)`` and
        ``(n, n)``.

    Raises:
        ValueError: With a one-line message naming what is wrong and what is
            allowed.
    """
    try:
        s = np.array(sizes, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            "sizes must be a 1-D sequence of numbers; got a value that cannot be converted to numbers"
        ) from None
    if s.ndim != 1:
        raise ValueError(f"sizes must be a 1-D sequence of numbers; got an array of shape {s.shape}")
    if s.size == 0:
        raise ValueError("sizes must contain at least one actor; got none")
    bad = np.flatnonzero(~np.isfinite(s))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"sizes[{i}] is {s[i]}; sizes must be finite numbers")
    neg = np.flatnonzero(s < 0)
    if neg.size:
        i = int(neg[0])
        raise ValueError(f"sizes[{i}] is {_fmt(s[i])}; size must be >= 0")

    try:
        p = np.array(propensity, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"{_SHAPE_MSG} of numbers; got a value that cannot be converted "
            "to a numeric matrix (ragged rows or non-numbers)"
        ) from None
    n = s.shape[0]
    if p.ndim != 2:
        raise ValueError(f"{_SHAPE_MSG}; got an array with {p.ndim} dimension(s)")
    rows, cols = p.shape
    if rows != cols:
        raise ValueError(f"{_SHAPE_MSG}; got {rows} x {cols}")
    if rows != n:
        raise ValueError(f"{_SHAPE_MSG}; got {rows} x {cols} for {n} actors")
    bad_p = np.argwhere(~np.isfinite(p))
    if bad_p.size:
        i, j = (int(v) for v in bad_p[0])
        raise ValueError(f"propensity[{i}][{j}] is {p[i, j]}; propensity entries must be finite numbers")
    diff = np.abs(p - p.T)
    np.fill_diagonal(diff, 0.0)
    asym = np.argwhere(np.triu(diff > _SYMMETRY_TOL))
    if asym.size:
        i, j = (int(v) for v in asym[0])
        raise ValueError(
            f"propensity must be symmetric (tolerance {_SYMMETRY_TOL:g}); "
            f"propensity[{i}][{j}] = {_fmt(p[i, j])} but "
            f"propensity[{j}][{i}] = {_fmt(p[j, i])}"
        )
    return s, p


def _validate_blocs(blocs: Any, n: int) -> np.ndarray:
    """Convert a configuration to an int array of 0/1 values, or raise."""
    b = np.asarray(blocs)
    if b.ndim != 1 or b.shape[0] != n:
        raise ValueError(
            f"blocs must be a 1-D sequence with one 0/1 entry per actor; got shape {b.shape} for {n} actors"
        )
    if b.dtype == bool:
        return b.astype(np.int64)
    if not np.issubdtype(b.dtype, np.number):
        raise ValueError(f"blocs must contain only 0/1 (or booleans); got dtype {b.dtype}")
    bad = np.flatnonzero((b != 0) & (b != 1))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"blocs[{i}] is {b[i]}; blocs entries must be 0 or 1")
    return b.astype(np.int64)


def _weights(s: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Return ``W_ij = s_i s_j p_ij`` with zero diagonal, exactly symmetric.

    Averaging ``p`` with its transpose does not change ``E`` (``d`` is
    symmetric) and removes any asymmetry below the validation tolerance.
    """
    w = np.outer(s, s) * ((p + p.T) / 2.0)
    np.fill_diagonal(w, 0.0)
    return w


def _tolerance(w: np.ndarray) -> float:
    """Return the threshold below which a negative switch delta is a tie."""
    return _REL_TOL * float(np.abs(w).sum())


def _switch_deltas(w: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Energy change from switching each actor, for a batch of configurations.

    Args:
        w: ``(n, n)`` weight matrix from :func:`_weights`.
        bits: ``(m, n)`` or ``(n,)`` array of 0/1 blocs.

    Returns:
        Array of the same shape as ``bits``: ``delta[c, k] = E(X_c with k
        switched) - E(X_c) = 2 sigma_k (W sigma)_k`` with ``sigma = 1 - 2 x``.
    """
    sigma = 1.0 - 2.0 * np.asarray(bits, dtype=float)
    return 2.0 * sigma * (sigma @ w)


def _batch_energy(w: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Energy of each row of ``bits`` (``(m, n)`` 0/1 array).

    Uses ``E = 2 sum_ij W_ij x_i (1 - x_j)``, which equals the ordered-pair sum
    for symmetric ``W`` and avoids cancellation (all-together gives exactly 0).
    Each row is reduced on its own (no BLAS), so a configuration's reported
    energy does not depend on which other rows share its batch.
    """
    x = np.asarray(bits, dtype=float)
    across = np.einsum("cj,ij->ci", 1.0 - x, w, optimize=False)
    return 2.0 * np.einsum("ci,ci->c", x, across, optimize=False) + 0.0


def energy(sizes: Any, propensity: Any, blocs: Any, *, check: bool = True) -> float:
    """Energy ``E(X) = sum_i sum_{j != i} s_i s_j p_ij d_ij(X)``.

    The sum is over ordered pairs, so each unordered pair is counted twice.

    Args:
        sizes: 1-D array-like of ``n`` sizes ``>= 0``.
        propensity: Symmetric ``n x n`` propensity matrix (diagonal ignored).
        blocs: Length-``n`` sequence of 0/1 (or booleans) giving each actor's
            bloc.
        check: validate the inputs (default). Pass False only for numpy arrays
            already known to be valid, in a hot loop (the model's own measures).

    Returns:
        The energy as a Python float.

    Raises:
        ValueError: If the inputs fail :func:`validate` or ``blocs`` is not a
            length-``n`` 0/1 vector.
    """
    if check:
        s, p = validate(sizes, propensity)
        b = _validate_blocs(blocs, s.shape[0])
    else:
        s, p, b = sizes, propensity, blocs
    return float(bloc_energy(s, p, b))


def frustration(sizes: Any, propensity: Any, blocs: Any) -> np.ndarray:
    """Frustration ``F_i(X) = sum_{j != i} s_j p_ij d_ij(X)`` of every actor.

    The actor's own size is not included, so ``energy == sum_i s_i F_i``.

    Args:
        sizes: 1-D array-like of ``n`` sizes ``>= 0``.
        propensity: Symmetric ``n x n`` propensity matrix (diagonal ignored).
        blocs: Length-``n`` sequence of 0/1 (or booleans).

    Returns:
        Float array of shape ``(n,)``.

    Raises:
        ValueError: If the inputs fail :func:`validate` or ``blocs`` is not a
            length-``n`` 0/1 vector.
    """
    s, p = validate(sizes, propensity)
    b = _validate_blocs(blocs, s.shape[0])
    d = b[:, None] != b[None, :]
    return (p * d) @ s + 0.0


def _sorted_order(bits: np.ndarray, energies: np.ndarray) -> np.ndarray:
    """Indices sorting configurations by energy, then by blocs on near-ties.

    Energies are grouped into clusters of values that differ from their
    neighbour by at most ``1e-9 * max(1, max |E|)`` (rounding noise between
    degenerate minima); clusters are ordered by energy and, inside a cluster,
    configurations are ordered lexicographically by ``blocs``.
    """
    if energies.size == 0:
        return np.zeros(0, dtype=np.int64)
    by_energy = np.argsort(energies, kind="stable")
    e = energies[by_energy]
    tol = 1e-9 * max(1.0, float(np.abs(e).max()))
    cluster = np.concatenate(([0], np.cumsum(np.diff(e) > tol)))
    b = bits[by_energy]
    keys = [b[:, k] for k in range(b.shape[1] - 1, -1, -1)] + [cluster]
    return by_energy[np.lexsort(keys)]


def _to_configs(bits: np.ndarray, energies: np.ndarray, limit: int | None = None) -> list[Configuration]:
    """Build sorted :class:`Configuration` objects from arrays (the first ``limit`` of them)."""
    order = _sorted_order(bits, energies)[:limit]
    return [
        Configuration(tuple(row), e)
        for row, e in zip(bits[order].tolist(), energies[order].tolist(), strict=True)
    ]


def _exact_minima(w: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Enumerate all normalised configurations and keep the local minima.

    Returns:
        ``(bits, energies)`` of the local minima, unsorted.
    """
    n = w.shape[0]
    total = 1 << (n - 1)
    shifts = np.arange(n - 1, dtype=np.int64)
    kept_bits: list[np.ndarray] = [np.zeros((0, n), dtype=np.int8)]
    kept_energies: list[np.ndarray] = [np.zeros(0)]
    for start in range(0, total, _CHUNK_ROWS):
        idx = np.arange(start, min(start + _CHUNK_ROWS, total), dtype=np.int64)
        bits = np.zeros((idx.shape[0], n), dtype=np.int8)
        bits[:, 1:] = (idx[:, None] >> shifts) & 1
        keep = np.all(_switch_deltas(w, bits) >= -tol, axis=1)
        if keep.any():
            kept = bits[keep]
            kept_bits.append(kept)
            kept_energies.append(_batch_energy(w, kept))
    return np.concatenate(kept_bits), np.concatenate(kept_energies)


def _heuristic_minima(
    w: np.ndarray, tol: float, restarts: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Multi-start steepest descent by single-actor switches.

    Returns:
        ``(bits, energies)`` of the distinct end points, unsorted.
    """
    n = w.shape[0]
    bits = rng.integers(0, 2, size=(restarts, n)).astype(np.int8)
    rows = np.arange(restarts)
    while True:
        deltas = _switch_deltas(w, bits)
        k = np.argmin(deltas, axis=1)
        active = deltas[rows, k] < -tol
        if not active.any():
            break
        bits[rows[active], k[active]] ^= 1
    # Normalise: actor 0 in bloc 0 (the complement is the same partition).
    bits[bits[:, 0] == 1] ^= 1
    unique = np.unique(bits, axis=0)
    return unique, _batch_energy(w, unique)


def minima(
    sizes: Any,
    propensity: Any,
    *,
    exact_limit: int = 20,
    restarts: int = 200,
    rng: Any = None,
) -> list[Configuration]:
    """Find the local minima of the energy landscape (all of them: see :func:`search`).

    A configuration is a local minimum when no single actor switching sides
    lowers the energy (a switch that leaves it unchanged does not count; see
    the module docstring for the rounding tolerance). Each partition is
    reported once, normalised with actor 0 in bloc 0.

    Args:
        sizes: 1-D array-like of ``n`` sizes ``>= 0``.
        propensity: Symmetric ``n x n`` propensity matrix (diagonal ignored).
        exact_limit: Largest ``n`` for which all ``2**(n-1)`` configurations
            are enumerated exactly. Above it the multi-start descent heuristic
            is used, which may miss minima. Time doubles with each extra actor
            (``n = 20`` takes well under a second), so keep it below ~25.
        restarts: Number of random starting configurations for the heuristic.
        rng: Seed or ``numpy.random.Generator`` for the heuristic, passed to
            ``numpy.random.default_rng``. Unused by exact enumeration.

    Returns:
        Local minima sorted by energy ascending (global minimum first), ties
        broken by the ``blocs`` tuple.

    Raises:
        ValueError: If the inputs fail :func:`validate`, ``exact_limit`` is
            negative or ``restarts`` is less than 1.
        TypeError: If ``exact_limit`` or ``restarts`` is not an integer.
    """
    return search(sizes, propensity, exact_limit=exact_limit, restarts=restarts, rng=rng)[0]


def search(
    sizes: Any,
    propensity: Any,
    *,
    limit: int | None = None,
    exact_limit: int = 20,
    restarts: int = 200,
    rng: Any = None,
) -> tuple[list[Configuration], int]:
    """The first ``limit`` local minima (global first) and how many there are.

    A flat landscape (ties everywhere) has up to ``2**(n-1)`` minima: half a
    million for 20 actors. Only the first ``limit`` become objects; the count
    is of all of them. Arguments and errors as for :func:`minima`.

    Args:
        sizes: as for :func:`minima`.
        propensity: as for :func:`minima`.
        limit: most minima returned (None: all).
        exact_limit: as for :func:`minima`.
        restarts: as for :func:`minima`.
        rng: as for :func:`minima`.

    Returns:
        ``(minima, count)``.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, Integral)):
        raise TypeError(f"limit must be an int or None; got {limit!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be an int >= 0 or None; got {limit}")
    s, p = validate(sizes, propensity)
    for option, value in (("exact_limit", exact_limit), ("restarts", restarts)):
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise TypeError(f"{option} must be an int; got {value!r}")
    if exact_limit < 0:
        raise ValueError(f"exact_limit must be an int >= 0; got {exact_limit}")
    if restarts < 1:
        raise ValueError(f"restarts must be an int >= 1; got {restarts}")
    w = _weights(s, p)
    tol = _tolerance(w)
    if s.shape[0] <= exact_limit:
        bits, energies = _exact_minima(w, tol)
    else:
        generator = np.random.default_rng(rng)
        bits, energies = _heuristic_minima(w, tol, restarts, generator)
    return _to_configs(bits, energies, limit), int(energies.shape[0])


def minima_as_json(
    names: list[str] | tuple[str, ...], configs: list[Configuration]
) -> dict[str, list[dict[str, Any]]]:
    """Convert minima to a JSON-serialisable dictionary.

    Args:
        names: One name per actor, in actor order.
        configs: Configurations, e.g. from :func:`minima`.

    Returns:
        ``{"minima": [{"energy": E, "blocs": [[names...], [names...]]}, ...]}``
        sorted with the global minimum first; within each entry the bloc
        containing actor 0 comes first.

    Raises:
        ValueError: If a configuration's length differs from ``len(names)``.
    """
    configs = list(configs)
    for c in configs:
        if len(c.blocs) != len(names):
            raise ValueError(
                f"each configuration needs one bloc per name; got {len(c.blocs)} blocs for {len(names)} names"
            )
    if configs:
        bits = np.array([c.blocs for c in configs], dtype=np.int64)
        energies = np.array([c.energy for c in configs], dtype=float)
        configs = [configs[i] for i in _sorted_order(bits, energies)]
    return {"minima": [{"energy": float(c.energy), "blocs": c.groups(names)} for c in configs]}


# --------------------------------------------------------------------------
# YAML loading
# --------------------------------------------------------------------------

#: Most actors in a landscape file (200 actors take about 0.05 s).
MAX_ACTORS = 200
#: Most YAML values in a landscape file: a full matrix of MAX_ACTORS, with room to spare.
MAX_NODES = 50_000

_TOP_KEYS = ("actors", "propensity")
_OPTIONAL_TOP_KEYS = ("description",)
_ACTOR_KEYS = ("name", "size")


def _type_name(value: Any) -> str:
    """Human-readable YAML-ish type name for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    """True for real numbers other than booleans."""
    return isinstance(value, Real) and not isinstance(value, bool)


def load_landscape(path: str | Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Load actor names, sizes and a propensity matrix from a YAML file.

    The file must look like::

        description: optional free text
        actors:
          - {name: USSR, size: 1.0}
          - {name: Germany, size: 0.8}
        propensity:
          - [0, -1]
          - [-1, 0]

    The file is read by the hardened safe loader of :mod:`model.safe_yaml` (at
    most 1 MiB and 50,000 values, aliases counted at their full size; no
    duplicate keys), and may list at most 200 actors. Row ``i`` / column ``j`` of
    ``propensity`` refer to ``actors[i]`` / ``actors[j]``.

    Args:
        path: Path to the YAML file.

    Returns:
        ``(names, sizes, propensity)``: list of names, float array ``(n,)``
        and float array ``(n, n)``.

    Raises:
        ScenarioError: (a ValueError) with a one-line message starting with the file path and
            naming the offending field, for a missing or unreadable file,
            invalid YAML, wrong structure, unknown keys, bad names, sizes or
            propensity entries, wrong shape or an asymmetric matrix.
    """
    where = clip_path(path)

    def fail(msg: str) -> ScenarioError:
        return ScenarioError(f"{where}: {msg}")

    data = load_yaml(Path(path), max_bytes=MAX_BYTES, max_nodes=MAX_NODES, what="a landscape file")

    if not isinstance(data, dict):
        got = "an empty document" if data is None else f"a {_type_name(data)}"
        raise fail(f"top level must be a mapping with keys 'actors' and 'propensity'; got {got}")
    allowed = _TOP_KEYS + _OPTIONAL_TOP_KEYS
    for key in data:
        if key not in allowed:
            raise fail(
                f"unknown top-level key {show(key)}; "
                "allowed keys are actors, propensity, description (optional)"
            )
    for key in _TOP_KEYS:
        if key not in data:
            raise fail(f"missing required top-level key {key!r}")
    if "description" in data and not isinstance(data["description"], str):
        raise fail(f"description must be a string; got a {_type_name(data['description'])}")

    actors = data["actors"]
    if not isinstance(actors, list) or not actors:
        got = "an empty list" if actors == [] else f"a {_type_name(actors)}"
        raise fail(f"actors must be a non-empty list of {{name, size}}; got {got}")
    if len(actors) > MAX_ACTORS:
        raise fail(f"{len(actors):,} actors; a landscape file may have at most {MAX_ACTORS}")
    names: list[str] = []
    sizes: list[float] = []
    seen: dict[str, int] = {}
    for i, actor in enumerate(actors):
        loc = f"actors[{i}]"
        if not isinstance(actor, dict):
            raise fail(f"{loc}: must be a mapping with keys name and size; got a {_type_name(actor)}")
        for key in actor:
            if key not in _ACTOR_KEYS:
                raise fail(f"{loc}: unknown key {show(key)}; allowed keys are name, size")
        for key in _ACTOR_KEYS:
            if key not in actor:
                raise fail(f"{loc}: missing key {key!r}; each actor needs name and size")
        name = actor["name"]
        if not isinstance(name, str) or not name.strip():
            raise fail(
                f"{loc}.name: {show(name)} is not a non-empty string; names must "
                "be non-empty strings (quote names such as 'yes' or '123')"
            )
        if name in seen:
            raise fail(
                f"{loc}.name: duplicate name {show(name)} (also actors[{seen[name]}]); names must be unique"
            )
        seen[name] = i
        size = actor["size"]
        if not _is_number(size):
            raise fail(f"{loc}.size: {show(size)} is not a number; sizes must be numbers >= 0")
        if not math.isfinite(size):
            raise fail(f"{loc}.size: {size} is not finite; sizes must be finite numbers >= 0")
        if size < 0:
            raise fail(f"{loc}.size: {_fmt(size)} is negative; sizes must be >= 0")
        names.append(name)
        sizes.append(float(size))

    n = len(names)
    rows = data["propensity"]
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise fail(
            "propensity must be a list of rows, each a list of numbers; "
            f"got a {_type_name(rows)}" + (" containing a non-list row" if isinstance(rows, list) else "")
        )
    if len(rows) != n:
        raise fail(f"propensity has {len(rows)} rows but there are {n} actors; it must be {n} x {n}")
    for i, row in enumerate(rows):
        if len(row) != n:
            raise fail(
                f"propensity[{i}] has {len(row)} entries but there are {n} actors; each row must have {n}"
            )
        for j, value in enumerate(row):
            if not _is_number(value):
                raise fail(f"propensity[{i}][{j}]: {show(value)} is not a number")
            if not math.isfinite(value):
                raise fail(f"propensity[{i}][{j}]: {value} is not finite; entries must be finite numbers")
    p = np.array(rows, dtype=float).reshape(n, n)
    for i in range(n):
        for j in range(i + 1, n):
            if abs(p[i, j] - p[j, i]) > _SYMMETRY_TOL:
                raise fail(
                    f"propensity is not symmetric: propensity[{i}][{j}] = "
                    f"{_fmt(p[i, j])} ({names[i]}-{names[j]}) but "
                    f"propensity[{j}][{i}] = {_fmt(p[j, i])}; it must be symmetric"
                )
    s = np.array(sizes, dtype=float)
    try:
        s, p = validate(s, p)
    except ValueError as err:  # pragma: no cover - all cases checked above
        raise fail(str(err)) from None
    return names, s, p
