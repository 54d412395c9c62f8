"""Where a sweep's chunks run: in this process, on a local process pool, or on a Dask cluster.

Each backend runs :func:`experiments.runs.run_chunk` and gives the same tables,
because a run depends only on the design and its run id. Executors follow EMA
Workbench's separation of model, sampler and evaluator (Kwakkel 2017).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import re
import signal
import sys
from typing import Any, Protocol

import numpy as np

from experiments.runs import Chunk, RunContext, error_text, run_chunk
from model.errors import ScenarioError
from model.extras import require

#: Seconds to wait for a Dask scheduler to answer.
CONNECT_TIMEOUT = 5.0


class WorkerLostError(RuntimeError):
    """A local worker process died (killed, or out of memory); the store stays consistent."""


# --------------------------------------------------------------------------- executors


class Backend(Protocol):
    """Where chunks run: ``submit`` returns a future, ``wait`` the finished ones."""

    slots: int
    label: str

    def submit(self, context: RunContext, chunk: Chunk) -> Any:
        """Start a chunk; return a future with ``.result()``."""

    def wait(self, pending: set[Any]) -> set[Any]:
        """Block until at least one pending future is done; return the done ones."""

    def close(self, *, cancel: bool) -> None:
        """Release the workers (cancelling what is queued if ``cancel``)."""


class SerialBackend:
    """Runs each chunk in this process when it is submitted."""

    label = "serial"
    slots = 1

    def submit(self, context: RunContext, chunk: Chunk) -> cf.Future:
        """Run the chunk now; return a finished future."""
        future: cf.Future = cf.Future()
        future.set_result(run_chunk(context, chunk))
        return future

    def wait(self, pending: set[Any]) -> set[Any]:
        """Every submitted future is already done."""
        return set(pending)

    def close(self, *, cancel: bool) -> None:
        """Nothing to release."""


def _start_method() -> multiprocessing.context.BaseContext:
    """Spawn: each worker is a fresh interpreter and a direct child of the driver.

    Fork would copy the driver's threads (OpenBLAS, Arrow); a fork server would make
    the workers its children, so that they outlive a driver killed with SIGKILL (they
    hold the server's liveness pipe and the task queue's write end). Spawned workers
    die with the driver (see :func:`_init_worker`).
    """
    return multiprocessing.get_context("spawn")


def _init_worker(driver: int) -> None:
    """Worker initializer: leave Ctrl-C to the driver, and die with the driver.

    Ctrl-C reaches the whole process group; the driver handles it and stops the
    pool. On Linux a worker also asks the kernel to kill it when its parent dies
    (``PR_SET_PDEATHSIG``), so a driver killed with SIGKILL leaves no idle workers.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by the driver
    if os.getppid() != driver:  # the driver died while this worker was starting
        os._exit(1)
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):  # no prctl: workers outlive a SIGKILL
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() != driver:  # ... or just before the request took effect
            os._exit(1)


class PoolBackend:
    """A local process pool (the standard library's ``ProcessPoolExecutor``).

    Workers are spawned (fresh interpreters that import the model once, about two
    seconds) and die with the driver. As with any spawning pool, a script that
    starts a sweep needs an ``if __name__ == "__main__":`` guard.
    """

    def __init__(self, workers: int) -> None:
        self.slots = workers
        self.label = f"local pool, {workers} workers"
        self.pool = cf.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_start_method(),
            initializer=_init_worker,
            initargs=(os.getpid(),),
        )

    def submit(self, context: RunContext, chunk: Chunk) -> cf.Future:
        """Queue a chunk on the pool.

        Workers are spawned on demand here, with SIGINT blocked (a spawned process
        inherits the mask), so that a Ctrl-C while one is still starting does not reach
        it; the driver receives it once the mask is restored, nothing is lost.
        """
        if not hasattr(signal, "pthread_sigmask"):
            return self._submit(context, chunk)
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return self._submit(context, chunk)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    def _submit(self, context: RunContext, chunk: Chunk) -> cf.Future:
        try:
            return self.pool.submit(run_chunk, context, chunk)
        except cf.process.BrokenProcessPool:  # a worker died since the last chunk was handed out
            raise WorkerLostError(
                f"a worker process died (killed, or out of memory) before runs {chunk.first}-{chunk.last} "
                "could be queued"
            ) from None

    def wait(self, pending: set[Any]) -> set[Any]:
        """Wait for the first finished chunk."""
        done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
        return done

    def close(self, *, cancel: bool) -> None:
        """Shut the pool down, dropping queued chunks if ``cancel`` (running ones finish)."""
        self.pool.shutdown(wait=True, cancel_futures=cancel)


class DaskBackend:
    """A Dask distributed cluster reached at a scheduler address.

    The workers must be able to import ``model`` and ``experiments`` (install the
    project on them). Start them with one thread each (``dask worker ADDRESS
    --nthreads 1 --nworkers N``): a run holds the GIL. A lost worker's chunks are
    rerun by Dask elsewhere; a chunk that keeps killing workers is recorded as failed.
    """

    def __init__(self, address: str, *, timeout: float = CONNECT_TIMEOUT) -> None:
        address = check_scheduler(address)
        distributed = require("distributed", "experiments", "running on a Dask scheduler")
        try:
            self.client = distributed.Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ScenarioError(
                f"scheduler {address}: cannot reach a Dask scheduler there within {timeout:g} s "
                f"({error_text(exc)})"
            ) from None
        threads = sum(w["nthreads"] for w in self.client.scheduler_info()["workers"].values())
        self.slots = max(1, threads)
        self.label = f"Dask at {address}, {threads} worker threads"
        self.pending: set[Any] = set()
        self.finished: Any = None  # an as_completed iterator over the submitted chunks

    def submit(self, context: RunContext, chunk: Chunk) -> Any:
        """Submit a chunk to the cluster (keyed by the design hash and the run ids)."""
        from distributed import as_completed

        key = f"sweep-{context.token}-{chunk.first}-{chunk.last}"
        future = self.client.submit(run_chunk, context, chunk, key=key, pure=False)
        self.pending.add(future)
        if self.finished is None:
            self.finished = as_completed([future], loop=self.client.loop)
        else:
            self.finished.add(future)
        return future

    def wait(self, pending: set[Any]) -> set[Any]:
        """Wait for the first finished chunk (and take any others already finished)."""
        done = set(self.finished.next_batch(block=True)) & pending
        self.pending -= done
        return done

    def close(self, *, cancel: bool) -> None:
        """Cancel what is pending if asked, then disconnect (the cluster stays up)."""
        if cancel and self.pending:
            self.client.cancel(list(self.pending))
        self.pending.clear()
        self.client.close()


def make_backend(*, workers: int | None = None, scheduler: str | None = None) -> Backend:
    """Choose the executor: Dask if a scheduler is given, else a pool, else serial.

    Args:
        workers: local processes (default: the number of CPUs); 1 runs in this process.
        scheduler: address of a Dask scheduler, e.g. ``tcp://127.0.0.1:8786``.

    Returns:
        The backend.

    Raises:
        ScenarioError: both options given, or the scheduler cannot be reached.
    """
    workers = check_workers(workers)
    if scheduler is not None:
        if workers is not None:
            raise ScenarioError(
                "workers and scheduler: workers sets the local pool; with a scheduler the cluster's "
                "workers run the sweep (give one or the other)"
            )
        return DaskBackend(scheduler)
    workers = workers or multiprocessing.cpu_count()
    return SerialBackend() if workers == 1 else PoolBackend(workers)


_SCHEDULER = re.compile(
    r"^(?:(tcp|tls|ws|wss|ucx)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9._-]*):(\d{1,5})$"
)


def check_scheduler(address: Any) -> str:
    """Check a Dask scheduler address's form (``tcp://host:port``, ``tls://``, ``ws://`` ...).

    Raises:
        ScenarioError: not an address of that form.
    """
    allowed = "allowed tcp://host:port (or tls://, ws://, wss://, ucx://)"
    if not isinstance(address, str):
        raise ScenarioError(f"scheduler: {address!r} is not an address; {allowed}")
    match = _SCHEDULER.match(address.strip())
    if not match or not 1 <= int(match.group(3)) <= 65535:
        raise ScenarioError(f"scheduler: {address!r} is not a scheduler address; {allowed}")
    return address.strip()


def whole_number(value: Any, name: str, *, low: int = 1, none: bool = True) -> int | None:
    """Check a whole-number argument named ``name`` (None allowed if ``none``).

    Raises:
        ScenarioError: not a whole number, or below ``low``.
    """
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ScenarioError(f"{name}: {value!r} is not a whole number; allowed {low} or more")
    if value < low:
        raise ScenarioError(f"{name}: {value} is out of range; allowed {low} or more")
    return int(value)


#: Local worker processes allowed per CPU: more only add memory and start-up time (a run
#: holds one core), and a typo such as --workers 100000 would otherwise exhaust the machine.
WORKERS_PER_CPU = 4


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity, as a batch system or container sets it)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def max_workers() -> int:
    """The most local worker processes a pool may have here: four per usable CPU, at least 8."""
    return max(8, WORKERS_PER_CPU * usable_cpus())


def check_workers(workers: Any) -> int | None:
    """Check a number of local worker processes (None: one per CPU).

    Raises:
        ScenarioError: not a whole number, below 1, or above :func:`max_workers`.
    """
    workers = whole_number(workers, "workers")
    if workers is not None and workers > max_workers():
        raise ScenarioError(
            f"workers: {workers:,} is more than this machine can use; allowed 1 to {max_workers()} "
            f"({WORKERS_PER_CPU} per usable CPU, at least 8; {usable_cpus()} CPUs here)"
        )
    return workers
