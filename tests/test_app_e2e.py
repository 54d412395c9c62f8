"""End to end: the real ``cohesion viz`` server driven by a real headless Chromium, offline.

Starts ``cohesion viz`` on a free loopback port, loads the page in Debian's
Chromium (driven by Playwright through ``executable_path``; Playwright's own
browser download is never used), presses Step, moves the Russian-pressure
slider and presses Reset, picks another scenario, and checks that no request
left 127.0.0.1 (any other request is also aborted), that no file failed to
load and that the browser console shows no error. Saves a screenshot to
``$COHESION_SCREENSHOT`` (the README's ``docs/img/viz.png`` is refreshed with
``COHESION_SCREENSHOT=docs/img/viz.png``), else into the test's temporary folder.

Skipped only when Chromium or Playwright is missing outside CI; under CI
(``CI=true``) a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("COHESION_CHROMIUM", "/usr/bin/chromium"))
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
TIMEOUT_MS = 30_000


try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the viz extra is not installed
    expect = sync_playwright = None


def missing_browser() -> str | None:
    """Why the browser test cannot run here, or None when it can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (apt-get install chromium, or set COHESION_CHROMIUM)"
    if sync_playwright is None:
        return "playwright is not installed (pip install -e '.[viz]')"
    return None


def require_browser(reason: str | None, *, in_ci: bool) -> None:
    """Skip with ``reason`` outside CI; under CI a missing browser is a failure.

    Called from a fixture, never at import: a module-level skip or failure would stop the
    whole collection, and every other test with it.
    """
    if reason is None:
        return
    if in_ci:
        pytest.fail(f"{reason}; CI must run the browser test (.ci/run installs it)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module", autouse=True)
def browser() -> None:
    """The browser test needs Debian's Chromium and Playwright (see the README)."""
    require_browser(missing_browser(), in_ci=IN_CI)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _is_loopback(url: str) -> bool:
    if url.startswith(("data:", "about:")):
        return True
    if url.startswith("blob:"):
        url = url[len("blob:") :]
    return urlsplit(url).hostname in LOOPBACK


@pytest.fixture(scope="module")
def server(browser, tmp_path_factory):
    """``cohesion viz baseline`` on a free port; yields (url, log path)."""
    port = _free_port()
    log = tmp_path_factory.mktemp("viz") / "server.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("COHESION_VIZ_SCENARIO", None)
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "model.cli", "viz", "baseline", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so the solara child stops too
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"cohesion viz exited with {process.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"cohesion viz did not answer within 60 s:\n{log.read_text()}")
            time.sleep(0.3)
        yield url, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _img(page, selector: str) -> bytes:
    """What the browser shows of a figure (its pixels, as PNG)."""
    return page.locator(f"{selector} img").first.screenshot(animations="disabled")


def _changes(page, selector: str, before: bytes, timeout: float = 20) -> bytes:
    """Wait until the figure shows something other than ``before``; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = _img(page, selector)
        if now != before:
            return now
        page.wait_for_timeout(200)
    raise AssertionError(f"{selector} image did not change within {timeout} s")


def _step(page, expected: int) -> None:
    page.get_by_role("button", name="Step").click()
    expect(page.locator(".cohesion-date")).to_contain_text(f"step {expected} of", timeout=TIMEOUT_MS)


def test_page_in_a_real_browser_offline(server, tmp_path):
    url, log = server
    requests: list[str] = []
    blocked: list[str] = []
    failed: list[str] = []
    errors: list[str] = []

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1500, "height": 1050})

        def guard(route):
            if _is_loopback(route.request.url):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.url}: {r.status}"))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))

        # -- loads: title with the scenario and its description, the date, the charts
        page.goto(url)
        date = page.locator(".cohesion-date")
        expect(date).to_contain_text("2024 Q4 — step 0 of 40", timeout=60_000)
        title = page.locator(".cohesion-title")
        expect(title).to_contain_text("baseline")
        expect(title).to_contain_text("The 2024 picture")
        expect(page.locator(".cohesion-table")).to_contain_text("Kazakhstan")
        src = page.locator(".cohesion-charts img").first.get_attribute("src")
        assert src.startswith(f"blob:{url.rstrip('/')}"), src  # drawn on the server, no chart JS
        charts_0 = _img(page, ".cohesion-charts")
        assert len(_img(page, ".cohesion-map")) > 20_000

        # -- Step: the step counter and the charts move
        _step(page, 1)
        expect(date).to_contain_text("2025 Q1")
        charts_1 = _changes(page, ".cohesion-charts", charts_0)
        _step(page, 2)
        charts_2 = _changes(page, ".cohesion-charts", charts_1)

        # -- Russian pressure to ~0.9, then Reset: back to step 0 with the new lever
        levers = page.locator(".cohesion-levers")
        expect(levers).to_contain_text("Russian pressure 0.50")
        slider = page.locator(".v-input__slider", has_text="Russian pressure").locator(".v-slider")
        box = slider.bounding_box()
        page.mouse.click(box["x"] + 0.9 * box["width"], box["y"] + box["height"] / 2)
        page.get_by_role("button", name="Reset").click()
        expect(date).to_contain_text("step 0 of 40", timeout=TIMEOUT_MS)
        expect(levers).not_to_contain_text("Russian pressure 0.50", timeout=TIMEOUT_MS)
        pressure = float(re.search(r"Russian pressure (\d\.\d\d)", levers.inner_text())[1])
        assert 0.8 <= pressure <= 1.0, levers.inner_text()
        charts_pressed = _changes(page, ".cohesion-charts", charts_2)  # the new run's step 0
        _step(page, 1)
        charts_pressed = _changes(page, ".cohesion-charts", charts_pressed)
        _step(page, 2)
        charts_pressed = _changes(page, ".cohesion-charts", charts_pressed)
        assert charts_pressed != charts_2, "the run did not change with the Russian pressure"

        # -- another scenario: title, table and date follow
        page.locator(".cohesion-picker .v-select").click()
        page.get_by_role("option", name="wider_region").click()
        expect(title).to_contain_text("wider_region", timeout=TIMEOUT_MS)
        expect(date).to_contain_text("step 0 of 40")
        expect(page.locator(".cohesion-table")).to_contain_text("Ukraine")
        expect(levers).to_contain_text("Seed 0")

        # -- a few quarters of play for the screenshot
        page.get_by_role("button", name="▶").click()
        expect(date).to_contain_text(re.compile(r"step (1[2-9]|[2-4]\d) of"), timeout=60_000)
        page.get_by_role("button", name="❚❚").click()
        page.set_viewport_size({"width": 1500, "height": 1500})
        page.wait_for_timeout(1500)
        shot = Path(os.environ.get("COHESION_SCREENSHOT", tmp_path / "viz.png"))
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        browser.close()

    assert shot.stat().st_size > 50_000
    assert requests, "the browser made no request"
    outside = [u for u in requests if not _is_loopback(u)]
    assert not outside and not blocked, f"requests left this machine: {outside + blocked}"
    assert not failed, f"files failed to load: {failed}"
    assert not errors, f"browser console errors: {errors}"
    server_log = log.read_text()
    assert "Could not load URL" not in server_log, server_log
    assert "Traceback" not in server_log, server_log
