"""Checks of the arguments of the public functions (``simulate``, ``AllianceModel``).

Each check raises one :class:`~model.errors.ScenarioError` naming the argument,
the bad value and what is allowed, in the words of the Python API; the command
line names its own flags (its argparse types check them first).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from model.errors import ScenarioError
from model.scenario import Scenario, checked, load_scenario

#: The most quarters a run may have: the schema's upper bound on ``horizon``.
MAX_QUARTERS: int = next(m.le for m in Scenario.model_fields["horizon"].metadata if hasattr(m, "le"))

_SEED_ALLOWED = "an integer >= 0, a numpy SeedSequence or None"


def _not_an_integer(value: Any) -> str:
    """How a value that should have been an integer is shown in a message."""
    if isinstance(value, bool | np.bool_):
        return f"{value} is a bool, not an integer"
    if isinstance(value, str | float | np.floating):
        return f"{value!r} is not an integer"
    return f"got {type(value).__name__}"


def _is_integer(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def scenario_argument(value: Any, *, name: str = "scenario") -> Scenario:
    """A validated scenario from a Scenario, a scenario name or a path.

    A Scenario that did not come out of validation (a ``model_copy``) is
    validated once (see :func:`model.scenario.checked`).

    Raises:
        ScenarioError: another type, or a scenario that is not valid.

    """
    if isinstance(value, Scenario):
        return checked(value)
    if isinstance(value, str | os.PathLike):
        return load_scenario(value)
    raise ScenarioError(
        f"{name}: got {type(value).__name__}; allowed a Scenario, a scenario name or a path to a YAML file"
    )


def seed_argument(value: Any, *, name: str = "seed", generator: bool = False) -> Any:
    """Check a seed: an integer >= 0 (not a bool), a numpy SeedSequence or None.

    Args:
        value: the seed.
        name: the argument's name, for the message.
        generator: also accept a ``numpy.random.Generator`` (for ``AllianceModel``,
            as Mesa does; ``simulate`` refuses one, since it stores the seed with
            the results so that the run can be re-run, and a Generator's seed is
            not known).

    Returns:
        The seed, an integer as a plain ``int``.

    Raises:
        ScenarioError: anything else, named with what is allowed.

    """
    if value is None or isinstance(value, np.random.SeedSequence):
        return value
    if _is_integer(value):
        if value < 0:
            raise ScenarioError(f"{name}: {value} is negative; allowed {_SEED_ALLOWED}")
        return int(value)
    if isinstance(value, np.random.Generator):
        if generator:
            return value
        raise ScenarioError(
            f"{name}: got a numpy Generator, whose seed cannot be stored with the results to re-run "
            f"them; allowed {_SEED_ALLOWED} (pass the seed you would give default_rng)"
        )
    allowed = _SEED_ALLOWED.replace(" or None", ", a numpy Generator or None") if generator else _SEED_ALLOWED
    raise ScenarioError(f"{name}: {_not_an_integer(value)}; allowed {allowed}")


def whole_number(value: Any, *, name: str, low: int, high: int | None = None) -> int:
    """Check an integer (not a bool, float or string) within ``[low, high]``.

    Raises:
        ScenarioError: not an integer, or out of range.

    """
    allowed = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"
    if not _is_integer(value):
        raise ScenarioError(f"{name}: {_not_an_integer(value)}; allowed {allowed}")
    if value < low or (high is not None and value > high):
        raise ScenarioError(f"{name}: {value} is out of range; allowed {allowed}")
    return int(value)


def name_list(values: Any, *, name: str, what: str) -> list[str]:
    """A list of names, each given once (``measures=["cohesion", "cohesion_csto"]``).

    Raises:
        ScenarioError: not a list of strings (a string alone is not), or a name listed twice.
    """
    if (
        isinstance(values, str)
        or not isinstance(values, Sequence)
        or not all(isinstance(v, str) for v in values)
    ):
        raise ScenarioError(f"{name}: {values!r} is not a list of {what} names")
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ScenarioError(f"{name}: {value!r} is listed twice; list each {what} once")
        seen.add(value)
    return list(values)


def choice(value: Any, *, name: str, allowed: Sequence[str]) -> str:
    """Check that ``value`` is one of ``allowed`` (strings).

    Raises:
        ScenarioError: any other value.

    """
    if isinstance(value, str) and value in allowed:
        return value
    options = ", ".join(repr(a) for a in allowed[:-1]) + f" or {allowed[-1]!r}"
    raise ScenarioError(f"{name}: {value!r} is not one of the choices; allowed {options}")
