"""The report of a hindcast: Markdown tables, the scores as CSV, and figures.

:func:`write_report` writes into a folder, under these names only:

- ``report.md``: the score tables in and out of sample, with by how much the
  model beats or loses to each reference on Brier (difference and ratio), the
  timing of the recorded changes, the false alarms, and links to the figures;
- ``scores.csv``: the score table (``forecaster, period, brier, log_loss, n``);
- ``differences.csv`` (when given): the model's Brier minus each reference's per
  period, with a 95% series-bootstrap interval (``period, reference, difference,
  low, high, series, n``);
- ``timeline_<STATE>.png``: per state, three panels (CIS, CSTO, EAEU) of the
  model's p_in, p_partial, p_out stacked over the years, the recorded class of
  every year-end as a strip of markers and its changes as vertical lines;
- ``reliability.png``: the reliability diagram of the model and the base rate,
  both periods, every class forecast binned by probability, with the counts.

Every file is written to a hidden temporary name in the folder and renamed into
place (``os.replace``), so a reader never sees half a file. Files of other names
are never touched; whether the folder may be written into is the caller's call.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.scoring import (
    CLASSES,
    DIFFERENCE_COLUMNS,
    EAEU_FIRST_YEAR,
    INSTITUTIONS,
    KEYS,
    PERIODS,
    PROB_COLUMNS,
    SCORE_COLUMNS,
    Reference,
    Timing,
    reference_forecasts,
    reliability_table,
)
from model.output import atomic_write

DPI = 110
#: Colours of the three classes.
CLASS_COLOURS = {"in": "#2e7d32", "partial": "#f9a825", "out": "#b71c1c"}
INSTITUTION_LABELS = {"cis": "CIS", "csto": "CSTO", "eaeu": "EAEU"}
PERIOD_LABELS = {"in_sample": "In sample (1999-2014)", "out_of_sample": "Out of sample (2015-2024)"}
RELIABILITY_BINS = 10


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _save(fig: plt.Figure, path: Path) -> None:
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png"))
    finally:
        plt.close(fig)


def _fmt(value: float, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return lines


def _versus(model: float, ref: float) -> tuple[str, str, str]:
    """Difference, ratio and verdict of the model's Brier against a reference's."""
    diff = model - ref
    ratio = f"{model / ref:.2f}" if ref > 0 else ("1.00" if model == 0 else "∞ (the reference is perfect)")
    if diff < 0:
        verdict = f"model better by {-diff:.3f}"
    elif diff > 0:
        verdict = f"model worse by {diff:.3f}"
    else:
        verdict = "tie"
    return f"{diff:+.3f}", ratio, verdict


def _interval(differences: pd.DataFrame | None, period: str, reference: str) -> str:
    """The 95% series-bootstrap interval of model − reference, and what it says."""
    if differences is None:
        return "–"
    row = differences[(differences["period"] == period) & (differences["reference"] == reference)]
    if not len(row):
        return "–"
    low, high = float(row["low"].iloc[0]), float(row["high"].iloc[0])
    verdict = "holds 0: not distinguishable" if low <= 0 <= high else "excludes 0"
    return f"{low:+.3f} to {high:+.3f} ({verdict})"


def _score_section(scores: pd.DataFrame, differences: pd.DataFrame | None = None) -> list[str]:
    lines = ["## Scores", ""]
    lines.append(
        "Brier: mean over cells of the sum over the three classes (in, partial, out) of "
        "(p − o)²; 0 is perfect, 2/3 is a uniform forecast. Log loss: mean of −ln p(observed), "
        "every forecaster's probabilities clipped to [0.01, 0.99] and renormalised. Lower is "
        "better for both. Difference = model − reference (negative: the model is better); "
        "ratio = model / reference (below 1: the model is better). Interval: the 95% interval "
        "of the difference from resampling whole series (a state in an institution) with "
        "replacement, `differences.csv` (experiments.scoring.brier_difference)."
    )
    for period in PERIODS:
        part = scores[scores["period"] == period]
        lines += ["", f"### {PERIOD_LABELS[period]}", ""]
        if not len(part):
            lines.append("Not scored: the record holds none of its year-ends.")
            continue
        lines += _table(
            ["forecaster", "Brier", "log loss", "cells"],
            ((r.forecaster, _fmt(r.brier), _fmt(r.log_loss), f"{r.n}") for r in part.itertuples()),
        )
        model = part[part["forecaster"] == "model"]
        if len(model):
            m = float(model["brier"].iloc[0])
            rows = []
            for r in part[~part["forecaster"].str.startswith("model")].itertuples():
                diff, ratio, verdict = _versus(m, float(r.brier))
                interval = _interval(differences, period, str(r.forecaster))
                rows.append((r.forecaster, _fmt(float(r.brier)), _fmt(m), diff, interval, ratio, verdict))
            lines += ["", "Model against each reference, on Brier:", ""]
            header = [
                "reference",
                "reference Brier",
                "model Brier",
                "difference",
                "95% interval",
                "ratio",
                "",
            ]
            lines += _table(header, rows)
    return lines


def _timing_section(timing: Sequence[Timing]) -> list[str]:
    lines = ["", "## Timing of the recorded changes", ""]
    changes = pd.concat([t.changes for t in timing if len(t.changes)] or [pd.DataFrame()], ignore_index=True)
    if not len(changes):
        lines.append("No recorded change of class in the periods scored.")
    else:
        lines.append(
            "Per recorded change, among the runs that moved into the recorded class in the period: "
            "the median year they first did and the median absolute error in years; and the share "
            "of runs that never did."
        )
        lines.append("")
        lines += _table(
            [
                "period",
                "state",
                "institution",
                "change",
                "recorded",
                "simulated (median)",
                "abs. error, years (median)",
                "never",
            ],
            (
                (
                    r.period,
                    r.state,
                    INSTITUTION_LABELS.get(r.institution, r.institution),
                    f"{r.from_cls} → {r.to_cls}",
                    f"{r.recorded_year}",
                    _fmt(r.median_year, 1),
                    _fmt(r.median_abs_error, 1),
                    f"{r.share_never:.0%}",
                )
                for r in changes.itertuples()
            ),
        )
    lines += ["", "## False alarms", ""]
    alarms = pd.concat(
        [t.false_alarms for t in timing if len(t.false_alarms)] or [pd.DataFrame()], ignore_index=True
    )
    if not len(alarms):
        lines.append("Every series scored has a recorded change.")
        return lines
    raised = alarms[alarms["share_changed"] > 0]
    lines.append(
        f"Series where the record has no change of class in the period: {len(alarms)}; the runs "
        f"change class in {len(raised)} of them (listed, most often first)."
    )
    if len(raised):
        lines.append("")
        lines += _table(
            ["period", "state", "institution", "recorded class", "runs changing", "changes per run"],
            (
                (
                    r.period,
                    r.state,
                    INSTITUTION_LABELS.get(r.institution, r.institution),
                    r.recorded_cls,
                    f"{r.share_changed:.0%}",
                    f"{r.mean_changes:.2f}",
                )
                for r in raised.itertuples()
            ),
        )
    return lines


def _recorded_changes(record: pd.DataFrame, reference: Reference | None) -> pd.DataFrame:
    """Year-ends whose recorded class differs from the previous one (or the period start)."""
    rows = []
    for name, span in PERIODS.items():
        part = record[(record["year"] >= span.first) & (record["year"] <= span.last)]
        part = part.sort_values(list(KEYS))
        if not len(part):
            continue
        previous = part.groupby(["state", "institution"])["cls"].shift()
        if reference is not None:
            starts = reference.starts[reference.starts["period"] == name].set_index(["state", "institution"])[
                "cls"
            ]
            first = previous.isna()
            keys = pd.MultiIndex.from_frame(part.loc[first, ["state", "institution"]])
            previous.loc[first] = starts.reindex(keys).to_numpy()
        moved = previous.notna() & (previous != part["cls"])
        rows.append(part[moved].assign(from_cls=previous[moved]))
    return pd.concat(rows, ignore_index=True) if rows else record.iloc[:0].assign(from_cls=[])


def _timeline(state: str, probs: pd.DataFrame, record: pd.DataFrame, changes: pd.DataFrame) -> plt.Figure:
    fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True, layout="constrained")
    years_all = sorted(set(probs["year"]) | set(record["year"]))
    for ax, inst in zip(axes, INSTITUTIONS, strict=True):
        p = probs[probs["institution"] == inst].sort_values("year")
        if len(p):
            ax.stackplot(
                p["year"].to_numpy(),
                *(p[c].to_numpy() for c in PROB_COLUMNS),
                colors=[CLASS_COLOURS[c] for c in CLASSES],
                alpha=0.55,
                labels=[f"p_{c}" for c in CLASSES],
                step=None,
            )
        else:
            ax.text(0.5, 0.5, "no simulation", transform=ax.transAxes, ha="center", va="center", color="0.4")
        r = record[record["institution"] == inst]
        for cls in CLASSES:
            at = r[r["cls"] == cls]
            ax.scatter(
                at["year"],
                np.full(len(at), 1.06),
                marker="s",
                s=18,
                color=CLASS_COLOURS[cls],
                clip_on=False,
                zorder=3,
            )
        for row in changes[changes["institution"] == inst].itertuples():
            ax.axvline(row.year, color=CLASS_COLOURS[row.cls], lw=1.6, ls="--")
            ax.annotate(
                f"→ {row.cls} ({row.year})",
                (row.year, 0.5),
                rotation=90,
                fontsize=7,
                ha="right",
                va="center",
                xytext=(-2, 0),
                textcoords="offset points",
            )
        if inst == "eaeu" and years_all and years_all[0] < EAEU_FIRST_YEAR:
            ax.axvspan(years_all[0] - 0.5, EAEU_FIRST_YEAR - 0.5, color="0.85", zorder=0)
            ax.text(years_all[0], 0.9, "no EAEU before 2015 (not scored)", fontsize=7, color="0.3")
        ax.axvline(PERIODS["out_of_sample"].first - 0.5, color="black", lw=0.8, ls=":")
        ax.set_ylim(0, 1.1)
        ax.set_ylabel(INSTITUTION_LABELS[inst])
        ax.tick_params(labelsize=8)
    axes[0].legend(loc="lower left", fontsize=7, ncol=3, framealpha=0.8)
    axes[-1].set_xlabel(
        "year-end (dotted: start of the out-of-sample period, where the forecast is re-issued "
        "from the record)"
    )
    fig.suptitle(
        f"{state}: share of runs in each class (bands); recorded class (squares) and changes (dashed)",
        fontsize=9,
    )
    return fig


def _reliability(probabilities: pd.DataFrame, record: pd.DataFrame, reference: Reference) -> plt.Figure:
    fig, axes = plt.subplots(
        2, 2, figsize=(9, 7), layout="constrained", gridspec_kw={"height_ratios": [3, 1]}, squeeze=False
    )
    styles = {"model": ("#1f4e79", "o"), "base_rate": ("#c0392b", "s")}
    for col, (name, span) in enumerate(PERIODS.items()):
        top, bottom = axes[0][col], axes[1][col]
        top.plot([0, 1], [0, 1], color="0.5", lw=0.8, ls="--", label="perfect reliability")
        cells = record[(record["year"] >= span.first) & (record["year"] <= span.last)]
        if not len(cells):
            top.set_title(f"{PERIOD_LABELS[name]}: not scored", fontsize=9)
            continue
        forecasts = {
            "model": probabilities,
            "base_rate": reference_forecasts(cells, reference, period=name)["base_rate"],
        }
        width = 1.0 / RELIABILITY_BINS / 2.5
        for k, (who, forecast) in enumerate(forecasts.items()):
            table = reliability_table(forecast, cells, bins=RELIABILITY_BINS)
            colour, marker = styles[who]
            full = table[table["n"] > 0]
            top.plot(full["mean_forecast"], full["observed"], marker=marker, color=colour, label=who)
            for r in full.itertuples():
                top.annotate(
                    f"{r.n}",
                    (r.mean_forecast, r.observed),
                    fontsize=6,
                    color=colour,
                    xytext=(3, -8 if k else 3),
                    textcoords="offset points",
                )
            centres = (table["low"] + table["high"]) / 2 + (k - 0.5) * width
            bottom.bar(centres, table["n"], width=width, color=colour, label=who)
        top.set_xlim(0, 1)
        top.set_ylim(-0.02, 1.02)
        top.set_xlabel("forecast probability (bin mean)", fontsize=8)
        top.set_ylabel("observed frequency", fontsize=8)
        top.set_title(f"{PERIOD_LABELS[name]}: {len(cells)} cells x 3 classes", fontsize=9)
        top.legend(fontsize=7, loc="upper left")
        bottom.set_yscale("log")
        bottom.set_xlim(0, 1)
        bottom.set_xlabel("forecast probability bin", fontsize=8)
        bottom.set_ylabel("forecasts", fontsize=8)
        for ax in (top, bottom):
            ax.tick_params(labelsize=7)
    fig.suptitle("Reliability of the class forecasts (numbers: forecasts per bin)", fontsize=10)
    return fig


def write_report(
    out_dir: str | Path,
    *,
    probabilities: pd.DataFrame,
    record: pd.DataFrame,
    scores: pd.DataFrame,
    timing: Timing | Sequence[Timing],
    reference: Reference,
    title: str = "Hindcast of the alliance memberships, 1999-2024",
    notes: str | Sequence[str] = (),
    sections: Sequence[str] = (),
    differences: pd.DataFrame | None = None,
) -> list[Path]:
    """Write the hindcast report, its scores and its figures into ``out_dir``.

    Only the names listed in the module docstring are written (each atomically);
    the folder is created when missing, and other files in it are left alone.

    Args:
        out_dir: the folder.
        probabilities: the model's forecast (:func:`experiments.scoring.probabilities`).
        record: the record (:func:`experiments.scoring.record_statuses`).
        scores: the score table (:func:`experiments.scoring.score_table`).
        timing: the :class:`~experiments.scoring.Timing` of each period scored.
        reference: the period starts and base rate (:func:`experiments.scoring.reference_data`),
            for the base-rate reliability and the recorded changes of each period's first year.
        title: the report's title.
        notes: lines shown under the title (e.g. the scenario, runs, seed, commit).
        sections: Markdown lines added after the timing section (e.g. the pattern checks).
        differences: the model's Brier minus each reference's with intervals
            (:func:`experiments.scoring.difference_table`), written as ``differences.csv``
            and shown in the score tables; None leaves both out.

    Returns:
        The paths written: report.md, scores.csv, reliability.png, the timelines.

    Raises:
        ValueError: a bad argument (a missing column, a forecast not covering the
            record, a title that is not one line).
    """
    out = Path(out_dir)
    if not isinstance(title, str) or not title.strip() or "\n" in title:
        raise ValueError(f"title: {title!r} is not a one-line title; allowed a non-empty line of text")
    notes = [notes] if isinstance(notes, str) else list(notes)
    for note in notes:
        if not isinstance(note, str):
            raise ValueError(f"notes: {note!r} is not text; allowed a string or a list of strings")
    if isinstance(timing, Timing):
        timing = [timing]
    timing = list(timing)
    for t in timing:
        if not isinstance(t, Timing):
            raise ValueError(
                f"timing: {type(t).__name__} is not a Timing; allowed what timing_errors returns"
            )
    if not isinstance(scores, pd.DataFrame) or list(scores.columns) != list(SCORE_COLUMNS):
        got = list(scores.columns) if isinstance(scores, pd.DataFrame) else type(scores).__name__
        raise ValueError(f"scores: columns {got}; allowed exactly {', '.join(SCORE_COLUMNS)} (score_table)")
    for name, frame, columns in (
        ("probabilities", probabilities, (*KEYS, *PROB_COLUMNS)),
        ("record", record, (*KEYS, "cls")),
    ):
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"{name}: {type(frame).__name__} is not a DataFrame; allowed a pandas DataFrame")
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(
                f"{name}: missing column(s) {', '.join(missing)}; required: {', '.join(columns)}"
            )
    if not isinstance(reference, Reference):
        raise ValueError(
            f"reference: {type(reference).__name__} is not a Reference; allowed what reference_data returns"
        )
    if differences is not None and (
        not isinstance(differences, pd.DataFrame) or list(differences.columns) != list(DIFFERENCE_COLUMNS)
    ):
        got = (
            list(differences.columns) if isinstance(differences, pd.DataFrame) else type(differences).__name__
        )
        raise ValueError(
            f"differences: columns {got}; allowed exactly {', '.join(DIFFERENCE_COLUMNS)} (difference_table)"
        )

    states = sorted(set(record["state"]))
    changes = _recorded_changes(record, reference)
    # draw the figures before any file is written, so a bad forecast writes nothing
    reliability = _reliability(probabilities, record, reference)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    _save(reliability, out / "reliability.png")
    written.append(out / "reliability.png")
    for state in states:
        path = out / f"timeline_{state}.png"
        _save(
            _timeline(
                state,
                probabilities[probabilities["state"] == state],
                record[record["state"] == state],
                changes[changes["state"] == state],
            ),
            path,
        )
        written.append(path)
    for name, table in (("scores.csv", scores), ("differences.csv", differences)):
        if table is not None:
            path = out / name
            atomic_write(path, lambda tmp, t=table: t.to_csv(tmp, index=False, float_format="%.6g"))
            written.append(path)

    lines = [f"# {title}", ""]
    lines += [f"- {note}" for note in notes]
    if notes:
        lines.append("")
    lines.append(
        f"Base rate of change r = {reference.rate:.4f} ({reference.changes} changes in "
        f"{reference.cells} in-sample cells). Persistence starts from the record of 1999-04-01 in "
        "sample and of end-2014 out of sample (EAEU: 2015-01-02, which favours the reference). "
        "The model's forecast of each period is issued at its start from the same recorded "
        "statuses: out of sample, the runs from 1999 are re-started at 2015Q1 from the statuses "
        "persistence starts from, keeping their own alignments and drivers; `model_from_1999` "
        "(out of sample only) is the same runs left to run on from 1999 without that re-start."
    )
    lines.append("")
    lines += _score_section(scores, differences)
    lines += _timing_section(timing)
    lines += ["", *sections] if sections else []
    lines += ["", "## Figures", "", "![Reliability of the class forecasts](reliability.png)", ""]
    lines += [f"- [{s}](timeline_{s}.png)" for s in states]
    lines.append("")
    path = out / "report.md"
    _write_text(path, "\n".join(lines))
    written.append(path)
    return written
