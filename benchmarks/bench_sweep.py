"""Benchmark of the sweep layer: throughput, scaling, peak memory, the Sobol design.

Measures, side by side in one run on this machine:

1. ``throughput``: runs per second of the baseline (40 quarters, end-of-run outputs) over
   the same parameter points (a grid of Russian pressure x Chinese engagement, replicated):
   plain loops (no sweep machinery) in 1 and 2 processes, ``cohesion sweep`` serially, on a
   local pool of 1 and 2 workers, on a Dask LocalCluster of 2 single-thread workers; and
   Mesa's own ``mesa.batch_run`` with 1 and 2 processes (``data_collection_period=-1``),
   once with the model's default collection (every quarter, per-state rows: what a Mesa
   user gets) and once with the same end-of-run collection the sweep uses;
2. ``scaling``: 1 and 2 workers measured back to back in rotating order, overall and in
   steady state (after the workers' start-up and the first chunk);
3. ``memory``: peak memory (RSS and PSS summed over the sweep process and its workers,
   sampled from /proc every 0.1 s) of sweeps of 1,250 to 20,000 runs;
4. ``sobol`` (with ``--full``): the wall time and peak memory of ``cohesion sweep
   sobol_drivers`` (N = 1024, 22,528 runs) on 2 workers, and of ``cohesion analyze``.

Usage: python benchmarks/bench_sweep.py [--full] [--sections throughput,scaling,memory]
[--reps N] [--repeat K] [--quick] [--out FILE]. Writes benchmarks/results/sweep.md (or
FILE) and prints the same tables.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
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


def grid_design(
    folder: Path, name: str, reps: int, quarters: int = QUARTERS, factors: dict | None = None
) -> Path:
    """A design of the baseline over the grid of Russian pressure x Chinese engagement (or ``factors``)."""
    grid = {"powers.russia.pressure": PRESSURES, "powers.china.engagement": ENGAGEMENTS}
    data = {
        "name": name,
        "description": "Benchmark grid: Russian pressure x Chinese engagement.",
        "scenario": "baseline",
        "factors": grid if factors is None else factors,
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

    def final_measures(scenario, seed, measures):  # one run on the Mesa model, end-of-run outputs
        model = AllianceModel(scenario, rng=seed, collect="final")
        while model.running:
            model.step()
        return {name: model.measures[name] for name in measures}

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


class Marks:
    """A progress stream that records when each progress line (every tenth of the runs) came."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, int]] = []

    def write(self, text: str) -> None:
        found = re.search(r"(\d+)/\d+ runs", text)
        if found:
            self.marks.append((time.perf_counter(), int(found[1])))

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def steady(self) -> float | None:
        """Runs/s from the first progress line to the last: after start-up and the first chunk."""
        if len(self.marks) < 2:
            return None
        (t0, n0), (t1, n1) = self.marks[0], self.marks[-1]
        return (n1 - n0) / (t1 - t0)


#: Steady-state rate of the last sweep measured in this process (see Marks).
STEADY: list[float | None] = [None]


def sweep_rate(design_path: Path, work: Path, **options) -> float:
    from experiments.design import load_design
    from experiments.sweep import sweep

    out = work / f"out-{time.monotonic_ns()}"
    design = load_design(design_path)
    marks = Marks()
    t0 = time.perf_counter()
    report = sweep(design, out, progress=True, stream=marks, **options)
    elapsed = time.perf_counter() - t0
    assert report.ran == design.n_runs and report.failures == 0
    shutil.rmtree(out)
    STEADY[0] = marks.steady()
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
    return measured_both(name, method, reps, work)[0]


def measured_both(name: str, method: str, reps: int, work: Path) -> tuple[float, float | None]:
    """Runs/s of one method in a fresh subprocess: overall, and in steady state (sweeps only)."""
    done = subprocess.run(
        [sys.executable, __file__, "--measure", method, "--reps", str(reps), "--work", str(work)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name}: {done.stderr.strip()[-800:]}")
    values = [float(x) for x in done.stdout.strip().splitlines()[-1].split()]
    return values[0], (values[1] if len(values) > 1 else None)


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
    steady: dict[str, list[float]] = {name: [] for name in SCALING}
    names = list(SCALING)
    for round_ in range(rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            rate, rest = measured_both(name, SCALING[name], reps, work)
            rates[name].append(rate)
            steady[name].append(rest if rest is not None else float("nan"))
            print(
                f"  round {round_ + 1}: {name}: {rate:.1f} runs/s, {steady[name][-1]:.1f} after the "
                f"first chunk (load {load()})",
                flush=True,
            )
    return {"wall": rates, "steady": steady}


def _pool(workers: int):
    from experiments.backends import PoolBackend

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


def header(started_load: str) -> list[str]:
    from model.output import git_commit

    return [
        "# Sweep benchmark",
        "",
        f"{datetime.now(UTC).isoformat(timespec='seconds')}, git {git_commit()}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs ({cpu_model()}), load average at start "
        f"{started_load}, at end {load()}. The host's speed drifts by 10-20% from minute to minute, "
        "so methods are measured in interleaved rounds and compared within a round.",
    ]


def _ratios(a: list[float], b: list[float]) -> list[float]:
    return [x / y for x, y in zip(a, b, strict=True)]


def _listed(values: list[float]) -> str:
    text = ", ".join(f"{v:.2f}x" for v in values)
    return text + (f" (median {statistics.median(values):.2f}x)" if len(values) > 1 else "")


def throughput_section(rates: dict[str, list[float]], n: int) -> list[str]:
    rounds = len(next(iter(rates.values())))
    pool2 = "cohesion sweep, local pool, 2 workers"
    plain1 = "plain loop over the grid's points, 1 process (no sweep machinery)"
    plain2 = "plain loops over the grid's points, 2 processes side by side"

    def ratio(a: str, b: str) -> str:
        return _listed(_ratios(rates[a], rates[b]))

    lines = [
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
    return [
        *lines,
        "",
        "Ratios, per round:",
        "",
        "- sweep (pool of 2) vs mesa.batch_run with 2 processes: "
        f"**{ratio(pool2, 'mesa.batch_run, 2 processes, model' + chr(39) + 's collection')}** against the "
        "model's default collection (every quarter, per-state rows: what a Mesa user gets), "
        f"{ratio(pool2, 'mesa.batch_run, 2 processes, end-of-run collection')} against the same "
        "end-of-run collection the sweep uses. Target >= 2x.",
        f"- 1 to 2 workers, in this table: {ratio(pool2, 'cohesion sweep, serial')} from the serial sweep, "
        f"{ratio(pool2, 'cohesion sweep, local pool, 1 worker')} from a pool of 1 worker (see the next "
        "section, measured back to back).",
        "- what the machine allows: two plain loops side by side (15 s each, after start-up) run "
        f"{ratio(plain2, plain1)} as many runs as one; the pool of 2, start-up included, reaches "
        f"{ratio(pool2, plain2)} of that, and the serial sweep {ratio('cohesion sweep, serial', plain1)} "
        "of one plain loop.",
        f"- Dask LocalCluster (2 workers) vs local pool (2 workers): "
        f"{ratio('cohesion sweep, Dask LocalCluster, 2 workers (cluster already up)', pool2)}.",
    ]


def scaling_section(scale: dict[str, dict[str, list[float]]], reps: int) -> list[str]:
    wall, steady = scale["wall"], scale["steady"]
    lines = [
        "",
        f"## Speed-up from 1 to 2 workers: {len(PRESSURES) * len(ENGAGEMENTS) * reps} runs per "
        f"measurement, {len(wall['serial'])} rounds, the three measured back to back in an order that "
        "rotates by round",
        "",
        "Overall: wall time of the whole sweep, the pools' ~2 s worker start-up included. Steady: from "
        "the first progress line (a tenth of the runs done) to the last, i.e. after start-up.",
        "",
        "| round | serial | pool of 1 | pool of 2 | 2 vs serial | 2 vs 1 | serial, steady | "
        "pool of 1, steady | pool of 2, steady | 2 vs serial, steady | 2 vs 1, steady |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ratios = {
        "wall serial": _ratios(wall["pool of 2"], wall["serial"]),
        "wall pool": _ratios(wall["pool of 2"], wall["pool of 1"]),
        "steady serial": _ratios(steady["pool of 2"], steady["serial"]),
        "steady pool": _ratios(steady["pool of 2"], steady["pool of 1"]),
    }
    for k in range(len(wall["serial"])):
        cells = [
            *(f"{wall[m][k]:.1f}" for m in SCALING),
            f"{ratios['wall serial'][k]:.2f}x",
            f"{ratios['wall pool'][k]:.2f}x",
            *(f"{steady[m][k]:.1f}" for m in SCALING),
            f"{ratios['steady serial'][k]:.2f}x",
            f"{ratios['steady pool'][k]:.2f}x",
        ]
        lines.append(f"| {k + 1} | " + " | ".join(cells) + " |")
    median = {key: statistics.median(values) for key, values in ratios.items()}
    return [
        *lines,
        "",
        f"- median speed-up, steady: **{median['steady serial']:.2f}x** over the serial sweep, "
        f"**{median['steady pool']:.2f}x** over a pool of 1 worker. Overall, start-up included: "
        f"{median['wall serial']:.2f}x and {median['wall pool']:.2f}x. Target >= 1.7x. (Runs/s.)",
    ]


def memory_section(memory_rows: list[dict]) -> list[str]:
    lines = [
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
    return lines


def sobol_section(sobol: dict) -> list[str]:
    return [
        "",
        "## sobol_drivers (N = 1024, 10 factors, second order), local pool of 2",
        "",
        "| runs | wall time (s) | runs/s | peak RSS sum (MB) | peak PSS sum (MB) | analyze (s) |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {sobol['runs']} | {sobol['seconds']:.1f} | {sobol['runs'] / sobol['seconds']:.1f} | "
        f"{sobol['rss_mb']:.0f} | {sobol['pss_mb']:.0f} | {sobol['analyze_seconds']:.1f} |",
        "",
        f"Load average before {sobol['load_before']}, after {sobol['load_after']}. Target: < 300 s.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also run sobol_drivers at N=1024 (~5 min)")
    parser.add_argument("--reps", type=int, default=160, help="replications per grid point (25 points)")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of the throughput measurements")
    parser.add_argument("--scaling-reps", type=int, default=80, help="replications per point, scaling")
    parser.add_argument("--scaling-rounds", type=int, default=5, help="rounds of the scaling pair")
    parser.add_argument(
        "--sections", default="throughput,scaling,memory", help="what to measure (comma-separated)"
    )
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
        rate = measure(args.measure, args.reps, args.work)
        print(rate, *(() if STEADY[0] is None else (STEADY[0],)), flush=True)
        return
    started = load()
    sections = set(args.sections.split(",")) | ({"sobol"} if args.full else set())
    unknown = sections - {"throughput", "scaling", "memory", "sobol"}
    if unknown:
        parser.error(
            f"--sections: unknown {', '.join(sorted(unknown))}; allowed throughput, scaling, memory, sobol"
        )
    lines = []
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        work = Path(tmp)
        if "throughput" in sections:
            reps = 2 if args.quick else args.reps
            print(f"throughput ({len(PRESSURES) * len(ENGAGEMENTS) * reps} runs per method):", flush=True)
            rates, n = throughput(reps, 1 if args.quick else args.repeat, work)
            lines += throughput_section(rates, n)
        if "scaling" in sections:
            scaling_reps = 2 if args.quick else args.scaling_reps
            print(
                f"scaling ({len(PRESSURES) * len(ENGAGEMENTS) * scaling_reps} runs per method):", flush=True
            )
            lines += scaling_section(
                scaling(scaling_reps, 1 if args.quick else args.scaling_rounds, work), scaling_reps
            )
        if "memory" in sections:
            print("memory:", flush=True)
            lines += memory_section(
                memory_scaling([250, 1000] if args.quick else [1250, 5000, 20000], 8, work)
            )
        if "sobol" in sections:
            print("sobol_drivers:", flush=True)
            lines += sobol_section(sobol_full(work))
    text = "\n".join(header(started) + lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
