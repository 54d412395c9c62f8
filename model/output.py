"""Write a run to disk with what made it, draw its summary, print its table.

``write_results`` writes ``model.parquet``, ``states.parquet``,
``events.parquet``, ``manifest.json`` (the resolved scenario, its hash, the
seed, package versions and the git commit when known) and ``summary.png``.
Files are written to a temporary name and renamed, so an interrupted run never
leaves a half-written file under the final name.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from model.catalogue import INSTITUTIONS, POLE_LABELS, POLES, STATES
from model.errors import ScenarioError
from model.simulate import Results

#: Pole colours used by every figure and the browser view.
POLE_COLOURS = {"russia": "#c0392b", "west": "#2e6fb7", "china": "#e6a817", "turkey": "#18a38a"}
PACKAGES = ("alliance-cohesion", "mesa", "numpy", "pandas", "pyarrow", "pydantic", "networkx")


def git_commit(folder: Path | None = None) -> str | None:
    """The git commit of the project checkout (with ``-dirty`` if modified), or None.

    None unless ``folder`` (by default the folder above the package) is an alliance-cohesion
    checkout: an installed package may live inside some other git repository (a venv in a
    user's project), whose commit says nothing about this code.
    """
    folder = folder or Path(__file__).resolve().parent.parent
    try:
        if 'name = "alliance-cohesion"' not in (folder / "pyproject.toml").read_text(errors="replace"):
            return None
    except OSError:
        return None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5
        )
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Versions of Python and of the packages that shape a result, plus ``extra`` ones."""
    found = {"python": platform.python_version()}
    for name in (*PACKAGES, *extra):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def manifest(results: Results) -> dict:
    """Provenance of a run: scenario as resolved, its hash, seed, versions, commit."""
    return {
        "scenario": results.scenario.name,
        "scenario_hash": results.scenario.digest(),
        "seed": results.seed_record(),
        "steps": int(results.model["step"].iloc[-1]),
        "start": str(results.scenario.start),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "versions": versions(),
        "resolved_scenario": results.scenario.model_dump(mode="json"),
    }


def atomic_write(path: Path, write) -> None:
    """Write a file through a hidden temporary name and rename it into place.

    Args:
        path: the final name.
        write: called with the temporary path; must write the whole file.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


#: The ``kind`` of a run's manifest: what marks a folder as a run's output.
RUN_KIND = "alliance-cohesion run"


#: The largest run manifest read back (it holds a resolved scenario of at most 1 MiB).
RUN_MANIFEST_LIMIT = 16 << 20


def _check_run_folder(out: Path) -> None:
    """Refuse a folder holding files that are not an earlier run's output.

    A folder is a run's own when it is empty or its ``manifest.json`` is a run's
    (``kind`` "alliance-cohesion run"; or, from before the kind was written, the keys
    of a run's manifest).

    Raises:
        ScenarioError: ``out`` is a file, or holds files and no run's manifest.
    """
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"{out}: is a file, not a folder; choose a new or empty folder")
    if not out.is_dir() or not any(out.iterdir()):
        return
    path = out / "manifest.json"
    if not path.is_file():
        raise ScenarioError(
            f"{out}: folder is not empty and holds no run's output (no manifest.json); "
            "choose a new or empty folder"
        )
    from model.safe_yaml import read_bytes

    try:  # a regular file of bounded size, read without waiting on a pipe
        found = json.loads(read_bytes(path, max_bytes=RUN_MANIFEST_LIMIT, what="a run's manifest"))
    except (ValueError, RecursionError):  # ScenarioError and JSON errors are ValueErrors
        found = None
    kind = found.get("kind") if isinstance(found, dict) else None
    if kind == RUN_KIND:
        return
    if isinstance(found, dict) and kind is None and {"scenario_hash", "resolved_scenario"} <= set(found):
        return  # a run written before manifests had a kind
    what = f"of kind {kind!r}, not a run's" if isinstance(kind, str) else "not a run's"
    raise ScenarioError(
        f"{out}: its manifest.json is {what}; a run will not overwrite it; choose a new or empty folder"
    )


def write_results(results: Results, out: Path) -> list[Path]:
    """Write the run's tables, manifest and summary figure into ``out``.

    ``out`` must be empty, or hold an earlier run's output (its ``manifest.json``
    says so), whose files of the same names are replaced; no other file is touched.

    Returns:
        The paths written.

    Raises:
        ScenarioError: ``out`` holds files and is not a run's output folder (a sweep
            store, someone's ``manifest.json``, other files).
    """
    out = Path(out)
    _check_run_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in (
        ("model", results.model),
        ("states", results.states),
        ("events", results.events),
    ):
        path = out / f"{name}.parquet"
        atomic_write(path, lambda p, f=frame: f.to_parquet(p, index=False))
        written.append(path)
    path = out / "manifest.json"
    record = {"kind": RUN_KIND, **manifest(results)}
    atomic_write(path, lambda p: p.write_text(json.dumps(record, indent=2) + "\n"))
    written.append(path)
    path = out / "summary.png"
    atomic_write(path, lambda p: summary_figure(results).savefig(p, dpi=110, format="png"))
    plt.close("all")
    written.append(path)
    return written


def summary_figure(results: Results) -> plt.Figure:
    """Cohesion over time, and each state's alignment over the four poles."""
    model, states = results.model, results.states
    codes = list(dict.fromkeys(states["state"]))
    cols = 4
    rows = 1 + int(np.ceil(len(codes) / cols))
    fig = plt.figure(figsize=(13, 3.2 * rows), layout="constrained")
    grid = fig.add_gridspec(rows, cols)
    ax = fig.add_subplot(grid[0, :])
    ax.plot(model["date"], model["cohesion"], color="black", lw=2.5, label="alliance cohesion")
    for inst, style in zip(INSTITUTIONS, ("--", "-.", ":"), strict=True):
        ax.plot(model["date"], model[f"cohesion_{inst}"], ls=style, lw=1.5, label=inst.upper())
    shown = model[["cohesion", *(f"cohesion_{i}" for i in INSTITUTIONS)]].to_numpy(dtype=float)
    top = np.nanmax(shown) if np.isfinite(shown).any() else 0.0  # every index drawn stays in view
    ax.set_ylim(0, min(1.0, max(0.4, 1.2 * top)))
    ax.set_ylabel("cohesion index (0-1)")
    ax.set_title(
        f"{results.scenario.name}: {results.scenario.description}  (seed {results.seed_label})",
        loc="left",
        fontsize=10,
    )
    ax.legend(loc="upper right", ncols=4, fontsize=8)
    ax.grid(alpha=0.3)
    events = results.events
    for n, code in enumerate(codes):
        ax = fig.add_subplot(grid[1 + n // cols, n % cols])
        rows_ = states[states["state"] == code]
        ax.stackplot(
            rows_["date"],
            *(rows_[f"alignment_{p}"] for p in POLES),
            colors=[POLE_COLOURS[p] for p in POLES],
            labels=[POLE_LABELS[p] for p in POLES],
            alpha=0.85,
        )
        last = rows_.iloc[-1]
        status = " ".join(f"{inst.upper()}:{last[inst]}" for inst in INSTITUTIONS)
        ax.set_title(f"{STATES[code][0]} ({code})\n{status}", fontsize=8)
        ax.set_ylim(0, 1)
        ax.xaxis.set_major_locator(mdates.YearLocator(base=4))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        ax.tick_params(labelsize=7)
        changes = events[(events["state"] == code) & (events["to"] != "boycott")]
        for _, event in changes.iterrows():
            when = results.model.loc[results.model["step"] == event["step"], "date"].iloc[0]
            ax.axvline(when, color="black", lw=0.8, ls="--")
            ax.annotate(
                f"{event['institution']}: {event['to']}",
                (when, 0.97),
                fontsize=6,
                rotation=90,
                va="top",
                ha="right",
            )
        if n == 0:
            ax.legend(loc="lower left", fontsize=6)
    return fig


def summary_table(results: Results) -> str:
    """A short text table: each state's alignment and statuses at start and end."""
    states = results.states
    first, last = states["step"].min(), states["step"].max()
    start = states[states["step"] == first].set_index("state")
    end = states[states["step"] == last].set_index("state")
    q0 = start["quarter"].iloc[0]
    q1 = end["quarter"].iloc[0]
    lines = [
        f"{results.scenario.name}: end of {q0} -> end of {q1} ({last - first} quarters), "
        f"seed {results.seed_label}",
        "state  Russia (start->end)  West   China  Turkiye  CIS        CSTO       EAEU",
    ]
    for code in end.index:
        s, e = start.loc[code], end.loc[code]
        lines.append(
            f"{code:<5}  {s['alignment_russia']:.2f} -> {e['alignment_russia']:.2f}"
            f"         {e['alignment_west']:.2f}   {e['alignment_china']:.2f}"
            f"   {e['alignment_turkey']:.2f}     {_status(s['cis'], e['cis']):<10} "
            f"{_status(s['csto'], e['csto']):<10} {_status(s['eaeu'], e['eaeu'])}"
        )
    m0, m1 = results.model.iloc[0], results.model.iloc[-1]
    lines.append(
        f"cohesion {m0['cohesion']:.3f} -> {m1['cohesion']:.3f}; members (incl. Russia) "
        + ", ".join(f"{i.upper()} {m0[f'{i}_members']}->{m1[f'{i}_members']}" for i in INSTITUTIONS)
        + f"; exits {m1['exits']}, suspensions {m1['suspensions']}, entries {m1['entries']}"
    )
    return "\n".join(lines)


def _status(before: str, after: str) -> str:
    return after if before == after else f"{before}->{after}"


def read_run(folder: Path) -> dict[str, pd.DataFrame]:
    """Read a run folder's tables back (analysis reads saved files)."""
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in ("model", "states", "events")}
