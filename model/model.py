"""The alliance model of record: set-up, agents on a network, collection.

One step is one quarter; its order (shocks, powers, alignments, drift,
institutions) is :func:`model.rules.quarter.advance`, and every rule it applies
is a function of :mod:`model.rules`. The model holds one run of a
:class:`~model.rules.world.World`; its :class:`~model.agents.MemberState` and
:class:`~model.agents.Power` agents are views into that world, and the ensemble
engine (:mod:`model.ensemble`) runs the same functions on many runs at once.

Alignments start at the model's own equilibrium for the starting picture (the
scenario's ``start_from``: the observed drivers and power levels, found without
noise before the first quarter), so a scenario never sets an alignment; only the
starting statuses are given, and the scenario's levers act from its first quarter.
"""

from __future__ import annotations

import math
from datetime import date
from functools import partial
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from mesa import Model
from mesa.datacollection import DataCollector
from mesa.discrete_space import Network

from model.agents import MemberState, Power
from model.arguments import choice, scenario_argument, seed_argument, whole_number
from model.catalogue import INSTITUTIONS, PARTNERS, POLES, STATES
from model.errors import ScenarioError, breakdown
from model.rules import institutions, quarter, utility
from model.rules.measures import CHECKED, COUNTS, MEASURES, measure_table
from model.rules.shocks import Schedule, compile_shocks
from model.rules.world import STATUSES, World, build_world
from model.scenario import Scenario

#: Drivers written to states.parquet each step, besides alignment, shares and statuses.
STATE_SCALARS = (
    "opinion_russia",
    "trust_russia",
    "external_threat",
    "threat_from_russia",
    "remittances",
    "energy_dependence",
    "russian_forces",
    "hedging",
    "sovereignty",
)

#: What a run collects: model and per-state rows each step, model rows only, or the last step.
COLLECT_MODES = ("all", "model", "final")

#: The model table's columns after ``step`` and ``date``.
MODEL_FIELDS = ("quarter", *MEASURES)

#: Equilibrium alignments of the last few scenarios, by identity: id -> (scenario, alignment).
#: The scenario is held so that its id cannot be reused while the entry lives.
_EQUILIBRIA: dict[int, tuple[Scenario, np.ndarray]] = {}


def _report(model: AllianceModel, name: str) -> object:
    """A DataCollector reporter: the quarter or one measure (a partial of this, so it pickles)."""
    return model.quarter if name == "quarter" else model.measures[name]


class _RunView:
    """A model attribute that is the model's one run of a world array (a writable view of row 0)."""

    def __init__(self, doc: str) -> None:
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, model: AllianceModel | None, owner: type | None = None) -> Any:
        return self if model is None else getattr(model.world, self.name)[0]

    def __set__(self, model: AllianceModel, value: Any) -> None:
        getattr(model.world, self.name)[0] = value


class AllianceModel(Model):
    """Cohesion of the Russia-led alliances under pressure and engagement.

    Args:
        scenario: a :class:`Scenario`, or a scenario name or path. A Scenario that
            did not come out of validation (a ``model_copy(update=...)``) is
            validated here, once per object.
        rng: seed for ``model.rng``, the only source of randomness: an integer >= 0,
            a numpy ``SeedSequence``, a numpy ``Generator`` or None (fresh entropy).
        layout: place the network's nodes at the capitals (True, for the view) or
            leave it topological (False, the fast default for batch runs).
        collect: "all" (model and per-state rows), "model" or "final" (see ``simulate``).
        every: collect every ``every``-th step (an integer >= 1).

    Raises:
        ScenarioError: a bad scenario or argument, before anything is built.

    Attributes:
        config: the resolved scenario.
        world: the run's arrays (:class:`~model.rules.world.World`, one run).
        network: states as nodes (integer ids), ties and conflicts as edges.
        measures: the measures of the last collected step, name -> value (see ``MODEL_FIELDS``).
        datacollector: model-level measures each quarter, per-state rows, and an
            ``events`` table of status changes and boycotts.

    """

    def __init__(
        self,
        scenario: Scenario | str = "baseline",
        *,
        rng: int | np.random.SeedSequence | np.random.Generator | None = None,
        layout: bool = False,
        collect: str = "all",
        every: int = 1,
    ) -> None:
        """Build states, powers and network from the scenario, then equilibrate."""
        config = scenario_argument(scenario)
        rng = seed_argument(rng, name="rng", generator=True)
        collect = choice(collect, name="collect", allowed=COLLECT_MODES)
        every = whole_number(every, name="every", low=1)
        super().__init__(rng=rng)
        self.collect_mode = collect
        self.every = every
        self.config = config
        self.codes: list[str] = list(config.states)
        self.n_states = len(self.codes)
        self.world: World = build_world([config])
        self.schedule = Schedule.of(compile_shocks([config]))

        self.network = Network(self._graph(), random=self.random, layout=self._layout() if layout else None)
        self.states: list[MemberState] = []
        for index, code in enumerate(self.codes):
            state = MemberState(self, code, index)
            state.cell = self.network[index]
            self.states.append(state)
        self.powers = [Power(self, pole) for pole in POLES]
        #: Each step's quarter label and whether it holds the year's summits (its fourth quarter).
        self._calendar = [(str(q), q.q == 4) for q in map(config.start.plus, range(-1, config.horizon))]
        self.quarter, self.summit_quarter = self._calendar[0][0], False

        cached = _EQUILIBRIA.get(id(config))
        known = cached[1] if cached is not None and cached[0] is config else None
        pictured = config.pictured()
        picture = None if pictured is config else build_world([pictured])
        quarter.set_up(self.world, known=None if known is None else known[None], picture=picture)
        if known is None:
            _EQUILIBRIA[id(config)] = (config, self.alignment.copy())
            while len(_EQUILIBRIA) > 8:
                del _EQUILIBRIA[next(iter(_EQUILIBRIA))]

        self.datacollector = DataCollector(
            model_reporters={name: partial(_report, name=name) for name in MODEL_FIELDS},
            tables={"events": ["step", "quarter", "state", "institution", "from", "to"]},
        )
        self._state_records: list[dict[str, Any]] = []
        self._collected_steps: list[int] = []
        self.measures: dict[str, float | int] = {}
        self._measure()
        self._collect()

    # --- set-up -------------------------------------------------------------------

    def _graph(self) -> nx.Graph:
        graph = nx.Graph()
        for index, code in enumerate(self.codes):
            graph.add_node(index, code=code, name=STATES[code][0])
        for pair, tie in self.config.ties.items():
            i, j = (self.codes.index(c) for c in pair)
            graph.add_edge(i, j, kind="tie", weight=tie.weight)
        for pair, conflict in self.config.conflicts.items():
            i, j = (self.codes.index(c) for c in pair)
            graph.add_edge(i, j, kind="conflict", weight=conflict.intensity)
        return graph

    def _layout(self) -> dict[int, tuple[float, float]]:
        """Node positions: capital longitude and latitude."""
        return {i: (STATES[c][2], STATES[c][3]) for i, c in enumerate(self.codes)}

    # --- the run's arrays, as seen from the model (views of run 0) -------------------

    alignment = _RunView("Alignments, states x poles.")
    utility = _RunView("This quarter's utilities, states x poles.")
    pressure = _RunView("This quarter's pressure, poles x states.")
    inducement = _RunView("This quarter's inducements, poles x states.")
    commitment = _RunView("This quarter's commitments, states x institutions.")
    conflict = _RunView("Conflict intensities, states x states.")
    initial_russia = _RunView("Each state's alignment with Russia after set-up.")

    @property
    def parts(self) -> dict[str, np.ndarray]:
        """The utility part by part at the current alignments, states x poles (``rules.utility.parts``)."""
        _, csto_level = institutions.standing(self.world.status)
        return {name: part[0] for name, part in utility.parts(self.world, csto_level).items()}

    def evaluate(self) -> None:
        """Recompute pressure, inducement and utilities for the current alignments and drivers."""
        quarter.evaluate(self.world)

    # --- the quarter ----------------------------------------------------------------

    def step(self) -> None:
        """Advance one quarter (``rules.quarter.advance``), log its events, collect if due."""
        if self.steps >= len(self._calendar):  # stepped past the horizon: extend the calendar
            q = self.config.start.plus(self.steps - 1)
            self._calendar.append((str(q), q.q == 4))
        self.quarter, self.summit_quarter = self._calendar[self.steps]
        noise_scale = float(self.world.dynamics["noise"][0, 0, 0])
        noise = (
            self.rng.normal(0.0, noise_scale, self.world.alignment.shape[1:])[None]
            if noise_scale > 0
            else None
        )
        result = quarter.advance(self.world, self.steps, self.schedule, noise, summit=self.summit_quarter)
        for record in result.expired:
            if record.shock.target == "conflict":
                i, j = record.shock.states
                self.network.G.edges[i, j]["weight"] = float(self.conflict[i, j])
        for shock in result.fired:
            if shock.target == "conflict":
                i, j = shock.states
                self.network.G.add_edge(i, j, kind="conflict", weight=float(self.conflict[i, j]))
        self._log(result.choices)

        if self.steps >= self.config.horizon:
            self.running = False
        if self._due():
            self._measure()
            self._collect()

    def _log(self, choices: institutions.Choices) -> None:
        """Add this quarter's status changes, air-defence moves and boycotts to the events table."""
        joined, left = choices.air_joined[0], choices.air_left[0]
        boycott = choices.boycott[0]
        if choices.after is choices.before and not (joined.any() or left.any() or boycott.any()):
            return  # most quarters: nothing happened (choose returns the statuses it was given)
        changed = choices.changed[0]
        for i in np.flatnonzero(changed.any(axis=1) | joined | left | boycott.any(axis=1)):
            for k in np.flatnonzero(changed[i]):
                self._event(
                    int(i),
                    INSTITUTIONS[k],
                    STATUSES[choices.before[0, i, k]],
                    STATUSES[choices.after[0, i, k]],
                )
            if joined[i]:
                self._event(int(i), "air_defence", "none", "member")
            if left[i]:
                self._event(int(i), "air_defence", "member", "withdrawn")
            for k in np.flatnonzero(boycott[i]):
                self._event(int(i), INSTITUTIONS[k], "member", "boycott")

    def _event(self, i: int, institution: str, old: str, new: str) -> None:
        self.datacollector.add_table_row(
            "events",
            {
                "step": self.steps,
                "quarter": self.quarter,
                "state": self.codes[i],
                "institution": institution,
                "from": old,
                "to": new,
            },
        )

    def _measure(self) -> None:
        """Take this quarter's measures (``rules.measures.measure``); refuse values that are not finite."""
        self.measures = dict(zip(MEASURES, measure_table(self.world)[0].tolist(), strict=True))
        for name in COUNTS:
            self.measures[name] = int(self.measures[name])
        bad = next((n for n in CHECKED if not math.isfinite(self.measures[n])), None)
        if bad is not None:
            raise ScenarioError(breakdown(self.config.name, self.quarter, bad, self.measures[bad]))

    def _due(self) -> bool:
        """Whether this step is collected: every ``every`` steps and the last, or the last only."""
        if not self.running:
            return True
        return self.collect_mode != "final" and self.steps % self.every == 0

    def _collect(self) -> None:
        self.datacollector.collect(self)
        self._collected_steps.append(self.steps)
        if self.collect_mode != "all":
            return
        w = self.world
        self._state_records.append(
            {
                "alignment": w.alignment[0].copy(),
                "commitment": w.commitment[0].copy(),
                "status": w.status[0].copy(),
                "air_defence": w.air_defence[0].copy(),
                "boycotts": w.boycotts[0].copy(),
                "utility": w.utility[0].copy(),
                "pressure": w.pressure[0].T.copy(),
                "inducement": w.inducement[0].T.copy(),
                "trade": w.trade[0].copy(),
                "arms": w.arms[0].copy(),
                "scalars": np.array([w.scalars[name][0] for name in STATE_SCALARS]).T,
            }
        )

    # --- results --------------------------------------------------------------------

    def date_of(self, step: int) -> date:
        """The last day of the quarter a step ends (step 0: the quarter before the start)."""
        return self.config.start.plus(step - 1).last_day()

    def model_frame(self) -> pd.DataFrame:
        """One row per step: ``step``, ``date``, ``quarter`` and every model measure."""
        frame = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        steps = self._collected_steps
        frame.insert(0, "date", pd.to_datetime([self.date_of(k) for k in steps]))
        frame.insert(0, "step", np.array(steps, dtype=np.int64))
        return frame

    def states_frame(self) -> pd.DataFrame:
        """One row per state per step: alignment, statuses, commitments and drivers."""
        records = self._state_records
        if self.collect_mode != "all":
            raise ValueError(f"per-state rows were not collected (collect={self.collect_mode!r})")
        steps, n = self._collected_steps, self.n_states
        columns: dict[str, object] = {
            "step": np.repeat(np.array(steps, dtype=np.int64), n),
            "date": pd.to_datetime(np.repeat([self.date_of(k) for k in steps], n)),
            "quarter": np.repeat([str(self.config.start.plus(k - 1)) for k in steps], n),
            "state": np.tile(self.codes, len(steps)),
        }

        def stack(key: str) -> np.ndarray:
            return np.concatenate([np.asarray(r[key], dtype=None) for r in records])

        block = stack("alignment")
        for k, label in enumerate(POLES):
            columns[f"alignment_{label}"] = block[:, k]
        status = np.array(STATUSES)[stack("status")]
        for k, inst in enumerate(INSTITUTIONS):
            columns[inst] = status[:, k]
        columns["air_defence"] = stack("air_defence")
        commitment = stack("commitment")
        for k, inst in enumerate(INSTITUTIONS):
            columns[f"commitment_{inst}"] = commitment[:, k]
        scalars = stack("scalars")
        for k, name in enumerate(STATE_SCALARS):
            columns[name] = scalars[:, k]
        pairs: tuple[tuple[str, tuple[str, ...]], ...] = (
            ("trade", PARTNERS),
            ("arms", PARTNERS),
            ("utility", POLES),
            ("pressure", POLES),
            ("inducement", POLES),
        )
        for key, labels in pairs:
            block = stack(key)
            for k, label in enumerate(labels):
                columns[f"{key}_{label}"] = block[:, k]
        columns["boycotts"] = stack("boycotts")
        return pd.DataFrame(columns)

    def events_frame(self) -> pd.DataFrame:
        """Status changes and summit boycotts, one row each."""
        return self.datacollector.get_table_dataframe("events")
