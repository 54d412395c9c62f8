"""Pattern checks of the hindcast (pattern-oriented modelling, Grimm et al. 2005).

Besides the memberships it is scored on, the historical run should reproduce
patterns it was never fitted to: how the states rank in their alignment with
Russia against independent indicators (``data/indicators.csv``, source keys
V1-V3 in ``data/SOURCES.md``): the UN General Assembly vote on resolution ES-11/1
(March 2022), the EDB Integration Barometer's support for the EAEU (2017) and the
Central Asia Barometer's "Russia best able to help" (2020); and the shift of arms
imports away from Russia after 2021 (A3, A4). The runs are Mesa model runs of the
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
from model.scenario import DATA_DIR
from model.simulate import simulate

INDICATORS_CSV = DATA_DIR / "indicators.csv"
#: What each indicator is read against: the simulated alignment with Russia at its year's end.
TITLES = {
    "unga_es11_1": "UNGA ES-11/1 vote, March 2022 (1 against, 0.5 abstained or absent; V1)",
    "edb_eaeu_support": "EDB Integration Barometer 2017, support for EAEU membership (V2)",
    "cab_russia_helps": "Central Asia Barometer 2020, Russia seen as best able to help (V3)",
}


@dataclass(frozen=True)
class Patterns:
    """The pattern checks: per indicator a table and its rank correlation; the arms shift."""

    tables: dict[str, pd.DataFrame]
    rho: dict[str, float]
    arms: pd.DataFrame


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
    return Patterns(tables=tables, rho=rho, arms=arms_table.reset_index())


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
    return lines
