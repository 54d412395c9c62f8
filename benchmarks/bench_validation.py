"""What validation costs: `cohesion calibrate` and `cohesion hindcast`, timed on this machine.

Runs the calibration on the shipped design (all its prior draws, 1999Q2-2014Q4 each) and the
hindcast (200 replications to 2024Q4, parameters from the shipped posterior), each once,
and writes benchmarks/results/validation.md and the README's ``bench-validation`` block.
``--quick`` times 1,000 draws and 50 replications instead (and touches no README).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from experiments.design import load_design
from experiments.hindcast import calibrate, hindcast

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "validation.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    draws = 1000 if args.quick else load_design("calibration").n_runs
    reps = 50 if args.quick else 200
    t = time.perf_counter()
    posterior = calibrate(draws=draws, progress=False)
    calibration = time.perf_counter() - t
    t = time.perf_counter()
    result = hindcast(reps=reps, progress=False)
    cast = time.perf_counter() - t
    lines = [
        f"- `cohesion calibrate`: {draws:,} prior draws of 63 quarters (11 states), each run twice "
        f"(from 1999 and re-started at 2007Q1), in {calibration:.1f} s "
        f"({2 * draws / calibration:,.0f} runs a second), {posterior.meta['accepted']:,} accepted;",
        f"- `cohesion hindcast`: {reps} replications of 103 quarters, each run from 1999 and "
        f"re-started at 2015Q1, scored in and out of sample, in "
        f"{cast:.1f} s ({result.seconds:.1f} s of it running and scoring; the rest loads the posterior).",
    ]
    text = "\n".join(lines)
    header = f"# Validation costs\n\nOne run each on {platform.machine()} ({platform.python_version()}).\n\n"
    print(text)
    if not args.quick:
        RESULTS.write_text(header + text + "\n")
        from readme_block import replace_block

        replace_block("bench-validation", text)


if __name__ == "__main__":
    main()
