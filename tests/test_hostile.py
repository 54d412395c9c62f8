"""Hostile inputs through the command line: one line, exit 2, quickly, in little memory, nothing written.

Every file of ``tests/hostile/`` (listed in its README) goes through the commands that
read it, as a user would run them: scenarios through ``check``, ``run --out``, ``viz``
and ``sweep`` (as a design's base scenario), designs through ``sweep --out``, landscapes
through ``landscape``. Large cases (50 MB files, a chain of 1,200 ``extends:``, 10^6
actors) are generated here rather than committed. Each command must exit with status 2,
print exactly one line on standard error and no traceback, finish within 10 s and
500 MB, and write nothing: it runs in an empty folder that must stay empty.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from model.errors import ScenarioError
from model.model import AllianceModel
from model.safe_yaml import load_yaml, show
from model.scenario import load_scenario
from tests.conftest import ROOT

COHESION = Path(sys.executable).parent / "cohesion"
HOSTILE = ROOT / "tests" / "hostile"
SCENARIOS = sorted(p.name for p in HOSTILE.glob("scenario_*"))
DESIGNS = sorted(p.name for p in HOSTILE.glob("design_*.yaml"))
LANDSCAPES = sorted(p.name for p in HOSTILE.glob("landscape_*.yaml"))
SECONDS = 10
MEGABYTES = 500
SECRET = "hunter2-do-not-echo"


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    megabytes: float
    killed: bool  # still running at the timeout: the bounded-time contract broken


def _sample_peak(pid: int, peak: list[int]) -> None:
    """Keep in ``peak[0]`` the largest ``VmHWM`` (kB) of process ``pid`` until it exits."""
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            text = status.read_text()
        except OSError:  # reaped
            return
        for line in text.splitlines():
            if line.startswith("VmHWM:"):
                peak[0] = max(peak[0], int(line.split()[1]))
                break
        else:  # a zombie has no memory left to measure
            if "State:\tZ" in text:
                return
        time.sleep(0.002)


def drive(*args: str, cwd: Path, timeout: float = SECONDS) -> Outcome:
    """Run ``cohesion ARGS`` in ``cwd``; measure its peak memory, kill it at ``timeout``.

    Peak memory is the child's own high-water resident set (``VmHWM`` of
    ``/proc/PID/status``, which starts afresh at ``exec``), sampled every 2 ms while
    it lives. ``ru_maxrss`` from ``wait4`` is not used for it: on Linux it carries
    the high-water of the forked copy of this pytest process from before ``exec``,
    so it reports the test runner's size (over 500 MB late in a full run), not the
    command's. A command still running after ``timeout`` is killed with its process
    group (a ``viz`` that started a server, a load that hangs) and reported as such.
    """
    proc = subprocess.Popen(
        [str(COHESION), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    streams: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda name=name, s=s: streams.__setitem__(name, s.read()))
        for name, s in (("out", proc.stdout), ("err", proc.stderr))
    ]
    for reader in readers:
        reader.start()
    peak = [0]
    sampler = threading.Thread(target=_sample_peak, args=(proc.pid, peak), daemon=True)
    sampler.start()
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        _, status = os.waitpid(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.join()
    for reader in readers:
        reader.join()
    proc.stdout.close()
    proc.stderr.close()
    return Outcome(
        returncode=proc.returncode,
        stdout=streams["out"].decode(errors="replace"),
        stderr=streams["err"].decode(errors="replace"),
        megabytes=peak[0] / 1024,  # VmHWM is in kB
        killed=killed.is_set(),
    )


def assert_refused(outcome: Outcome, cwd: Path, *fragments: str) -> str:
    """Exit 2, one line on stderr, no traceback, in time and memory, nothing written to ``cwd``."""
    where = f"stderr={outcome.stderr[-2000:]!r}"
    assert not outcome.killed, f"still running after {SECONDS} s, killed; {where}"
    assert outcome.returncode == 2, f"exit {outcome.returncode}; {where}"
    assert "Traceback" not in outcome.stderr, where
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1, where
    assert len(lines[0]) < 1_000, f"a {len(lines[0])}-character line"
    assert outcome.megabytes < MEGABYTES, f"peak memory {outcome.megabytes:.0f} MB"
    assert list(cwd.iterdir()) == [], f"wrote {sorted(p.name for p in cwd.iterdir())}"
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def empty(tmp_path) -> Path:
    """An empty working folder; the command must leave it empty."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module", autouse=True)
def corpus_unchanged():
    """No command creates or changes a file of the corpus (e.g. a ``pwned.txt``)."""
    before = {p: p.stat().st_mtime_ns for p in HOSTILE.rglob("*")}
    yield
    assert {p: p.stat().st_mtime_ns for p in HOSTILE.rglob("*")} == before


def free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def base_design(folder: Path, scenario: Path) -> Path:
    """A valid design, outside the working folder, whose base scenario is ``scenario``."""
    design = folder / "design.yaml"
    design.write_text(
        "name: hostile_base\ndescription: a valid design over a hostile scenario\n"
        f"scenario: {scenario}\nfactors:\n  powers.russia.pressure: {{min: 0.0, max: 1.0, num: 2}}\nseed: 1\n"
    )
    return design


# --------------------------------------------------------------------------- the corpus


def test_the_corpus_is_listed_in_its_readme():
    readme = (HOSTILE / "README.md").read_text()
    for name in (*SCENARIOS, *DESIGNS, *LANDSCAPES):
        assert f"`{name}`" in readme, f"{name} is not described in tests/hostile/README.md"
    assert len(SCENARIOS) >= 30 and len(DESIGNS) >= 8 and len(LANDSCAPES) >= 10


#: The cases of the issue: through every command. The others go through one command each,
#: in turn, so that every command meets a quarter of the corpus (a command's start-up is
#: about a second); COHESION_HOSTILE_FULL=1 sends every case through every command.
EVERY_COMMAND = {
    "scenario_alias_bomb.yaml",
    "scenario_alias_bomb_in_field.yaml",
    "scenario_deep_nesting.yaml",
    "scenario_duplicate_state.yaml",
    "scenario_duplicate_horizon.yaml",
    "scenario_extends_etc_passwd.yaml",
    "scenario_economic_weight_inf.yaml",
    "scenario_economic_weight_1e308.yaml",
    "scenario_pressure_true.yaml",
}
COMMANDS = ("check", "run", "viz", "sweep")

#: What the line must say, for some cases (every command's line says it).
EXPECTED = {
    "scenario_alias_bomb.yaml": "more than 10,000 values once aliases are expanded",
    "scenario_alias_bomb_in_field.yaml": "more than 10,000 values once aliases are expanded",
    "scenario_deep_nesting.yaml": "nested deeper than 50 levels",
    "scenario_duplicate_state.yaml": "duplicate key 'KAZ' (first on line 6, again on line 8)",
    "scenario_duplicate_horizon.yaml": "duplicate key 'horizon' (first on line 5, again on line 6)",
    "scenario_extends_etc_passwd.yaml": "is not a scenario file (expected a YAML mapping with name",
    "scenario_economic_weight_inf.yaml": "states.KAZ.economic_weight: Input should be a finite number",
    "scenario_economic_weight_1e308.yaml": "economic_weight: Input should be less than or equal to 100000",
    "scenario_pressure_true.yaml": "powers.russia.pressure: Input should be a valid number (got True)",
    "scenario_horizon_true.yaml": "horizon: a whole number is expected, not true/false",
    "scenario_python_object_tag.yaml": "YAML tag !!python/object/apply:os.system is not allowed",
    "scenario_merge_key.yaml": "merge keys (<<) are not supported",
    "scenario_list_key.yaml": "a key must be a single value",
    "scenario_nul_byte.yaml": "the character #x0000 is not allowed",
    "scenario_latin1.yaml": "not UTF-8 text",
    "scenario_folder.yaml": "is a folder",
    "scenario_horizon_huge_int.yaml": "integers must lie within 64 bits",
    "scenario_recursive_alias.yaml": "an alias refers to a list or mapping that contains it",
    "scenario_extends_long_name.yaml": "is not a usable path (File name too long)",
    "scenario_extends_nul.yaml": "is not a usable path (embedded null byte)",
    "design_values_bool.yaml": "pressure.values[0]: Input should be a valid number (got True)",
    "design_replications_true.yaml": "replications: a whole number is expected, not true/false",
    "scenario_horizon_quoted.yaml": "horizon: Input should be a valid integer (got '40')",
    "design_replications_quoted.yaml": "replications: Input should be a valid integer (got '3')",
    "design_max_inf.yaml": "pressure.max: Input should be a finite number (got inf)",
    "scenario_shock_no_state.yaml": "shocks[0].states: an empty list affects no state",
    "scenario_shock_state_twice.yaml": "shocks[0].states: KAZ is listed twice",
    "scenario_conflict_with_itself.yaml": "shocks[0].states: ARM is listed twice",
}


def commands_for(name: str) -> tuple[str, ...]:
    if name in EVERY_COMMAND or os.environ.get("COHESION_HOSTILE_FULL"):
        return COMMANDS
    return (COMMANDS[SCENARIOS.index(name) % len(COMMANDS)],)


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIOS)
def test_hostile_scenario_is_refused(name, tmp_path):
    path = HOSTILE / name
    design = base_design(tmp_path, path)
    every = {
        "check": ("check", str(path)),
        "run": ("run", str(path), "--out", "out"),
        "viz": ("viz", str(path), "--port", free_port()),
        "sweep": ("sweep", str(design), "--out", "out"),
    }
    commands = {command: every[command] for command in commands_for(name)}
    folders = {command: tmp_path / command for command in commands}
    for folder in folders.values():
        folder.mkdir()
    with ThreadPoolExecutor(max_workers=2) as pool:  # the start-up of a command is most of its time
        outcomes = {c: pool.submit(drive, *args, cwd=folders[c]) for c, args in commands.items()}
    for command, outcome in outcomes.items():
        line = assert_refused(outcome.result(), folders[command], str(path), EXPECTED.get(name, ""))
        assert SECRET not in line, command


@pytest.mark.slow
@pytest.mark.parametrize("name", DESIGNS)
def test_hostile_design_is_refused(name, empty):
    path = HOSTILE / name
    outcome = drive("sweep", str(path), "--out", str(empty / "out"), cwd=empty)
    assert_refused(outcome, empty, str(path), EXPECTED.get(name, ""))


@pytest.mark.slow
@pytest.mark.parametrize("name", LANDSCAPES)
def test_hostile_landscape_is_refused(name, empty):
    path = HOSTILE / name
    assert_refused(drive("landscape", str(path), "--json", cwd=empty), empty, str(path))


# --------------------------------------------------------------------------- generated cases


@pytest.mark.parametrize(
    "args",
    [("run", "baseline", "--seed", "5" * 5_000), ("run", "baseline", "--steps", "-" + "9" * 4_000),
     ("viz", "--port", "8" * 5_000), ("sweep", "pressure_vs_engagement", "--workers", "x" * 5_000),
     ("run", "baseline", "--unknown-flag-" + "z" * 5_000)],
)  # fmt: skip
def test_a_huge_command_line_value_is_echoed_short(args, empty):
    line = assert_refused(drive(*args, cwd=empty), empty, "(see cohesion")
    assert len(line) < 400, line


@pytest.mark.parametrize("command", ["check", "run", "sweep", "landscape", "viz"])
def test_a_name_too_long_for_the_file_system_is_one_line(command, empty):
    name = "n" * 3_000
    line = assert_refused(drive(command, name, cwd=empty), empty, "(File name too long)")
    assert len(line) < 400, line


def test_a_50_mb_scenario_is_refused_unread(tmp_path, empty):
    path = tmp_path / "huge.yaml"
    with path.open("w") as f:
        f.write("extends: baseline\nname: huge\ndescription: ")
        f.write("x" * (50 << 20))
        f.write("\n")
    out = empty / "out"
    assert_refused(
        drive("check", str(path), cwd=empty), empty, "larger than 1 MiB, the limit for a scenario file"
    )
    assert_refused(drive("run", str(path), "--out", str(out), cwd=empty), empty, "larger than 1 MiB")
    assert_refused(
        drive("sweep", str(base_design(tmp_path, path)), "--out", str(out), cwd=empty), empty, "1 MiB"
    )


def test_a_50_mb_design_and_landscape_are_refused(tmp_path, empty):
    design = tmp_path / "huge_design.yaml"
    design.write_text("name: huge\ndescription: " + "x" * (50 << 20) + "\nscenario: baseline\n")
    assert_refused(drive("sweep", str(design), "--out", str(empty / "out"), cwd=empty), empty, "1 MiB")
    landscape = tmp_path / "million_actors.yaml"
    with landscape.open("w") as f:
        f.write("actors:\n")
        f.writelines(f"  - {{name: a{i}, size: 1}}\n" for i in range(10**6))
        f.write("propensity: []\n")
    assert_refused(drive("landscape", str(landscape), cwd=empty), empty, "larger than 1 MiB")


def test_a_file_just_under_the_limit_is_read(tmp_path, empty):
    path = tmp_path / "padded.yaml"
    text = "extends: baseline\nname: padded\ndescription: padded with a comment\n# "
    path.write_text(text + "x" * ((1 << 20) - len(text) - 1) + "\n")
    outcome = drive("check", str(path), cwd=empty)
    assert outcome.returncode == 0, outcome.stderr
    assert "padded: ok" in outcome.stdout


@pytest.mark.parametrize("links", [1_200, 21])
def test_a_long_extends_chain_is_one_line(tmp_path, empty, links):
    for i in range(links):
        parent = f"c{i + 1}.yaml" if i + 1 < links else "baseline"
        (tmp_path / f"c{i}.yaml").write_text(f"extends: {parent}\nname: c{i}\n")
    assert_refused(drive("check", str(tmp_path / "c0.yaml"), cwd=empty), empty, "chain longer than 20 files")


def test_extends_never_echoes_a_file_that_is_not_a_scenario(tmp_path, empty):
    files = {
        "secrets.yaml": f"api_token: {SECRET}\nuser: admin\n",
        "passwd": f"root:x:0:0:{SECRET}:/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\n",
        "settings.ini": f"[auth]\npassword = {SECRET}\n",
        "notes.txt": f"{SECRET}: [unclosed\n",
        "duplicate.env": f"{SECRET}: 1\n{SECRET}: 2\n",
        "duplicate.yaml": f"{SECRET}: 1\n{SECRET}: 2\n",  # a YAML error would quote the key
        "tagged.yaml": f"token: !{SECRET} x\n",
    }
    elsewhere, mine = tmp_path / "elsewhere", tmp_path / "mine"  # outside the scenario's folder tree
    elsewhere.mkdir()
    mine.mkdir()
    for name, text in files.items():
        (elsewhere / name).write_text(text)
        variant = mine / f"extends_{name}.yaml"
        variant.write_text(f"extends: {elsewhere / name}\nname: v\ndescription: v\n")
        line = assert_refused(drive("check", str(variant), cwd=empty), empty, "is not a scenario file")
        assert SECRET not in line and "api_token" not in line, line
    # Named directly (not through extends:), a mapping with no scenario key is not echoed either.
    line = assert_refused(
        drive("check", str(elsewhere / "secrets.yaml"), cwd=empty), empty, "is not a scenario file"
    )
    assert SECRET not in line and "api_token" not in line


# --------------------------------------------------------------------------- in process


def test_aliases_within_the_limit_are_fine(tmp_path):
    path = tmp_path / "anchors.yaml"
    path.write_text(
        "extends: baseline\nname: anchors\ndescription: shared values\n"
        "states:\n  KAZ: {hedging: &h 0.9}\n  UZB: {hedging: *h}\n"
    )
    scenario = load_scenario(path)
    assert scenario.states["KAZ"].hedging == scenario.states["UZB"].hedging == 0.9


def test_the_node_limit_counts_each_alias_at_its_full_size(tmp_path):
    row = "[" + ", ".join(["0"] * 99) + "]"  # 100 nodes
    path = tmp_path / "rows.yaml"
    path.write_text(f"a: &r {row}\nb: [" + ", ".join(["*r"] * 98) + "]\n")
    assert len(load_yaml(path)["b"]) == 98  # 1 + 2 + 100 + 1 + 98 * 100 = 9,904 nodes
    path.write_text(f"a: &r {row}\nb: [" + ", ".join(["*r"] * 99) + "]\n")
    with pytest.raises(ScenarioError, match="more than 10,000 values"):
        load_yaml(path)


def test_nesting_limit_and_duplicate_keys_deep_inside(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 49 + "]" * 49 + "\n")  # the mapping is level 1
    load_yaml(path)
    path.write_text("a: " + "[" * 50 + "]" * 50 + "\n")
    with pytest.raises(ScenarioError, match="line 1: nested deeper than 50 levels"):
        load_yaml(path)
    path.write_text("a:\n  b:\n    c: 1\n    d: 2\n    c: 3\n")
    with pytest.raises(
        ScenarioError, match=r"line 5: duplicate key 'c' \(first on line 3, again on line 5\)"
    ):
        load_yaml(path)


def test_an_extends_chain_of_twenty_is_allowed(tmp_path):
    for i in range(20):
        parent = f"c{i + 1}.yaml" if i < 19 else "baseline"
        (tmp_path / f"c{i}.yaml").write_text(f"extends: {parent}\nname: c{i}\n")
    assert load_scenario(tmp_path / "c0.yaml").name == "c0"


def test_show_never_builds_a_whole_repr():
    assert show(0.25) == "0.25"
    assert show(10**400) == "an integer of about 401 digits"
    big = ["x" * 1000] * 10**6
    for value in (big, {"k" * 1000: big}, "y" * 10**6):
        assert len(show(value)) <= 60


def test_a_run_whose_measures_are_not_finite_is_an_error(baseline):
    model = AllianceModel(baseline, rng=0)
    model.alignment[0, 0] = float("nan")
    with pytest.raises(ScenarioError, match=r"baseline: quarter 2025Q1: the measure cohesion\w* is nan"):
        model.step()


@pytest.mark.parametrize("kind", ["fifo", "device"])
@pytest.mark.parametrize(
    ("command", "what"),
    [
        (("check",), "a scenario file"),
        (("run",), "a scenario file"),
        (("landscape",), "a landscape file"),
        (("sweep",), "a design file"),
        (("schema", "--out"), "a file"),
    ],
)
def test_a_pipe_or_a_device_is_refused_at_once(tmp_path, empty, kind, command, what):
    """A FIFO would block the reader until a writer comes; /dev/zero never ends."""
    if kind == "fifo":
        path = tmp_path / "pipe.yaml"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    outcome = drive(*command, str(path), cwd=empty)
    if command[0] == "schema":  # a file it did not write: refused, never replaced
        assert_refused(outcome, empty)
    else:
        assert_refused(outcome, empty, "is not a regular file (a pipe or a device)")
