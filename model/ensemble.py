"""The ensemble engine: many runs of one scenario shape as one array computation.

:func:`run_ensemble` takes one scenario and one seed per run. Runs that share a
shape (states, start, horizon and shock schedule; any parameter values) are
simulated together, in blocks, by the same rule functions the Mesa model runs on
one run (:mod:`model.rules`), so a run gives the same numbers whichever path runs
it: the engine draws each run's noise from that run's own generator, in the
order the Mesa model draws it (one ``states x poles`` block per quarter), and a
test checks the two paths agree on every shipped scenario to 1e-12 with
identical events.

What a run collects follows ``simulate``: step 0, every ``every``-th step and
the last. A run whose measures stop being finite numbers fails alone with the
message the Mesa model would raise; an unexpected error in a block re-runs that
block's runs one by one through the Mesa model, so a failure stays with its run.
"""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from model.catalogue import INSTITUTIONS, POLES
from model.errors import ScenarioError, breakdown
from model.rules import quarter
from model.rules.institutions import Choices
from model.rules.measures import CHECKED, COUNTS, MEASURES, measure
from model.rules.shocks import Schedule, compile_shocks, signature
from model.rules.world import (
    DYNAMICS,
    LADDER,
    POWER,
    STATE_SCALARS,
    STATUSES,
    THRESHOLDS,
    WEIGHTS,
    World,
    build_world,
)
from model.scenario import PICTURE_KEYS, RUNGS, Scenario, checked, ladder_ordered

Seed = int | np.random.SeedSequence

#: State-runs per block (runs x states): the block's arrays stay a few MB whatever the size.
BLOCK_CELLS = 16384
#: Quarters of noise drawn at a time for a block.
NOISE_QUARTERS = 8
EVENT_COLUMNS = ("run", "step", "quarter", "state", "institution", "from", "to")


@dataclass(frozen=True)
class Origin:
    """A forecast origin: the runs are forecasts issued at ``step`` from the observed statuses.

    Just before step ``step`` is taken, every run's institutional statuses are set to
    ``status`` and its threshold streaks are cleared; everything else (alignments,
    drivers, trust, trade and arms shares) is the run's own. It is what a forecaster
    issuing a forecast at that quarter knows of the record, as a scenario's starting
    statuses are (docs/validation.md). It is not a shock: no scenario can set it, and
    the status changes it makes are not logged as events (a run's log from ``step``
    on starts from ``status``).

    Attributes:
        step: the first step of the forecast (1 is the scenario's first quarter).
        status: status codes (into :data:`model.rules.world.STATUSES`), ``[states, institutions]``.
    """

    step: int
    status: np.ndarray

    def __post_init__(self) -> None:
        status = np.asarray(self.status)
        if isinstance(self.step, bool) or not isinstance(self.step, int | np.integer) or self.step < 1:
            raise ValueError(f"origin: step {self.step!r} is not a step; allowed a whole number >= 1")
        if status.ndim != 2 or status.shape[1] != len(INSTITUTIONS) or status.dtype.kind not in "iu":
            raise ValueError(
                f"origin: status has shape {status.shape} ({status.dtype}); allowed status codes, "
                f"one row per state and one column per institution ({', '.join(INSTITUTIONS)})"
            )
        if ((status < 0) | (status >= len(STATUSES))).any():
            raise ValueError(
                f"origin: a status code outside 0-{len(STATUSES) - 1}; allowed codes of {STATUSES}"
            )

    def check(self, scenario: Scenario) -> None:
        """Refuse an origin that does not fit ``scenario`` (its states, in order, and its horizon)."""
        if len(self.status) != len(scenario.states):
            raise ValueError(
                f"origin: {len(self.status)} rows of statuses for {scenario.name}'s {len(scenario.states)} "
                "states; allowed one row per state, in the scenario's order"
            )
        if self.step > scenario.horizon:
            raise ValueError(
                f"origin: step {self.step} is after {scenario.name}'s last ({scenario.horizon}); "
                f"allowed 1 to {scenario.horizon}"
            )

    def apply(self, world: World) -> None:
        """Set every run of ``world`` to the observed statuses, with no threshold streak running."""
        world.status = np.broadcast_to(self.status, world.status.shape).copy()
        world.streak = np.zeros_like(world.streak)
        world.air_streak = np.zeros_like(world.air_streak)


def run_generator(seed: Seed) -> np.random.Generator:
    """The generator a run's noise comes from, as the Mesa model's ``model.rng`` stands after set-up.

    ``mesa.Model`` turns the seed into ``numpy.random.default_rng(seed)`` and, for
    a seed that is not an integer, first draws one integer from it to seed
    ``model.random``; nothing else draws before the first quarter's noise.
    """
    rng = np.random.default_rng(seed)
    if not isinstance(seed, int | np.integer):
        rng.integers(np.iinfo(np.int32).max)
    return rng


def collected_steps(horizon: int, every: int | None) -> list[int]:
    """The steps a run collects: 0, every ``every``-th and the last (0 and the last for None)."""
    if every is None:
        return [0, horizon]
    return sorted({0, horizon, *range(every, horizon + 1, every)})


@dataclass
class Ensemble:
    """What an ensemble produced, one entry per run in the order given.

    Attributes:
        measures: end-of-run measures, name -> ``[runs]`` (undefined for a failed run).
        errors: None for a run that completed, else its error (one line).
        tracebacks: the traceback of each failed run ("" for a completed one).
        steps: the collected steps (see :func:`collected_steps`), per shape the same.
        series: measures at the collected steps, name -> ``[runs, steps]``, when asked for.
        events: status changes and boycotts, with a ``run`` column, when asked for.
    """

    measures: dict[str, np.ndarray]
    errors: list[str | None]
    tracebacks: list[str]
    steps: dict[int, list[int]] = field(default_factory=dict)
    series: dict[str, np.ndarray] | None = None
    events: pd.DataFrame | None = None

    @property
    def failed(self) -> np.ndarray:
        """Runs that failed."""
        return np.array([e is not None for e in self.errors], dtype=bool)


def block_size(n_states: int) -> int:
    """Runs per block for scenarios of ``n_states`` states."""
    return int(min(2048, max(32, BLOCK_CELLS // max(n_states, 1))))


def run_ensemble(
    scenarios: Sequence[Scenario],
    seeds: Sequence[Seed],
    *,
    every: int | None = None,
    events: bool = False,
    block: int | None = None,
    series_measures: Sequence[str] | None = None,
    origin: Origin | None = None,
) -> Ensemble:
    """Run one scenario per seed to its horizon; return every run's measures.

    Args:
        scenarios: validated scenarios, one per run (the same object for the
            replications of one point lets their equilibrium be found once).
        seeds: each run's seed (an integer or a ``SeedSequence``).
        every: also keep the measures every ``every`` steps (the series).
        events: also keep the event log.
        block: runs per block (default :func:`block_size`).
        series_measures: the measures the series keeps (default all of them); the
            others are not held per step at all, so memory grows with these alone.
        origin: a forecast origin (:class:`Origin`), or None.

    Returns:
        The :class:`Ensemble`.
    """
    keep = _series_names(series_measures)
    keep = keep if every is not None else ()
    if len(scenarios) != len(seeds):
        raise ValueError(f"run_ensemble: {len(scenarios)} scenarios but {len(seeds)} seeds")
    runs = len(scenarios)
    groups: dict[tuple[object, ...], list[int]] = {}
    shapes: dict[int, tuple[object, ...] | str] = {}
    valid: dict[int, Scenario] = {}
    for s in scenarios:  # each distinct scenario is checked once, as the Mesa model checks it
        if id(s) not in shapes:
            try:
                valid[id(s)] = checked(s)
                shapes[id(s)] = signature(valid[id(s)])
            except ScenarioError as exc:
                shapes[id(s)] = f"ScenarioError: {_first_line(exc)}"
    measures = {name: np.zeros(runs, dtype=np.int64 if name in COUNTS else np.float64) for name in MEASURES}
    out = Ensemble(measures=measures, errors=[None] * runs, tracebacks=[""] * runs)
    for r, s in enumerate(scenarios):
        key = shapes[id(s)]
        if isinstance(key, str):
            out.errors[r], out.tracebacks[r] = key, key + "\n"
        else:
            groups.setdefault(key, []).append(r)
    scenarios = [valid.get(id(s), s) for s in scenarios]
    if origin is not None:
        for s in valid.values():
            origin.check(s)
    series: dict[str, np.ndarray] | None = None
    frames: list[pd.DataFrame] = []
    if every is not None and len({scenarios[rows[0]].horizon for rows in groups.values()}) > 1:
        raise ValueError("run_ensemble: a series (every=...) needs every run to have the same horizon")
    for rows in groups.values():
        first = scenarios[rows[0]]
        steps = collected_steps(first.horizon, every)
        size = block or block_size(len(first.states))
        if every is not None and series is None:
            series = {name: np.zeros((runs, len(steps))) for name in keep}
        for start in range(0, len(rows), size):
            part = np.array(rows[start : start + size], dtype=np.int64)
            result = _run_block(
                [scenarios[r] for r in part], [seeds[r] for r in part], steps, events, keep, origin
            )
            _store(out, series, frames, result, part, steps)
    return _finish(out, series, frames, events)


def _store(
    out: Ensemble,
    series: dict[str, np.ndarray] | None,
    frames: list[pd.DataFrame],
    result: _Block,
    part: np.ndarray,
    steps: list[int],
) -> None:
    """Copy a block's results into the ensemble's rows ``part``."""
    for name in MEASURES:
        out.measures[name][part] = result.measures[name]
    if series is not None and result.series is not None:
        if any(v.shape[1] != len(steps) for v in series.values()):
            raise ValueError("run_ensemble: a series needs every run to have the same horizon")
        for name, values in series.items():
            values[part] = result.series[name]
    for k, r in enumerate(part.tolist()):
        out.errors[r] = result.errors[k]
        out.tracebacks[r] = result.tracebacks[k]
        out.steps[r] = steps
    if result.events is not None:
        frame = result.events
        frame["run"] = part[frame["run"].to_numpy().astype(np.int64)]
        frames.append(frame)


def _finish(
    out: Ensemble, series: dict[str, np.ndarray] | None, frames: list[pd.DataFrame], events: bool
) -> Ensemble:
    out.series = series
    if events:
        frame = pd.concat(frames, ignore_index=True) if frames else _empty_events()
        frame = frame.sort_values(["run", "step", "state_index", "order"], kind="stable")
        out.events = frame[list(EVENT_COLUMNS)].reset_index(drop=True)
    return out


# --------------------------------------------------------------------------- design points

#: Scenario keys whose only constraint is their own range, or the order of an institution's
#: thresholds (checked over every point, :func:`_ladders_ordered`): a design point can set
#: them straight into a world (the design checked the range). Others, such as a trade
#: share (shares sum to 1), go through a validated scenario per point.
_PLAIN_INSTITUTION_KEYS = (*THRESHOLDS, "patience")


def _setter(base: Scenario, path: str) -> Callable[[World, np.ndarray], None] | None:
    """A function writing a factor's values (one per run) into a world, or None if it has none."""
    parts = path.split(".")
    if len(parts) == 3 and parts[0] == "powers" and parts[1] in POLES and parts[2] in POWER:
        k, name = POLES.index(parts[1]), parts[2]

        def power(world: World, values: np.ndarray) -> None:
            world.powers[name][:, k] = values

        return power
    if len(parts) == 2 and parts[0] in ("weights", "dynamics"):
        group = parts[0]
        if parts[1] in (WEIGHTS if group == "weights" else DYNAMICS):
            key = parts[1]

            def scalar(world: World, values: np.ndarray) -> None:
                getattr(world, group)[key][:, 0, 0] = values

            return scalar
    if len(parts) == 2 and parts[0] == "institutions" and parts[1] in _PLAIN_INSTITUTION_KEYS:
        key = parts[1]

        def threshold(world: World, values: np.ndarray) -> None:
            if key == "patience":
                world.patience[:, 0, 0] = np.rint(values).astype(np.int64)
            else:
                world.thresholds[key][:, 0, 0] = values

        return threshold
    if len(parts) == 3 and parts[0] == "institutions" and parts[1] in INSTITUTIONS and parts[2] in LADDER:
        k, rung = INSTITUTIONS.index(parts[1]), parts[2]

        def ladder(world: World, values: np.ndarray) -> None:
            world.ladder[rung][:, 0, k] = values

        return ladder  # the thresholds' order is checked over every point (_ladders_ordered)
    if len(parts) == 3 and parts[0] == "states" and parts[1] in base.states:
        i, key = list(base.states).index(parts[1]), parts[2]
        if key == "economic_weight":

            def size(world: World, values: np.ndarray) -> None:
                world.sizes[:, i] = values

            return size
        if key in STATE_SCALARS and key != "opinion_anchor":

            def driver(world: World, values: np.ndarray) -> None:
                world.scalars[key][:, i] = values
                if key == "opinion_russia":  # the survey value is also the anchor
                    world.scalars["opinion_anchor"][:, i] = values

            return driver
    return None


def run_points(
    base: Scenario,
    paths: Sequence[str],
    values: np.ndarray,
    seeds: Sequence[Seed],
    *,
    integer: Sequence[bool] | None = None,
    every: int | None = None,
    events: bool = False,
    block: int | None = None,
    series_measures: Sequence[str] | None = None,
    origin: Origin | None = None,
) -> Ensemble:
    """Run design points of a base scenario: run ``r`` sets ``paths`` to ``values[r]``.

    The same numbers as running ``base.with_overrides({...})`` for each run (a test
    checks it). When every path is a plain key (see :func:`_setter`), the values go
    straight into the world's arrays; otherwise one validated scenario is built per
    distinct point, and a point the scenario schema rejects fails its runs with the
    schema's message.

    Args:
        base: the base scenario, its horizon set to the quarters to run.
        paths: factor key paths.
        values: ``[runs, len(paths)]`` factor values (checked against the schema's
            bounds by the design).
        seeds: each run's seed.
        integer: which factors are whole numbers (rounded to the nearest).
        every: also keep the measures every ``every`` steps.
        events: also keep the event log.
        block: runs per block.
        series_measures: the measures the series keeps (default all).
        origin: a forecast origin (:class:`Origin`), or None.
    """
    values = np.asarray(values, dtype=np.float64).reshape(len(seeds), len(paths))
    integer = tuple(integer) if integer is not None else (False,) * len(paths)
    values = np.where(np.array(integer, dtype=bool), np.rint(values), values)
    keep = _series_names(series_measures)
    keep = keep if every is not None else ()
    options: dict[str, Any] = dict(
        every=every, events=events, block=block, series_measures=series_measures, origin=origin
    )
    try:
        base = checked(base)
    except ScenarioError:  # every run fails with the schema's message (run_ensemble records it)
        return run_ensemble([base] * len(seeds), seeds, **options)
    if origin is not None:
        origin.check(base)
    setters = [_setter(base, p) for p in paths]
    if not paths:
        return run_ensemble([base] * len(seeds), seeds, **options)
    if any(s is None for s in setters) or not _plain_values_valid(base, paths, integer, values):
        return _run_scenarios(base, paths, integer, values, seeds, **options)
    runs = len(seeds)
    steps = collected_steps(base.horizon, every)
    measures = {name: np.zeros(runs, dtype=np.int64 if name in COUNTS else np.float64) for name in MEASURES}
    out = Ensemble(measures=measures, errors=[None] * runs, tracebacks=[""] * runs)
    series = {name: np.zeros((runs, len(steps))) for name in keep} if every is not None else None
    frames: list[pd.DataFrame] = []
    template = build_world([base])
    pictured = base.pictured()
    # The starting picture takes the points' behavioural parameters but not their levers
    # (drivers and power levels, which act from the first quarter: docs/model.md 3).
    picture_template = None if pictured is base and base.start_from is None else build_world([pictured])
    picture_setters = [
        None if base.start_from is not None and p.split(".")[0] in PICTURE_KEYS else setter
        for p, setter in zip(paths, setters, strict=True)
    ]
    size = block or block_size(len(base.states))
    for start in range(0, runs, size):
        part = np.arange(start, min(start + size, runs))
        rows, inverse = np.unique(values[part], axis=0, return_inverse=True)
        block_seeds = [seeds[r] for r in part.tolist()]
        try:
            with np.errstate(all="ignore"):
                world = template.take(np.zeros(len(rows), dtype=np.int64))
                for k, setter in enumerate(setters):
                    setter(world, rows[:, k])  # type: ignore[misc]
                picture = None
                if picture_template is not None:
                    picture = picture_template.take(np.zeros(len(rows), dtype=np.int64))
                    for k, setter in enumerate(picture_setters):
                        if setter is not None:
                            setter(picture, rows[:, k])
                quarter.set_up(world, picture=picture)  # one equilibrium per distinct point
                world = world.take(inverse.reshape(-1))
                schedule = Schedule.of(compile_shocks([base] * len(part)))
                result = _simulate_block(base, world, schedule, block_seeds, steps, events, keep, origin)
        except Exception as exc:
            _warn(exc)
            points = [_point(base, paths, integer, values[r]) for r in part]
            good = [s if isinstance(s, Scenario) else base for s in points]
            result = _one_by_one(good, block_seeds, steps, events, keep, origin)
            for k, s in enumerate(points):
                if isinstance(s, str):  # a point the schema rejects fails; it never runs as the base
                    result.errors[k], result.tracebacks[k] = s, s + "\n"
        _store(out, series, frames, result, part, steps)
    return _finish(out, series, frames, events)


def _series_names(names: Sequence[str] | None) -> tuple[str, ...]:
    """The measures a series keeps: all of them by default; an unknown name is refused."""
    if names is None:
        return MEASURES
    if isinstance(names, str):
        raise ValueError(f"series_measures: {names!r} is a string; allowed a list of measure names")
    unknown = [n for n in names if n not in MEASURES]
    if unknown:
        raise ValueError(f"series_measures: unknown measure {unknown[0]!r}; allowed: {', '.join(MEASURES)}")
    return tuple(dict.fromkeys(names))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _warn(exc: BaseException) -> None:
    """Say that a block fell back to the Mesa model run by run, and why (an engine bug)."""
    warnings.warn(
        f"the ensemble engine failed on a block ({type(exc).__name__}: {_first_line(exc)}); its runs "
        "are run one by one on the Mesa model instead, more slowly:\n"
        + "".join(traceback.format_exception(exc)),
        RuntimeWarning,
        stacklevel=3,
    )


def _plain_values_valid(
    base: Scenario, paths: Sequence[str], integer: Sequence[bool], values: np.ndarray
) -> bool:
    """Whether every value may be written straight into the arrays.

    Every value must be finite, and each column's smallest and largest value must pass
    the schema (the keys written directly have no joint constraint, only a range, so a
    column whose ends pass passes whole). Otherwise each point goes through the schema.
    """
    if values.size == 0:
        return True
    if not np.isfinite(values).all():
        return False
    for ends in (values.min(axis=0), values.max(axis=0)):
        if isinstance(_point(base, paths, integer, ends), str):
            return False
    return _ladders_ordered(base, paths, values)


def _ladders_ordered(base: Scenario, paths: Sequence[str], values: np.ndarray) -> bool:
    """Whether every point keeps each ladder it changes ordered (``leave <= step_down < step_up <= join``).

    The one joint constraint among the keys written straight into the arrays: the
    column ends passing the schema do not show that every row does.
    """
    for inst in INSTITUTIONS:
        mine = {p.split(".")[2]: k for k, p in enumerate(paths) if p.startswith(f"institutions.{inst}.")}
        if not mine.keys() - {"cost"}:
            continue
        rungs = [
            values[:, mine[name]] if name in mine else getattr(base.institutions[inst], name)
            for name in RUNGS
        ]
        if not np.all(ladder_ordered(*rungs)):
            return False
    return True


def point_scenario(
    base: Scenario, paths: Sequence[str], integer: Sequence[bool], row: np.ndarray
) -> Scenario:
    """The validated scenario of one design point (``base`` with ``paths`` set to ``row``).

    Raises:
        ScenarioError: the point breaks a joint constraint of the schema.
    """
    overrides = {p: round(v) if i else float(v) for p, i, v in zip(paths, integer, row.tolist(), strict=True)}
    scenario = base.with_overrides(overrides) if overrides else base
    return scenario.model_copy(update={"horizon": base.horizon})


def _point(base: Scenario, paths: Sequence[str], integer: Sequence[bool], row: np.ndarray) -> Scenario | str:
    """The scenario of one design point, or the schema's one-line message."""
    try:
        return point_scenario(base, paths, integer, row)
    except ScenarioError as exc:
        return f"ScenarioError: {str(exc).strip().splitlines()[0]}"


def _run_scenarios(
    base: Scenario,
    paths: Sequence[str],
    integer: Sequence[bool],
    values: np.ndarray,
    seeds: Sequence[Seed],
    **options: Any,
) -> Ensemble:
    """Design points through one validated scenario per distinct point."""
    cache: dict[bytes, Scenario | str] = {}
    scenarios: list[Scenario | str] = []
    for row in values:
        key = row.tobytes()
        if key not in cache:
            cache[key] = _point(base, paths, integer, row)
        scenarios.append(cache[key])
    good = [r for r, s in enumerate(scenarios) if isinstance(s, Scenario)]
    result = run_ensemble([scenarios[r] for r in good], [seeds[r] for r in good], **options)  # type: ignore[misc]
    runs = len(seeds)
    measures = {name: np.zeros(runs, dtype=v.dtype) for name, v in result.measures.items()}
    out = Ensemble(measures=measures, errors=[None] * runs, tracebacks=[""] * runs, steps=dict())
    index = np.array(good, dtype=np.int64)
    for name, v in result.measures.items():
        measures[name][index] = v
    for k, r in enumerate(good):
        out.errors[r], out.tracebacks[r] = result.errors[k], result.tracebacks[k]
        out.steps[r] = result.steps[k]
    for r, s in enumerate(scenarios):
        if isinstance(s, str):
            out.errors[r], out.tracebacks[r] = s, s + "\n"
    if result.series is not None:
        out.series = {}
        for name, v in result.series.items():
            full = np.zeros((runs, v.shape[1]))
            full[index] = v
            out.series[name] = full
    if result.events is not None:
        frame = result.events.copy()
        frame["run"] = index[frame["run"].to_numpy()] if len(frame) else frame["run"]
        out.events = frame
    return out


@dataclass
class _Block:
    measures: dict[str, np.ndarray]
    series: dict[str, np.ndarray] | None
    errors: list[str | None]
    tracebacks: list[str]
    events: pd.DataFrame | None


def _run_block(
    scenarios: list[Scenario],
    seeds: list[Seed],
    steps: list[int],
    events: bool,
    keep: tuple[str, ...],
    origin: Origin | None = None,
) -> _Block:
    """Run a block of runs of one shape; fall back to the Mesa model run by run on an error."""
    try:
        with np.errstate(all="ignore"):
            first = scenarios[0]
            unique: dict[int, int] = {}
            for s in scenarios:
                unique.setdefault(id(s), len(unique))
            distinct = list({id(s): s for s in scenarios}.values())
            world = build_world(distinct)
            pictured = [s.pictured() for s in distinct]
            own = all(p is s for p, s in zip(pictured, distinct, strict=True))
            quarter.set_up(world, picture=None if own else build_world(pictured))  # one per scenario
            world = world.take([unique[id(s)] for s in scenarios])
            schedule = Schedule.of(compile_shocks(scenarios))
            return _simulate_block(first, world, schedule, seeds, steps, events, keep, origin)
    except Exception as exc:
        _warn(exc)
        return _one_by_one(scenarios, seeds, steps, events, keep, origin)


def _simulate_block(
    first: Scenario,
    world: World,
    schedule: Schedule,
    seeds: Sequence[Seed],
    steps: list[int],
    events: bool,
    keep: tuple[str, ...],
    origin: Origin | None = None,
) -> _Block:
    """Run a world that has been set up (its equilibrium found) through its quarters.

    The series holds the measures in ``keep`` at the collected ``steps``; the
    end-of-run measures are those of the last collected step (the horizon).
    """
    runs, n = world.runs, world.n_states
    horizon = first.horizon
    scale = world.dynamics["noise"][:, 0, 0]
    noisy = np.flatnonzero(scale > 0)
    generators = {r: run_generator(seeds[r]) for r in noisy.tolist()}
    noise: np.ndarray | None = None

    wanted = set(steps)
    series = {name: np.zeros((runs, len(steps))) for name in keep}
    last: dict[str, np.ndarray] = {}
    errors: list[str | None] = [None] * runs
    log: list[pd.DataFrame] = []
    codes: list[str] = list(first.states)

    def collect(step: int, column: int) -> None:
        values = measure(world)
        last.update(values)
        label = str(first.start.plus(step - 1))
        for name in keep:
            series[name][:, column] = values[name]
        for name in CHECKED:
            for r in np.flatnonzero(~np.isfinite(values[name])):
                if errors[r] is None:
                    errors[r] = "ScenarioError: " + breakdown(first.name, label, name, float(values[name][r]))

    collect(0, 0)
    column = 1
    for step in range(1, horizon + 1):
        offset = (step - 1) % NOISE_QUARTERS
        if noisy.size and offset == 0:
            quarters = min(NOISE_QUARTERS, horizon - step + 1)
            noise = np.zeros((quarters, runs, n, 4))
            for r, g in generators.items():
                noise[:, r] = g.normal(0.0, scale[r], (quarters, n, 4))
        current = first.start.plus(step - 1)
        if origin is not None and step == origin.step:
            origin.apply(world)
        result = quarter.advance(
            world, step, schedule, None if noise is None else noise[offset], summit=current.q == 4
        )
        if events:
            log.append(_events(result.choices, step, str(current), codes))
        if step in wanted:
            collect(step, column)
            column += 1
    final = {name: last[name].astype(np.int64 if name in COUNTS else np.float64) for name in MEASURES}
    frame = pd.concat(log, ignore_index=True) if events and log else (_empty_events() if events else None)
    return _Block(
        measures=final,
        series=series,
        errors=errors,
        tracebacks=["" if e is None else e + "\n" for e in errors],
        events=frame,
    )


def _events(choices: Choices, step: int, label: str, codes: list[str]) -> pd.DataFrame:
    """This quarter's events, in the Mesa model's order within a run (state, then kind)."""
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, list[str], list[str], list[str]]] = []
    r, i, k = np.nonzero(choices.changed)
    parts.append(
        (
            r,
            i,
            k,
            [INSTITUTIONS[x] for x in k],
            [STATUSES[x] for x in choices.before[r, i, k]],
            [STATUSES[x] for x in choices.after[r, i, k]],
        )
    )
    for mask, old, new in ((choices.air_joined, "none", "member"), (choices.air_left, "member", "withdrawn")):
        r, i = np.nonzero(mask)
        parts.append((r, i, np.full(len(r), 3), ["air_defence"] * len(r), [old] * len(r), [new] * len(r)))
    r, i, k = np.nonzero(choices.boycott)
    parts.append((r, i, 4 + k, [INSTITUTIONS[x] for x in k], ["member"] * len(r), ["boycott"] * len(r)))
    run = np.concatenate([p[0] for p in parts])
    state = np.concatenate([p[1] for p in parts])
    return pd.DataFrame(
        {
            "run": run,
            "step": np.full(len(run), step, dtype=np.int64),
            "quarter": [label] * len(run),
            "state": [codes[x] for x in state],
            "institution": [x for p in parts for x in p[3]],
            "from": [x for p in parts for x in p[4]],
            "to": [x for p in parts for x in p[5]],
            "state_index": state,
            "order": np.concatenate([p[2] for p in parts]),
        }
    )


def _empty_events() -> pd.DataFrame:
    frame = pd.DataFrame({name: [] for name in (*EVENT_COLUMNS, "state_index", "order")})
    return frame.astype({"run": np.int64, "step": np.int64, "state_index": np.int64, "order": np.int64})


def _one_by_one(
    scenarios: list[Scenario],
    seeds: list[Seed],
    steps: list[int],
    events: bool,
    keep: tuple[str, ...],
    origin: Origin | None = None,
) -> _Block:
    """The block's runs through the Mesa model, each alone: a run that raises fails by itself."""
    from model.model import AllianceModel  # the model of record; imported here to keep the engine light

    runs = len(scenarios)
    series = {name: np.zeros((runs, len(steps))) for name in keep}
    final = {name: np.zeros(runs, dtype=np.int64 if name in COUNTS else np.float64) for name in MEASURES}
    errors: list[str | None] = [None] * runs
    tracebacks = [""] * runs
    frames = []
    every = steps[1] if len(steps) > 2 else None
    for r, (scenario, seed) in enumerate(zip(scenarios, seeds, strict=True)):
        try:
            model = AllianceModel(scenario, rng=seed, collect="model" if every else "final", every=every or 1)
            while model.running:
                if origin is not None and model.steps + 1 == origin.step:
                    origin.apply(model.world)
                model.step()
        except Exception as exc:
            errors[r] = (
                f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
            )
            tracebacks[r] = "".join(traceback.format_exception(exc))
            continue
        table = model.datacollector.get_model_vars_dataframe()
        for name in keep:
            series[name][r] = table[name].to_numpy()
        for name in MEASURES:
            final[name][r] = table[name].iloc[-1]
        if events:
            frame = model.events_frame()
            frame.insert(0, "run", r)
            frame["state_index"] = [model.codes.index(c) for c in frame["state"]]
            frame["order"] = 0
            frames.append(frame)
    frame = pd.concat(frames, ignore_index=True) if frames else (_empty_events() if events else None)
    return _Block(measures=final, series=series, errors=errors, tracebacks=tracebacks, events=frame)


__all__ = [
    "Ensemble",
    "Origin",
    "collected_steps",
    "point_scenario",
    "run_ensemble",
    "run_generator",
    "run_points",
]
