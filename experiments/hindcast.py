"""Validation against history: calibration on 1999-2014, the hindcast scored on 2015-2024.

:func:`calibrate` fits the behavioural parameters that no source fixes with
rejection approximate Bayesian computation (Pritchard et al. 1999; Beaumont et
al. 2002): the prior is an experiment design (``experiments/designs/calibration.yaml``:
the parameters, their ranges, a Latin hypercube of draws, the master seed); every
draw runs the historical scenario, 1999Q2 to 2014Q4 only, through the ensemble
engine, as two forecasts: from the 1999 picture, and re-started at 2007Q1 (the
middle of the period) from the statuses recorded by then, the way the model's
forecasts are issued (:data:`IN_SAMPLE_ORIGIN`); its distance to the record is
the mean Brier score of both forecasts' year-end statuses against the recorded
ones over the in-sample cells; the draws whose distance is within the
``accept`` quantile form the posterior. Nothing of 2015-2024 is simulated during
calibration.

:func:`hindcast` runs the historical scenario to 2024Q4 with each replication's
parameters drawn from the posterior (or all at its median) and scores it
(:mod:`experiments.scoring`) in and out of sample against persistence and the
record's base rate; :func:`experiments.hindcast_report.write_report` writes the report.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments import scoring
from experiments.design import ResolvedDesign, load_design
from experiments.posterior import (
    Posterior,
    draw_rows,
    load_posterior,
)
from model.catalogue import INSTITUTIONS, STATUS_TIER
from model.ensemble import Origin, block_size, run_points
from model.errors import ScenarioError
from model.rules.world import STATUSES
from model.scenario import DATA_DIR, Quarter, Scenario, checked, load_scenario

#: The historical scenario and the calibration design (the prior).
HISTORICAL = "historical_1999"
CALIBRATION = "calibration"
#: The record of memberships the hindcast is scored on.
EVENTS_CSV = DATA_DIR / "membership_events.csv"
#: The last quarter of the calibration period.
IN_SAMPLE_END = Quarter(2014, 4)
#: The quarter the held-out forecast is issued at, from the statuses recorded by then.
OUT_OF_SAMPLE_ORIGIN = Quarter(2015, 1)
#: The second origin of the calibration's forecasts, the middle of the in-sample period
#: (1999Q2-2014Q4): each draw is scored both as a run from the 1999 picture and as a
#: forecast re-started here from the recorded statuses, the way its forecasts are used.
IN_SAMPLE_ORIGIN = Quarter(2007, 1)
#: A recorded class as the model's status word, per institution: a partial CIS member is
#: an associate (Ukraine from 2014), a partial CSTO member suspended (Uzbekistan from
#: 2012), a partial EAEU member an observer (Moldova from 2017).
RECORD_STATUS = {
    "cis": {"in": "member", "partial": "associate", "out": "withdrawn"},
    "csto": {"in": "member", "partial": "suspended", "out": "withdrawn"},
    "eaeu": {"in": "member", "partial": "observer", "out": "none"},
}
#: The forecaster scored besides the model out of sample: the same runs, not re-started at 2015.
FROM_1999 = "model_from_1999"
YEARS = tuple(range(1999, 2025))
IN_SAMPLE = tuple(range(1999, 2015))
#: The most replications a hindcast runs (its tables are held in memory).
MAX_REPS = 20_000


def cut(scenario: Scenario, last: Quarter) -> Scenario:
    """The scenario run to ``last`` (inclusive), without the shocks scheduled after it.

    Raises:
        ScenarioError: ``last`` is before the start or after the horizon.
    """
    horizon = last.index - scenario.start.index + 1
    if not 1 <= horizon <= scenario.horizon:
        raise ScenarioError(
            f"{scenario.name}: cannot run to {last}; it runs {scenario.start} to "
            f"{scenario.start.plus(scenario.horizon - 1)}"
        )
    return checked(scenario.run_for(horizon))


def historical(quarters_to: Quarter | None = None) -> Scenario:
    """The historical scenario, cut at ``quarters_to`` (inclusive) if given (:func:`cut`)."""
    scenario = load_scenario(HISTORICAL)
    return scenario if quarters_to is None else cut(scenario, quarters_to)


def starting_statuses(scenario: Scenario) -> pd.DataFrame:
    """The scenario's starting status per state and institution (columns state, institution, status)."""
    rows = [
        (code, inst, getattr(params.status, inst))
        for code, params in scenario.states.items()
        for inst in INSTITUTIONS
    ]
    return pd.DataFrame(rows, columns=["state", "institution", "status"])


def origin_at(
    scenario: Scenario, classes: pd.DataFrame, at: Quarter, *, required: tuple[str, ...], when: str
) -> Origin:
    """A forecast origin at ``at`` from recorded classes (columns state, institution, cls).

    Every state must have a recorded class in each ``required`` institution; another
    institution the record does not cover then (the EAEU before 2015) keeps the
    scenario's starting status. An outsider since the start keeps its own word
    (``none``), one the record has out is ``withdrawn``.

    Raises:
        ScenarioError: ``at`` is not inside the scenario, or the record (as of ``when``)
            lacks a required status.
    """
    step = at.index - scenario.start.index + 1
    if not 1 <= step <= scenario.horizon:
        raise ScenarioError(f"{scenario.name}: the origin {at} is not one of its quarters")
    found = {(r.state, r.institution): r.cls for r in classes.itertuples()}
    for code in scenario.states:
        for inst in required:
            if (code, inst) not in found:
                raise ScenarioError(f"the record has no status of {code} in {inst} at {when}")
    status = np.empty((len(scenario.states), len(INSTITUTIONS)), dtype=np.int64)
    for i, code in enumerate(scenario.states):
        for k, inst in enumerate(INSTITUTIONS):
            own = getattr(scenario.states[code].status, inst)
            cls = found.get((code, inst))
            if cls is None:
                word = own  # the record does not cover this institution at the origin
            elif cls == "out" and STATUS_TIER[own] == 0:
                word = own  # never in it since the start ("none"), or already out then
            else:
                word = RECORD_STATUS[inst][cls]
            status[i, k] = STATUSES.index(word)
    return Origin(step=step, status=status)


def forecast_origin(
    scenario: Scenario, reference: scoring.Reference, at: Quarter = OUT_OF_SAMPLE_ORIGIN
) -> Origin:
    """The held-out forecast's origin: the statuses the record had when it is issued.

    The forecast of 2015-2024 is issued at 2015Q1 from the statuses persistence starts
    from (the record's out-of-sample start: end-2014, for the EAEU 2 January 2015); the
    run's alignments and drivers are its own, simulated from 1999, and the recorded
    driver shocks of 2015-2024 still act on it, as on the whole hindcast: it is a forecast
    conditional on the drivers, which persistence does not use (docs/validation.md).

    Raises:
        ScenarioError: ``at`` is not inside the scenario, or the reference lacks a state.
    """
    starts = reference.starts[reference.starts["period"] == "out_of_sample"]
    return origin_at(scenario, starts, at, required=INSTITUTIONS, when=str(at))


def calibration_origin(scenario: Scenario, at: Quarter = IN_SAMPLE_ORIGIN) -> Origin:
    """The in-sample forecast origin: the statuses recorded at the end of the year before ``at``.

    The EAEU, which the record does not cover before 2015, keeps the scenario's
    starting statuses (the 1999 Customs Union; it is not scored in sample).

    Raises:
        ScenarioError: ``at`` is not a first quarter (the record is read at year ends)
            or not inside the scenario, or the record lacks a state's CIS or CSTO status.
    """
    if at.q != 1:
        raise ScenarioError(
            f"calibration origin {at}: the record is read at year ends; allowed a first quarter"
        )
    recorded = record(years=(at.year - 1,), states=tuple(scenario.states))
    return origin_at(scenario, recorded, at, required=("cis", "csto"), when=f"the end of {at.year - 1}")


def origin_statuses(scenario: Scenario, origin: Origin) -> pd.DataFrame:
    """The statuses a forecast from ``origin`` starts from (columns state, institution, status)."""
    rows = [
        (code, inst, STATUSES[int(origin.status[i, k])])
        for i, code in enumerate(scenario.states)
        for k, inst in enumerate(INSTITUTIONS)
    ]
    return pd.DataFrame(rows, columns=["state", "institution", "status"])


def simulate_statuses(
    scenario: Scenario,
    paths: tuple[str, ...],
    values: np.ndarray,
    seeds: list[np.random.SeedSequence],
    *,
    integer: tuple[bool, ...] | None = None,
    first_run: int = 0,
    origin: Origin | None = None,
) -> pd.DataFrame:
    """Year-end statuses of runs of ``scenario`` with ``paths`` set to ``values`` (one row per run).

    With an ``origin``, the runs are re-started from the observed statuses there
    (:class:`model.ensemble.Origin`) and the table holds the year-ends from the
    origin's year on, built from those statuses and the events from the origin on.

    Returns:
        The ``simulated`` table of :mod:`experiments.scoring` (run, state,
        institution, year, status), runs numbered from ``first_run``.

    Raises:
        ScenarioError: a run failed (the first failure's message).
    """
    ensemble = run_points(scenario, list(paths), values, seeds, integer=integer, events=True, origin=origin)
    bad = np.flatnonzero(ensemble.failed)
    if bad.size:
        raise ScenarioError(f"run {first_run + int(bad[0])} failed: {ensemble.errors[bad[0]]}")
    events = ensemble.events if ensemble.events is not None else pd.DataFrame()
    last_year = scenario.start.plus(scenario.horizon - 1).year
    start, first = starting_statuses(scenario), scenario.start
    if origin is not None:
        events = events[events["step"] >= origin.step].assign(step=lambda e: e["step"] - (origin.step - 1))
        start, first = origin_statuses(scenario, origin), scenario.start.plus(origin.step - 1)
    years = [y for y in YEARS if first.year <= y <= last_year]
    simulated = scoring.statuses_at_year_ends(
        start,
        events,
        runs=len(seeds),
        start_quarter=str(first),
        years=years,
    )
    if first_run:
        simulated["run"] += first_run
    return simulated


def record(*, years: tuple[int, ...] = YEARS, states: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The recorded year-end class of every scored state, institution and year."""
    scenario_states = states or tuple(load_scenario(HISTORICAL).states)
    return scoring.record_statuses(EVENTS_CSV, states=list(scenario_states), years=list(years))


def run_distances(simulated: pd.DataFrame, recorded: pd.DataFrame) -> pd.Series:
    """Each run's mean Brier score against the record over the cells the record scores.

    A run's forecast of a cell is its own status (probability 1), so a cell costs
    2 when the classes differ and 0 when they agree.
    """
    classes = simulated.assign(cls=simulated["status"].map(scoring.STATUS_CLASSES))
    merged = classes.merge(
        recorded[["state", "institution", "year", "cls"]],
        on=["state", "institution", "year"],
        suffixes=("", "_record"),
    )
    miss = (merged["cls"] != merged["cls_record"]).astype(float) * 2.0
    return miss.groupby(merged["run"]).mean()


# --------------------------------------------------------------------------- calibration


def calibration_design(
    design: str | Path = CALIBRATION,
    *,
    accept: object = 0.02,
    draws: object = None,
    origin: object = IN_SAMPLE_ORIGIN,
) -> ResolvedDesign:
    """The calibration's design, every option checked; nothing is run or written.

    Raises:
        ScenarioError: ``accept`` outside (0, 1]; ``draws`` not a whole number >= 2 (or
            None); a design that does not load, or is not a calibration of the historical
            scenario to the end of the in-sample period with one run per draw; ``origin``
            not None nor a first quarter inside the in-sample period.
    """
    if not isinstance(accept, float | int) or isinstance(accept, bool) or not 0 < accept <= 1:
        raise ScenarioError(f"accept: {accept!r} is out of range; allowed a share in (0, 1]")
    if draws is not None and (isinstance(draws, bool) or not isinstance(draws, int) or draws < 2):
        raise ScenarioError(f"draws: {draws!r} is out of range; allowed a whole number >= 2")
    if origin is not None and not isinstance(origin, Quarter):
        raise ScenarioError(f"origin: {origin!r} is not a quarter; allowed a quarter such as 2007Q1, or None")
    overrides: dict[str, Any] = {}
    if draws is not None:
        overrides["sampler"] = {"method": "latin", "n": draws}
    # the calibration never draws from a posterior (it makes one): the scenario's own values
    resolved: ResolvedDesign = load_design(design, parameters="median", **overrides)
    if resolved.scenario.name != HISTORICAL:
        raise ScenarioError(
            f"{resolved.source}: scenario: {resolved.scenario.name!r}; a calibration design runs "
            f"the historical scenario ({HISTORICAL})"
        )
    if resolved.replications != 1:
        raise ScenarioError(f"{resolved.source}: replications: a calibration design has one run per draw")
    last = resolved.scenario.start.plus(resolved.quarters - 1)
    if last != IN_SAMPLE_END:
        raise ScenarioError(
            f"{resolved.source}: quarters: {resolved.quarters} runs to {last}; a calibration runs "
            f"to {IN_SAMPLE_END}, the end of the in-sample period, and no further"
        )
    if origin is not None:
        first, last = Quarter(resolved.scenario.start.year + 1, 1), Quarter(IN_SAMPLE_END.year, 1)
        if origin.q != 1 or not first.index <= origin.index <= last.index:
            raise ScenarioError(
                f"origin: {origin} is not a first quarter from {first} to {last}; the record is read "
                "at year ends inside the in-sample period"
            )
    return resolved


def calibrate(
    design: str | Path = CALIBRATION,
    *,
    accept: float = 0.02,
    draws: int | None = None,
    progress: bool = True,
    origin: Quarter | None = IN_SAMPLE_ORIGIN,
) -> Posterior:
    """Rejection ABC of the design's parameters on the 1999-2014 record.

    Args:
        design: the prior, an experiment design over the historical scenario
            (default ``experiments/designs/calibration.yaml``).
        accept: the share of draws kept (the closest to the record).
        draws: prior draws (default: the design's ``sampler.n``).
        progress: print progress to standard error.
        origin: the second forecast origin, a first quarter inside the in-sample
            period (:func:`calibration_origin`); None scores the runs from 1999 only.

    Returns:
        The posterior (not yet written; see :func:`write_posterior`).

    Raises:
        ScenarioError: a bad design or option, or a run that failed.
    """
    resolved = calibration_design(design, accept=accept, draws=draws, origin=origin)
    started = time.perf_counter()
    scenario = cut(resolved.scenario, IN_SAMPLE_END)
    values = resolved.sample()
    n = len(values)
    integer = tuple(f.integer for f in resolved.factors)
    recorded = record(years=IN_SAMPLE, states=tuple(scenario.states))
    restart = None if origin is None else calibration_origin(scenario, origin)
    origins = (None,) if restart is None else (None, restart)
    distances = np.empty(n)
    size = 4 * block_size(len(scenario.states))
    for start in range(0, n, size):
        ids = range(start, min(start + size, n))
        seeds = [np.random.SeedSequence(resolved.seed, spawn_key=(i,)) for i in ids]
        part = values[start : start + len(ids)]
        # each draw forecasts from every origin: the 1999 picture (and the re-start)
        forecasts = [
            simulate_statuses(
                scenario, resolved.paths, part, seeds, integer=integer, first_run=start, origin=at
            )
            for at in origins
        ]
        simulated = pd.concat(forecasts, ignore_index=True)
        distances[start : start + len(ids)] = run_distances(simulated, recorded).reindex(ids).to_numpy()
        if progress:
            done = start + len(ids)
            rate = done / (time.perf_counter() - started)
            print(f"calibrate: {done:,}/{n:,} draws ({rate:,.0f} a second)", file=sys.stderr, flush=True)
    keep = max(1, round(accept * n))
    order = np.argsort(distances, kind="stable")[:keep]
    draws = pd.DataFrame(values[order], columns=list(resolved.paths))
    draws.insert(0, "draw", order.astype(np.int64))
    draws["distance"] = distances[order]
    seconds = time.perf_counter() - started
    meta = {
        "method": "rejection ABC (Pritchard et al. 1999): a Latin hypercube of prior draws, each "
        "run through the historical scenario 1999Q2-2014Q4 from the 1999 picture"
        + ("" if origin is None else " and re-started from the recorded statuses at the second origin")
        + ", the closest share kept",
        "design": resolved.name,
        "design_digest": resolved.digest,
        "scenario_digest": resolved.scenario.digest(),
        "parameters": list(resolved.paths),
        "prior": {f.path: {"min": f.low, "max": f.high, "integer": f.integer} for f in resolved.factors},
        "distance": "mean Brier score of a draw's year-end statuses (in, partial, out) against the "
        "record over the 1999-2014 cells (each state's CIS and CSTO status at each year end; the "
        "EAEU exists only from 2015)"
        + (
            ""
            if origin is None
            else f", pooled over its two forecasts: the run from the 1999 picture (1999-2014) and the "
            f"same run re-started at {origin} from the statuses recorded at the end of "
            f"{origin.year - 1} ({origin.year}-2014)"
        ),
        "origins": [str(resolved.scenario.start), *([] if origin is None else [str(origin)])],
        "draws": n,
        "accepted": keep,
        "acceptance_rate": keep / n,
        "tolerance": float(distances[order[-1]]),
        "prior_distance": {
            "median": float(np.median(distances)),
            "min": float(distances.min()),
            "max": float(distances.max()),
        },
        "seconds": round(seconds, 1),
        "runs_per_second": round(len(origins) * n / seconds, 1),  # a run per forecast
    }
    return Posterior(draws=draws.reset_index(drop=True), meta=meta)


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a temporary file in the same folder, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_posterior(posterior: Posterior, out: Path) -> list[Path]:
    """Write ``posterior.csv``, ``posterior.json`` and ``posterior.png`` into ``out``."""
    out = Path(out)
    csv, meta = out / "posterior.csv", out / "posterior.json"
    _replace(csv, posterior.draws.to_csv(index=False, float_format="%.6g"))
    _replace(meta, json.dumps(posterior.meta, indent=2, sort_keys=True) + "\n")
    figure = out / "posterior.png"
    plot_posterior(posterior, figure)
    return [csv, meta, figure]


def plot_posterior(posterior: Posterior, path: Path) -> None:
    """Marginal posteriors (histograms) over their prior ranges."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = posterior.paths
    cols = 3
    rows = -(-len(paths) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(10, 2.4 * rows), squeeze=False)
    for ax, p in zip(axes.flat, paths, strict=False):
        prior = posterior.meta["prior"][p]
        ax.hist(posterior.draws[p], bins=15, range=(prior["min"], prior["max"]), color="#4c72b0")
        ax.axvline(float(posterior.draws[p].median()), color="black", lw=1)
        ax.set_xlim(prior["min"], prior["max"])
        ax.set_title(p, fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(paths) :]:
        ax.axis("off")
    meta = posterior.meta
    fig.suptitle(
        f"Marginal posteriors: {meta['accepted']:,} of {meta['draws']:,} prior draws accepted "
        f"(x-axis = prior range; line = median)",
        fontsize=10,
    )
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- the hindcast


def posterior_values(posterior: Posterior, reps: int, *, seed: int, median: bool) -> np.ndarray:
    """Each replication's parameters: a posterior draw (``draw_rows``) or the median."""
    if median:
        return np.tile(posterior.median(), (reps, 1))
    rows = draw_rows(seed, np.arange(reps), len(posterior.draws))
    return posterior.draws[list(posterior.paths)].to_numpy(dtype=float)[rows]


@dataclass(frozen=True)
class Hindcast:
    """A scored hindcast: the simulated statuses, the record and the scores.

    ``simulated`` and ``probabilities`` are the model's forecasts as scored: the
    runs from the 1999 picture for 1999-2014, and the same runs re-started from the
    recorded statuses at 2015Q1 (:func:`forecast_origin`) for 2015-2024.
    ``from_1999`` holds the probabilities of the runs not re-started, for
    2015-2024; ``scores`` has them as the forecaster ``model_from_1999``.
    ``differences`` is the model's Brier minus each reference's per period, with
    a 95% series-bootstrap interval (:func:`experiments.scoring.difference_table`).
    """

    simulated: pd.DataFrame
    probabilities: pd.DataFrame
    record: pd.DataFrame
    reference: scoring.Reference
    scores: pd.DataFrame
    timing: list[scoring.Timing]
    values: np.ndarray
    paths: tuple[str, ...]
    seconds: float
    from_1999: pd.DataFrame
    differences: pd.DataFrame


def hindcast(
    *,
    reps: int = 200,
    seed: int = 0,
    median: bool = False,
    posterior: Posterior | None = None,
    progress: bool = True,
) -> Hindcast:
    """Run the historical scenario ``reps`` times to 2024Q4 and score it against the record.

    Each replication runs twice with the same parameters and seed: from the 1999
    picture to 2024Q4 (scored in sample, and out of sample as ``model_from_1999``),
    and the same but re-started at 2015Q1 from the statuses recorded by then
    (scored out of sample as ``model``: a forecast issued at the start of the
    held-out period from the statuses persistence starts from, conditional on the
    recorded driver shocks of 2015-2024 as the whole hindcast is).

    Raises:
        ScenarioError: a bad option or posterior, or a run that failed.
    """
    if isinstance(reps, bool) or not isinstance(reps, int) or not 2 <= reps <= MAX_REPS:
        raise ScenarioError(f"reps: {reps!r} is out of range; allowed 2 to {MAX_REPS:,}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ScenarioError(f"seed: {seed!r} is out of range; allowed 0 to 2**63 - 1")
    started = time.perf_counter()
    posterior = posterior or load_posterior()
    scenario = historical()
    reference = scoring.reference_data(EVENTS_CSV, states=list(scenario.states))
    origin = forecast_origin(scenario, reference)
    values = posterior_values(posterior, reps, seed=seed, median=median)
    seeds = [np.random.SeedSequence(seed, spawn_key=(r,)) for r in range(reps)]
    integer = tuple(posterior.integer_mask().tolist())
    free, restarted = [], []
    size = 4 * block_size(len(scenario.states))
    for start in range(0, reps, size):
        stop = min(start + size, reps)
        for parts, at in ((free, None), (restarted, origin)):
            parts.append(
                simulate_statuses(
                    scenario,
                    posterior.paths,
                    values[start:stop],
                    seeds[start:stop],
                    integer=integer,
                    first_run=start,
                    origin=at,
                )
            )
        if progress:
            print(f"hindcast: {stop:,}/{reps:,} runs", file=sys.stderr, flush=True)
    held_out = OUT_OF_SAMPLE_ORIGIN.year
    runs_1999 = pd.concat(free, ignore_index=True)
    simulated = pd.concat(
        [runs_1999[runs_1999["year"] < held_out], *restarted], ignore_index=True
    ).sort_values(["run", "state", "institution", "year"], kind="stable", ignore_index=True)
    recorded = record(states=tuple(scenario.states))
    probabilities = scoring.probabilities(simulated)
    from_1999 = scoring.probabilities(runs_1999[runs_1999["year"] >= held_out])
    scores = scoring.score_table(probabilities, recorded, reference=reference)
    held = recorded[recorded["year"] >= held_out]
    extra = scoring.score(from_1999, held)
    scores = pd.concat(
        [scores, pd.DataFrame([{"forecaster": FROM_1999, "period": "out_of_sample", **extra._asdict()}])],
        ignore_index=True,
    )
    timing = [
        scoring.timing_errors(simulated, recorded, period=period, reference=reference)
        for period in scoring.PERIODS
    ]
    differences = scoring.difference_table(probabilities, recorded, reference=reference)
    seconds = time.perf_counter() - started
    return Hindcast(
        simulated,
        probabilities,
        recorded,
        reference,
        scores,
        timing,
        values,
        posterior.paths,
        seconds,
        from_1999,
        differences,
    )
