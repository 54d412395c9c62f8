"""Stopping ``cohesion viz`` stops its server: ``kill`` or a closed terminal (SIGTERM,
SIGHUP) reach only the command, which passes the signal on, so no server stays behind
holding the port. The server is stood in for by a process that prints its pid and sleeps,
so this runs without the view's packages."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

VIEW = """
import argparse, sys
from model import viz_cli
viz_cli.check_installation = lambda: None
viz_cli.server_command = lambda **_: [sys.executable, "-c", sys.argv[1]]
parser = argparse.ArgumentParser()
handler = viz_cli.register(parser.add_subparsers(dest="command"))
sys.exit(handler(parser.parse_args(["viz", "baseline"])))
"""

SERVER = """
import os, time
print(os.getpid(), flush=True)
try:
    time.sleep(600)
except KeyboardInterrupt:  # as a server does on Ctrl+C: stop quietly
    pass
"""
STUBBORN = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + SERVER


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has exited: only its parent's wait is due
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def start_view(server: str, grace: float | None = None) -> tuple[subprocess.Popen, int]:
    """``cohesion viz`` with a stand-in server (and a shorter grace); returns it and the server's pid."""
    view_code = (
        VIEW
        if grace is None
        else VIEW.replace("viz_cli.check", f"viz_cli.STOP_GRACE = {grace}\nviz_cli.check")
    )
    view = subprocess.Popen(
        [sys.executable, "-c", view_code, server],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so a test's signal reaches the view alone, as `kill PID` does
    )
    assert view.stdout.readline().startswith("cohesion viz: baseline at http://127.0.0.1:")
    return view, int(view.stdout.readline())


def wait_gone(pid: int, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_to_the_view_stops_its_server(signum):
    view, server = start_view(SERVER)
    try:
        assert alive(server)
        view.send_signal(signum)
        assert view.wait(timeout=20) == 0
        assert wait_gone(server), "the server outlived cohesion viz"
        assert "Traceback" not in view.stderr.read()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(view.pid, signal.SIGKILL)


@pytest.mark.parametrize("signals", [1, 2])  # a second kill during the grace changes nothing
def test_a_server_that_ignores_the_signal_is_killed_after_the_grace(signals):
    view, server = start_view(STUBBORN, grace=1.0)
    try:
        for _ in range(signals):
            view.terminate()
            time.sleep(0.3)
        assert view.wait(timeout=20) == 0
        assert wait_gone(server)
        assert "Traceback" not in view.stderr.read()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(view.pid, signal.SIGKILL)


ADDRESS = """
import sys
from model import viz_cli
viz_cli.check_installation = lambda: None
viz_cli.subprocess.Popen = None  # the server must not start
from model.cli import main
sys.exit(main(["viz", "baseline", *sys.argv[1:]]))
"""


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--host", "256.1.1.1"], "--host '256.1.1.1': not an address this machine can listen on"),
        (["--host", "no-such-host.invalid"], "not an address this machine can listen on"),
        (["--host", "192.0.2.1"], "192.0.2.1:8765: cannot listen there"),  # TEST-NET-1, not ours
    ],
)
def test_an_address_the_view_cannot_listen_on_is_one_line(args, fragment):
    done = subprocess.run([sys.executable, "-c", ADDRESS, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert fragment in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_a_port_in_use_is_one_line_before_the_server_starts():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-c", ADDRESS, "--port", str(port)], capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 2
    assert f"127.0.0.1:{port}: cannot listen there" in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1
