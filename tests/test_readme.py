"""The README's commands are real: make targets exist, CI calls the test command,
every `cohesion` subcommand the README names exists, every file it links exists."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from model.cli import build_parser
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def quick_start_commands() -> list[str]:
    block = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("#")[0].strip() for line in block.strip().splitlines()]


def test_quick_start_is_two_make_commands_that_exist():
    commands = quick_start_commands()
    assert commands == ["make run", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    for command in commands:
        target = command.split()[1]
        assert re.search(rf"^{target}:", makefile, re.M), target


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def test_every_cohesion_subcommand_in_the_readme_exists():
    subparsers = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    named = set(re.findall(r"`cohesion ([a-z]+)", README))
    assert named, "the README names no cohesion subcommand"
    assert named <= set(subparsers.choices), named - set(subparsers.choices)


def test_every_linked_file_exists():
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if target.startswith("http"):
            continue
        assert (ROOT / target).exists(), target


def test_the_readme_landscape_example_runs(tmp_path):
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", README, re.S) if "propensity:" in b)
    (tmp_path / "landscape.yaml").write_text(block)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "cohesion"), "landscape", str(tmp_path / "landscape.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "{Russia, Armenia} vs {Azerbaijan}" in done.stdout.splitlines()[1]


def _readme_block():
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_block", ROOT / "benchmarks" / "readme_block.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_performance_blocks_are_marked_for_the_benchmarks_to_regenerate():
    for name in ("bench-run", "bench-engine"):
        assert README.count(f"<!-- {name} -->\n") == 1 and README.count(f"<!-- /{name} -->") == 1, name


def test_a_benchmark_replaces_only_its_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- bench-run -->\nold table\n<!-- /bench-run -->\nafter\n")
    assert _readme_block().replace_block("bench-run", "new table\n", readme)
    assert readme.read_text() == "intro\n<!-- bench-run -->\nnew table\n<!-- /bench-run -->\nafter\n"
    assert not _readme_block().replace_block("bench-engine", "x", readme)  # no such block: unchanged
    assert "new table" in readme.read_text()
