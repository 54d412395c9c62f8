"""The posterior of the behavioural parameters, and how ensembles draw from it.

``cohesion calibrate`` (:mod:`experiments.hindcast`) fits eleven behavioural parameters
on the 1999-2014 record; the result ships in ``data/posterior/`` (installed as
``model/data/posterior/``). ``scenarios/baseline.yaml`` sets those parameters at the
posterior median, so one run of a present-day scenario uses the calibrated values.
An ensemble (a sweep's replications, a comparison's) draws each replication's values
from the posterior instead, so its spread carries the parameters' uncertainty and not
only the noise (:class:`ParameterDraws`):

- replication ``r`` of a sweep or comparison with master seed ``s`` takes accepted
  draw ``draw_rows(s, r)`` (:func:`draw_rows`), the same at every design point and in
  both scenarios of a comparison (common random numbers);
- a parameter is drawn only where the scenario holds the posterior median (as
  written in ``baseline.yaml``, to :data:`MEDIAN_TOLERANCE`) and the design does not
  vary it: a scenario that sets its own value, or a factor, keeps it. The historical
  scenario, which the calibration runs, keeps the schema defaults and draws nothing;
- ``parameters: median`` in a design (``--median``) draws nothing: the scenario's own
  values, the posterior median for the present-day scenarios.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.errors import ScenarioError
from model.scenario import DATA_DIR, RUNGS, Scenario, ladder_ordered

#: The posterior shipped with the package: accepted draws, and what made them.
POSTERIOR_DIR = DATA_DIR / "posterior"
POSTERIOR_CSV = POSTERIOR_DIR / "posterior.csv"
POSTERIOR_JSON = POSTERIOR_DIR / "posterior.json"
#: A scenario value this close to the posterior median is the median (baseline.yaml rounds it).
MEDIAN_TOLERANCE = 5e-4
#: The first spawn-key entry of the draw choice (run seeds use one-entry keys: no overlap).
DRAW_KEY = 2**32
#: How an ensemble sets the calibrated parameters: drawn per replication, or the scenario's.
PARAMETER_MODES = ("posterior", "median")


@dataclass(frozen=True)
class Posterior:
    """Accepted parameter draws and what made them.

    Attributes:
        draws: one row per accepted draw: ``draw`` (its index in the prior sample),
            one column per parameter path, ``distance``.
        meta: method, prior ranges, distance, acceptance rate, cost, design digest.
    """

    draws: pd.DataFrame
    meta: dict[str, Any]

    @property
    def paths(self) -> tuple[str, ...]:
        """The calibrated parameters' key paths."""
        return tuple(self.meta["parameters"])

    def median(self) -> np.ndarray:
        """The posterior median of each parameter (integers rounded)."""
        values = self.draws[list(self.paths)].median().to_numpy(dtype=float)
        return np.where(self.integer_mask(), np.rint(values), values)

    def integer_mask(self) -> np.ndarray:
        """Which parameters are whole numbers."""
        return np.array([self.meta["prior"][p].get("integer", False) for p in self.paths], dtype=bool)


def load_posterior(csv: Path = POSTERIOR_CSV, meta: Path = POSTERIOR_JSON) -> Posterior:
    """Read a posterior (the shipped one by default).

    Raises:
        ScenarioError: the files are missing or do not hold a posterior.
    """
    try:
        info = json.loads(Path(meta).read_text(encoding="utf-8"))
        draws = pd.read_csv(csv)
    except FileNotFoundError as exc:
        raise ScenarioError(
            f"{exc.filename}: no posterior there; run `cohesion calibrate` to make one"
        ) from None
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"{csv}: not a readable posterior ({type(exc).__name__})") from None
    params = info.get("parameters") if isinstance(info, dict) else None
    if not isinstance(params, list) or not set(params) <= set(draws.columns) or draws.empty:
        raise ScenarioError(f"{csv}: not a posterior (expected the columns of {meta}'s parameters)")
    return Posterior(draws=draws, meta=info)


def draw_rows(seed: int, replications: Sequence[int] | np.ndarray, n_draws: int) -> np.ndarray:
    """The posterior row each replication takes: the one rule every ensemble uses.

    Row of replication ``r`` = the first word of ``SeedSequence(seed, spawn_key=(DRAW_KEY, r))``
    modulo ``n_draws``: a pure function of the master seed and ``r``, so a chunk, a
    worker or a re-run finds the same row whatever else it runs.
    """
    reps = np.asarray(replications, dtype=np.int64).reshape(-1)
    words = [
        np.random.SeedSequence(int(seed), spawn_key=(DRAW_KEY, int(r))).generate_state(1)[0] for r in reps
    ]
    return np.asarray(words, dtype=np.uint64) % np.uint64(n_draws)


def scenario_value(scenario: Scenario, path: str) -> float:
    """The number at a dotted key path of a scenario (e.g. ``institutions.cis.step_down``)."""
    node: Any = scenario
    for part in path.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return float(node)


@dataclass(frozen=True)
class ParameterDraws:
    """The calibrated parameters an ensemble draws per replication, and the draws.

    Attributes:
        paths: the parameters drawn (key paths).
        values: the posterior's accepted draws of those parameters, ``[draws, paths]``.
        seed: the master seed the rows are chosen from.
        digest: :func:`posterior_digest` of the posterior (provenance; a re-run checks it).
    """

    paths: tuple[str, ...]
    values: np.ndarray
    seed: int
    digest: str

    @classmethod
    def of(cls, posterior: Posterior, paths: Sequence[str], seed: int) -> ParameterDraws:
        """The draws of ``paths`` from ``posterior``, rows chosen from ``seed``."""
        values = posterior.draws[list(paths)].to_numpy(dtype=float)
        return cls(paths=tuple(paths), values=values, seed=int(seed), digest=posterior_digest(posterior))

    def for_replications(self, replications: Sequence[int] | np.ndarray) -> np.ndarray:
        """The drawn values of each replication, ``[len(replications), paths]``.

        A chunk repeats replication numbers (one per design point), so each distinct one
        is drawn once.
        """
        distinct, index = np.unique(np.asarray(replications, dtype=np.int64), return_inverse=True)
        return self.values[draw_rows(self.seed, distinct, len(self.values))[index.reshape(-1)]]

    def as_json(self) -> dict[str, Any]:
        """What a store's manifest records of them."""
        return {"mode": "posterior", "drawn": list(self.paths), "posterior_digest": self.digest}

    def common(self, other: ParameterDraws | None) -> ParameterDraws | None:
        """These draws restricted to the parameters ``other`` draws too (None if none)."""
        if other is None:
            return None
        keep = [k for k, p in enumerate(self.paths) if p in other.paths]
        if not keep:
            return None
        return ParameterDraws(
            paths=tuple(self.paths[k] for k in keep),
            values=self.values[:, keep],
            seed=self.seed,
            digest=self.digest,
        )


def posterior_digest(posterior: Posterior | None = None) -> str:
    """SHA-256 of a posterior's accepted draws: their parameter names and values.

    Not the file's bytes: the same posterior read from a file with other line endings has
    the same digest, and so does a :class:`Posterior` made in memory.
    """
    post = posterior or load_posterior()
    digest = hashlib.sha256(json.dumps(list(post.paths)).encode())
    digest.update(np.ascontiguousarray(post.draws[list(post.paths)].to_numpy(dtype=np.float64)).tobytes())
    return digest.hexdigest()


def parameter_draws(
    scenario: Scenario,
    *,
    seed: int,
    mode: str = "posterior",
    fixed: Sequence[str] = (),
    posterior: Posterior | None = None,
) -> ParameterDraws | None:
    """The draws an ensemble of ``scenario`` makes, or None when it draws nothing.

    Args:
        scenario: the ensemble's scenario.
        seed: the master seed (replication r's row: :func:`draw_rows`).
        mode: ``posterior`` (draw) or ``median`` (draw nothing: the scenario's values).
        fixed: key paths the ensemble sets itself (a design's factors): never drawn.
        posterior: the posterior (default: the shipped one).

    Raises:
        ScenarioError: an unknown mode, or no readable posterior.
    """
    if mode not in PARAMETER_MODES:
        raise ScenarioError(f"parameters: {mode!r} is not a mode; allowed: {', '.join(PARAMETER_MODES)}")
    if mode == "median":
        return None
    post = posterior or load_posterior()
    median = dict(zip(post.paths, post.median().tolist(), strict=True))
    paths = tuple(
        p
        for p in post.paths
        if p not in fixed
        and abs(scenario_value(scenario, p) - median[p]) <= MEDIAN_TOLERANCE
        and _keeps_ladder(scenario, p, post.draws[p].to_numpy(dtype=float), fixed)
    )
    return ParameterDraws.of(post, paths, seed) if paths else None


def _keeps_ladder(scenario: Scenario, path: str, draws: np.ndarray, fixed: Sequence[str]) -> bool:
    """Whether drawing a ladder threshold keeps its ladder ordered whatever the draw.

    A rung is drawn only when no other rung of its ladder is set by the ensemble itself (a
    factor could break the order at some point) and every accepted draw keeps the scenario's
    ``leave <= step_down < step_up <= join``; otherwise it keeps the scenario's value.
    """
    parts = path.split(".")
    if len(parts) != 3 or parts[0] != "institutions":
        return True
    if any(f.startswith(f"institutions.{parts[1]}.") and f != path for f in fixed):
        return False
    ladder = scenario.institutions[parts[1]]
    rungs = [draws if name == parts[2] else getattr(ladder, name) for name in RUNGS]
    return bool(np.all(ladder_ordered(*rungs)))


__all__ = [
    "DRAW_KEY",
    "MEDIAN_TOLERANCE",
    "PARAMETER_MODES",
    "POSTERIOR_CSV",
    "POSTERIOR_DIR",
    "POSTERIOR_JSON",
    "ParameterDraws",
    "Posterior",
    "draw_rows",
    "load_posterior",
    "parameter_draws",
    "posterior_digest",
    "scenario_value",
]
