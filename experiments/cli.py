"""Subcommands of ``cohesion`` contributed by the experiment layer: sweep, analyze, compare.

Each ``register_*`` function is named by an entry point in the
``cohesion.commands`` group of ``pyproject.toml``; :mod:`model.cli` calls it
with its subparsers and dispatches to the handler it returns. User errors are
raised as :class:`~model.errors.ScenarioError` and printed by ``model.cli`` as
one line with exit status 2.

Exit statuses of ``cohesion sweep``: 0 every run completed; 1 some runs failed
(recorded in ``failures.parquet``), a worker process died or the store could not
be written (a full disk); 2 a user error; 130 interrupted (the store is
consistent; ``--resume`` finishes it). The library's refusals name its arguments;
:func:`_in_flags` rephrases their remedies in this command's flags.
"""

from __future__ import annotations

import argparse
import errno
import shlex
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from model.cli import non_negative_int, positive_int, whole
from model.errors import ScenarioError

if TYPE_CHECKING:
    from experiments.store import RefusalError

EXIT_OK, EXIT_FAILURES, EXIT_INTERRUPTED = 0, 1, 130

Handler = Callable[[argparse.Namespace], int]


# --------------------------------------------------------------------------- sweep


def register_sweep(subparsers: argparse._SubParsersAction) -> Handler:
    """Add ``cohesion sweep DESIGN`` and return its handler."""
    parser = subparsers.add_parser(
        "sweep",
        help="run an experiment design (replicated runs over sampled factors) into a store",
        description="Run every run of a design, chunk by chunk, into Parquet parts under --out. "
        "Exit status: 0 all runs completed, 1 some failed (see failures.parquet), "
        "2 user error, 130 interrupted (finish with --resume).",
    )
    parser.add_argument("design", help="design name (a YAML file in experiments/) or path")
    parser.add_argument(
        "--workers", type=positive_int, help="local worker processes (default: CPUs; 1 runs serially)"
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://127.0.0.1:8786"
    )
    parser.add_argument("--out", type=Path, help="store folder (default results/sweeps/<design>/)")
    parser.add_argument(
        "--resume", action="store_true", help="finish the sweep stored in --out (skips stored runs)"
    )
    parser.add_argument("--retry-failed", action="store_true", help="with --resume, run failed runs again")
    parser.add_argument(
        "--chunk-size", type=positive_int, help="runs per task (default: about 8 tasks per worker, <= 2048)"
    )
    parser.add_argument(
        "--max-runs",
        type=positive_int,
        metavar="N",
        help="run a design of up to N runs (default: a million; larger designs are refused)",
    )
    parser.add_argument("--yes", action="store_true", help="run a design of any size that fits in memory")
    parser.add_argument(
        "--median",
        action="store_true",
        help="calibrated parameters at the scenario's values (the posterior median) instead of drawn "
        "per replication from the posterior (the design's `parameters: median`)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no plan line, no progress bar")
    return _sweep


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


#: Remedies of the library's refusals, in this command's flags.
_REMEDIES = {
    "StoreExistsError": "add --resume to finish it, or give a new --out",
    "OtherDesignError": "use a new --out for this design",
    "TooManyRunsError": "add --yes to run them (or --max-runs N)",
}


def _in_flags(exc: RefusalError) -> ScenarioError:
    """The refusal with its remedy phrased in flags."""
    remedy = _REMEDIES.get(type(exc).__name__)
    return ScenarioError(f"{exc.problem}; {remedy}") if remedy else exc


def resume_command(args: argparse.Namespace, out: Path) -> str:
    """The command line that finishes this sweep, as it ran.

    Its design and store, ``--resume``, and the flags that let it run as it did: a design
    above the default size needs ``--yes`` or ``--max-runs`` again; the workers, the
    cluster and the chunk size are kept.
    """
    words = ["cohesion", "sweep", args.design, "--out", str(out), "--resume"]
    if args.workers:
        words += ["--workers", str(args.workers)]
    if args.scheduler:
        words += ["--scheduler", args.scheduler]
    if args.chunk_size:
        words += ["--chunk-size", str(args.chunk_size)]
    if args.yes:
        words.append("--yes")
    elif args.max_runs:
        words += ["--max-runs", str(args.max_runs)]
    if getattr(args, "median", False):
        words.append("--median")
    if args.quiet:
        words.append("-q")
    return shlex.join(words)


def _sweep(args: argparse.Namespace) -> int:
    from experiments.backends import WorkerLostError
    from experiments.design import load_design
    from experiments.store import RefusalError
    from experiments.sweep import DEFAULT_MAX_RUNS, StoreWriteError, sweep

    if args.retry_failed and not args.resume:
        raise ScenarioError("--retry-failed needs --resume")
    design = load_design(args.design, **({"parameters": "median"} if args.median else {}))
    out = args.out or Path("results") / "sweeps" / design.name
    resume_hint = resume_command(args, out)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # a batch system's kill: stop cleanly
    try:
        report = sweep(
            design,
            out,
            workers=args.workers,
            scheduler=args.scheduler,
            resume=args.resume,
            retry_failed=args.retry_failed,
            chunk_size=args.chunk_size,
            max_runs=None if args.yes else args.max_runs or DEFAULT_MAX_RUNS,
            progress=not args.quiet,
        )
    except RefusalError as exc:
        raise _in_flags(exc) from None
    except KeyboardInterrupt:
        print(
            f"cohesion: interrupted; every part written under {out}/ is complete; finish with: {resume_hint}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except (WorkerLostError, StoreWriteError) as exc:
        then = "free some space, then" if getattr(exc, "errno", None) == errno.ENOSPC else "then"
        print(
            f"cohesion: {exc}; every part written under {out}/ is complete; {then} finish with: "
            f"{resume_hint}",
            file=sys.stderr,
        )
        return EXIT_FAILURES
    finally:
        signal.signal(signal.SIGTERM, previous)
    if args.quiet:
        for line in report.repairs:
            print(f"{design.name}: {line}", file=sys.stderr)
    if report.ran == 0:
        print(f"{design.name}: nothing to run; all {report.n_runs} runs are stored in {out}/")
    else:
        print(
            f"{design.name}: {report.ran} runs in {report.elapsed:.1f} s ({report.rate:.1f} runs/s, "
            f"{report.backend}, chunks of {report.chunk_size})"
            + (f"; {report.stored_before} were already stored" if report.stored_before else "")
        )
    if report.failures:
        print(
            f"{design.name}: {report.failures} of {report.n_runs} runs failed; "
            f"see {out / 'failures.parquet'} (run id, factors, seed, error)",
            file=sys.stderr,
        )
        return EXIT_FAILURES
    print(f"wrote {out}/ (runs/, manifest.json{', series/' if design.every else ''}, failures.parquet)")
    return EXIT_OK


# --------------------------------------------------------------------------- analyze


def register_analyze(subparsers: argparse._SubParsersAction) -> Handler:
    """Add ``cohesion analyze DIR`` and return its handler."""
    parser = subparsers.add_parser(
        "analyze",
        help="figures, tables and a short report from a sweep store",
        description="Read a sweep store and write PNG figures, CSV tables and report.txt "
        "into DIR/analysis/: heatmaps for two-factor grids, Sobol indices, Morris mu* and sigma, "
        "fan charts of series.",
    )
    parser.add_argument("store", type=Path, help="the sweep's folder (its --out)")
    parser.add_argument(
        "--measures",
        help="comma-separated measures for figures (default: cohesion and the three institutions)",
    )
    parser.add_argument("--out", type=Path, help="where to write (default STORE/analysis/)")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print the report")
    return _analyze


def _analyze(args: argparse.Namespace) -> int:
    from experiments.analysis import analyze
    from model.cli import cannot_write

    measures = [m.strip() for m in args.measures.split(",") if m.strip()] if args.measures else None
    out = args.out or args.store / "analysis"
    try:
        written, report = analyze(args.store, out=args.out, measures=measures)
    except OSError as exc:
        if exc.filename and Path(exc.filename).resolve().is_relative_to(out.resolve()):
            raise cannot_write(out, exc, "--out" if args.out else None) from None
        raise ScenarioError(
            f"{exc.filename or args.store}: cannot be read ({exc.strerror or exc.__class__.__name__})"
        ) from None
    if not args.quiet:
        print(report)
    folder = written[0].parent if written else args.out
    print(f"wrote {len(written)} files to {folder}/")
    return EXIT_OK


# --------------------------------------------------------------------------- designs


def register_designs(subparsers: argparse._SubParsersAction) -> Handler:
    """Add ``cohesion designs`` and return its handler."""
    subparsers.add_parser(
        "designs",
        help="list the built-in experiment designs",
        description="The built-in designs 'cohesion sweep NAME' runs: name, runs, sampler and "
        "what each asks.",
    )
    return _designs


def _designs(_: argparse.Namespace) -> int:
    from experiments.design import available_designs, load_design

    for path in available_designs():
        try:
            design = load_design(path)
            print(
                f"{design.name:<26} {design.n_runs:>7,} runs  {design.method:<6}  {design.design.description}"
            )
        except ScenarioError as exc:
            print(f"{path.stem:<26} INVALID: {exc}")
    return EXIT_OK


# --------------------------------------------------------------------------- rerun


def register_rerun(subparsers: argparse._SubParsersAction) -> Handler:
    """Add ``cohesion rerun STORE RUN_ID`` and return its handler."""
    parser = subparsers.add_parser(
        "rerun",
        help="run one stored run of a sweep again, alone, with every table",
        description="Rebuild one run of a sweep store from its manifest, factor values and seed, "
        "run it through the model, and write its full tables as 'cohesion run' does. Its "
        "end-of-run measures equal the run's stored row.",
    )
    parser.add_argument("store", type=Path, help="the sweep's folder (its --out)")
    parser.add_argument("run_id", type=non_negative_int, help="the run's run_id in the store")
    parser.add_argument("--out", type=Path, help="where to write (default results/<STORE>_run<RUN_ID>/)")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print the table")
    return _rerun


def _rerun(args: argparse.Namespace) -> int:
    from experiments.sweep import rerun
    from model.cli import write_run

    results = rerun(args.store, args.run_id)
    default = Path("results") / f"{args.store.resolve().name}_run{args.run_id}"
    return write_run(results, args.out, default, quiet=args.quiet)


# --------------------------------------------------------------------------- compare


def register_compare(subparsers: argparse._SubParsersAction) -> Handler:
    """Add ``cohesion compare SCENARIO_A SCENARIO_B`` and return its handler."""
    parser = subparsers.add_parser(
        "compare",
        help="run two scenarios with common random numbers and show the difference",
        description="Run both scenarios with the same seed and the same posterior draw of the "
        "calibrated parameters per replication (common random numbers) and print the mean "
        "difference B - A of each outcome with a 95% confidence interval.",
    )
    parser.add_argument("scenario_a", help="scenario name or YAML path (A, the reference)")
    parser.add_argument("scenario_b", help="scenario name or YAML path (B)")
    parser.add_argument("--reps", type=whole(2), default=50, help="replications (default 50, at least 2)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="master seed (default 0)")
    parser.add_argument("--steps", type=positive_int, help="quarters (default: A's horizon)")
    parser.add_argument("--workers", type=positive_int, help="local worker processes (default: CPUs)")
    parser.add_argument("--measures", help="comma-separated measures (default: a headline set; 'all')")
    parser.add_argument("--out", type=Path, help="also write compare.csv, runs.csv and compare.png here")
    parser.add_argument(
        "--median",
        action="store_true",
        help="calibrated parameters at each scenario's values (the posterior median) instead of the "
        "same posterior draw for both scenarios per replication",
    )
    return _compare


def _compare(args: argparse.Namespace) -> int:
    from experiments.compare import MARKER as COMPARE_MARKER
    from experiments.compare import compare, format_table, write_comparison
    from experiments.store import OutputFiles
    from model.cli import cannot_write

    measures = None
    if args.measures:
        measures = [m.strip() for m in args.measures.split(",") if m.strip()]
    if args.out:  # refused before the runs, not after
        OutputFiles(args.out, COMPARE_MARKER, kind="cohesion compare", create=False)
    result = compare(
        args.scenario_a,
        args.scenario_b,
        reps=args.reps,
        seed=args.seed,
        steps=args.steps,
        workers=args.workers,
        measures=measures,
        parameters="median" if args.median else "posterior",
    )
    print(format_table(result))
    if args.out:
        try:
            written = write_comparison(result, args.out)
        except OSError as exc:
            raise cannot_write(args.out, exc, "--out") from None
        print(f"wrote {len(written)} files to {args.out}/")
    return EXIT_OK


# --------------------------------------------------------------------------- calibrate, hindcast

#: The hidden file listing what ``cohesion calibrate`` / ``cohesion hindcast`` wrote in a folder.
CALIBRATE_MARKER, HINDCAST_MARKER = ".cohesion-calibrate", ".cohesion-hindcast"


def register_calibrate(subparsers: argparse._SubParsersAction) -> Handler:
    """Add ``cohesion calibrate [DESIGN]`` and return its handler."""
    parser = subparsers.add_parser(
        "calibrate",
        help="fit the behavioural parameters to the 1999-2014 membership record (rejection ABC)",
        description="Run every prior draw of the calibration design through the historical scenario "
        "to 2014Q4, from the 1999 picture and re-started at --origin (default 2007Q1) from the "
        "recorded statuses, keep "
        "the --accept share closest to the membership record, and write "
        "posterior.csv, posterior.json (method, prior, distance, acceptance rate, cost) and "
        "posterior.png into --out.",
    )
    parser.add_argument("design", nargs="?", default="calibration", help="the prior (default: calibration)")
    parser.add_argument("--accept", type=float, default=0.02, help="share of draws kept (default 0.02)")
    parser.add_argument("--draws", type=whole(2), help="prior draws (default: the design's sampler.n)")
    parser.add_argument(
        "--origin",
        type=_origin,
        default="2007Q1",
        help="the second forecast origin, a first quarter from 2000Q1 to 2014Q1, or 'none' to score "
        "the runs from 1999 only (default 2007Q1)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("results/calibration"), help="folder (default results/calibration/)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    return _calibrate


def _origin(text: str) -> object:
    """``--origin``: ``none`` or a quarter (its range is checked by the calibration)."""
    from model.scenario import Quarter

    if text.strip().lower() == "none":
        return None
    try:
        return Quarter.parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a quarter; allowed a first quarter from 2000Q1 to 2014Q1, or none"
        ) from None


def _owned(folder: Path, marker: str, kind: str, names: list[str]) -> object:
    """The folder's OutputFiles with ``names`` claimed (refused before any run if not ours)."""
    from experiments.store import OutputFiles
    from model.cli import cannot_write

    try:
        written = OutputFiles(folder, marker, kind=kind)
        for name in names:
            written.claim(folder / name)
    except OSError as exc:  # a read-only or vanished folder: one line, no traceback
        raise cannot_write(folder, exc, "--out") from None
    return written


def _calibrate(args: argparse.Namespace) -> int:
    from experiments.hindcast import calibrate, calibration_design, write_posterior
    from model.cli import cannot_write

    # a bad option or design is refused before the folder is claimed (and created)
    calibration_design(args.design, accept=args.accept, draws=args.draws, origin=args.origin)
    names = ["posterior.csv", "posterior.json", "posterior.png"]
    written = _owned(args.out, CALIBRATE_MARKER, "cohesion calibrate", names)
    posterior = calibrate(
        args.design, accept=args.accept, draws=args.draws, progress=not args.quiet, origin=args.origin
    )
    try:
        paths = write_posterior(posterior, args.out)
    except OSError as exc:
        raise cannot_write(args.out, exc, "--out") from None
    for path in paths:
        written.add(path)  # type: ignore[attr-defined]
    written.finish()  # type: ignore[attr-defined]
    meta = posterior.meta
    print(
        f"accepted {meta['accepted']:,} of {meta['draws']:,} draws (tolerance {meta['tolerance']:.4f}) "
        f"in {meta['seconds']:.0f} s; wrote {len(paths)} files to {args.out}/"
    )
    return EXIT_OK


def register_hindcast(subparsers: argparse._SubParsersAction) -> Handler:
    """Add ``cohesion hindcast`` and return its handler."""
    parser = subparsers.add_parser(
        "hindcast",
        help="run the 1999-2024 historical scenario and score it against the membership record",
        description="Run the historical scenario to 2024Q4 (each replication's parameters drawn "
        "from the posterior) and score its year-end statuses in sample (1999-2014) and out of "
        "sample (2015-2024) against persistence and the record's base rate: report.md, "
        "scores.csv, differences.csv (model minus reference with 95% intervals over series) and "
        "figures in --out. The out-of-sample forecast is issued at 2015Q1 from "
        "the statuses recorded by then, as persistence's is; the runs left on from 1999 are "
        "scored too, as model_from_1999.",
    )
    parser.add_argument("--reps", type=whole(2), default=200, help="replications (default 200)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="master seed (default 0)")
    parser.add_argument("--median", action="store_true", help="every replication at the posterior median")
    parser.add_argument(
        "--pattern-reps",
        type=non_negative_int,
        default=20,
        help="Mesa model runs for the pattern checks (default 20; 0 leaves them out)",
    )
    parser.add_argument("--posterior", type=Path, help="a calibrate --out folder (default: the shipped one)")
    parser.add_argument(
        "--out", type=Path, default=Path("results/hindcast"), help="folder (default results/hindcast/)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines, no table")
    return _hindcast


def _hindcast(args: argparse.Namespace) -> int:
    from experiments.hindcast import HISTORICAL, hindcast, load_posterior
    from experiments.hindcast_report import write_report
    from model.cli import cannot_write
    from model.scenario import load_scenario

    posterior = None
    if args.posterior is not None:
        posterior = load_posterior(args.posterior / "posterior.csv", args.posterior / "posterior.json")
    states = list(load_scenario(HISTORICAL).states)
    names = [
        "report.md",
        "scores.csv",
        "differences.csv",
        "reliability.png",
        *(f"timeline_{s}.png" for s in states),
    ]
    written = _owned(args.out, HINDCAST_MARKER, "cohesion hindcast", names)
    result = hindcast(
        reps=args.reps, seed=args.seed, median=args.median, posterior=posterior, progress=not args.quiet
    )
    notes = [
        f"Scenario `{HISTORICAL}`, {args.reps} replications, master seed {args.seed}, parameters "
        + ("at the posterior median." if args.median else "drawn from the posterior per replication."),
        f"Ran in {result.seconds:.1f} s.",
    ]
    sections: list[str] = []
    if args.pattern_reps:
        from experiments.patterns import markdown, pattern_checks

        posterior_used = posterior or load_posterior()
        sections = markdown(pattern_checks(posterior_used, reps=args.pattern_reps, seed=args.seed))
    try:
        paths = write_report(
            args.out,
            sections=sections,
            probabilities=result.probabilities,
            record=result.record,
            scores=result.scores,
            timing=result.timing,
            reference=result.reference,
            notes=notes,
            differences=result.differences,
        )
    except OSError as exc:
        raise cannot_write(args.out, exc, "--out") from None
    for path in paths:
        written.add(path)  # type: ignore[attr-defined]
    written.finish()  # type: ignore[attr-defined]
    if not args.quiet:
        print(result.scores.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        print("model minus reference on Brier, 95% interval over series (negative: the model is better):")
        print(result.differences.to_string(index=False, float_format=lambda v: f"{v:+.4f}"))
    print(f"wrote {len(paths)} files to {args.out}/")
    return EXIT_OK
