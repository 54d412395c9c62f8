"""The alliance model: set-up and the order of a quarter.

One step is one quarter. Each step (``docs/model.md`` has the equations):

a. shocks scheduled for the quarter change drivers (and expiring ones revert);
b. each power spreads its pressure and inducements over the states;
c. each state computes its utilities, chooses its preferred mix and moves part
   of the way toward it (simultaneously, from last quarter's alignments);
d. trade and arms-import shares, opinion of Russia and trust drift;
e. each state climbs or descends its institutional ladders, joins or leaves
   the unified air-defence system and decides on summit boycotts;
f. cohesion measures are collected.

Alignments start at the model's own equilibrium for the starting drivers
(found without noise before the first quarter), so a scenario never sets an
alignment; only the starting statuses are given.
"""

from __future__ import annotations

import math
from datetime import date

import networkx as nx
import numpy as np
import pandas as pd
from mesa import Model
from mesa.datacollection import DataCollector
from mesa.discrete_space import Network

from model.agents import (
    MemberState,
    Power,
    R,
    Terms,
    commitments,
    drift,
    move,
    preferred_mix,
    spread,
    state_table,
    temperatures,
    utilities,
    utility_parts,
)
from model.arguments import choice, scenario_argument, seed_argument, whole_number
from model.catalogue import INSTITUTIONS, PARTNERS, POLES, STATES, STATUS_TIER
from model.errors import ScenarioError
from model.measures import cohesion_index, two_bloc_energy
from model.scenario import ConflictShock, PowerShock, Scenario, StateShock

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

_CSTO = INSTITUTIONS.index("csto")

BURN_IN_ITERATIONS = 200
BURN_IN_TOLERANCE = 1e-6
BURN_IN_DAMPING = 0.5  # weight on the previous iterate once the plain iteration stops shrinking

MODEL_FIELDS = (
    "quarter",
    "cohesion",
    *(f"cohesion_{inst}" for inst in INSTITUTIONS),
    *(f"{inst}_members" for inst in INSTITUTIONS),
    *(f"{inst}_partial" for inst in INSTITUTIONS),
    "exits",
    "suspensions",
    "entries",
    "boycotts",
    "air_defence_members",
    "air_defence_rate",
    "energy",
    "russia_bloc",
    *(f"mean_alignment_{p}" for p in POLES),
)


#: Equilibrium alignments of the last few scenarios, by identity: id -> (scenario, alignment).
#: The scenario is held so that its id cannot be reused while the entry lives.
_EQUILIBRIA: dict[int, tuple[Scenario, np.ndarray]] = {}


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
        network: states as nodes (integer ids), ties and conflicts as edges.
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
        self._terms: Terms | None = None
        self.config = config
        self.codes = list(config.states)
        n = len(self.codes)
        self.n_states = n

        self.network = Network(self._graph(), random=self.random, layout=self._layout() if layout else None)
        self.table = state_table([config.states[code] for code in self.codes])
        self.states: list[MemberState] = []
        for index, code in enumerate(self.codes):
            state = MemberState(self, code, config.states[code], index)
            state.cell = self.network[index]
            self.states.append(state)
        self.powers = [Power(self, pole, config.powers[pole]) for pole in POLES]

        self.ties = np.zeros((n, n))
        for pair, tie in config.ties.items():
            i, j = (self.codes.index(c) for c in pair)
            self.ties[i, j] = self.ties[j, i] = tie.weight
        totals = self.ties.sum(axis=1, keepdims=True)
        self.tie_share = np.divide(self.ties, totals, out=np.zeros_like(self.ties), where=totals > 0)
        self.conflict = np.zeros((n, n))
        for pair, conflict in config.conflicts.items():
            i, j = (self.codes.index(c) for c in pair)
            self.conflict[i, j] = self.conflict[j, i] = conflict.intensity
        self.sizes = np.array([s.economic_weight for s in self.states])
        self.alignment = np.full((n, 4), 0.25)
        self.utility = np.zeros((n, 4))
        self.pressure = np.zeros((4, n))
        self.inducement = np.zeros((4, n))
        self.commitment = np.zeros((n, len(INSTITUTIONS)))
        self.has_ties = bool(self.ties.any())
        self.streaking = np.zeros(n, dtype=bool)  # a threshold streak is running (see MemberState)
        self._status_changed = False  # a status changed this quarter (see record_change)
        self._update_depth()

        self._schedule = self._schedule_shocks()
        self._reversals: dict[int, list[tuple]] = {}
        self.exits = self.suspensions = self.entries = self.boycotts = 0
        self.summit_quarter = False
        self.quarter = str(config.start.plus(-1))

        self.initial_russia = np.zeros(n)  # no drift to react to while equilibrating
        self._equilibrate()
        self.initial_russia = self.alignment[:, R].copy()
        self.commitment = commitments(self)

        self.datacollector = DataCollector(
            model_reporters={name: name for name in MODEL_FIELDS},
            tables={"events": ["step", "quarter", "state", "institution", "from", "to"]},
        )
        self._state_records: list[dict[str, np.ndarray]] = []
        self._collected_steps: list[int] = []
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

    @property
    def terms(self) -> Terms:
        """The rules' slow-moving terms (see :class:`~model.agents.Terms`), built when needed."""
        if self._terms is None:
            self._terms = Terms(self)
        return self._terms

    @property
    def parts(self) -> dict[str, np.ndarray]:
        """This quarter's utility part by part, states x poles (see ``utility_parts``)."""
        return utility_parts(self)

    def invalidate(self) -> None:
        """Rebuild the slow-moving terms before they are next used (after a driver changed)."""
        self._terms = None

    def _equilibrate(self) -> None:
        """Find the alignments the starting drivers imply (a fixed point, no noise).

        Plain fixed-point iteration ``a <- softmax(U(a) / tau)``, which converges in
        about 15 iterations on the shipped scenarios and on samples of the sweeps'
        factor ranges; if a step ever grows instead of shrinking, the rest is damped.
        The result depends on the scenario only, so it is kept for the last few
        scenarios a process ran: replications of a design point skip it.
        """
        cached = _EQUILIBRIA.get(id(self.config))
        if cached is not None and cached[0] is self.config:
            self.alignment = cached[1].copy()
        else:
            tau = temperatures(self)
            damping, last = 0.0, np.inf
            for _ in range(BURN_IN_ITERATIONS):
                self._act_powers()
                utilities(self)
                target = preferred_mix(self.utility, tau)
                change = np.abs(target - self.alignment).max()
                if change > last:
                    damping = BURN_IN_DAMPING
                last = change
                self.alignment = (1 - damping) * target + damping * self.alignment if damping else target
                if change < BURN_IN_TOLERANCE:
                    break
            _EQUILIBRIA[id(self.config)] = (self.config, self.alignment.copy())
            while len(_EQUILIBRIA) > 8:
                del _EQUILIBRIA[next(iter(_EQUILIBRIA))]
        self._act_powers()
        utilities(self)

    def _act_powers(self) -> None:
        """Every power targets the states; then each power's totals are spread over them."""
        for power in self.powers:
            power.target()
        spread(self)

    # --- shocks -------------------------------------------------------------------

    def _schedule_shocks(self) -> dict[int, list]:
        schedule: dict[int, list] = {}
        for shock in self.config.shocks:
            step = shock.date.index - self.config.start.index + 1
            schedule.setdefault(step, []).append(shock)
        return schedule

    def _targets(self, shock) -> list[MemberState]:
        if shock.states == "all":
            return self.states
        return [self.states[self.codes.index(code)] for code in shock.states]

    def _apply_shock(self, shock) -> list[tuple]:
        """Apply a shock; return what to undo when a temporary one expires."""
        undo: list[tuple] = []
        if isinstance(shock, PowerShock):
            power = self.powers[POLES.index(shock.power)]
            undo.append(_nudge(power, shock.kind, shock.delta))  # the power invalidates the terms
        elif isinstance(shock, ConflictShock):
            i, j = (self.codes.index(c) for c in shock.states)
            applied = _clip01(self.conflict[i, j] + shock.delta) - self.conflict[i, j]
            self.conflict[i, j] = self.conflict[j, i] = self.conflict[i, j] + applied
            self.invalidate()
            self.network.G.add_edge(i, j, kind="conflict", weight=self.conflict[i, j])
            if applied > 0:
                self._abandonment(i, j, applied)
            undo.append(("conflict", i, j, applied))
        elif isinstance(shock, StateShock):
            for state in self._targets(shock):
                attr = "external_threat" if shock.kind == "threat" else shock.kind
                if shock.kind == "opinion":
                    undo.append(_nudge(state, "opinion_anchor", shock.delta))
                    _nudge(state, "opinion_russia", shock.delta)
                else:
                    undo.append(_nudge(state, attr, shock.delta))
        else:  # trade access
            k = POLES.index(shock.partner)
            for state in self._targets(shock):
                state.access[k] += shock.delta
                undo.append(("access", state, k, shock.delta))
        return undo

    def _undo(self, undo: list[tuple]) -> None:
        for item in undo:
            if item[0] == "conflict":
                _, i, j, applied = item
                self.conflict[i, j] = self.conflict[j, i] = self.conflict[i, j] - applied
                self.invalidate()
                self.network.G.edges[i, j]["weight"] = self.conflict[i, j]
            elif item[0] == "access":
                _, state, k, delta = item
                state.access[k] -= delta
            else:
                _, obj, attr, applied = item
                setattr(obj, attr, getattr(obj, attr) - applied)

    def _abandonment(self, i: int, j: int, flare: float) -> None:
        """A flare-up the alliance leader does not answer costs the parties trust.

        Russia is taken to lean toward the party more aligned with it; each party
        loses trust in proportion to the flare-up and to how far Russia leans
        toward its adversary.
        """
        rate = self.config.dynamics.abandonment
        a = self.alignment[:, R]
        for me, other in ((i, j), (j, i)):
            lean = a[other] / (a[me] + a[other]) if a[me] + a[other] > 0 else 0.5
            state = self.states[me]
            state.trust_russia *= max(0.0, 1.0 - rate * flare * lean)

    # --- the quarter ----------------------------------------------------------------

    def step(self) -> None:
        """Advance one quarter: shocks, powers, alignments, drift, institutions, measures."""
        quarter = self.config.start.plus(self.steps - 1)
        self.quarter = str(quarter)
        self.summit_quarter = quarter.q == 4
        for undo in self._reversals.pop(self.steps, []):
            self._undo(undo)
        for shock in self._schedule.get(self.steps, []):
            undo = self._apply_shock(shock)
            if shock.duration is not None:
                self._reversals.setdefault(self.steps + shock.duration, []).append(undo)

        self._act_powers()
        utilities(self)
        dyn = self.config.dynamics
        noise = self.rng.normal(0.0, dyn.noise, self.alignment.shape) if dyn.noise > 0 else None
        target = preferred_mix(self.utility, temperatures(self))
        self.alignment = move(self.alignment, target, rate=dyn.adjustment, shock=noise)
        drift(self)
        self.commitment = commitments(self)
        self._status_changed = False
        for index in (self._may_act() | self.streaking).nonzero()[0]:
            self.states[index].choose_institutions()
        if self._status_changed:
            self._update_depth()

        if self.steps >= self.config.horizon:
            self.running = False
        if self._due():
            self._measure()
            self._collect()

    def _may_act(self) -> np.ndarray:
        """States whose commitments cross a threshold this quarter (a conservative screen).

        A state off this list, with no running streak (``streaking``), would leave every
        ladder where it is and, in a summit quarter, boycott nothing, so its (slower,
        per-agent) choice is skipped. The screen ignores neutrality and air-defence
        eligibility, so it flags a superset. The bounds it compares with are set by
        ``_update_depth`` from the statuses.
        """
        c = self.commitment
        below = self._summit_below if self.summit_quarter else self._act_below
        crossing = np.logical_or.reduce((c < below) | (c > self._act_above), axis=1)
        csto = c[:, _CSTO]
        return crossing | (csto < self._air_below) | (csto > self._air_above) | self._air_forced

    def record_change(self, state: MemberState, institution: str, old: str, new: str) -> None:
        """Count and log a status change or a summit boycott."""
        # A boycott changes no status: depth, the screen's bounds and the terms stay.
        self._status_changed = self._status_changed or new != "boycott"
        if new == "boycott":
            self.boycotts += 1
        elif institution in INSTITUTIONS:  # air defence is counted by air_defence_members
            if STATUS_TIER[new] > STATUS_TIER[old]:
                self.entries += 1
            elif new == "withdrawn":
                self.exits += 1
            else:
                self.suspensions += 1
        self.datacollector.add_table_row(
            "events",
            {
                "step": self.steps,
                "quarter": self.quarter,
                "state": state.code,
                "institution": institution,
                "from": old,
                "to": new,
            },
        )

    def _update_depth(self) -> None:
        """Status tiers (states x institutions), membership depth and CSTO guarantee level."""
        self.tiers = np.array([[STATUS_TIER[s.status[i]] for i in INSTITUTIONS] for s in self.states])
        self.depth = self.tiers.sum(axis=1) / 9.0  # mean over institutions of tier / 3
        csto = self.tiers[:, INSTITUTIONS.index("csto")]
        self.csto_level = np.where(csto == 3, 1.0, np.where(csto == 2, 0.5, 0.0))
        self.in_air_defence = np.array([s.air_defence for s in self.states])

        # Bounds for the screen in ``_may_act``: a member acts below step_down, a partial
        # member or observer below leave or above step_up, an outsider above join.
        rules = self.config.institutions
        ladders = [rules[inst] for inst in INSTITUTIONS]
        full, partial = self.tiers == 3, self.tiers > 0
        self._act_below = np.where(
            full, [x.step_down for x in ladders], np.where(partial, [x.leave for x in ladders], -np.inf)
        )
        self._act_above = np.where(
            full, np.inf, np.where(partial, [x.step_up for x in ladders], [x.join for x in ladders])
        )
        # In a summit quarter a member below the boycott threshold acts as well.
        self._summit_below = np.maximum(self._act_below, np.where(full, rules.boycott, -np.inf))
        inside = self.in_air_defence
        self._air_below = np.where(inside, rules.air_defence_leave, -np.inf)
        self._air_above = np.where(inside, np.inf, rules.air_defence_join)
        self._air_forced = inside & (self.tiers[:, INSTITUTIONS.index("cis")] < 2)
        self.invalidate()

    def _measure(self) -> None:
        """Cohesion index, member counts, exits, air defence and landscape energy."""
        a_russia = self.alignment[:, R]
        full = self.tiers == 3
        alliance = full.any(axis=1)
        weights = np.vstack([self.depth * alliance, full.T]) * self.sizes
        self.cohesion, *per_institution = cohesion_index(a_russia, weights).tolist()
        for k, inst in enumerate(INSTITUTIONS):
            setattr(self, f"cohesion_{inst}", per_institution[k])
            setattr(self, f"{inst}_members", int(full[:, k].sum()) + 1)  # Russia counts
            setattr(self, f"{inst}_partial", int((self.tiers[:, k] == 2).sum()))
        cis_full = full[:, INSTITUTIONS.index("cis")]
        self.air_defence_members = int(self.in_air_defence.sum())
        self.air_defence_rate = float(self.in_air_defence[cis_full].mean()) if cis_full.any() else 0.0
        self.energy, blocs = two_bloc_energy(self.alignment, self.sizes, self.conflict)
        self.russia_bloc = int(blocs.sum())
        mean = self.sizes @ self.alignment / self.sizes.sum()
        for k, pole in enumerate(POLES):
            setattr(self, f"mean_alignment_{pole}", float(mean[k]))
        if not math.isfinite(self.cohesion + sum(per_institution) + self.energy + float(mean.sum())):
            self._refuse_non_finite()

    def _refuse_non_finite(self) -> None:
        """Stop a run whose measures are not finite numbers: that is an error, not a result.

        Raises:
            ScenarioError: naming the quarter and the first measure that is not finite.
        """
        names = ["cohesion", *(f"cohesion_{i}" for i in INSTITUTIONS), "energy"]
        names += [f"mean_alignment_{pole}" for pole in POLES]
        name = next(n for n in names if not math.isfinite(getattr(self, n)))
        raise ScenarioError(
            f"{self.config.name}: quarter {self.quarter}: the measure {name} is {getattr(self, name)}, "
            "not a finite number; the scenario's values make the model break down "
            "(check very large or very small economic weights)"
        )

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
        t = self.table
        self._state_records.append(
            {
                "alignment": self.alignment.copy(),
                "commitment": self.commitment.copy(),
                "status": [[s.status[i] for i in INSTITUTIONS] for s in self.states],
                "air_defence": self.in_air_defence,
                "boycotts": [s.boycotts for s in self.states],
                "utility": self.utility.copy(),
                "pressure": self.pressure.T.copy(),
                "inducement": self.inducement.T.copy(),
                "trade": t["trade"].copy(),
                "arms": t["arms"].copy(),
                "scalars": np.array([t[name] for name in STATE_SCALARS]).T,
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

        for key, labels in (("alignment", POLES),):
            block = stack(key)
            for k, label in enumerate(labels):
                columns[f"{key}_{label}"] = block[:, k]
        status = stack("status")
        for k, inst in enumerate(INSTITUTIONS):
            columns[inst] = status[:, k]
        columns["air_defence"] = stack("air_defence")
        commitment = stack("commitment")
        for k, inst in enumerate(INSTITUTIONS):
            columns[f"commitment_{inst}"] = commitment[:, k]
        scalars = stack("scalars")
        for k, name in enumerate(STATE_SCALARS):
            columns[name] = scalars[:, k]
        for key, labels in (
            ("trade", PARTNERS),
            ("arms", PARTNERS),
            ("utility", POLES),
            ("pressure", POLES),
            ("inducement", POLES),
        ):
            block = stack(key)
            for k, label in enumerate(labels):
                columns[f"{key}_{label}"] = block[:, k]
        columns["boycotts"] = stack("boycotts")
        return pd.DataFrame(columns)

    def events_frame(self) -> pd.DataFrame:
        """Status changes and summit boycotts, one row each."""
        return self.datacollector.get_table_dataframe("events")


def _clip01(x: float) -> float:
    return min(1.0, max(0.0, x))


def _nudge(obj, attr: str, delta: float) -> tuple:
    """Add ``delta`` to a [0, 1] attribute, clipped; return the undo record."""
    old = getattr(obj, attr)
    new = _clip01(old + delta)
    setattr(obj, attr, new)
    return ("attr", obj, attr, new - old)
