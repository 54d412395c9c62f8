"""The model as a function: ``simulate(scenario, seed=...) -> Results``.

This is the one entry point the command line and the experiment layer call
(EMA Workbench's separation of model and evaluators): it builds an
:class:`~model.model.AllianceModel`, runs it and returns its tables. Writing
them to disk with provenance lives in :mod:`model.output`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from model.errors import ScenarioError
from model.model import AllianceModel
from model.scenario import Scenario, load_scenario


@dataclass(frozen=True)
class Results:
    """What one run produced.

    Attributes:
        scenario: the resolved scenario that was run (horizon = steps run).
        seed: the seed given to ``model.rng``.
        model: one row per step (``step``, ``date``, ``quarter``, measures).
        states: one row per state per step.
        events: status changes and summit boycotts.

    """

    scenario: Scenario
    seed: int | None
    model: pd.DataFrame
    states: pd.DataFrame
    events: pd.DataFrame

    def final(self) -> pd.Series:
        """The last row of the model table (end-of-run measures)."""
        return self.model.iloc[-1]


def simulate(
    scenario: Scenario | str | Path,
    *,
    seed: int | np.random.SeedSequence | None = 0,
    steps: int | None = None,
    collect: str = "all",
    every: int = 1,
) -> Results:
    """Run one scenario and return its tables.

    Args:
        scenario: a validated scenario, or a scenario name or path.
        seed: seed for ``model.rng`` (an int or a ``SeedSequence``); the same seed
            reproduces the run exactly.
        steps: quarters to simulate; default the scenario's horizon.
        collect: "all" (model and per-state rows), "model" (model rows only; ``states``
            is empty) or "final" (the last step's model row only; fastest, for sweeps).
        every: collect every ``every``-th step (the last step is always collected).

    Returns:
        The run's :class:`Results`.

    Raises:
        ScenarioError: a bad scenario or a bad number of steps.

    """
    config = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if steps is not None:
        if not 1 <= steps <= 400:
            raise ScenarioError(f"--steps: {steps} is out of range; allowed 1 to 400 quarters")
        config = config.model_copy(update={"horizon": steps})
    if isinstance(seed, int) and seed < 0:
        raise ScenarioError(f"--seed: {seed} is negative; allowed 0 or more")
    model = AllianceModel(config, rng=seed, collect=collect, every=every)
    while model.running:
        model.step()
    return Results(
        scenario=config,
        seed=seed if isinstance(seed, int) or seed is None else int(seed.entropy),
        model=model.model_frame(),
        states=model.states_frame() if collect == "all" else pd.DataFrame(),
        events=model.events_frame(),
    )
