"""Sweeps: runs batched into chunks, executed serially, on a local pool or on Dask.

Every run is a pure function of the design and its run id: run ``i`` is the
design's point ``i // replications`` with the seed
``SeedSequence(master_seed).spawn(n_runs)[i]`` (rebuilt on the worker as
``SeedSequence(master_seed, spawn_key=(i,))``, which is the same sequence).
So the serial loop, the local process pool and a Dask cluster give identical
tables, and a resumed sweep gives what an uninterrupted one gives.

Runs are grouped into chunks of contiguous ids, so that per-task overhead is
paid once per chunk and a chunk's runs go through the ensemble engine together
(:func:`model.ensemble.run_points`; each distinct point is checked once). At
most a few chunks are in flight; each finished chunk is written to the store by
the driver (workers need no shared file system) and then forgotten, so memory
stays flat in the number of runs.
The chunks and their runs are :mod:`experiments.runs`; where they run is
:mod:`experiments.backends`. The seeding follows NumPy's SeedSequence guidance (SPEC 7).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import math
import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import pandas as pd

from experiments.backends import (
    Backend,
    WorkerLostError,
    check_scheduler,
    check_workers,
    make_backend,
    whole_number,
)
from experiments.posterior import ParameterDraws, load_posterior, posterior_digest
from experiments.runs import (
    Chunk,
    ChunkResult,
    RunContext,
    auto_chunk_size,
    context_of,
    context_point,
    error_text,
    failures_frame,
    identity_columns,
    plan_chunks,
)
from experiments.store import RefusalError, as_path
from model.errors import ScenarioError
from model.scenario import Scenario
from model.simulate import Results, simulate

if TYPE_CHECKING:
    from experiments.design import ResolvedDesign
    from experiments.store import Store

#: Chunks in flight per worker slot: enough to keep workers busy, few enough to bound memory.
IN_FLIGHT_PER_SLOT = 2
#: Runs a sweep starts without being told it may run more (``max_runs``): at the rate below,
#: a million 40-quarter runs take about seven minutes on two workers.
DEFAULT_MAX_RUNS = 1_000_000
#: Runs per second of one worker at 40 quarters with end-of-run outputs, on the ensemble
#: engine: below the low end of benchmarks/results/engine.md (2 workers ran 2,857-3,570 runs/s
#: including their start-up).
RUNS_PER_SECOND_PER_WORKER = 1200.0
#: Share of a 40-quarter run spent on its starting equilibrium (benchmarks/results/engine.md:
#: 0.38 ms per run at 40 quarters, 0.70 at 80); the rest grows with the quarters.
SETUP_SHARE = 0.16
#: Slow-down of runs that keep per-step series (the model table is collected every quarter).
SERIES_FACTOR = 1.5
#: Bytes held per run (run ids to do and done, chunk arrays) and per sample value (the sample
#: and the sampler's temporaries): what a sweep needs before its first run.
BYTES_PER_RUN, BYTES_PER_VALUE = 32, 32
#: Share of this machine's memory a sweep's index and sample may take (a hard limit).
MEMORY_SHARE = 0.5


# --------------------------------------------------------------------------- progress


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "--:--"
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """A one-line progress bar on standard error: runs done, runs per second, time left.

    On a terminal the line is redrawn at most five times a second; otherwise (a log
    file, a batch job) a line is printed every tenth of the way.

    Args:
        total: runs in the sweep.
        done: runs already stored (resume).
        stream: where to write (default standard error).
        enabled: False prints nothing.
    """

    def __init__(
        self, total: int, *, done: int = 0, stream: TextIO | None = None, enabled: bool = True
    ) -> None:
        self.total, self.start_done, self.done, self.failed = total, done, done, 0
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.tty = self.stream.isatty() if hasattr(self.stream, "isatty") else False
        self.t0 = time.perf_counter()
        self._last_draw = 0.0
        self._next_decile = math.floor(10 * done / total) + 1 if total else 11

    @property
    def rate(self) -> float:
        """Runs per second in this session."""
        elapsed = time.perf_counter() - self.t0
        return (self.done - self.start_done) / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        """The progress line."""
        rate = self.rate
        left = (self.total - self.done) / rate if rate > 0 else math.inf
        share = self.done / self.total
        width = 24
        filled = int(width * share)
        bar = "#" * filled + "." * (width - filled)
        failed = f", {self.failed} failed" if self.failed else ""
        return (
            f"sweep [{bar}] {self.done}/{self.total} runs ({100 * share:.0f}%), "
            f"{rate:.1f} runs/s, {_clock(left)} left{failed}"
        )

    def update(self, runs: int, failed: int = 0) -> None:
        """Count finished runs and redraw if due."""
        self.done += runs
        self.failed += failed
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.tty:
            if now - self._last_draw >= 0.2 or self.done == self.total:
                self.stream.write("\r" + self.line() + "\x1b[K")
                self.stream.flush()
                self._last_draw = now
        elif 10 * self.done >= self._next_decile * self.total:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self._next_decile = math.floor(10 * self.done / self.total) + 1

    def close(self) -> None:
        """End the bar's line."""
        if self.enabled and self.tty:
            self.stream.write("\r" + self.line() + "\x1b[K\n")
            self.stream.flush()


# --------------------------------------------------------------------------- the sweep


@dataclass
class SweepReport:
    """What a sweep did.

    Attributes:
        out: the store folder.
        n_runs: runs in the design.
        stored_before: runs already stored when the sweep started (resume).
        ran: runs executed in this session (completed or failed).
        failures: failed runs in the whole store.
        elapsed: seconds spent in this session.
        backend: which executor ran it.
        chunk_size: runs per chunk.
        repairs: what was repaired in the store when it was opened (one line each).
    """

    out: Path
    n_runs: int
    stored_before: int
    ran: int = 0
    failures: int = 0
    elapsed: float = 0.0
    backend: str = ""
    chunk_size: int = 0
    repairs: list[str] = field(default_factory=list)
    interrupted: bool = field(default=False, repr=False)

    @property
    def rate(self) -> float:
        """Runs per second in this session."""
        return self.ran / self.elapsed if self.elapsed > 0 else 0.0


class TooManyRunsError(RefusalError):
    """The design has more runs than the sweep was allowed to start."""


class StoreWriteError(OSError):
    """The store could not be written (disk full, permissions); every part written is complete."""

    def __str__(self) -> str:
        return f"cannot write the store {self.filename}: {self.strerror}"


def estimate_seconds(design: ResolvedDesign, runs: int, slots: int) -> float:
    """Wall time of ``runs`` runs of a design on ``slots`` workers, at the benchmark rate."""
    per_run = (SETUP_SHARE + (1 - SETUP_SHARE) * design.quarters / 40) / RUNS_PER_SECOND_PER_WORKER
    if design.every is not None:
        per_run *= SERIES_FACTOR
    return runs * per_run / max(1, slots)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    if seconds < 2 * 365 * 86400:
        return f"{seconds / 86400:,.0f} days"
    return f"{seconds / (365.25 * 86400):,.0f} years"


def _memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_size(design: ResolvedDesign, *, max_runs: int | None, slots: int) -> None:
    """Refuse a design too large to start, from its run count (nothing is allocated).

    Args:
        design: the design.
        max_runs: most runs allowed (None: no limit but memory's).
        slots: workers, for the time estimate.

    Raises:
        ScenarioError: the design's run index and sample would not fit in memory
            (a hard limit), or it has more than ``max_runs`` runs.
    """
    n_runs, n_points = design.n_runs, design.n_points
    reps = design.replications
    each = f"{reps} replication{'s' if reps > 1 else ''}"
    what = f"{design.name}: {n_runs:,} runs ({n_points:,} points x {each})"
    need = n_runs * BYTES_PER_RUN + n_points * len(design.factors) * BYTES_PER_VALUE
    memory = _memory()
    if memory and need > MEMORY_SHARE * memory:
        raise ScenarioError(
            f"{what} need about {need / 2**30:,.1f} GiB of memory before the first run, more than "
            f"{MEMORY_SHARE:.0%} of this machine's {memory / 2**30:,.1f} GiB; make the design smaller"
        )
    if max_runs is not None and n_runs > max_runs:
        seconds = estimate_seconds(design, n_runs, slots)
        raise TooManyRunsError(
            f"{what}, about {_duration(seconds)} on {slots} worker{'s' if slots > 1 else ''} at "
            f"~{RUNS_PER_SECOND_PER_WORKER:.0f} runs/s each, more than the {max_runs:,} runs allowed",
            f"allow them with max_runs={n_runs}",
        )


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ScenarioError(f"{name}: {value!r} is not true or false")
    return value


def as_design(design: Any) -> ResolvedDesign:
    """A resolved design, loading a design name or YAML path."""
    from experiments.design import ResolvedDesign, load_design

    if isinstance(design, ResolvedDesign):
        return design
    if isinstance(design, str | os.PathLike):
        return load_design(design)
    raise ScenarioError(
        f"design: {design!r} is not a design; allowed a design name, a YAML path or a loaded design"
    )


def sweep(
    design: ResolvedDesign | str | Path,
    out: Path | str,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    backend: Backend | None = None,
    resume: bool = False,
    retry_failed: bool = False,
    chunk_size: int | None = None,
    max_runs: int | None = DEFAULT_MAX_RUNS,
    progress: bool = True,
    stream: TextIO | None = None,
) -> SweepReport:
    """Run a design's runs not yet stored in ``out``, chunk by chunk.

    The store is locked while the sweep writes it; on resume its parts are verified
    and what does not belong is moved into ``quarantine/`` (see
    :meth:`~experiments.store.Store.open`; :attr:`SweepReport.repairs` says what was done).

    Args:
        design: a :class:`~experiments.design.ResolvedDesign`, or a design name or YAML path.
        out: the store folder.
        workers: local processes (default: the number of CPUs; 1 runs serially).
        scheduler: a Dask scheduler address (``tcp://host:port``); the cluster runs the sweep.
        backend: an executor already made (overrides ``workers`` and ``scheduler``).
        resume: finish the sweep stored in ``out`` (refused if made by another design).
        retry_failed: with ``resume``, run the failed runs again.
        chunk_size: runs per chunk (default: about eight chunks per worker, at most 2,048).
        max_runs: most runs the design may have (None: no limit but memory's); the
            default, :data:`DEFAULT_MAX_RUNS`, guards against a design far larger than meant.
        progress: print the plan (runs, estimated time) and draw the progress bar.
        stream: where they go (default standard error).

    Returns:
        What was done. On Ctrl-C, :class:`KeyboardInterrupt` propagates after the
        workers are stopped; every part written is complete and ``resume`` finishes.

    Raises:
        ScenarioError: a bad argument, a design too large, ``out`` holds another sweep
            or is being written by another process.
        WorkerLostError: a local worker process died; ``resume`` finishes the sweep.
        StoreWriteError: the store could not be written (e.g. the disk is full); the
            manifest says "interrupted" if it could still be written; ``resume`` finishes.
    """
    from experiments.store import Store

    design = as_design(design)
    out = as_path(out, "out")
    chunk_size = whole_number(chunk_size, "chunk_size")
    workers = check_workers(workers)
    max_runs = whole_number(max_runs, "max_runs")
    resume, retry_failed = _flag(resume, "resume"), _flag(retry_failed, "retry_failed")
    progress = _flag(progress, "progress")
    if retry_failed and not resume:
        raise ScenarioError("retry_failed: runs failed runs of a stored sweep again, so it needs resume")
    if scheduler is not None:
        scheduler = check_scheduler(scheduler)
    if backend is None and scheduler is not None and workers is not None:
        raise ScenarioError(
            "workers and scheduler: workers sets the local pool; with a scheduler the cluster's "
            "workers run the sweep (give one or the other)"
        )
    stream = stream or sys.stderr
    if backend is None and scheduler is None:
        check_size(design, max_runs=max_runs, slots=workers or multiprocessing.cpu_count())
    backend = backend or make_backend(workers=workers, scheduler=scheduler)  # reach it before writing
    try:
        check_size(design, max_runs=max_runs, slots=backend.slots)
        points = design.sample()
        store = Store.open(
            out,
            design=design.as_json(),
            digest=design.digest,
            sample_digest=design.sample_digest(),
            resume=resume,
            retry_failed=retry_failed,
        )
    except BaseException:
        backend.close(cancel=True)
        raise
    try:
        return _sweep(design, points, store, backend, chunk_size=chunk_size, progress=progress, stream=stream)
    finally:
        store.close()


def _sweep(
    design: ResolvedDesign,
    points: np.ndarray,
    store: Store,
    backend: Backend,
    *,
    chunk_size: int | None,
    progress: bool,
    stream: TextIO,
) -> SweepReport:
    """The sweep proper, on a locked store."""
    done = store.done_ids()
    todo = np.setdiff1d(np.arange(design.n_runs, dtype=np.int64), done)
    context = context_of(design)
    report = SweepReport(
        out=store.root, n_runs=design.n_runs, stored_before=len(done), repairs=list(store.repairs)
    )
    manifest = store.manifest()
    session: dict[str, Any] = {"started": _now(), "runs_before": len(done)}
    if store.repairs:
        session["repairs"] = list(store.repairs)
    manifest["status"] = "running"
    manifest.setdefault("sessions", []).append(session)
    t0 = time.perf_counter()
    bar: Progress | None = None
    try:
        store.write_manifest(manifest)
        if progress:
            for line in store.repairs:
                stream.write(f"{design.name}: {line}\n")
            if len(todo):
                stream.write(
                    f"{design.name}: {len(todo):,} of {design.n_runs:,} runs to run on {backend.label}, "
                    f"about {_duration(estimate_seconds(design, len(todo), backend.slots))} at the "
                    f"benchmark rate; {_drawn_text(design)}\n"
                )
            stream.flush()
        bar = Progress(design.n_runs, done=len(done), stream=stream, enabled=progress)
        if len(todo):
            report.backend = backend.label
            size = chunk_size or auto_chunk_size(len(todo), backend.slots)
            report.chunk_size = size
            session.update(backend=backend.label, chunk_size=size)
            _drive(backend, context, plan_chunks(todo, points, design.replications, size), store, bar, report)
        backend.close(cancel=False)
        bar.close()
        report.elapsed = time.perf_counter() - t0
        failures = store.consolidate_failures(failures_frame(context))
        report.failures = len(failures)
        session.update(finished=_now(), ran=report.ran, elapsed=round(report.elapsed, 3), outcome="complete")
        manifest.update(
            status="complete",
            completed=_now(),
            runs_stored=int(design.n_runs - len(failures)),
            failures=len(failures),
        )
        store.write_manifest(manifest)
    except BaseException as exc:
        report.interrupted = isinstance(exc, KeyboardInterrupt)
        backend.close(cancel=True)
        if bar is not None:
            bar.close()
        report.elapsed = time.perf_counter() - t0
        session.update(
            finished=_now(),
            ran=report.ran,
            elapsed=round(report.elapsed, 3),
            outcome="interrupted" if report.interrupted else error_text(exc),
        )
        manifest["status"] = "interrupted"
        with contextlib.suppress(OSError):  # a full disk may refuse this too; resume still works
            store.write_manifest(manifest)
        if isinstance(exc, OSError) and not isinstance(exc, StoreWriteError):
            raise StoreWriteError(
                exc.errno, exc.strerror or str(exc), str(exc.filename or store.root)
            ) from exc
        raise
    return report


def execute(
    backend: Backend,
    tasks: Iterator[tuple[RunContext, Chunk]],
    on_result: Callable[[Chunk, ChunkResult], None],
) -> None:
    """Run chunks on a backend, a few in flight at a time, handing each result over as it ends.

    Args:
        backend: where chunks run.
        tasks: (context, chunk) pairs, consumed lazily.
        on_result: called in this process with each finished chunk and its result.

    Raises:
        WorkerLostError: a local worker process died.
    """
    window = IN_FLIGHT_PER_SLOT * backend.slots
    pending: dict[Any, tuple[RunContext, Chunk]] = {}

    def fill() -> None:
        while len(pending) < window:
            task = next(tasks, None)
            if task is None:
                return
            pending[backend.submit(*task)] = task

    fill()
    while pending:
        for future in backend.wait(set(pending)):
            context, chunk = pending.pop(future)
            on_result(chunk, _result(future, context, chunk))
        fill()


def _drive(
    backend: Backend,
    context: RunContext,
    chunks: Iterator[Chunk],
    store: Store,
    bar: Progress,
    report: SweepReport,
) -> None:
    """Run the chunks; write each finished one to the store and count it."""

    def write(chunk: Chunk, result: ChunkResult) -> None:
        store.write_chunk(
            result.first, result.last, runs=result.runs, series=result.series, failures=result.failures
        )
        report.ran += len(chunk)
        bar.update(len(chunk), result.n_failed)

    execute(backend, ((context, chunk) for chunk in chunks), write)


def _result(future: Any, context: RunContext, chunk: Chunk) -> ChunkResult:
    """A chunk's result; a chunk the executor could not run becomes failed runs."""
    try:
        return future.result()
    except cf.process.BrokenProcessPool:
        raise WorkerLostError(
            f"a worker process died (killed, or out of memory) while running runs {chunk.first}-{chunk.last}"
        ) from None
    except Exception as exc:
        rows = list(range(len(chunk)))
        text = error_text(exc)
        failures = pd.DataFrame(
            {
                **identity_columns(context, chunk, rows),
                "error": [text] * len(rows),
                "traceback": ["".join(traceback.format_exception(exc))] * len(rows),
            }
        )
        return ChunkResult(chunk.first, chunk.last, pd.DataFrame(), None, failures)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- one run again


def rerun(out: Path, run_id: int, *, collect: str = "all") -> Results:
    """Run one stored run again, alone, with all its tables.

    Rebuilds the run from the store: the resolved base scenario in the manifest,
    the run's factor values, its parameters drawn from the posterior (the row's
    columns; for a store written before rows held them, drawn again from the
    shipped posterior, which must be the one the sweep drew from) and its seed
    (``seed_entropy``, ``seed_spawn_key``).

    Args:
        out: the store folder.
        run_id: the run.
        collect: what to collect ("all", "model" or "final"), as for :func:`simulate`.

    Returns:
        The run's results.

    Raises:
        ScenarioError: a bad argument, a damaged manifest, or no such run in the store.
    """
    from experiments.store import Store

    store = Store(as_path(out, "out"))
    run_id = whole_number(run_id, "run_id", low=0, none=False)
    if collect not in ("all", "model", "final"):
        raise ScenarioError(f"collect: {collect!r} is not allowed; allowed 'all', 'model' or 'final'")
    manifest = store.verified()
    design = manifest["design"]
    row = None
    for table in ("runs", "failures"):
        frame = store.read(table)
        if len(frame) and (frame["run_id"] == run_id).any():
            row = frame.loc[frame["run_id"] == run_id].iloc[0]
            break
    if row is None:
        raise ScenarioError(f"{out}: run {run_id} is not stored")
    paths = tuple(design["factors"])
    context = RunContext(
        scenario=Scenario.model_validate(design["scenario"]["resolved"]),
        paths=paths,
        integer=tuple(design["factors"][p]["integer"] for p in paths),
        quarters=design["quarters"],
        entropy=int(row["seed_entropy"]),
        measures=tuple(design["outputs"]["measures"]),
    )
    drawn = tuple((design.get("parameters") or {}).get("drawn") or ())
    if all(p in row.index and pd.notna(row[p]) for p in drawn):  # the store alone rebuilds the run
        draw = [float(row[p]) for p in drawn]
    else:  # a store written before rows held their draws: draw again from the posterior
        draws = _stored_draws(out, design)
        draw = [] if draws is None else draws.for_replications([int(row["replication"])])[0].tolist()
    values = np.array([*(row[p] for p in paths), *draw], dtype=float)
    point = replace(context, paths=(*paths, *drawn), integer=(*context.integer, *(False,) * len(drawn)))
    scenario = context_point(point, values)
    seed = np.random.SeedSequence(int(row["seed_entropy"]), spawn_key=(int(row["seed_spawn_key"]),))
    return simulate(scenario, seed=seed, collect=collect)


def _stored_draws(out: Path, design: dict[str, Any]) -> ParameterDraws | None:
    """The posterior draws a stored sweep made, rebuilt from the shipped posterior.

    Raises:
        ScenarioError: the sweep drew from a posterior other than the shipped one.
    """
    recorded = design.get("parameters") or {"mode": "median", "drawn": []}
    drawn = tuple(recorded.get("drawn") or ())
    if not drawn:
        return None
    posterior = load_posterior()
    if recorded.get("posterior_digest") != posterior_digest(posterior):
        raise ScenarioError(
            f"{out}: the sweep drew its parameters from another posterior than the one shipped now; "
            "rerun it with the version that made it"
        )
    return ParameterDraws.of(posterior, drawn, int(design["seed"]))


def _drawn_text(design: ResolvedDesign) -> str:
    """The plan line's words on the calibrated parameters (drawn, or the scenario's values)."""
    if design.draws is not None:
        return f"{len(design.draws.paths)} calibrated parameters drawn from the posterior per replication"
    if design.design.parameters == "median":
        return "calibrated parameters at the scenario's values (median)"
    return "no calibrated parameter drawn (the scenario sets its own, or the design varies them)"
