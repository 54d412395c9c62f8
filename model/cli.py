"""The ``cohesion`` command line: run, check, list, schema, landscape.

Every user error (a bad scenario, a missing file, a bad flag) is printed as
one line on standard error and exits with status 2, without a traceback: a
bad flag through argparse, anything else as a
:class:`~model.errors.ScenarioError`, raised where the user's input is read
or the user's path is written. Any other exception is a bug and shows as one,
with its traceback (exit status 1). Ctrl-C exits with 130; a closed standard
output (``cohesion list | head -1``) ends the command quietly with 141, as
SIGPIPE does for other Unix tools.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path

from model.errors import ScenarioError
from model.extras import install_hint
from model.safe_yaml import show

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for `yes | head -1`


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, not usage text plus a line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print one line naming the problem and exit with status 2."""
        from model.safe_yaml import clip_path

        # argparse quotes the bad value (a 5,000-digit --seed): keep its start and its end.
        message = " ".join(clip_path(message, 300).split())
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` (to ``high``), with a one-line error."""
    allowed = f"allowed {low:,} or more" if high is None else f"allowed {low:,} to {high:,}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{show(text)} is not a whole number; {allowed}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{show(value)} is out of range; {allowed}")
        return value

    parse.__name__ = f"whole number ({allowed})"
    return parse


#: A whole number >= 0 (an argparse type), with a one-line error.
non_negative_int = whole(0)
#: A whole number >= 1 (an argparse type), with a one-line error.
positive_int = whole(1)


def quarters(text: str) -> int:
    """Parse a number of quarters, 1 to 400 (an argparse type), with a one-line error."""
    from model.arguments import MAX_QUARTERS

    return whole(1, MAX_QUARTERS)(text)


def cannot_write(path: Path, exc: OSError, flag: str | None) -> ScenarioError:
    """A one-line error for an output path the user chose (or the default one)."""
    reason = exc.strerror or exc.__class__.__name__
    if flag:
        return ScenarioError(f"{flag} {path}: cannot write there ({reason})")
    return ScenarioError(f"{path}: cannot write there ({reason}); choose another folder with --out")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one subcommand per job."""
    parser = OneLineParser(
        prog="cohesion",
        description="Agent-based model of the cohesion of the Russia-led alliances (CIS, CSTO, EAEU).",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    run = sub.add_parser("run", help="run a scenario and write its results")
    run.add_argument("scenario", help="scenario name (see 'cohesion list') or YAML path")
    run.add_argument("--steps", type=quarters, help="quarters to simulate, 1 to 400 (default: horizon)")
    run.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    run.add_argument("--out", type=Path, help="output folder (default results/<scenario>/)")
    run.add_argument("-q", "--quiet", action="store_true", help="do not print the summary table")

    check = sub.add_parser("check", help="validate a scenario without running it")
    check.add_argument("scenario", help="scenario name or YAML path")

    sub.add_parser("list", help="list the built-in scenarios")

    schema = sub.add_parser("schema", help="write the scenario JSON Schema (for editors)")
    schema.add_argument("--out", type=Path, help="file to write (default: standard output)")

    land = sub.add_parser("landscape", help="local minima of an Axelrod-Bennett landscape")
    land.add_argument("file", type=Path, help="YAML with actors [{name, size}] and propensity")
    land.add_argument("--json", action="store_true", help="print JSON instead of a table")
    land.add_argument(
        "--limit",
        type=whole(1, LANDSCAPE_MAX),
        default=LANDSCAPE_LIMIT,
        metavar="N",
        help=f"show the N lowest minima (default {LANDSCAPE_LIMIT}, at most {LANDSCAPE_MAX:,}); "
        "all are counted",
    )

    for name, register in plugins():
        PLUGIN_COMMANDS[name] = register(sub)
    return parser


#: Handlers of subcommands registered by plugins (filled by ``build_parser``).
PLUGIN_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def plugins() -> list[tuple[str, Callable]]:
    """Subcommands other parts of the project register in the ``cohesion.commands`` group.

    Each entry point names a ``register(subparsers) -> handler`` function that
    adds one subparser (named as the entry point) and returns the function that
    runs it. The model package never imports the experiment layer or the view;
    they plug in here.
    """
    found = []
    for entry in sorted(entry_points(group="cohesion.commands"), key=lambda e: e.name):
        try:
            found.append((entry.name, entry.load()))
        except ImportError as exc:
            found.append((entry.name, _unavailable(entry.name, exc)))
    return found


def _unavailable(name: str, exc: ImportError) -> Callable:
    extra = "viz" if name == "viz" else "experiments"

    def register(sub) -> Callable[[argparse.Namespace], int]:
        parser = sub.add_parser(name, help=f"(unavailable: {exc.name or exc} is not installed)")
        parser.set_defaults(unavailable=True)  # takes any arguments: main says what is missing

        def handler(_: argparse.Namespace) -> int:
            raise ScenarioError(
                f"'cohesion {name}' needs {exc.name or exc}, which is not installed; {install_hint(extra)}"
            )

        return handler

    return register


def _run(args: argparse.Namespace) -> int:
    from model.scenario import load_scenario
    from model.simulate import simulate

    scenario = load_scenario(args.scenario)
    results = simulate(scenario, seed=args.seed, steps=args.steps)
    return write_run(results, args.out, Path("results") / scenario.name, quiet=args.quiet)


def write_run(results, out: Path | None, default: Path, *, quiet: bool) -> int:
    """Write a run's tables into ``out`` (``default`` if None), print its table and what was written.

    Used by ``cohesion run`` and ``cohesion rerun``.

    Raises:
        ScenarioError: the folder holds files that are not a run's, or cannot be written.
    """
    from model.output import summary_table, write_results

    folder = out or default
    try:
        written = write_results(results, folder)
    except OSError as exc:
        raise cannot_write(folder, exc, "--out" if out else None) from None
    if not quiet:
        print(summary_table(results))
    print(f"wrote {len(written)} files to {folder}/ ({', '.join(p.name for p in written)})")
    return 0


def _check(args: argparse.Namespace) -> int:
    from model.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    print(
        f"{scenario.name}: ok ({len(scenario.states)} states, {scenario.horizon} quarters "
        f"from {scenario.start}, {len(scenario.shocks)} shocks)"
    )
    return 0


def _list(_: argparse.Namespace) -> int:
    from model.scenario import available_scenarios, load_scenario

    for path in available_scenarios():
        try:
            scenario = load_scenario(path)
            print(f"{scenario.name:<26} {scenario.description}")
        except ScenarioError as exc:
            print(f"{path.stem:<26} INVALID: {exc}")
    return 0


def _schema(args: argparse.Namespace) -> int:
    from model.output import atomic_write
    from model.scenario import json_schema

    schema = json_schema()
    text = json.dumps(schema, indent=2) + "\n"
    if args.out:
        _refuse_foreign_schema(args.out, schema["title"])
        try:
            atomic_write(args.out, lambda tmp: tmp.write_text(text))
        except OSError as exc:
            raise cannot_write(args.out, exc, "--out") from None
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _refuse_foreign_schema(path: Path, title: str) -> None:
    """Refuse to replace a file that is not an earlier ``cohesion schema`` output.

    Raises:
        ScenarioError: ``path`` is a folder, or a file that is not a scenario schema.
    """
    if path.is_dir():
        raise ScenarioError(f"--out {path}: is a folder; give a file name for the schema")
    if not path.exists():
        return
    from model.safe_yaml import MAX_BYTES, read_bytes

    try:  # a regular file of at most 1 MiB, read without waiting on a pipe
        ours = (
            json.loads(read_bytes(path, max_bytes=MAX_BYTES, what="a scenario schema")).get("title") == title
        )
    except (ValueError, AttributeError, RecursionError):  # ScenarioError is a ValueError
        ours = False
    if not ours:
        raise ScenarioError(
            f"--out {path}: already exists and is not a scenario schema written by cohesion schema; "
            "give a new file name (it is never replaced)"
        )


def _landscape(args: argparse.Namespace) -> int:
    from model.landscape import load_landscape, minima_as_json, search

    names, sizes, propensity = load_landscape(args.file)  # a ScenarioError names the file's problem
    found, count = search(sizes, propensity, limit=args.limit)
    if args.json:
        print(json.dumps({"count": count, **minima_as_json(names, found)}, indent=2))
        return 0
    shown = f"; the lowest {len(found):,} shown (--limit N shows more)" if len(found) < count else ""
    print(f"{count:,} local minim{'um' if count == 1 else 'a'} (global first){shown}")
    for rank, config in enumerate(found, 1):
        left, right = config.groups(names)
        print(f"{rank:>3}. E = {config.energy:+.4f}   {{{', '.join(left)}}} vs {{{', '.join(right)}}}")
    return 0


#: Minima ``cohesion landscape`` shows unless told (a flat landscape of 20 actors has 524,288).
LANDSCAPE_LIMIT = 50
#: The most ``--limit`` may ask for (10,000 minima print as about 4 MB of JSON).
LANDSCAPE_MAX = 10_000

COMMANDS = {
    "run": _run,
    "check": _check,
    "list": _list,
    "schema": _schema,
    "landscape": _landscape,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cohesion`` command."""
    try:
        parser = build_parser()  # loads the plugins: a Ctrl+C may come while they import
        args, unknown = parser.parse_known_args(argv)  # as parse_args does, but an unavailable
        if unknown and not getattr(args, "unavailable", False):  # command's arguments are its own
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        handler = COMMANDS.get(args.command) or PLUGIN_COMMANDS[args.command]
        status = handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
    except ScenarioError as exc:
        message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        print(f"cohesion: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("cohesion: interrupted; files already written are complete", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of standard output has gone (``cohesion list | head -1``). Point
        # stdout at devnull so the interpreter's final flush cannot fail again
        # (https://docs.python.org/3/library/signal.html#note-on-sigpipe).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return status


if __name__ == "__main__":
    sys.exit(main())
