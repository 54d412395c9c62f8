"""Two scenarios compared with common random numbers.

Both scenarios run the same replications with the same seeds (replication
``r`` uses ``SeedSequence(seed).spawn(reps)[r]`` in both) and, by default, the same
calibrated parameters drawn from the posterior (:mod:`experiments.posterior`), so the
noise and the parameter uncertainty they
share cancels in the paired difference B - A and its confidence interval is
narrower than that of two independent samples (common random numbers; Law
2015, ch. 11; Nelson 2013). The report gives, per outcome, the two means, the
mean difference with a Student-t 95% interval over the paired differences,
and how much the pairing shrank the variance of the difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.backends import check_workers, make_backend, whole_number
from experiments.design import MEASURES
from experiments.posterior import parameter_draws
from experiments.runs import Chunk, ChunkResult, RunContext
from experiments.store import OutputFiles, as_path
from experiments.sweep import execute
from model.arguments import name_list
from model.errors import ScenarioError
from model.scenario import Scenario, load_scenario

#: Outcomes shown by default.
HEADLINE = (
    "cohesion",
    "cohesion_cis",
    "cohesion_csto",
    "cohesion_eaeu",
    "cis_members",
    "csto_members",
    "eaeu_members",
    "exits",
    "suspensions",
    "entries",
    "air_defence_members",
    "mean_alignment_russia",
    "mean_alignment_west",
    "mean_alignment_china",
    "mean_alignment_turkey",
)
CONFIDENCE = 0.95
#: The marker listing the files a comparison wrote into its folder.
MARKER = ".cohesion-compare"
#: Most replications of a comparison (two runs each, held in memory until the table is made).
MAX_REPS = 100_000


@dataclass(frozen=True)
class Comparison:
    """Paired runs of two scenarios and the differences of their outcomes.

    Attributes:
        a: scenario A (the reference).
        b: scenario B.
        reps: replications.
        seed: master seed.
        steps: quarters run.
        runs: one row per replication and scenario: ``scenario`` (A or B),
            ``replication``, the parameters drawn from the posterior (a column per
            key path in ``drawn``), ``seed_entropy``, ``seed_spawn_key`` and the measures.
        summary: one row per measure: means, difference B - A, its interval, and
            the variance ratio of unpaired to paired differences (``crn_gain``).
    """

    a: Scenario
    b: Scenario
    reps: int
    seed: int
    steps: int
    runs: pd.DataFrame
    summary: pd.DataFrame
    parameters: str = "posterior"
    drawn: tuple[str, ...] = ()

    @property
    def parameters_text(self) -> str:
        """How the calibrated parameters were set, in words."""
        if not self.drawn:
            return "calibrated parameters at each scenario's own values"
        return f"{len(self.drawn)} calibrated parameters drawn from the posterior per replication"


def _t_quantile(df: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.5 + CONFIDENCE / 2, df))


def summarise(runs: pd.DataFrame, measures: list[str]) -> pd.DataFrame:
    """Means, paired differences and their Student-t intervals per measure.

    Args:
        runs: paired runs (columns ``scenario``, ``replication`` and the measures).
        measures: the measures to summarise.

    Returns:
        One row per measure.
    """
    a = runs[runs["scenario"] == "A"].set_index("replication").sort_index()
    b = runs[runs["scenario"] == "B"].set_index("replication").sort_index()
    n = len(a)
    t = _t_quantile(n - 1) if n > 1 else math.nan
    rows = []
    for name in measures:
        x, y = a[name].to_numpy(float), b[name].to_numpy(float)
        d = y - x
        sd = d.std(ddof=1) if n > 1 else math.nan
        half = t * sd / math.sqrt(n) if n > 1 else math.nan
        unpaired = (x.var(ddof=1) + y.var(ddof=1)) if n > 1 else math.nan
        paired = d.var(ddof=1) if n > 1 else math.nan
        if n > 1 and paired > 0:
            gain = unpaired / paired
        elif n > 1 and unpaired > 0:
            gain = math.inf
        else:
            gain = math.nan
        rows.append(
            {
                "measure": name,
                "mean_a": x.mean(),
                "mean_b": y.mean(),
                "difference": d.mean(),
                "sd_difference": sd,
                "ci_low": d.mean() - half,
                "ci_high": d.mean() + half,
                "crn_gain": gain,
            }
        )
    return pd.DataFrame(rows)


def compare(
    scenario_a: str | Path | Scenario,
    scenario_b: str | Path | Scenario,
    *,
    reps: int = 50,
    seed: int = 0,
    steps: int | None = None,
    workers: int | None = None,
    measures: list[str] | None = None,
    parameters: str = "posterior",
) -> Comparison:
    """Run two scenarios with common random numbers and compare their outcomes.

    Args:
        scenario_a: the reference scenario (name, path or Scenario).
        scenario_b: the other scenario.
        reps: replications of each (the same seeds for both).
        seed: master seed; replication r uses child r of ``SeedSequence(seed)``.
        steps: quarters to run both (default: A's horizon).
        workers: local worker processes (default: CPUs; 1 runs serially).
        measures: measures to compare (default :data:`HEADLINE`; ``["all"]`` for all).
        parameters: ``posterior`` (default): replication r of both scenarios draws the same
            calibrated parameters from the posterior (:mod:`experiments.posterior`);
            ``median``: each scenario's own values (the posterior median for the
            present-day scenarios).

    Returns:
        The paired runs and the summary.

    Raises:
        ScenarioError: a bad scenario, measure or option, or a run that raised.
    """
    a, b = _scenario(scenario_a, "scenario_a"), _scenario(scenario_b, "scenario_b")
    reps = whole_number(reps, "reps", low=2, none=False)
    if reps > MAX_REPS:
        raise ScenarioError(
            f"reps: {reps:,} is out of range; allowed 2 to {MAX_REPS:,} (for more, sweep a design "
            "with replications, which is stored and resumable)"
        )
    seed = whole_number(seed, "seed", low=0, none=False)
    if seed >= 2**63:
        raise ScenarioError(f"seed: {seed} is out of range; allowed 0 to 2**63 - 1")
    steps = whole_number(steps, "steps") or a.horizon
    if not 1 <= steps <= 400:
        raise ScenarioError(f"steps: {steps} is out of range; allowed 1 to 400 quarters")
    workers = check_workers(workers)
    if measures is not None:
        measures = name_list(measures, name="measures", what="measure")
    if measures in (None, []):
        measures = list(HEADLINE)
    elif measures == ["all"]:
        measures = list(MEASURES)
    for name in measures:
        if name not in MEASURES:
            raise ScenarioError(f"measures: unknown measure {name!r}; allowed: {', '.join(MEASURES)}")

    # both scenarios draw the parameters both would draw (a scenario's own value is kept, and then
    # the other scenario keeps its value too, so B - A never mixes a draw with a fixed value)
    own = {label: parameter_draws(s, seed=seed, mode=parameters) for label, s in (("A", a), ("B", b))}
    draws = {"A": own["A"] and own["A"].common(own["B"]), "B": own["B"] and own["B"].common(own["A"])}
    ids = np.arange(reps, dtype=np.int64)
    chunk_size = max(1, math.ceil(reps / 8))
    tasks = []
    for label, scenario in (("A", a), ("B", b)):
        context = RunContext(
            scenario=scenario,
            paths=(),
            integer=(),
            quarters=steps,
            entropy=seed,
            measures=tuple(MEASURES),
            token=f"compare-{label}-{scenario.digest()[:12]}-{seed}-{parameters}",
            draws=draws[label],
        )
        for start in range(0, reps, chunk_size):
            part = ids[start : start + chunk_size]
            chunk = Chunk(part, np.zeros_like(part), part, np.zeros((len(part), 0)))
            tasks.append((label, context, chunk))
    labels = {id(chunk): label for label, _, chunk in tasks}
    frames: list[pd.DataFrame] = []

    def collect(chunk: Chunk, result: ChunkResult) -> None:
        if result.failures is not None:
            first = result.failures.iloc[0]
            raise ScenarioError(
                f"run {first['replication']} of scenario {labels[id(chunk)]} failed: {first['error']}"
            )
        frame = result.runs.drop(columns=["run_id", "point_id"])
        frame.insert(0, "scenario", labels[id(chunk)])
        frames.append(frame)

    backend = make_backend(workers=workers)
    try:
        execute(backend, ((context, chunk) for _, context, chunk in tasks), collect)
    finally:
        backend.close(cancel=True)
    runs = pd.concat(frames, ignore_index=True).sort_values(["scenario", "replication"])
    runs = runs.reset_index(drop=True)
    drawn = draws["A"].paths if draws["A"] is not None else ()  # the same paths as B's
    return Comparison(
        a=a,
        b=b,
        reps=reps,
        seed=seed,
        steps=steps,
        runs=runs,
        summary=summarise(runs, measures),
        parameters=parameters,
        drawn=drawn,
    )


def _scenario(value: object, name: str) -> Scenario:
    if isinstance(value, Scenario):
        return value
    if isinstance(value, str | Path):
        return load_scenario(value)
    raise ScenarioError(
        f"{name}: {value!r} is not a scenario; allowed a scenario name, a YAML path or a Scenario"
    )


def format_table(result: Comparison) -> str:
    """The comparison as a text table."""
    lines = [
        f"compare {result.a.name} (A) with {result.b.name} (B): {result.reps} replications with "
        f"common random numbers (seed {result.seed}), {result.steps} quarters, {result.parameters_text}",
        f"{'measure':<24}{'A mean':>10}{'B mean':>10}{'B - A':>10}   {'95% CI of B - A':<22}{'CRN gain':>9}",
    ]
    for row in result.summary.itertuples():
        ci = f"[{row.ci_low:+.4f}, {row.ci_high:+.4f}]"
        mark = " *" if row.ci_low > 0 or row.ci_high < 0 else "  "
        gain = f"x{row.crn_gain:.1f}" if math.isfinite(row.crn_gain) else "-"
        lines.append(
            f"{row.measure:<24}{row.mean_a:>10.4f}{row.mean_b:>10.4f}{row.difference:>+10.4f}"
            f"   {ci:<22}{gain:>9}{mark}"
        )
    lines.append(
        "* the interval excludes 0. CRN gain: variance of B - A with independent seeds over "
        "its variance with common seeds."
    )
    return "\n".join(lines)


def write_comparison(result: Comparison, out: Path | str) -> list[Path]:
    """Write ``compare.csv``, ``runs.csv`` and ``compare.png`` into ``out``.

    ``out`` must be empty or hold an earlier comparison (listed in its
    ``.cohesion-compare``), whose files are replaced; no other file is touched.

    Returns:
        The paths written.

    Raises:
        ScenarioError: ``out`` holds files a comparison did not write.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from experiments.store import atomic_write

    if not isinstance(result, Comparison):
        raise ScenarioError(f"result: {type(result).__name__} is not a Comparison (what compare returns)")
    out = as_path(out, "out")
    written = OutputFiles(out, MARKER, kind="cohesion compare")
    for name, frame in (("compare.csv", result.summary), ("runs.csv", result.runs)):
        path = written.claim(out / name)
        atomic_write(path, lambda tmp, f=frame: f.to_csv(tmp, index=False))
        written.add(path)
    measures = list(result.summary["measure"])
    cols = min(5, len(measures))
    rows = math.ceil(len(measures) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.6 * cols, 2.4 * rows), squeeze=False, layout="constrained"
    )
    a = result.runs[result.runs["scenario"] == "A"].set_index("replication").sort_index()
    b = result.runs[result.runs["scenario"] == "B"].set_index("replication").sort_index()
    for ax, row in zip(axes.flat, result.summary.itertuples(), strict=False):
        d = b[row.measure].to_numpy(float) - a[row.measure].to_numpy(float)
        jitter = np.linspace(-0.15, 0.15, len(d))
        ax.scatter(jitter, d, s=6, color="0.6")
        ax.errorbar(
            [0],
            [row.difference],
            yerr=[[row.difference - row.ci_low], [row.ci_high - row.difference]],
            fmt="o",
            color="#c0392b",
            capsize=4,
        )
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks([])
        ax.set_xlim(-0.5, 0.5)
        ax.set_title(row.measure, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(measures) :]:
        ax.axis("off")
    fig.suptitle(
        f"{result.b.name} minus {result.a.name}: paired differences (grey), mean and 95% CI (red); "
        f"{result.reps} replications, common random numbers, {result.parameters_text}",
        fontsize=9,
    )
    path = written.claim(out / "compare.png")
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    written.add(path)
    written.finish()
    return list(written)
