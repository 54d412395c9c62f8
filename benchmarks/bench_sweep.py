"""Benchmark of the sweep layer: throughput, scaling, peak memory, the Sobol design.

Measures, side by side in one run on this machine:

1. runs per second of the baseline (40 quarters, end-of-run outputs) over the same
   parameter points (a grid of Russian pressure x Chinese engagement, replicated):
   ``cohesion sweep`` serially, on a local pool of 1 and 2 workers, on a Dask
   LocalCluster of 2 single-thread workers; and Mesa's own ``mesa.batch_run`` with
   1 and 2 processes (``data_collection_period=-1``), once with the model's default
   collection (every quarter, per-state rows: what a Mesa user gets) and once with
   the same end-of-run collection the sweep uses;
2. peak memory (RSS and PSS summed over the sweep process and its workers, sampled
   from /proc every 0.1 s) of sweeps of 1,250 to 20,000 runs;
3. with ``--full``: the wall time and peak memory of ``cohesion sweep sobol_drivers``
   (N = 1024, 22,528 runs) on 2 workers.

Usage: python benchmarks/bench_sweep.py [--full] [--runs N] [--repeat K] [--quick]
Writes benchmarks/results/sweep.md and prints the same tables.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "sweep.md"
BIN = Path(sys.executable).parent
QUARTERS = 40
PRESSURES = [0.1, 0.3, 0.5, 0.7, 0.9]
ENGAGEMENTS = [0.1, 0.3, 0.5, 0.7, 0.9]

from model import AllianceModel, load_scenario  # noqa: E402

_BASE = load_scenario("baseline").model_copy(update={"horizon": QUARTERS})


class BatchModel(AllianceModel):
    """The alliance model with plain keyword parameters, as ``mesa.batch_run`` needs."""

    def __init__(
        self,
        russian_pressure: float = 0.5,
        chinese_engagement: float = 0.5,
        collect: str = "all",
        rng=None,
    ) -> None:
        scenario = _BASE.with_overrides(
            {"powers.russia.pressure": russian_pressure, "powers.china.engagement": chinese_engagement}
        ).model_copy(update={"horizon": QUARTERS})
        super().__init__(scenario, rng=rng, collect=collect)


# --------------------------------------------------------------------------- helpers


def grid_design(folder: Path, name: str, reps: int, quarters: int = QUARTERS) -> Path:
    data = {
        "name": name,
        "description": "Benchmark grid: Russian pressure x Chinese engagement.",
        "scenario": "baseline",
        "factors": {"powers.russia.pressure": PRESSURES, "powers.china.engagement": ENGAGEMENTS},
        "replications": reps,
        "quarters": quarters,
        "seed": 2025,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def tree(pid: int) -> list[int]:
    """The process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        found.append(p)
        stack.extend(children.get(p, []))
    return found


def memory(pid: int) -> tuple[int, int]:
    """RSS and PSS of one process in kB (0 if it has gone)."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


class Sampler:
    """Peak summed RSS/PSS of a process tree, sampled every 0.1 s in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_rss, self.peak_pss, self.processes = pid, 0, 0, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stop.is_set():
            pids = tree(self.pid)
            rss = pss = 0
            for p in pids:
                r, s = memory(p)
                rss, pss = rss + r, pss + s
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self.processes = max(self.processes, len(pids))
            time.sleep(0.1)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()


def run_cli(args: list[str]) -> tuple[float, Sampler, subprocess.CompletedProcess]:
    """Run ``cohesion ARGS`` in a subprocess; return its wall time and memory peaks."""
    t0 = time.perf_counter()
    process = subprocess.Popen(
        [str(BIN / "cohesion"), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    sampler = Sampler(process.pid)
    out, err = process.communicate()
    elapsed = time.perf_counter() - t0
    sampler.close()
    done = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {err.strip()[-500:]}")
    return elapsed, sampler, done


# --------------------------------------------------------------------------- throughput


def bare(seconds: float) -> None:
    """Run the grid's runs in a plain loop for ``seconds`` and print runs/s (no sweep machinery).

    The same points as the sweeps (each point's scenario built once, as a sweep does),
    cycled in order, so that the per-run cost matches theirs.
    """
    import numpy as np

    from experiments.design import MEASURES
    from experiments.runner import final_measures

    points = [
        _BASE.with_overrides({"powers.russia.pressure": p, "powers.china.engagement": e})
        for p in PRESSURES
        for e in ENGAGEMENTS
    ]
    final_measures(points[0], np.random.SeedSequence(0), MEASURES)
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        final_measures(points[n % len(points)], np.random.SeedSequence(0, spawn_key=(n,)), MEASURES)
        n += 1
    print(n / (time.perf_counter() - t0), flush=True)


def ceiling(processes: int, seconds: float = 15.0) -> float:
    """Runs/s of ``processes`` plain loops side by side: what the machine allows."""
    started = [
        subprocess.Popen(
            [sys.executable, __file__, "--bare", str(seconds)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(processes)
    ]
    return sum(float(p.communicate()[0].strip().splitlines()[-1]) for p in started)


def sweep_rate(design_path: Path, work: Path, **options) -> float:
    from experiments.design import load_design
    from experiments.runner import sweep

    out = work / f"out-{time.monotonic_ns()}"
    design = load_design(design_path)
    t0 = time.perf_counter()
    report = sweep(design, out, progress=False, **options)
    elapsed = time.perf_counter() - t0
    assert report.ran == design.n_runs and report.failures == 0
    shutil.rmtree(out)
    return design.n_runs / elapsed


def dask_rate(design_path: Path, work: Path) -> float:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
    ) as cluster:
        return sweep_rate(design_path, work, scheduler=cluster.scheduler_address)


def batch_run_rate(reps: int, processes: int, collect: str) -> float:
    from mesa.batchrunner import batch_run

    t0 = time.perf_counter()
    results = batch_run(
        BatchModel,
        parameters={
            "russian_pressure": PRESSURES,
            "chinese_engagement": ENGAGEMENTS,
            "collect": collect,
        },
        number_processes=processes,
        rng=list(range(reps)),
        data_collection_period=-1,
        max_steps=QUARTERS,
        display_progress=False,
    )
    elapsed = time.perf_counter() - t0
    n = len(PRESSURES) * len(ENGAGEMENTS) * reps
    assert len(results) == n, (len(results), n)
    return n / elapsed


#: Throughput methods: name -> what the measuring subprocess runs.
METHODS = {
    "plain loop over the grid's points, 1 process (no sweep machinery)": "ceiling 1",
    "plain loops over the grid's points, 2 processes side by side": "ceiling 2",
    "cohesion sweep, serial": "sweep 1",
    "cohesion sweep, local pool, 1 worker": "pool 1",
    "cohesion sweep, local pool, 2 workers": "sweep 2",
    "cohesion sweep, Dask LocalCluster, 2 workers (cluster already up)": "dask 2",
    "mesa.batch_run, 1 process, model's collection": "batch 1 all",
    "mesa.batch_run, 2 processes, model's collection": "batch 2 all",
    "mesa.batch_run, 1 process, end-of-run collection": "batch 1 final",
    "mesa.batch_run, 2 processes, end-of-run collection": "batch 2 final",
}


def measure(method: str, reps: int, work: Path) -> float:
    """Runs/s of one method, measured in this (fresh) process."""
    kind, *rest = method.split()
    if kind == "ceiling":
        return ceiling(int(rest[0]))
    if kind == "batch":
        return batch_run_rate(reps, int(rest[0]), rest[1])
    design = grid_design(work, "bench_throughput", reps)
    if kind == "dask":
        return dask_rate(design, work)
    if kind == "pool":
        return sweep_rate(design, work, backend=_pool(int(rest[0])))
    return sweep_rate(design, work, workers=int(rest[0]))


def measured(name: str, method: str, reps: int, work: Path) -> float:
    """Runs/s of one method, measured in a fresh subprocess (as a user runs it)."""
    done = subprocess.run(
        [sys.executable, __file__, "--measure", method, "--reps", str(reps), "--work", str(work)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name}: {done.stderr.strip()[-800:]}")
    return float(done.stdout.strip().splitlines()[-1])


def throughput(reps: int, repeat: int, work: Path) -> tuple[dict[str, list[float]], int]:
    """Every method in a fresh subprocess (as a user runs it), in interleaved rounds."""
    n = len(PRESSURES) * len(ENGAGEMENTS) * reps
    rates: dict[str, list[float]] = {name: [] for name in METHODS}
    for round_ in range(repeat):  # ratios are taken within a round
        for name, method in METHODS.items():
            rate = measured(name, method, reps, work)
            rates[name].append(rate)
            print(f"  round {round_ + 1}: {name}: {rate:.1f} runs/s (load {load()})", flush=True)
    return rates, n


#: The scaling pair: one worker (serially in the driver, and a pool of one) and a pool of two.
SCALING = {
    "serial": "sweep 1",
    "pool of 1": "pool 1",
    "pool of 2": "sweep 2",
}


def scaling(reps: int, rounds: int, work: Path) -> dict[str, list[float]]:
    """1 and 2 workers measured back to back, in an order that rotates from round to round.

    The host's speed drifts by 10-20% over minutes, so a ratio of two measurements taken
    minutes apart says more about the host than about the sweep; here each round measures
    the three within about a minute, rounds rotate the order, and the report gives every
    round's ratios and their median.
    """
    rates: dict[str, list[float]] = {name: [] for name in SCALING}
    names = list(SCALING)
    for round_ in range(rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            rate = measured(name, SCALING[name], reps, work)
            rates[name].append(rate)
            print(f"  round {round_ + 1}: {name}: {rate:.1f} runs/s (load {load()})", flush=True)
    return rates


def _pool(workers: int):
    from experiments.runner import PoolBackend

    return PoolBackend(workers)


# --------------------------------------------------------------------------- memory


def memory_scaling(sizes: list[int], quarters: int, work: Path) -> list[dict]:
    rows = []
    for n in sizes:
        reps = n // (len(PRESSURES) * len(ENGAGEMENTS))
        design = grid_design(work, f"bench_memory_{n}", reps, quarters)
        out = work / f"memory-{n}"
        elapsed, sampler, _ = run_cli(["sweep", str(design), "--out", str(out), "--workers", "2", "-q"])
        parts = len(list((out / "runs").glob("part-*")))
        rows.append(
            {
                "runs": n,
                "quarters": quarters,
                "seconds": elapsed,
                "rss_mb": sampler.peak_rss / 1024,
                "pss_mb": sampler.peak_pss / 1024,
                "processes": sampler.processes,
                "parts": parts,
            }
        )
        print(
            f"  {n} runs: {elapsed:.1f} s, peak RSS {sampler.peak_rss / 1024:.0f} MB, "
            f"PSS {sampler.peak_pss / 1024:.0f} MB (load {load()})",
            flush=True,
        )
        shutil.rmtree(out)
    return rows


def sobol_full(work: Path) -> dict:
    out = work / "sobol_drivers"
    start_load = load()
    elapsed, sampler, done = run_cli(["sweep", "sobol_drivers", "--out", str(out), "--workers", "2", "-q"])
    from experiments.design import load_design

    n = load_design("sobol_drivers").n_runs
    result = {
        "runs": n,
        "seconds": elapsed,
        "rss_mb": sampler.peak_rss / 1024,
        "pss_mb": sampler.peak_pss / 1024,
        "load_before": start_load,
        "load_after": load(),
        "summary": done.stdout.strip().splitlines()[0],
    }
    t0 = time.perf_counter()
    run_cli(["analyze", str(out), "-q"])
    result["analyze_seconds"] = time.perf_counter() - t0
    print(
        f"  sobol_drivers: {n} runs in {elapsed:.1f} s, peak RSS {result['rss_mb']:.0f} MB; "
        f"analyze {result['analyze_seconds']:.1f} s",
        flush=True,
    )
    return result


# --------------------------------------------------------------------------- report


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def report(rates, n, scale, scaling_reps, memory_rows, sobol, started_load, args) -> str:
    from model.output import git_commit

    rounds = len(next(iter(rates.values())))
    pool2 = "cohesion sweep, local pool, 2 workers"
    plain1 = "plain loop over the grid's points, 1 process (no sweep machinery)"
    plain2 = "plain loops over the grid's points, 2 processes side by side"

    def ratio(a: str, b: str) -> str:
        """``a`` over ``b`` in each round, and their best."""
        values = [x / y for x, y in zip(rates[a], rates[b], strict=True)]
        return ", ".join(f"{v:.2f}x" for v in values) + (f" (best {max(values):.2f}x)" if rounds > 1 else "")

    lines = [
        "# Sweep benchmark",
        "",
        f"{datetime.now(UTC).isoformat(timespec='seconds')}, git {git_commit()}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs ({cpu_model()}), load average at start "
        f"{started_load}, at end {load()}. The host's speed drifts by 10-20% from minute to minute, "
        "so methods are measured in interleaved rounds and compared within a round.",
        "",
        f"## Throughput: baseline, {QUARTERS} quarters, end-of-run outputs, {n} runs "
        f"({len(PRESSURES)}x{len(ENGAGEMENTS)} grid x {n // (len(PRESSURES) * len(ENGAGEMENTS))} "
        f"replications); wall time including start-up",
        "",
        "| method | " + " | ".join(f"round {k + 1} (runs/s)" for k in range(rounds)) + " |",
        "|---|" + "---:|" * rounds,
    ]
    for name, values in rates.items():
        lines.append(f"| {name} | " + " | ".join(f"{v:.1f}" for v in values) + " |")
    lines += [
        "",
        "Ratios, per round:",
        "",
        f"- speed-up from 1 to 2 workers: **{ratio(pool2, 'cohesion sweep, serial')}** from the serial "
        f"sweep (one process, no start-up); {ratio(pool2, 'cohesion sweep, local pool, 1 worker')} from a "
        "pool of 1 worker (which also pays a spawned worker's ~2 s start-up). Target >= 1.7x.",
        "- what the machine allows: two plain loops side by side (15 s each, after start-up) run "
        f"{ratio(plain2, plain1)} "
        "as many runs as one; the pool of 2, start-up included, reaches "
        f"{ratio(pool2, plain2)} of that, and the serial sweep {ratio('cohesion sweep, serial', plain1)} "
        "of one plain loop.",
        "- sweep (pool of 2) vs mesa.batch_run with 2 processes: "
        f"**{ratio(pool2, 'mesa.batch_run, 2 processes, model' + chr(39) + 's collection')}** against the "
        "model's default collection (every quarter, per-state rows), "
        f"**{ratio(pool2, 'mesa.batch_run, 2 processes, end-of-run collection')}** against the same "
        "end-of-run collection the sweep uses. Target >= 2x.",
        f"- Dask LocalCluster (2 workers) vs local pool (2 workers): "
        f"{ratio('cohesion sweep, Dask LocalCluster, 2 workers (cluster already up)', pool2)}",
        "",
        f"## Speed-up from 1 to 2 workers: {len(PRESSURES) * len(ENGAGEMENTS) * scaling_reps} runs "
        f"per measurement, {len(scale['serial'])} rounds, the three measured back to back in an order "
        "that rotates by round; wall time including start-up",
        "",
        "| round | serial (runs/s) | pool of 1 (runs/s) | pool of 2 (runs/s) | 2 vs serial | 2 vs 1 |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    over_serial = [b / a for a, b in zip(scale["serial"], scale["pool of 2"], strict=True)]
    over_pool = [b / a for a, b in zip(scale["pool of 1"], scale["pool of 2"], strict=True)]
    triples = zip(scale["serial"], scale["pool of 1"], scale["pool of 2"], strict=True)
    for k, (a, one, two) in enumerate(triples):
        lines.append(
            f"| {k + 1} | {a:.1f} | {one:.1f} | {two:.1f} | {over_serial[k]:.2f}x | {over_pool[k]:.2f}x |"
        )
    lines += [
        "",
        f"- median speed-up: **{statistics.median(over_serial):.2f}x** over the serial sweep (one "
        f"process, no start-up), **{statistics.median(over_pool):.2f}x** over a pool of one worker "
        "(which pays the same ~2 s spawn as the pool of two). Target >= 1.7x.",
        "",
        "## Peak memory (sweep process + workers, local pool of 2, sampled every 0.1 s)",
        "",
        "| runs | quarters | seconds | peak RSS sum (MB) | peak PSS sum (MB) | processes | parts |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in memory_rows:
        lines.append(
            f"| {row['runs']} | {row['quarters']} | {row['seconds']:.1f} | {row['rss_mb']:.0f} | "
            f"{row['pss_mb']:.0f} | {row['processes']} | {row['parts']} |"
        )
    if len(memory_rows) > 1:
        first, last = memory_rows[0], memory_rows[-1]
        growth = (last["pss_mb"] - first["pss_mb"]) / (last["runs"] - first["runs"]) * 1000
        lines += [
            "",
            f"- PSS grows by {growth:.2f} MB per 1,000 runs from {first['runs']} to {last['runs']} runs.",
        ]
    lines += ["", "## sobol_drivers (N = 1024, 10 factors, second order), local pool of 2", ""]
    if sobol:
        lines += [
            "| runs | wall time (s) | runs/s | peak RSS sum (MB) | peak PSS sum (MB) | analyze (s) |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {sobol['runs']} | {sobol['seconds']:.1f} | {sobol['runs'] / sobol['seconds']:.1f} | "
            f"{sobol['rss_mb']:.0f} | {sobol['pss_mb']:.0f} | {sobol['analyze_seconds']:.1f} |",
            "",
            f"Load average before {sobol['load_before']}, after {sobol['load_after']}. Target: < 300 s.",
        ]
    else:
        lines.append("Not run (pass --full; it takes about five minutes).")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also run sobol_drivers at N=1024 (~5 min)")
    parser.add_argument("--reps", type=int, default=160, help="replications per grid point (25 points)")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of the throughput measurements")
    parser.add_argument("--scaling-reps", type=int, default=80, help="replications per point, scaling")
    parser.add_argument("--scaling-rounds", type=int, default=5, help="rounds of the scaling pair")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    parser.add_argument("--out", type=Path, default=RESULTS, help="markdown file to write")
    parser.add_argument("--bare", type=float, help=argparse.SUPPRESS)  # internal: one plain loop
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: one throughput method
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare(args.bare)
        return
    if args.measure:
        print(measure(args.measure, args.reps, args.work), flush=True)
        return
    started = load()
    sizes = [250, 1000] if args.quick else [1250, 5000, 20000]
    reps = 2 if args.quick else args.reps
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        work = Path(tmp)
        print(f"throughput ({len(PRESSURES) * len(ENGAGEMENTS) * reps} runs per method):", flush=True)
        rates, n = throughput(reps, 1 if args.quick else args.repeat, work)
        scaling_reps = 2 if args.quick else args.scaling_reps
        print(f"scaling ({len(PRESSURES) * len(ENGAGEMENTS) * scaling_reps} runs per method):", flush=True)
        scale = scaling(scaling_reps, 1 if args.quick else args.scaling_rounds, work)
        print("memory:", flush=True)
        memory_rows = memory_scaling(sizes, 8, work)
        sobol = None
        if args.full:
            print("sobol_drivers:", flush=True)
            sobol = sobol_full(work)
    text = report(rates, n, scale, scaling_reps, memory_rows, sobol, started, args)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
