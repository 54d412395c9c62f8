"""One chunk of a sweep: its runs, their seeds, and the ensemble engine that runs them.

Every run is a pure function of the design and its run id: run ``i`` is the
design's point ``i // replications`` with the seed
``SeedSequence(master_seed).spawn(n_runs)[i]`` (rebuilt on the worker as
``SeedSequence(master_seed, spawn_key=(i,))``, which is the same sequence).
Runs are grouped into chunks of contiguous ids, so that per-task overhead is
paid once per chunk and a chunk's runs go through the ensemble engine together
(:func:`model.ensemble.run_points`; each distinct point is checked once).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from experiments.posterior import ParameterDraws
from model.ensemble import collected_steps, point_scenario, run_points
from model.scenario import Scenario

if TYPE_CHECKING:
    from experiments.design import ResolvedDesign

#: Largest chunk (runs per task); about a second of work at 40 quarters.
MAX_CHUNK = 2048


# --------------------------------------------------------------------------- one chunk


@dataclass(frozen=True)
class RunContext:
    """What every run of a sweep shares (sent once per chunk).

    Attributes:
        scenario: the base scenario.
        paths: factor key paths.
        integer: which factors are integers.
        quarters: quarters per run.
        entropy: the master seed.
        measures: end-of-run measures to keep.
        every: thinning of the per-step series, or None for no series.
        series_measures: measures kept per step.
        token: names the sweep's tasks on a cluster (the design hash).
    """

    scenario: Scenario
    paths: tuple[str, ...]
    integer: tuple[bool, ...]
    quarters: int
    entropy: int
    measures: tuple[str, ...]
    every: int | None = None
    series_measures: tuple[str, ...] = ()
    token: str = ""
    draws: ParameterDraws | None = None

    def run_paths(self, chunk: Chunk) -> tuple[tuple[str, ...], tuple[bool, ...], np.ndarray]:
        """Every run's set key paths, which are integers, and values: the factors, then the draws."""
        if self.draws is None:
            return self.paths, self.integer, chunk.values
        drawn = self.draws.for_replications(chunk.replications)
        values = np.hstack([chunk.values.reshape(len(chunk), len(self.paths)), drawn])
        return (*self.paths, *self.draws.paths), (*self.integer, *(False,) * len(self.draws.paths)), values


@dataclass(frozen=True)
class Chunk:
    """Contiguous runs sent to a worker together.

    Attributes:
        run_ids: the runs' ids (ascending).
        point_ids: each run's factor point.
        replications: each run's replication number at its point.
        values: factor values, one row per run.
    """

    run_ids: np.ndarray
    point_ids: np.ndarray
    replications: np.ndarray
    values: np.ndarray

    @property
    def first(self) -> int:
        """The first run id."""
        return int(self.run_ids[0])

    @property
    def last(self) -> int:
        """The last run id."""
        return int(self.run_ids[-1])

    def __len__(self) -> int:
        return len(self.run_ids)


@dataclass
class ChunkResult:
    """A chunk's tables.

    Attributes:
        first: first run id of the chunk.
        last: last run id.
        runs: completed runs, one row each.
        series: per-step rows of the completed runs (None if not kept).
        failures: runs that raised, one row each (None if none did).
    """

    first: int
    last: int
    runs: pd.DataFrame
    series: pd.DataFrame | None
    failures: pd.DataFrame | None

    @property
    def n_failed(self) -> int:
        """Runs of the chunk that raised."""
        return 0 if self.failures is None else len(self.failures)


def run_seed(entropy: int, run_id: int) -> np.random.SeedSequence:
    """The seed of run ``run_id``: child ``run_id`` of ``SeedSequence(entropy)``."""
    return np.random.SeedSequence(entropy, spawn_key=(int(run_id),))


def error_text(exc: BaseException) -> str:
    """An exception in one line: its type and the first line of its message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def identity_columns(
    context: RunContext,
    chunk: Chunk,
    rows: list[int],
    run_values: tuple[tuple[str, ...], tuple[bool, ...], np.ndarray] | None = None,
) -> dict[str, Any]:
    """Columns naming runs: ids, point, replication, factor values, drawn parameters and seed.

    A parameter drawn from the posterior (the manifest's ``parameters.drawn``) is a
    column named by its key path, as a factor is, so a run's every set value is in
    its row and the runs can be grouped or regressed on the draws. ``run_values`` is
    :meth:`RunContext.run_paths` of the chunk when the caller has it already.
    """
    columns: dict[str, Any] = {
        "run_id": chunk.run_ids[rows].astype(np.int64),
        "point_id": chunk.point_ids[rows].astype(np.int64),
        "replication": chunk.replications[rows].astype(np.int64),
    }
    paths, integer, values = run_values or context.run_paths(chunk)
    values = values.reshape(len(chunk), len(paths))
    for k, (path, whole) in enumerate(zip(paths, integer, strict=True)):
        columns[path] = values[rows, k].astype(np.int64) if whole else values[rows, k].astype(float)
    columns["seed_entropy"] = np.full(len(rows), context.entropy, dtype=np.int64)
    columns["seed_spawn_key"] = chunk.run_ids[rows].astype(np.int64)
    return columns


def failures_frame(context: RunContext, rows: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    """An empty failures table with the right columns (for a sweep with no failures)."""
    empty = Chunk(
        run_ids=np.zeros(0, np.int64),
        point_ids=np.zeros(0, np.int64),
        replications=np.zeros(0, np.int64),
        values=np.zeros((0, len(context.paths))),
    )
    columns = identity_columns(context, empty, [])
    columns["error"] = np.array([], dtype=object)
    columns["traceback"] = np.array([], dtype=object)
    frame = pd.DataFrame(columns)
    return frame.astype({"error": "str", "traceback": "str"})


def context_point(context: RunContext, values: np.ndarray) -> Scenario:
    """The sweep's scenario at one design point (the factor values in ``context.paths`` order)."""
    base = context.scenario.run_for(context.quarters)
    return point_scenario(base, context.paths, context.integer, values)


def run_chunk(context: RunContext, chunk: Chunk) -> ChunkResult:
    """Run a chunk of runs through the ensemble engine; a run that fails is recorded, the others go on.

    This is the function workers execute (local pool or Dask); it touches no files.
    The engine (:func:`model.ensemble.run_points`) gives each run the numbers the
    Mesa model gives it alone; a point the scenario schema rejects fails its runs
    with the schema's message.

    Args:
        context: what the sweep's runs share.
        chunk: the runs.

    Returns:
        The chunk's runs, series and failures tables.
    """
    base = context.scenario.run_for(context.quarters)
    seeds = [run_seed(context.entropy, run_id) for run_id in chunk.run_ids.tolist()]
    run_values = context.run_paths(chunk)
    paths, integer, values = run_values
    result = run_points(
        base,
        paths,
        values,
        seeds,
        integer=integer,
        every=context.every,
        series_measures=context.series_measures,  # only these are held per step
    )
    failed = result.failed
    done = np.flatnonzero(~failed).tolist()
    columns = identity_columns(context, chunk, done, run_values)
    for name in context.measures:
        columns[name] = result.measures[name][done]
    series = None
    if context.every is not None and result.series is not None and done:
        steps = np.array(collected_steps(context.quarters, context.every), dtype=np.int64)
        dates = pd.to_datetime([base.start.plus(k - 1).last_day() for k in steps.tolist()])
        count = len(steps)
        frame: dict[str, Any] = {
            "run_id": np.repeat(chunk.run_ids[done].astype(np.int64), count),
            "step": np.tile(steps, len(done)),
            "date": np.tile(dates.to_numpy(), len(done)),
        }
        for name in context.series_measures:
            values = result.series[name][done]
            frame[name] = values.reshape(-1).astype(result.measures[name].dtype)
        series = pd.DataFrame(frame)
    failures = None
    bad = np.flatnonzero(failed).tolist()
    if bad:
        failures = pd.DataFrame(
            {
                **identity_columns(context, chunk, bad, run_values),
                "error": [result.errors[r] for r in bad],
                "traceback": [result.tracebacks[r] for r in bad],
            }
        )
    return ChunkResult(
        first=chunk.first,
        last=chunk.last,
        runs=pd.DataFrame(columns),
        series=series,
        failures=failures,
    )


def context_of(design: ResolvedDesign) -> RunContext:
    """The run context of a resolved design."""
    return RunContext(
        scenario=design.scenario,
        paths=design.paths,
        integer=tuple(f.integer for f in design.factors),
        quarters=design.quarters,
        entropy=design.seed,
        measures=design.measures,
        every=design.every,
        series_measures=design.series_measures,
        token=design.digest[:16],
        draws=design.draws,
    )


def plan_chunks(todo: np.ndarray, points: np.ndarray, replications: int, size: int) -> Iterator[Chunk]:
    """Split the run ids still to do into chunks of at most ``size`` runs.

    Args:
        todo: ascending run ids not yet stored.
        points: the sample, one row per point.
        replications: runs per point.
        size: runs per chunk.

    Yields:
        Chunks in run-id order.
    """
    for start in range(0, len(todo), size):
        ids = todo[start : start + size]
        point_ids = ids // replications
        yield Chunk(
            run_ids=ids,
            point_ids=point_ids,
            replications=ids % replications,
            values=points[point_ids],
        )


def auto_chunk_size(n_todo: int, slots: int) -> int:
    """Runs per chunk: about eight chunks per worker slot, at most :data:`MAX_CHUNK`."""
    return max(1, min(MAX_CHUNK, n_todo // (8 * max(1, slots))))
