"""Benchmark: what a person waits for, timed here rather than asserted in a test.

Two latencies a user sees directly:

- the browser view: one quarter stepped and the map and the charts redrawn (what Step does),
  on the largest shipped scenario (``wider_region``, 11 states);
- the landscape: every local minimum of a random 20-actor Axelrod-Bennett landscape found
  exactly (``cohesion landscape`` on a file of that size).

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_latency.py``). Prints a
markdown table and writes it to ``benchmarks/results/latency.md``. Tests never assert a wall
time: a loaded 2-core machine can be several times slower than an idle one, so the numbers
live here, with the machine's load printed beside them.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from model import landscape
from model.output import versions

RESULTS = Path(__file__).resolve().parent / "results" / "latency.md"


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def view_step() -> Callable[[], object]:
    """One Step of the browser view: a quarter, then the map and the charts as PNG."""
    from model import app  # the viz extra

    view = {"model": app.ViewModel("wider_region")}
    app.png(app.draw_map(view["model"]))  # fonts and caches

    def step() -> None:
        if not view["model"].running:  # the horizon reached: Reset, as the page does
            view["model"] = app.ViewModel("wider_region")
        model = view["model"]
        model.step()
        app.png(app.draw_map(model))
        app.png(app.draw_charts(model))

    return step


def landscape_n20() -> Callable[[], object]:
    """Exact minima of a random 20-actor landscape (sizes and propensities from a fixed seed)."""
    rng = np.random.default_rng(2024)
    n = 20
    sizes = rng.uniform(0.1, 1.0, n)
    p = rng.uniform(-1.0, 1.0, (n, n))
    p = np.triu(p, 1)
    p = p + p.T
    return lambda: landscape.minima(sizes, p)


def main() -> None:
    """Time both latencies and write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="timings per row (default 10)")
    args = parser.parse_args()
    rows = []
    try:
        rows.append(("browser view: Step on wider_region (a quarter + map + charts)", view_step()))
    except ImportError as exc:
        print(f"skipping the view ({exc}; install the viz extra)")
    rows.append(("landscape: exact minima, 20 actors", landscape_n20()))
    for _, fn in rows:
        fn()  # warm-up

    load = os.getloadavg()[0]
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"mesa {versions()['mesa']}, numpy {versions()['numpy']}; load average {load:.2f}; "
        f"{args.repeats} timings per row",
        "",
        "| what | median s | p10 s | p90 s |",
        "|---|---|---|---|",
    ]
    for name, fn in rows:
        seconds = timed(fn, args.repeats)
        deciles = statistics.quantiles(seconds, n=10)
        lines.append(f"| {name} | {statistics.median(seconds):.3f} | {deciles[0]:.3f} | {deciles[-1]:.3f} |")
    text = "\n".join(lines)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")


if __name__ == "__main__":
    main()
