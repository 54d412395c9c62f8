"""Optional packages: import one, or fail in one line that says how to install it.

The model and the command line need only the base install; sweeps need the
``experiments`` extra (SALib, dask.distributed) and the browser view the ``viz``
extra. A missing package is bad set-up, not a bug, so it is a
:class:`~model.errors.ScenarioError` naming the extra to install, worded for
both ways of installing the project (from a clone or from a wheel).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from model.errors import ScenarioError

DISTRIBUTION = "alliance-cohesion"


def install_hint(extra: str) -> str:
    """How to install an extra, from a wheel or package index and from a clone."""
    return f"pip install '{DISTRIBUTION}[{extra}]' (in a clone: make setup, or pip install -e '.[{extra}]')"


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise one line naming ``purpose`` and the extra.

    Raises:
        ScenarioError: the module (or a package it needs) is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = exc.name or module
        raise ScenarioError(
            f"{purpose} needs {missing}, which is not installed; {install_hint(extra)}"
        ) from None
