"""Benchmark of the ensemble engine (issue 11), measured side by side in one run.

Sections (``--sections`` picks some; all by default):

1. ``batch``: runs per second of ``cohesion sweep`` on 2 workers against
   ``mesa.batch_run`` with 2 processes, on the same model, the same 5 x 5 grid of
   Russian pressure x Chinese engagement and the same end-of-run collection
   (``data_collection_period=-1``, the model's ``collect="final"``); wall time
   including start-up, the sweep's store included. Target: at least 20x.
2. ``sobol``: ``cohesion sweep experiments/designs/sobol_drivers.yaml`` (22,528 runs) on 2
   workers, store included; then ``cohesion analyze`` separately. Target: 20 s.
3. ``long``: 100,000 runs of a 104-quarter baseline (the length of a 1999-2024
   hindcast) through ``cohesion sweep`` on 2 workers. Target: 10 minutes.
4. ``scaling``: the engine's cost per run against the number of states (8 and 11
   from the schema; 50 and 200 synthetic, by repeating the baseline's states in a
   world built directly, since the schema knows 11 states) and quarters (40 to
   320), and its peak traced memory against the number of runs.
5. ``series``: peak traced memory of one sweep chunk (2,048 runs of 400 quarters, the
   series kept every quarter) holding all 22 measures per step against holding the two
   a design asks for (``series_measures``).

Usage: python benchmarks/bench_engine.py [--sections batch,sobol,long,scaling,series]
[--quick]. Writes benchmarks/results/engine.md and prints it.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "engine.md"
#: The headline numbers of each section, for the README's block (filled as sections run).
FACTS: dict[str, float] = {}
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_sweep import QUARTERS, batch_run_rate, grid_design, load  # noqa: E402
from readme_block import replace_block  # noqa: E402

from model.ensemble import run_ensemble  # noqa: E402
from model.rules import quarter  # noqa: E402
from model.rules.shocks import Schedule  # noqa: E402
from model.rules.world import build_world  # noqa: E402
from model.scenario import load_scenario  # noqa: E402


def cohesion(*args: str) -> float:
    """Wall seconds of ``cohesion ARGS`` (which must succeed)."""
    t0 = time.perf_counter()
    done = subprocess.run([str(BIN / "cohesion"), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"cohesion {' '.join(args)} failed: {done.stderr.strip()[-400:]}")
    return time.perf_counter() - t0


def section_batch(work: Path, quick: bool) -> list[str]:
    reps_batch = 16 if quick else 80  # 400 or 2,000 runs of mesa.batch_run
    reps_sweep = 160 if quick else 800  # 4,000 or 20,000 runs of the sweep
    lines = [
        f"## cohesion sweep vs mesa.batch_run: baseline, {QUARTERS} quarters, 5 x 5 grid, end-of-run outputs",
        "",
        "| method | runs | seconds | runs/s |",
        "|---|---:|---:|---:|",
    ]
    rows = []
    for rnd in range(2):
        t0 = time.perf_counter()
        rate = batch_run_rate(reps_batch, 2, "final")
        rows.append(("mesa.batch_run, 2 processes", 25 * reps_batch, time.perf_counter() - t0, rate, rnd))
        for reps in (reps_batch, reps_sweep):
            path = grid_design(work, f"grid{reps}", reps, QUARTERS)
            out = work / f"store-{reps}-{rnd}"
            seconds = cohesion("sweep", str(path), "--workers", "2", "--out", str(out), "--quiet")
            rows.append(
                ("cohesion sweep, 2 workers (store included)", 25 * reps, seconds, 25 * reps / seconds, rnd)
            )
    for name, runs, seconds, rate, rnd in rows:
        lines.append(f"| {name} (round {rnd + 1}) | {runs:,} | {seconds:.1f} | {rate:,.0f} |")
    lines.append("")
    for rnd in range(2):
        batch = next(r[3] for r in rows if r[4] == rnd and r[0].startswith("mesa"))
        same, large = (r[3] for r in rows if r[4] == rnd and r[0].startswith("cohesion"))
        FACTS[f"batch_ratio_{rnd}"], FACTS[f"batch_small_{rnd}"] = large / batch, same / batch
        lines.append(
            f"- round {rnd + 1}: the sweep runs **{large / batch:.0f}x** the runs per second of "
            f"mesa.batch_run ({same / batch:.0f}x on the same {25 * reps_batch:,} runs, where the "
            "workers' start-up weighs more). Target >= 20x."
        )
    return lines


def section_sobol(work: Path) -> list[str]:
    out = work / "sobol"
    sweep = cohesion(
        "sweep",
        str(ROOT / "experiments" / "designs" / "sobol_drivers.yaml"),
        "--workers",
        "2",
        "--out",
        str(out),
        "--quiet",
    )
    analyze = cohesion("analyze", str(out), "--quiet")
    FACTS.update(sobol=sweep, analyze=analyze)
    return [
        "## sobol_drivers (N = 1024, 10 factors, second order: 22,528 runs of 40 quarters), 2 workers",
        "",
        f"- `cohesion sweep`, store included: **{sweep:.1f} s** ({22528 / sweep:,.0f} runs/s). "
        "Target <= 20 s.",
        f"- `cohesion analyze` (Sobol indices with bootstrap, figures): {analyze:.1f} s.",
    ]


def section_long(work: Path, quick: bool) -> list[str]:
    runs = 10_000 if quick else 100_000
    path = grid_design(work, "long", runs, 104, factors={"powers.russia.pressure": [0.5]})
    seconds = cohesion("sweep", str(path), "--workers", "2", "--out", str(work / "long"), "--quiet")
    FACTS["long"] = seconds
    return [
        f"## {runs:,} runs of a 104-quarter baseline (a 1999-2024 hindcast's length), 2 workers",
        "",
        f"- **{seconds:.0f} s** ({seconds / 60:.1f} min; {runs / seconds:,.0f} runs/s), store included. "
        "Target <= 10 min for 100,000 runs.",
    ]


def synthetic(n: int, runs: int, quarters: int):
    """A world of ``n`` states made by repeating the baseline's, ``runs`` runs, no shocks."""
    base = load_scenario("baseline")
    world = build_world([base])
    index = np.arange(n) % world.n_states
    for name in (
        "trade",
        "arms",
        "defence_pacts",
        "affinity",
        "access",
        "sizes",
        "neutral",
        "alignment",
        "status",
        "streak",
        "air_defence",
        "air_streak",
        "boycotts",
        "initial_russia",
        "utility",
        "economy_russia",
        "security_russia",
        "commitment",
        "trade_pull0",
    ):
        setattr(world, name, getattr(world, name)[:, index].copy())
    world.scalars = {k: v[:, index].copy() for k, v in world.scalars.items()}
    for name in ("ties", "tie_share", "conflict"):
        setattr(world, name, getattr(world, name)[:, index][:, :, index].copy())
    world.pressure = world.pressure[:, :, index].copy()
    world.inducement = world.inducement[:, :, index].copy()
    return world.take(np.zeros(runs, dtype=np.int64))


def engine_seconds(n: int, quarters: int, runs: int) -> float:
    """Seconds per run of the engine's quarters and measures on a synthetic world (noise drawn per run)."""
    from model.rules.measures import measure

    world = synthetic(n, runs, quarters)
    rngs = [np.random.default_rng(k) for k in range(runs)]
    t0 = time.perf_counter()
    quarter.set_up(world)
    schedule = Schedule()
    for step in range(1, quarters + 1):
        if step % 8 == 1:  # eight quarters of noise at a time, each run from its own generator
            block = np.stack([g.normal(0.0, 0.02, (8, n, 4)) for g in rngs], axis=1)
        quarter.advance(world, step, schedule, block[(step - 1) % 8], summit=step % 4 == 0)
    measure(world)
    return (time.perf_counter() - t0) / runs


def section_scaling(quick: bool) -> list[str]:
    lines = ["## Cost per run of the engine", ""]
    runs = 256 if quick else 1024
    lines += [
        f"Blocks of {runs:,} runs; seconds per run of set-up, quarters, noise and end-of-run measures.",
        "",
    ]
    lines += ["| states | 40 q (ms/run) | 80 q | 160 q | 320 q |", "|---:|---:|---:|---:|---:|"]
    table = {}
    for n in (8, 11, 50, 200):
        block = runs if n <= 50 else max(64, runs // 8)
        cells = []
        for q in (40, 80, 160, 320):
            table[n, q] = engine_seconds(n, q, block)
            cells.append(f"{table[n, q] * 1e3:.3f}")
        lines.append(f"| {n}{' (synthetic)' if n > 11 else ''} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"- quarters: 40 -> 320 (8x) costs {table[11, 320] / table[11, 40]:.1f}x per run at 11 states."
    )
    grow50 = np.log(table[50, 40] / table[11, 40]) / np.log(50 / 11)
    grow200 = np.log(table[200, 40] / table[11, 40]) / np.log(200 / 11)
    FACTS.update(
        quarters_ratio=table[11, 320] / table[11, 40],
        grow_low=min(grow50, grow200),
        grow_high=max(grow50, grow200),
        ms_11=table[11, 40] * 1e3,
        ms_200=table[200, 40] * 1e3,
    )
    lines.append(
        f"- states: 11 -> 50 costs {table[50, 40] / table[11, 40]:.1f}x and 11 -> 200 costs "
        f"{table[200, 40] / table[11, 40]:.1f}x per run (40 quarters), about n^{grow50:.1f} and "
        f"n^{grow200:.1f}: the n x n terms (conflict, ties, the landscape energy's pairs) grow as "
        "n^2, and a block of 50 or 200 states no longer fits the processor's cache."
    )
    lines += ["", "Peak traced memory (tracemalloc) of `run_ensemble` on the baseline, 40 quarters:", ""]
    lines += ["| runs | peak MB | seconds |", "|---:|---:|---:|"]
    base = load_scenario("baseline").model_copy(update={"horizon": 40})
    peaks = []
    for count in (2_000, 8_000) if quick else (5_000, 20_000, 80_000):
        seeds = [np.random.SeedSequence(3, spawn_key=(k,)) for k in range(count)]
        tracemalloc.start()
        t0 = time.perf_counter()
        run_ensemble([base] * count, seeds)
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        peaks.append((count, peak))
        lines.append(f"| {count:,} | {peak:.1f} | {seconds:.1f} |")
    (c0, p0), (c1, p1) = peaks[0], peaks[-1]
    FACTS.update(runs_low=c0, peak_low=p0, runs_high=c1, peak_high=p1)
    lines.append("")
    lines.append(
        f"- {c1 / c0:.0f}x the runs take {p1 / p0:.2f}x the peak memory: blocks keep it flat; what grows is "
        f"the results themselves ({(p1 - p0) / (c1 - c0) * 1e3:.2f} kB per run: 22 measures and a seed)."
    )
    return lines


def section_series(quick: bool) -> list[str]:
    """Peak memory of a chunk's series: every measure per step against the two asked for."""
    runs, quarters = (256, 100) if quick else (2_048, 400)
    base = load_scenario("baseline").model_copy(update={"horizon": quarters})
    seeds = [np.random.SeedSequence(5, spawn_key=(k,)) for k in range(runs)]
    lines = [
        f"## Series memory: one chunk of {runs:,} runs x {quarters} quarters, the series every quarter",
        "",
        "| measures held per step | peak MB | seconds |",
        "|---|---:|---:|",
    ]
    peaks = {}
    for label, keep in (("all 22", None), ("2 (cohesion, energy)", ["cohesion", "energy"])):
        tracemalloc.start()
        t0 = time.perf_counter()
        run_ensemble([base] * runs, seeds, every=1, series_measures=keep)
        seconds = time.perf_counter() - t0
        peaks[label] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        lines.append(f"| {label} | {peaks[label]:.1f} | {seconds:.1f} |")
    ratio = peaks["all 22"] / peaks["2 (cohesion, energy)"]
    FACTS.update(series_all=peaks["all 22"], series_two=peaks["2 (cohesion, energy)"])
    lines += ["", f"- Holding only the design's series measures takes {ratio:.1f}x less memory."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    sections = args.sections.split(",")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    lines = [
        "# Engine benchmark",
        "",
        f"{datetime.now(UTC).isoformat(timespec='seconds')}, git {commit.stdout.strip()}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, load average at start {load()}.",
        "",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "batch" in sections:
            lines += [*section_batch(work, args.quick), ""]
        if "sobol" in sections:
            lines += [*section_sobol(work), ""]
        if "long" in sections:
            lines += [*section_long(work, args.quick), ""]
        if "scaling" in sections:
            lines += [*section_scaling(args.quick), ""]
        if "series" in sections:
            lines += [*section_series(args.quick), ""]
    lines.append(f"Load average at end {load()}.")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)
    if not args.quick and args.out == RESULTS and set(sections) >= set(SECTIONS):
        replace_block("bench-engine", readme_text())


SECTIONS = ("batch", "sobol", "long", "scaling", "series")


def readme_text() -> str:
    """The README's summary of a full run of this benchmark (from :data:`FACTS`)."""
    f = FACTS
    low, high = sorted((f["batch_ratio_0"], f["batch_ratio_1"]))
    small = min(f["batch_small_0"], f["batch_small_1"])
    return f"""- **vs `mesa.batch_run`**, 2 processes, the same model, a 5 x 5 grid and the same end-of-run
  collection: `cohesion sweep` on 2 workers (each replication drawing the calibrated parameters
  from the posterior, so one equilibrium per run where batch_run's runs share the baseline's
  values) runs **{low:.0f}-{high:.0f}x** as many runs per second
  (20,000 runs, store and the workers' start-up included; {small:.0f}x on 2,000 runs, where
  start-up weighs most).
- **`sobol_drivers`** (N = 1024, 22,528 runs) on 2 workers: **{f["sobol"]:.1f} s** with the store,
  then {f["analyze"]:.0f} s to analyze (it took 179-324 s on the Mesa model).
- **100,000 runs of 104 quarters** (a 1999-2024 hindcast's length) on 2 workers:
  **{f["long"]:.0f} s**.
- **Cost per run** grows linearly with the quarters (40 to 320: {f["quarters_ratio"]:.1f}x for 8x)
  and about as n^{f["grow_low"]:.1f}-{f["grow_high"]:.1f} with the number of states
  ({f["ms_11"]:.2f} ms per run at 11 states and 40 quarters, {f["ms_200"]:.0f} ms at a synthetic
  200); **memory** is flat in the number of runs (blocks of about 1,500 runs;
  {f["peak_low"]:.0f} MB traced at {f["runs_low"]:,.0f} runs, {f["peak_high"]:.0f} MB at
  {f["runs_high"]:,.0f}, what grows being the results), and a sweep holds per step only the
  series measures its design asks for (one chunk of 2,048 runs x 400 quarters:
  {f["series_two"]:.0f} MB for two measures, {f["series_all"]:.0f} MB for all 22).
"""


if __name__ == "__main__":
    main()
