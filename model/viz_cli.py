"""``cohesion viz``: start the browser view (``model/app.py``) on this machine, offline.

A plugin of the command line (entry-point group ``cohesion.commands``). It
validates the scenario, checks that the page's assets are installed, and runs
``solara run model.app`` in production mode with:

* the scenario handed over in ``$COHESION_VIZ_SCENARIO``;
* Solara's usage telemetry off (``SOLARA_TELEMETRY_MIXPANEL_ENABLE=False``)
  and no version check against PyPI;
* every JavaScript and CSS file served by the server itself from the
  ``solara-assets`` package (``SOLARA_ASSETS_PROXY=True``: Solara serves
  ``/_solara/cdn/...`` from ``<sys.prefix>/share/solara/cdn``, where
  ``solara-assets`` installs the files), and the CDN it would fall back to for
  a missing file pointed at a closed loopback port, so the server never
  reaches the internet either: a missing file fails loudly on this machine
  instead of silently working only where there is a network.

Only the standard library is imported here, so ``cohesion --help`` works
without the ``viz`` extra installed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from importlib import metadata, util
from pathlib import Path

from model.errors import ScenarioError
from model.extras import install_hint
from model.safe_yaml import show

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
APP_MODULE = "model.app"
SCENARIO_ENV = "COHESION_VIZ_SCENARIO"  # the same name as model.app.SCENARIO_ENV
#: Where Solara would fetch a file missing from the local assets: a closed loopback port.
NO_CDN = "http://127.0.0.1:9/no-cdn-offline/"
INSTALL_HINT = "install the view with: " + install_hint("viz")


def register(subparsers: argparse._SubParsersAction) -> Callable[[argparse.Namespace], int]:
    """Add the ``viz`` subcommand; return its handler."""
    viz = subparsers.add_parser(
        "viz",
        help="open the browser view (map, charts, levers) of a scenario",
        description=(
            "Serve the browser view of a scenario. Everything the page needs is served "
            "by this machine; no network is used."
        ),
    )
    viz.add_argument(
        "scenario",
        nargs="?",
        default="baseline",
        help="scenario name (see 'cohesion list') or YAML path (default: baseline)",
    )
    viz.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    viz.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}, this machine only)",
    )
    viz.add_argument("--open", action="store_true", help="open a web browser on the page")
    return run


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{show(text)} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {show(value)} is out of range; allowed 1 to 65535")
    return value


def run(args: argparse.Namespace) -> int:
    """Validate, then serve the page until interrupted.

    Raises:
        ScenarioError: a bad scenario, or the view's packages are missing.
    """
    from model.scenario import load_scenario, resolve_path

    scenario = load_scenario(args.scenario)
    path = Path(args.scenario)
    chosen = str(resolve_path(path).resolve()) if path.is_file() else args.scenario
    check_installation()
    check_address(args.host, args.port)
    command = server_command(host=args.host, port=args.port, open_browser=args.open)
    env = server_environment(chosen)
    print(
        f"cohesion viz: {scenario.name} at http://{_url_host(args.host)}:{args.port}/ (Ctrl+C stops it)",
        flush=True,
    )
    process = subprocess.Popen(command, env=env)
    previous = {sig: signal.signal(sig, _raise_stop) for sig in STOP_SIGNALS}
    try:
        return process.wait()
    except KeyboardInterrupt:
        return stop_server(process, signal.SIGINT)
    except _Stop as stop:
        return stop_server(process, stop.signum)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


#: Signals that stop the view: each is passed on to the server, which must not outlive us.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
#: How long the server gets to stop after the signal before it is killed.
STOP_GRACE = 10.0
#: After Ctrl+C, how long the server (which the terminal signalled too) gets before a SIGTERM.
CTRL_C_WAIT = 3.0


class _Stop(Exception):  # noqa: N818 (a request to stop, not an error)
    def __init__(self, signum: int) -> None:
        self.signum = signum


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop(signum)


def stop_server(process: subprocess.Popen, signum: int, grace: float | None = None) -> int:
    """Stop the server with ``signum`` (killed after ``grace``, default :data:`STOP_GRACE`, seconds).

    Returns 0: stopping is how a session of the view ends.

    Ctrl+C in a terminal reaches the server too (one process group), but ``kill``
    of ``cohesion viz`` or a closed terminal reaches only this process, so the
    signal is passed on: the server never stays behind holding the port.
    """
    grace = STOP_GRACE if grace is None else grace
    for sig in STOP_SIGNALS:  # a second kill while the server stops changes nothing
        signal.signal(sig, signal.SIG_IGN)
    try:
        if signum == signal.SIGINT and _stopped(process, CTRL_C_WAIT):
            return 0  # Ctrl+C reached the server from the terminal; a second one would rush it
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM if signum == signal.SIGINT else signum)
        if not _stopped(process, grace):
            process.kill()
            process.wait()
    except KeyboardInterrupt:  # Ctrl+C again: stop it now
        process.kill()
        process.wait()
    return 0


def _stopped(process: subprocess.Popen, seconds: float) -> bool:
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def check_address(host: str, port: int) -> None:
    """Fail with one line, before the server starts, where it could not listen.

    Raises:
        ScenarioError: the host is not an address of this machine, or the port is taken.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc.__class__.__name__
        raise ScenarioError(
            f"--host {show(host)}: not an address this machine can listen on ({reason}); "
            f"allowed an address of this machine, such as {DEFAULT_HOST} (the default) or ::1"
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind(address)
        except OSError as exc:
            raise ScenarioError(
                f"{_url_host(host)}:{port}: cannot listen there ({exc.strerror or exc.__class__.__name__}); "
                "choose another --port, or stop what listens there"
            ) from None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def server_command(*, host: str, port: int, open_browser: bool = False) -> list[str]:
    """The ``solara run`` command line for the view."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        APP_MODULE,
        "--host",
        host,
        "--port",
        str(port),
        "--production",  # no dev-mode "check" iframe to solara.dev, no auto-restart
        "--no-check-version",  # no look-up of the newest release on PyPI
        "--open" if open_browser else "--no-open",
    ]


def server_environment(scenario: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The server's environment: the scenario, telemetry off, assets served locally."""
    env = dict(os.environ if base is None else base)
    env.update(
        {
            SCENARIO_ENV: scenario,
            "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
            "SOLARA_ASSETS_PROXY": "True",
            "SOLARA_ASSETS_CDN": NO_CDN,
            "MPLBACKEND": "Agg",
        }
    )
    return env


def asset_folder() -> Path:
    """Where Solara looks for the files it serves under ``/_solara/cdn``."""
    configured = os.environ.get("SOLARA_ASSETS_PROXY_CACHE_DIR")
    return Path(configured) if configured else Path(sys.prefix) / "share" / "solara" / "cdn"


def required_bundles() -> list[str]:
    """The versioned application bundles Solara's page template asks for (Vue 2 variant)."""
    spec = util.find_spec("solara")
    if spec is None or not spec.submodule_search_locations:
        raise ScenarioError(f"'cohesion viz' needs solara; {INSTALL_HINT}")
    template = Path(spec.submodule_search_locations[0]) / "server/templates/solara.html.j2"
    found = re.findall(r"@widgetti/solara-vuetify-app@[\w.\-]+", template.read_text())
    return sorted(set(found))


def check_installation() -> None:
    """Fail with one line when the page would stay blank.

    Raises:
        ScenarioError: solara or solara-assets missing, ipyvue/ipyvuetify of the
            Vue 3 generation (mesa#3806), or the assets lack the bundle Solara asks for.
    """
    for package in ("mesa", "solara", "solara-assets", "ipyvue", "ipyvuetify"):
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            raise ScenarioError(f"'cohesion viz' needs {package}; {INSTALL_HINT}") from None
        if package in ("ipyvue", "ipyvuetify") and int(version.split(".")[0]) >= 2:
            raise ScenarioError(
                f"{package} {version} is installed, but Mesa's page is a Vue 2 layout and "
                f"stays blank with it (mesa#3806); {INSTALL_HINT} (pins {package}<2)"
            )
    folder = asset_folder()
    for bundle in required_bundles():
        if not (folder / bundle).is_dir():
            raise ScenarioError(
                f"{folder / bundle} is missing, so the page would need the internet; "
                f"{INSTALL_HINT} (solara-assets provides it)"
            )
