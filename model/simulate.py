"""The model as a function: ``simulate(scenario, seed=...) -> Results``.

This is the one entry point the command line and the experiment layer call
(EMA Workbench's separation of model and evaluators): it builds an
:class:`~model.model.AllianceModel`, runs it and returns its tables. Writing
them to disk with provenance lives in :mod:`model.output`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.arguments import MAX_QUARTERS, choice, scenario_argument, seed_argument, whole_number
from model.model import COLLECT_MODES, AllianceModel
from model.scenario import Scenario, validate_scenario

#: What ``seed`` may be, as :class:`Results` stores it.
Seed = int | np.random.SeedSequence


@dataclass(frozen=True)
class Results:
    """What one run produced.

    Attributes:
        scenario: the resolved scenario that was run (horizon = steps run).
        seed: the seed given to ``model.rng``: the integer given, or a copy of the
            ``SeedSequence`` given (entropy and spawn key), or for ``seed=None`` the
            fresh ``SeedSequence`` drawn, so that
            ``simulate(results.scenario, seed=results.seed)`` re-runs the run exactly.
        model: one row per step (``step``, ``date``, ``quarter``, measures).
        states: one row per state per step.
        events: status changes and summit boycotts.

    """

    scenario: Scenario
    seed: Seed
    model: pd.DataFrame
    states: pd.DataFrame
    events: pd.DataFrame

    def final(self) -> pd.Series:
        """The last row of the model table (end-of-run measures)."""
        return self.model.iloc[-1]

    def seed_record(self) -> int | dict[str, Any]:
        """The seed as JSON: the integer, or ``{"entropy": ..., "spawn_key": [...]}``."""
        return seed_record(self.seed)

    @property
    def seed_label(self) -> str:
        """The seed in a few words, for titles and tables."""
        seed = self.seed
        if isinstance(seed, np.random.SeedSequence):
            key = ", ".join(str(k) for k in seed.spawn_key)
            return f"{seed.entropy}" + (f" child ({key})" if key else "")
        return str(seed)


def seed_record(seed: Seed) -> int | dict[str, Any]:
    """A seed as JSON: the integer, or ``{"entropy": ..., "spawn_key": [...]}``.

    ``pool_size`` is added only when it is not numpy's default (4).
    """
    if isinstance(seed, np.random.SeedSequence):
        record: dict[str, Any] = {"entropy": seed.entropy, "spawn_key": [int(k) for k in seed.spawn_key]}
        if seed.pool_size != 4:
            record["pool_size"] = seed.pool_size
        return record
    return int(seed)


def _stored_seed(seed: int | np.random.SeedSequence | None) -> Seed:
    """The seed to run and store: a plain int, a copy of a SeedSequence, or fresh entropy."""
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size)
    return seed


def with_horizon(scenario: Scenario | str | Path, quarters: int) -> Scenario:
    """A validated copy of ``scenario`` that runs ``quarters`` quarters.

    Shocks dated after the copy's last quarter are dropped: they would never
    fire, and the copy stays a valid scenario (its manifest re-loads).

    Raises:
        ScenarioError: a bad scenario, or quarters is not an integer from 1 to 400.

    """
    scenario = scenario_argument(scenario)
    quarters = whole_number(quarters, name="quarters", low=1, high=MAX_QUARTERS)
    if quarters == scenario.horizon:
        return scenario
    data = scenario.model_dump(mode="json")
    first, end = scenario.start.index, scenario.start.plus(quarters).index
    data["horizon"] = quarters
    data["shocks"] = [
        dumped
        for shock, dumped in zip(scenario.shocks, data["shocks"], strict=True)
        if first <= shock.date.index < end
    ]
    return validate_scenario(data, source=f"{scenario.name} run for {quarters} quarters")


def simulate(
    scenario: Scenario | str | Path,
    *,
    seed: int | np.random.SeedSequence | None = 0,
    steps: int | None = None,
    collect: str = "all",
    every: int = 1,
) -> Results:
    """Run one scenario and return its tables.

    Every argument is checked before the model is built.

    Args:
        scenario: a :class:`Scenario` (one changed with ``model_copy`` is validated
            first), or a scenario name or a path to a YAML file.
        seed: seed for ``model.rng``: an integer >= 0, a numpy ``SeedSequence``
            (e.g. a child of ``SeedSequence(master).spawn(n)``) or None (fresh
            entropy, stored in ``Results.seed``). A ``numpy.random.Generator`` is
            refused: the seed is stored with the results so the run can be re-run.
            The same seed reproduces the run exactly.
        steps: quarters to simulate, an integer from 1 to 400; default the
            scenario's horizon (see :func:`with_horizon`).
        collect: "all" (model and per-state rows), "model" (model rows only; ``states``
            is empty) or "final" (the last step's model row only; fastest, for sweeps).
        every: collect every ``every``-th step, an integer >= 1 (the last step is
            always collected).

    Returns:
        The run's :class:`Results`.

    Raises:
        ScenarioError: a bad scenario or argument, named with what is allowed.

    """
    config = scenario_argument(scenario)
    seed = seed_argument(seed, name="seed")
    if steps is not None:
        steps = whole_number(steps, name="steps", low=1, high=MAX_QUARTERS)
    collect = choice(collect, name="collect", allowed=COLLECT_MODES)
    every = whole_number(every, name="every", low=1)
    if steps is not None:
        config = with_horizon(config, steps)
    stored = _stored_seed(seed)
    model = AllianceModel(config, rng=stored, collect=collect, every=every)
    while model.running:
        model.step()
    return Results(
        scenario=model.config,
        seed=stored,
        model=model.model_frame(),
        states=model.states_frame() if collect == "all" else pd.DataFrame(),
        events=model.events_frame(),
    )
