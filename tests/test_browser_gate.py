"""The browser test's gate: skipped with its reason on a machine without Chromium, a failure
under CI, and never a collection error that would stop the rest of the suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_e2e(tmp_path: Path, *, ci: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COHESION_CHROMIUM": str(tmp_path / "no-chromium"), "CI": ci}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests/test_app_e2e.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_chromium_the_browser_test_is_skipped_with_its_reason(tmp_path):
    result = run_e2e(tmp_path, ci="")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert "no-chromium not found" in result.stdout
    assert "error" not in result.stdout.lower()


def test_under_ci_a_missing_browser_fails(tmp_path):
    result = run_e2e(tmp_path, ci="true")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "CI must run the browser test" in result.stdout
    assert "Interrupted" not in result.stdout  # the collection itself went through


def test_gate_reasons(tmp_path, monkeypatch):
    import tests.test_app_e2e as e2e

    monkeypatch.setattr(e2e, "CHROMIUM", tmp_path / "absent")
    assert "absent not found" in e2e.missing_browser()
    with pytest.raises(pytest.fail.Exception, match="CI must run"):
        e2e.require_browser("no browser", in_ci=True)
    with pytest.raises(pytest.skip.Exception, match="no browser"):
        e2e.require_browser("no browser", in_ci=False)
    assert e2e.require_browser(None, in_ci=True) is None
