"""The layering contracts and the type checks of ``make lint`` hold (run here so CI checks them).

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``): the rules import no
Mesa and no pandas, the model never imports the experiments layer or the view, and inside
the experiments layer commands sit on sweeps, sweeps on backends, backends on chunks of
runs. The type checker is strict on ``model/rules``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tool(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return path


def test_the_import_contracts_are_kept():
    done = subprocess.run([str(_tool("lint-imports"))], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "3 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("model/rules/drift.py", "import pandas"),  # a rule that imports pandas
        ("experiments/backends.py", "import experiments.sweep"),  # a backend above its sweep
    ],
)
def test_a_module_that_breaks_a_layer_is_refused(tmp_path, module, line):
    # The contracts can fail: a copy of the package with one offending import is refused.
    copy = tmp_path / "repo"
    copy.mkdir()
    subprocess.run(["cp", "-r", str(ROOT / "model"), str(ROOT / "experiments"), str(copy)], check=True)
    (copy / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    path = copy / module
    text = path.read_text()
    assert "import numpy as np\n" in text
    path.write_text(text.replace("import numpy as np\n", f"import numpy as np\n{line}\n", 1))
    done = subprocess.run(
        [str(_tool("lint-imports"))],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode != 0
    assert "2 kept, 1 broken" in done.stdout


def test_the_rules_pass_a_strict_type_check():
    done = subprocess.run([str(_tool("mypy"))], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
