"""Pattern checks of the hindcast (pattern-oriented modelling, Grimm et al. 2005).

Besides the memberships it is scored on, the historical run should reproduce
patterns it was never fitted to: how the states rank in their alignment with
Russia against independent indicators (``data/indicators.csv``, source keys
V1-V3 in ``data/SOURCES.md``): the UN General Assembly vote on resolution ES-11/1
(March 2022), the EDB Integration Barometer's support for the EAEU (2017) and the
Central Asia Barometer's "Russia best able to help" (2020); and the shift of arms
imports away from Russia after 2021 (A3, A4). A last check compares where history
arrives with where the present-day scenarios start: each state's drivers and
alignment at the end of 2024 in the historical runs against the baseline's
starting picture (sourced 2024 figures, at the posterior median), so a reader sees
which of the two pictures of 2024 the model's history disagrees with, and by how
much. The runs are Mesa model runs of the
historical scenario with each replication's parameters drawn from the posterior
(per-state alignments are in the Mesa model's states table). Spearman rank
correlations are computed by pandas; a *misfit* is a state whose simulated rank
is two or more places from its indicator rank.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.hindcast import Posterior, historical, posterior_values
from model.scenario import DATA_DIR, load_scenario
from model.simulate import simulate

INDICATORS_CSV = DATA_DIR / "indicators.csv"
#: What each indicator is read against: the simulated alignment with Russia at its year's end.
TITLES = {
    "unga_es11_1": "UNGA ES-11/1 vote, March 2022 (1 against, 0.5 abstained or absent; V1)",
    "edb_eaeu_support": "EDB Integration Barometer 2017, support for EAEU membership (V2)",
    "cab_russia_helps": "Central Asia Barometer 2020, Russia seen as best able to help (V3)",
}


#: The present-day scenario whose starting picture the historical runs' end of 2024 is set against.
PRESENT = "baseline"
#: The quantity compared there, from the states tables of both.
PRESENT_QUANTITIES = (
    "alignment_russia",
    "commitment_csto",
    "trade_russia",
    "arms_russia",
    "opinion_russia",
    "trust_russia",
    "threat_from_russia",
)
#: The quarter of the historical run set against the present-day start.
PRESENT_QUARTER = "2024Q4"
#: A gap at least this large is marked in the report.
PRESENT_GAP = 0.15


@dataclass(frozen=True)
class Patterns:
    """The pattern checks of the hindcast.

    Per indicator a table and its rank correlation; the arms shift; and the historical
    runs' end of 2024 against the present-day starting picture (``present``: columns
    state, quantity, history, picture, gap = history - picture).
    """

    tables: dict[str, pd.DataFrame]
    rho: dict[str, float]
    arms: pd.DataFrame
    present: pd.DataFrame


def year_end(states: pd.DataFrame, column: str) -> pd.DataFrame:
    """A states table's ``column`` at each year's fourth quarter: columns state, year, value."""
    q4 = states[states["quarter"].str.endswith("Q4")]
    return pd.DataFrame(
        {"state": q4["state"], "year": q4["quarter"].str[:4].astype(int), "value": q4[column]}
    )


def pattern_checks(posterior: Posterior, *, reps: int = 20, seed: int = 0) -> Patterns:
    """Run the historical scenario ``reps`` times through the Mesa model and compare its patterns."""
    scenario = historical()
    values = posterior_values(posterior, reps, seed=seed, median=False)
    integer = posterior.integer_mask()
    frames = []
    for r, child in enumerate(np.random.SeedSequence(seed).spawn(reps)):
        point = {
            p: (round(v) if i else float(v))
            for p, i, v in zip(posterior.paths, integer, values[r], strict=True)
        }
        run = simulate(scenario.with_overrides(point), seed=child)
        frames.append(run.states.assign(run=r))
    states = pd.concat(frames, ignore_index=True)
    alignment = year_end(states, "alignment_russia").groupby(["state", "year"])["value"].mean()
    arms = year_end(states, "arms_russia").groupby(["state", "year"])["value"].mean()
    indicators = pd.read_csv(INDICATORS_CSV)
    tables, rho = {}, {}
    for name, group in indicators.groupby("indicator", sort=False):
        table = group[["state", "year", "value"]].rename(columns={"value": "indicator"}).copy()
        table["simulated"] = [
            alignment.get((s, y), np.nan) for s, y in zip(table["state"], table["year"], strict=True)
        ]
        table["indicator_rank"] = table["indicator"].rank(ascending=False)
        table["simulated_rank"] = table["simulated"].rank(ascending=False)
        table["misfit"] = (table["indicator_rank"] - table["simulated_rank"]).abs() >= 2
        tables[str(name)] = table.reset_index(drop=True)
        rho[str(name)] = float(table["indicator"].corr(table["simulated"], method="spearman"))
    shift = arms.unstack("year")
    arms_table = pd.DataFrame(
        {"arms_russia_2021": shift.get(2021), "arms_russia_2024": shift.get(2024)}
    ).dropna()
    arms_table["change"] = arms_table["arms_russia_2024"] - arms_table["arms_russia_2021"]
    return Patterns(
        tables=tables, rho=rho, arms=arms_table.reset_index(), present=present_gaps(states, seed=seed)
    )


def present_gaps(states: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """The historical runs' mean at the end of 2024 against the present-day scenario's start.

    Args:
        states: the historical runs' states tables, stacked.
        seed: the seed of the present-day run (its start is the equilibrium of its drivers).

    Returns:
        Columns state, quantity, history, picture, gap: one row per state in both
        scenarios and quantity of :data:`PRESENT_QUANTITIES`.
    """
    last = states[states["quarter"] == PRESENT_QUARTER]
    if last.empty:
        raise ValueError(
            f"states: no {PRESENT_QUARTER} rows; allowed runs of the historical scenario to 2024Q4"
        )
    history = last.groupby("state")[list(PRESENT_QUANTITIES)].mean()
    start = simulate(load_scenario(PRESENT).run_for(1), seed=np.random.SeedSequence(seed)).states
    picture = start[start["step"] == 0].set_index("state")[list(PRESENT_QUANTITIES)]
    rows = [
        (code, q, float(history.at[code, q]), float(picture.at[code, q]))
        for code in picture.index
        if code in history.index
        for q in PRESENT_QUANTITIES
    ]
    if not rows:
        raise ValueError(
            f"the historical scenario and {PRESENT} share no state; allowed scenarios with states in common"
        )
    table = pd.DataFrame(rows, columns=["state", "quantity", "history", "picture"])
    table["gap"] = table["history"] - table["picture"]
    return table


def _present_cell(history: float, picture: float) -> str:
    """One cell of the present-day table: both values as shown, bold when they differ by the mark."""
    if np.isnan(history) or np.isnan(picture):
        return "–"
    shown = (round(history, 2), round(picture, 2))
    text = f"{shown[0]:.2f} / {shown[1]:.2f}"
    # judged on the values as shown, so a reader who subtracts them gets the same answer
    return f"**{text}**" if abs(shown[0] - shown[1]) >= PRESENT_GAP - 1e-9 else text


def markdown(patterns: Patterns) -> list[str]:
    """The pattern checks as Markdown lines for the hindcast report."""
    lines = ["## Pattern checks (not fitted)", ""]
    lines.append(
        "Simulated alignment with Russia at the indicator's year end (mean over Mesa-model runs "
        "from 1999, not re-started at 2015 as the scored out-of-sample forecast is) against "
        "independent indicators; Spearman's rho; a misfit is a state two or more ranks away. "
        "The October 2022 vote (ES-11/4) is not in the source list and is not used."
    )
    for name, table in patterns.tables.items():
        lines += ["", f"**{TITLES.get(name, name)}**: rho = {patterns.rho[name]:.2f}", ""]
        lines += ["| state | indicator | simulated | rank (indicator) | rank (simulated) | misfit |"]
        lines += ["|---|---:|---:|---:|---:|---|"]
        for row in table.itertuples():
            lines.append(
                f"| {row.state} | {row.indicator:.3g} | {row.simulated:.3f} | {row.indicator_rank:g} | "
                f"{row.simulated_rank:g} | {'yes' if row.misfit else ''} |"
            )
    lines += ["", "**Arms imports from Russia, 2021 to 2024** (A3: Armenia turned to India and France; "]
    lines[-1] += "A4: Russian arms exports 2020-24 about 64% below 2015-19): simulated share at year end."
    lines += ["", "| state | 2021 | 2024 | change |", "|---|---:|---:|---:|"]
    for row in patterns.arms.itertuples():
        lines.append(
            f"| {row.state} | {row.arms_russia_2021:.3f} | {row.arms_russia_2024:.3f} | {row.change:+.3f} |"
        )
    lines += ["", "**Where history arrives against where the present-day scenarios start** (not fitted): "]
    lines[-1] += (
        f"each cell is the historical runs' mean at {PRESENT_QUARTER} / the `{PRESENT}` scenario's "
        f"starting picture (sourced 2024 figures, alignments at the equilibrium of its drivers); "
        f"**bold**: the two differ by {PRESENT_GAP} or more."
    )
    present = patterns.present
    lines += ["", "| state | " + " | ".join(PRESENT_QUANTITIES) + " |"]
    lines += ["|---|" + "---:|" * len(PRESENT_QUANTITIES)]
    for code, group in present.groupby("state", sort=False):
        cells = [_present_cell(row.history, row.picture) for row in group.itertuples()]
        lines.append(f"| {code} | " + " | ".join(cells) + " |")
    return lines
