"""Benchmark: time of one 40-quarter baseline run, in-process.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_run.py``). Prints a markdown
table and writes it to ``benchmarks/results/run.md``. Target (issue 2): median of the full run,
``AllianceModel`` built and stepped 40 quarters with every per-step table collected, at most
50 ms on a 2-core machine like the project's. Timings are medians over many runs with
different seeds, after a warm-up; the machine's load is printed with them because a busy
machine (CI, a parallel test) inflates them.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from model import simulate
from model.model import AllianceModel
from model.output import versions
from model.scenario import load_scenario

RESULTS = Path(__file__).resolve().parent / "results" / "run.md"


def timed(fn, seeds) -> list[float]:
    """Wall-clock seconds of ``fn(seed)`` for each seed."""
    times = []
    for seed in seeds:
        gc.collect()
        start = time.perf_counter()
        fn(seed)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    """Time the variants and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="runs per variant (default 60)")
    args = parser.parse_args()

    scenario = load_scenario("baseline")
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(1).spawn(args.runs)]

    # Every variant but the last gets a fresh copy of the scenario, so that it computes the
    # starting equilibrium (a process keeps it per scenario object; replications reuse it).
    def model_run(seed: int, collect: str = "all") -> None:
        model = AllianceModel(scenario.model_copy(), rng=seed, collect=collect)
        while model.running:
            model.step()

    def build_only(seed: int) -> None:
        AllianceModel(scenario.model_copy(), rng=seed)

    def replication(seed: int) -> None:
        model = AllianceModel(scenario, rng=seed, collect="final")
        while model.running:
            model.step()

    variants = {
        "full run: AllianceModel built + 40 quarters, every table collected": model_run,
        "simulate(): full run + pandas tables (what `cohesion run` does)": lambda s: simulate(
            scenario.model_copy(), seed=s
        ),
        "end-of-run outputs only (collect='final', a run on the Mesa model, end-of-run outputs)": lambda s: (
            model_run(s, "final")
        ),
        "set-up only: build + equilibrate the starting alignments": build_only,
        "a replication: end-of-run outputs, the scenario's equilibrium already known": replication,
    }
    for fn in variants.values():  # warm-up: imports, caches
        timed(fn, seeds[:3])

    load = os.getloadavg()[0]
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"mesa {versions()['mesa']}, numpy {versions()['numpy']}; load average {load:.2f}; "
        f"{args.runs} runs per variant",
        "",
        "| variant | median ms | p10 ms | p90 ms |",
        "|---|---|---|---|",
    ]
    for name, fn in variants.items():
        ms = [t * 1000 for t in timed(fn, seeds)]
        deciles = statistics.quantiles(ms, n=10)
        lines.append(f"| {name} | {statistics.median(ms):.1f} | {deciles[0]:.1f} | {deciles[-1]:.1f} |")
    text = "\n".join(lines)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")


if __name__ == "__main__":
    main()
