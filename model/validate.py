"""Face-validity check of the baseline: a plausible ordering over seeds, and what it changes.

``python -m model.validate`` runs the baseline (its calibrated parameters at the posterior
median) with 20 seeds (from ``SeedSequence(2024).spawn(20)``) and prints, per state, the
mean alignment over the run, the status changes the runs make (outcomes of the calibrated
model, not checks: the end-2024 statuses are its start, not its rest state) and the share
of seeds in which each check holds:

* Belarus is the state most aligned with Russia;
* Armenia and Azerbaijan are the two CIS members least aligned with Russia;
* Kazakhstan, Kyrgyzstan, Tajikistan and Uzbekistan have Russia and China among
  their three largest poles, China ahead of the West.

The same checks are asserted in ``tests/test_model.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.catalogue import POLES
from model.scenario import Scenario, load_scenario
from model.simulate import Results, simulate

ALIGN = [f"alignment_{p}" for p in POLES]
#: The most seeds of the report (each run's tables are kept: about 0.3 MB a run).
MAX_SEEDS = 1_000
HEDGERS = ("KAZ", "KGZ", "TJK", "UZB")


def baseline_runs(scenario: Scenario | None = None, *, seeds: int = 20) -> list[Results]:
    """The baseline run once per child of ``SeedSequence(2024)``."""
    scenario = scenario or load_scenario("baseline")
    return [simulate(scenario, seed=s) for s in np.random.SeedSequence(2024).spawn(seeds)]


def mean_alignment(runs: list[Results]) -> pd.DataFrame:
    """Each state's alignment averaged over all steps and runs."""
    return pd.concat([r.states for r in runs]).groupby("state")[ALIGN].mean()


def checks(alignment: pd.DataFrame, cis_members: list[str]) -> dict[str, bool]:
    """The ordering checks on one table of alignments (one run or a mean)."""
    russia = alignment["alignment_russia"]
    result = {
        "Belarus most aligned with Russia": russia.idxmax() == "BLR",
        "Armenia, Azerbaijan least among CIS members": set(russia[cis_members].nsmallest(2).index)
        == {"ARM", "AZE"},
    }
    for code in HEDGERS:
        row = alignment.loc[code]
        top3 = set(row.sort_values(ascending=False).index[:3])
        result[f"{code} hedges between Russia and China"] = bool(
            {"alignment_russia", "alignment_china"} <= top3 and row["alignment_china"] > row["alignment_west"]
        )
    return result


def report(runs: list[Results]) -> str:
    """The printed report: mean alignments and how often each check holds."""
    scenario = runs[0].scenario
    cis = [c for c, s in scenario.states.items() if s.status.cis == "member"]
    means = mean_alignment(runs).sort_values("alignment_russia", ascending=False)
    lines = [f"{len(runs)} baseline runs; mean alignment over {scenario.horizon} quarters:", ""]
    lines.append(means.round(3).to_string())
    moves = pd.concat([r.events.assign(seed=k) for k, r in enumerate(runs)], ignore_index=True)
    moves = moves[moves["to"] != "boycott"]
    kept = len(runs) - moves["seed"].nunique()
    lines += ["", f"end-2024 memberships kept for the whole run: {kept}/{len(runs)} seeds"]
    if len(moves):
        counts = moves.groupby(["state", "institution", "from", "to"]).seed.nunique()
        for (code, inst, old, new), n in counts.sort_values(ascending=False).items():
            lines.append(f"  {code} {inst} {old} -> {new}: {n}/{len(runs)} seeds")
    per_run = [checks(r.states.groupby("state")[ALIGN].mean(), cis) for r in runs]
    for name, holds in checks(means, cis).items():
        share = sum(c[name] for c in per_run)
        lines.append(f"{name}: mean {'yes' if holds else 'NO'}; {share}/{len(runs)} single seeds")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m model.validate [--seeds N]``: print the report."""
    from model.cli import OneLineParser, whole

    parser = OneLineParser(
        prog="python -m model.validate",
        description="Face-validity check of the baseline over seeds (children of SeedSequence(2024)).",
    )
    parser.add_argument(
        "--seeds",
        type=whole(1, MAX_SEEDS),
        default=20,
        help=f"baseline runs (default 20, at most {MAX_SEEDS})",
    )
    args = parser.parse_args(argv)
    print(report(baseline_runs(seeds=args.seeds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
