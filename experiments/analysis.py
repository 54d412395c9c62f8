"""Analysis of a sweep store: figures, tables and a short report.

Reads only what the sweep saved (EMA Workbench's "run, save, then analyse"):
``manifest.json``, the ``runs`` parts, ``failures.parquet`` and, when kept, the
``series`` parts. Writes into ``DIR/analysis/``:

- ``summary.csv``: every stored measure across all runs (mean, sd, 5/50/95%);
- ``points.csv``: per factor point, mean and 5-95% band over replications;
- grid designs: ``heatmap_<measure>.png`` and ``grid_<measure>.csv`` for two
  factors (the first two, averaged over the others, when there are more), a
  response curve with its band for one factor;
- Sobol designs: ``sobol_indices.csv`` (S1, S1_conf, ST, ST_conf per measure and
  factor; Saltelli et al. 2010, bootstrap intervals), ``sobol_second_order.csv``
  when sampled, and ``sobol_<measure>.png``;
- Morris designs: ``morris_indices.csv`` (mu, mu*, mu*_conf, sigma; Campolongo et
  al. 2007) and ``morris_<measure>.png``;
- Latin hypercube designs: ``correlations.csv`` (Spearman) and ``scatter_<measure>.png``;
- with series: ``fan_<measure>.png`` and ``fan_<measure>.csv``, the median and
  the 5-95% band across replications per quarter (Britton, Fisher and Whitley
  1998's fan charts);
- ``report.txt``: the short text report.

Sensitivity indices use each point's mean over its replications.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.store import OutputFiles, Store, as_path, atomic_write
from model.arguments import name_list
from model.errors import ScenarioError
from model.extras import require
from model.output import POLE_COLOURS

#: Measures drawn by default (tables cover every stored measure).
FIGURE_MEASURES = ("cohesion", "cohesion_cis", "cohesion_csto", "cohesion_eaeu")
QUANTILES = (0.05, 0.5, 0.95)
#: Most groups drawn in one fan chart.
MAX_FAN_GROUPS = 6
RESAMPLES = 200
DPI = 110


#: The marker listing the files an analysis wrote into its folder.
MARKER = ".cohesion-analysis"


def _save(fig: plt.Figure, path: Path, written: OutputFiles) -> None:
    written.claim(path)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png"))
    plt.close(fig)
    written.add(path)


def _csv(frame: pd.DataFrame, path: Path, written: OutputFiles, *, index: bool = False) -> None:
    written.claim(path)
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=index, float_format="%.6g"))
    written.add(path)


def _short(path: str) -> str:
    """A factor's key path without its scenario group, for axis labels."""
    parts = path.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else path


def _q(frame: Any, name: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "mean": frame[name].mean(),
            "sd": frame[name].std(),
            "p05": frame[name].quantile(0.05),
            "p50": frame[name].median(),
            "p95": frame[name].quantile(0.95),
        }
    )


class _Sweep:
    """A store read for analysis."""

    def __init__(self, root: Path) -> None:
        self.store = Store(Path(root))
        manifest = self.store.verified()
        self.manifest = manifest
        self.design: dict[str, Any] = manifest["design"]
        self.factors = list(self.design["factors"])
        self.measures = list(self.design["outputs"]["measures"])
        self.method = self.design["sampler"]["method"]
        self.runs = self.store.read("runs")
        self.failures = self.store.read("failures")
        if not len(self.runs):
            raise ScenarioError(f"{root}: the store holds no completed runs yet")
        self.n_points = int(self.design["n_points"])
        self.n_runs = int(self.design["n_runs"])

    def points(self) -> pd.DataFrame:
        """Factor values of every point that has at least one run (completed or failed)."""
        frames = [self.runs[["point_id", *self.factors]]]
        if len(self.failures):
            frames.append(self.failures[["point_id", *self.factors]])
        return pd.concat(frames).drop_duplicates("point_id").set_index("point_id").sort_index()

    def point_means(self, measures: list[str]) -> pd.DataFrame:
        """Each point's mean over its completed replications."""
        return self.runs.groupby("point_id")[measures].mean().sort_index()


def analyze(
    root: Path | str, *, out: Path | str | None = None, measures: list[str] | None = None
) -> tuple[list[Path], str]:
    """Write the figures, tables and report of a sweep store.

    The store is verified first (its manifest, and every part against its ledger);
    a damaged store is refused, and resuming its sweep repairs it. ``out`` must be
    empty or hold an earlier analysis (listed in its ``.cohesion-analysis``), whose
    files are replaced; no other file is overwritten or deleted.

    Args:
        root: the store folder.
        out: where to write (default ``root/analysis``).
        measures: measures to draw (default: cohesion and the three institutions'
            cohesion, those the store has). Tables cover every stored measure.

    Returns:
        The files written and the text report.

    Raises:
        ScenarioError: a bad argument, not a store, a damaged store, no completed runs,
            an unknown measure, or ``out`` holds files an analysis did not write.
    """
    root = as_path(root, "root")
    out = root / "analysis" if out is None else as_path(out, "out")
    if measures is not None:
        measures = name_list(measures, name="measures", what="measure")
    sweep = _Sweep(root)
    if measures:
        for name in measures:
            if name not in sweep.measures:
                raise ScenarioError(
                    f"measures: {name!r} is not stored in {root}; stored: {', '.join(sweep.measures)}"
                )
    else:
        measures = [m for m in FIGURE_MEASURES if m in sweep.measures] or sweep.measures[:1]
    if sweep.method in ("sobol", "morris"):  # before any file is written
        require(f"SALib.analyze.{sweep.method}", "experiments", f"the {sweep.method} analysis")
    written = OutputFiles(out, MARKER, kind="cohesion analyze")
    lines = _header(sweep, root)

    values = sweep.runs[sweep.measures]
    summary = pd.DataFrame(
        {
            "runs": values.count(),
            "mean": values.mean(),
            "sd": values.std(),
            "p05": values.quantile(0.05),
            "p50": values.median(),
            "p95": values.quantile(0.95),
        }
    )
    summary.index.name = "measure"
    _csv(summary, out / "summary.csv", written, index=True)
    for name in measures:
        row = summary.loc[name]
        lines.append(
            f"{name} at the end, over all runs: mean {row['mean']:.3f}, "
            f"median {row['p50']:.3f}, 5-95% [{row['p05']:.3f}, {row['p95']:.3f}]"
        )

    grouped = sweep.runs.groupby("point_id")
    per_point = sweep.points().join(
        pd.concat({m: _q(grouped, m) for m in measures}, axis=1).set_axis(
            [f"{m}_{s}" for m in measures for s in ("mean", "sd", "p05", "p50", "p95")], axis=1
        ),
        how="inner",
    )
    per_point.insert(0, "replications", grouped.size())
    _csv(per_point, out / "points.csv", written, index=True)

    if sweep.method == "grid":
        lines += _grid(sweep, measures, out, written)
    elif sweep.method == "sobol":
        lines += _sobol(sweep, measures, out, written)
    elif sweep.method == "morris":
        lines += _morris(sweep, measures, out, written)
    else:
        lines += _latin(sweep, measures, out, written)
    if sweep.design["outputs"]["series"] and sweep.store.parts("series"):
        lines += _fans(sweep, out, written)

    lines.append(f"Files in {out}/: " + ", ".join(p.name for p in written) + ", report.txt")
    report = "\n".join(lines)
    path = written.claim(out / "report.txt")
    atomic_write(path, lambda tmp: tmp.write_text(report + "\n"))
    written.add(path)
    written.finish()
    return list(written), report


def _status(sweep: _Sweep) -> str:
    """The manifest's status; "running" only while a sweep holds the store's lock."""
    status = str(sweep.manifest.get("status"))
    if status != "running":
        return status
    writer = sweep.store.writer()
    return f"running ({writer})" if writer else "interrupted (no sweep is writing it; resume it to finish)"


def _header(sweep: _Sweep, root: Path) -> list[str]:
    d, m = sweep.design, sweep.manifest
    sampler = d["sampler"]
    how = {
        "grid": "full grid",
        "latin": f"Latin hypercube, n = {sampler.get('n')}",
        "sobol": f"Saltelli/Sobol, N = {sampler.get('n')}"
        + (", second order" if sampler.get("second_order") else ""),
        "morris": f"Morris, {sampler.get('trajectories')} trajectories, {sampler.get('levels')} levels",
    }[sweep.method]
    done = len(sweep.runs)
    lines = [
        f"Sweep {d['name']}: {d['description']}",
        f"{sweep.n_runs} runs = {sweep.n_points} points x {d['replications']} replications "
        f"({how}); base scenario {d['scenario']['name']}, {d['quarters']} quarters, master seed {d['seed']}",
        f"Factors: {', '.join(sweep.factors)}",
        f"Store {root}/: {done} runs completed, {len(sweep.failures)} failed, "
        f"{sweep.n_runs - done - len(sweep.failures)} not run; status {_status(sweep)}; "
        f"design hash {m['design_hash'][:12]}, git {m.get('git_commit')}",
    ]
    if len(sweep.failures):
        top = sweep.failures["error"].value_counts().head(1)
        lines.append(f"Most common failure ({top.iloc[0]} runs): {top.index[0]}")
    return lines


# --------------------------------------------------------------------------- grid


def _grid(sweep: _Sweep, measures: list[str], out: Path, written: OutputFiles) -> list[str]:
    lines = []
    factors = sweep.factors
    if len(factors) == 1:
        (x,) = factors
        for name in measures:
            table = sweep.runs.groupby(x)[name].quantile(list(QUANTILES)).unstack()
            table["mean"] = sweep.runs.groupby(x)[name].mean()
            _csv(table, out / f"grid_{name}.csv", written, index=True)
            fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
            ax.fill_between(table.index, table[0.05], table[0.95], alpha=0.3, color=POLE_COLOURS["russia"])
            ax.plot(table.index, table[0.5], color=POLE_COLOURS["russia"], label="median")
            ax.plot(table.index, table["mean"], color="black", ls="--", lw=1, label="mean")
            ax.set_xlabel(x)
            ax.set_ylabel(f"{name} at the end")
            ax.set_title(f"{sweep.design['name']}: {name} (5-95% across replications)", fontsize=9)
            ax.legend(fontsize=8)
            ax.grid(alpha=0.3)
            _save(fig, out / f"response_{name}.png", written)
            best, worst = table["mean"].idxmax(), table["mean"].idxmin()
            lines.append(
                f"Grid ({name}): highest mean {table['mean'].max():.3f} at {x} = {best:g}, "
                f"lowest {table['mean'].min():.3f} at {x} = {worst:g}"
            )
        return lines
    x, y = factors[0], factors[1]
    rest = factors[2:]
    if rest:
        lines.append(f"Grid: heatmaps show {x} by {y}, averaged over {', '.join(rest)}")
    for name in measures:
        mean = sweep.runs.pivot_table(index=y, columns=x, values=name, aggfunc="mean")
        p05 = sweep.runs.pivot_table(index=y, columns=x, values=name, aggfunc=lambda v: v.quantile(0.05))
        p95 = sweep.runs.pivot_table(index=y, columns=x, values=name, aggfunc=lambda v: v.quantile(0.95))
        _csv(mean, out / f"grid_{name}.csv", written, index=True)
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
        for ax, data, title, cmap in (
            (axes[0], mean, f"mean {name} at the end", "RdYlBu_r"),
            (axes[1], p95 - p05, "5-95% spread across replications", "Greys"),
        ):
            image = ax.imshow(
                data.to_numpy(), origin="lower", aspect="auto", cmap=cmap, interpolation="nearest"
            )
            ax.set_xticks(range(len(data.columns)), [f"{v:g}" for v in data.columns], fontsize=7)
            ax.set_yticks(range(len(data.index)), [f"{v:g}" for v in data.index], fontsize=7)
            ax.set_xlabel(x)
            ax.set_ylabel(y)
            ax.set_title(title, fontsize=9)
            fig.colorbar(image, ax=ax, shrink=0.85)
            if data.size <= 144:
                for (i, j), value in np.ndenumerate(data.to_numpy()):
                    red, green, blue, _ = image.cmap(image.norm(value))
                    dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
                    ax.text(
                        j,
                        i,
                        f"{value:.2f}",
                        ha="center",
                        va="center",
                        fontsize=5.5,
                        color="white" if dark else "black",
                    )
        fig.suptitle(
            f"{sweep.design['name']}: {name}, {sweep.design['replications']} replications per cell",
            fontsize=10,
        )
        _save(fig, out / f"heatmap_{name}.png", written)
        hi = mean.stack().idxmax()
        lo = mean.stack().idxmin()
        lines.append(
            f"Grid ({name}): highest mean {mean.stack().max():.3f} at {x} = {hi[1]:g}, {y} = {hi[0]:g}; "
            f"lowest {mean.stack().min():.3f} at {x} = {lo[1]:g}, {y} = {lo[0]:g}; "
            f"median replication spread (5-95%) {float(np.nanmedian((p95 - p05).to_numpy())):.3f}"
        )
    return lines


# --------------------------------------------------------------------------- sensitivity


def _problem(sweep: _Sweep) -> dict[str, Any]:
    specs = sweep.design["factors"]
    return {
        "num_vars": len(sweep.factors),
        "names": list(sweep.factors),
        "bounds": [[specs[f]["min"], specs[f]["max"]] for f in sweep.factors],
    }


def _complete(sweep: _Sweep, kind: str) -> str | None:
    """Why sensitivity indices cannot be computed (a point without a completed run), or None."""
    have = sweep.runs["point_id"].nunique()
    if have < sweep.n_points:
        return (
            f"{kind}: not computed; {sweep.n_points - have} of {sweep.n_points} points have no "
            "completed run (finish the sweep by resuming it, or see failures.parquet)"
        )
    return None


def _varying(y: np.ndarray) -> bool:
    return bool(np.isfinite(y).all() and np.ptp(y) > 1e-12)


def _analysis_seed(sweep: _Sweep) -> int:
    return int(np.random.SeedSequence(sweep.design["seed"]).generate_state(2, dtype=np.uint32)[1])


def _sobol(sweep: _Sweep, measures: list[str], out: Path, written: OutputFiles) -> list[str]:
    from SALib.analyze import sobol  # its presence was checked before any file was written

    missing = _complete(sweep, "Sobol indices")
    if missing:
        return [missing]
    second = bool(sweep.design["sampler"].get("second_order"))
    problem = _problem(sweep)
    means = sweep.point_means(sweep.measures)
    rows, pairs, skipped = [], [], []
    for name in sweep.measures:
        y = means[name].to_numpy(float)
        if not _varying(y):
            skipped.append(name)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = sobol.analyze(
                problem,
                y,
                calc_second_order=second,
                num_resamples=RESAMPLES,
                conf_level=0.95,
                seed=_analysis_seed(sweep),
            )
        for k, factor in enumerate(sweep.factors):
            rows.append(
                {
                    "measure": name,
                    "factor": factor,
                    "S1": res["S1"][k],
                    "S1_conf": res["S1_conf"][k],
                    "ST": res["ST"][k],
                    "ST_conf": res["ST_conf"][k],
                }
            )
        if second:
            for i in range(len(sweep.factors)):
                for j in range(i + 1, len(sweep.factors)):
                    pairs.append(
                        {
                            "measure": name,
                            "factor_1": sweep.factors[i],
                            "factor_2": sweep.factors[j],
                            "S2": res["S2"][i, j],
                            "S2_conf": res["S2_conf"][i, j],
                        }
                    )
    table = pd.DataFrame(rows, columns=["measure", "factor", "S1", "S1_conf", "ST", "ST_conf"])
    _csv(table, out / "sobol_indices.csv", written)
    if second:
        _csv(pd.DataFrame(pairs), out / "sobol_second_order.csv", written)
    lines = []
    if skipped:
        lines.append(f"Sobol: no variance, not analysed: {', '.join(skipped)}")
    for name in measures:
        part = table[table["measure"] == name].sort_values("ST", ascending=False)
        if not len(part):
            continue
        fig, ax = plt.subplots(figsize=(7, 0.45 * len(part) + 1.5), layout="constrained")
        pos = np.arange(len(part))[::-1]
        ax.barh(pos + 0.2, part["S1"], 0.4, xerr=part["S1_conf"], label="first order S1", color="#2e6fb7")
        ax.barh(pos - 0.2, part["ST"], 0.4, xerr=part["ST_conf"], label="total order ST", color="#c0392b")
        ax.set_yticks(pos, [_short(f) for f in part["factor"]], fontsize=8)
        ax.set_xlabel("Sobol index (95% bootstrap interval)")
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(f"{sweep.design['name']}: what drives {name} at the end", fontsize=9)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, axis="x")
        _save(fig, out / f"sobol_{name}.png", written)
        top = part.iloc[0]
        lines.append(
            f"Sobol ({name}): largest total-order index {top['factor']} "
            f"ST = {top['ST']:.2f} +- {top['ST_conf']:.2f} (S1 = {top['S1']:.2f}); "
            f"sum of S1 = {part['S1'].sum():.2f} (1 - sum = share of variance in interactions)"
        )
    return lines


def _morris(sweep: _Sweep, measures: list[str], out: Path, written: OutputFiles) -> list[str]:
    from SALib.analyze import morris  # its presence was checked before any file was written

    missing = _complete(sweep, "Morris indices")
    if missing:
        return [missing]
    problem = _problem(sweep)
    x = sweep.points()[sweep.factors].to_numpy(float)
    means = sweep.point_means(sweep.measures)
    rows, skipped = [], []
    for name in sweep.measures:
        y = means[name].to_numpy(float)
        if not _varying(y):
            skipped.append(name)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = morris.analyze(
                problem,
                x,
                y,
                num_resamples=RESAMPLES,
                conf_level=0.95,
                num_levels=int(sweep.design["sampler"]["levels"]),
                seed=_analysis_seed(sweep),
            )
        for k, factor in enumerate(sweep.factors):
            rows.append(
                {
                    "measure": name,
                    "factor": factor,
                    "mu": res["mu"][k],
                    "mu_star": res["mu_star"][k],
                    "mu_star_conf": res["mu_star_conf"][k],
                    "sigma": res["sigma"][k],
                }
            )
    table = pd.DataFrame(rows, columns=["measure", "factor", "mu", "mu_star", "mu_star_conf", "sigma"])
    _csv(table, out / "morris_indices.csv", written)
    lines = []
    if skipped:
        lines.append(f"Morris: no variance, not analysed: {', '.join(skipped)}")
    for name in measures:
        part = table[table["measure"] == name].sort_values("mu_star", ascending=False)
        if not len(part):
            continue
        fig, ax = plt.subplots(figsize=(7, 5), layout="constrained")
        ax.errorbar(
            part["mu_star"], part["sigma"], xerr=part["mu_star_conf"], fmt="o", color="#c0392b", capsize=3
        )
        for row in part.itertuples():
            ax.annotate(
                _short(row.factor),
                (row.mu_star, row.sigma),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
        top = max(part["mu_star"].max(), part["sigma"].max()) * 1.1 or 1.0
        ax.plot([0, top], [0, top], color="0.6", lw=0.8, ls="--")
        ax.set_xlabel("mu* (mean absolute elementary effect)")
        ax.set_ylabel("sigma (interactions and non-linearity)")
        ax.set_title(f"{sweep.design['name']}: Morris screening of {name}", fontsize=9)
        ax.grid(alpha=0.3)
        _save(fig, out / f"morris_{name}.png", written)
        ranking = ", ".join(f"{_short(r.factor)} {r.mu_star:.3f}" for r in part.head(5).itertuples())
        lines.append(f"Morris ({name}): largest mu*: {ranking}")
    return lines


def _latin(sweep: _Sweep, measures: list[str], out: Path, written: OutputFiles) -> list[str]:
    points = sweep.points()
    means = sweep.point_means(sweep.measures).join(points, how="inner")
    corr = means[sweep.factors + sweep.measures].corr(method="spearman").loc[sweep.measures, sweep.factors]
    corr.index.name = "measure"
    _csv(corr, out / "correlations.csv", written, index=True)
    lines = []
    for name in measures:
        cols = min(4, len(sweep.factors))
        rows = math.ceil(len(sweep.factors) / cols)
        fig, axes = plt.subplots(
            rows, cols, figsize=(3 * cols, 2.6 * rows), squeeze=False, sharey=True, layout="constrained"
        )
        for ax, factor in zip(axes.flat, sweep.factors, strict=False):
            ax.scatter(means[factor], means[name], s=4, alpha=0.5, color=POLE_COLOURS["russia"])
            ax.set_xlabel(_short(factor), fontsize=8)
            ax.set_title(f"rho = {corr.loc[name, factor]:+.2f}", fontsize=8)
        for ax in list(axes.flat)[len(sweep.factors) :]:
            ax.axis("off")
        fig.suptitle(f"{sweep.design['name']}: {name} at the end against each factor", fontsize=9)
        _save(fig, out / f"scatter_{name}.png", written)
        strongest = corr.loc[name].abs().idxmax()
        lines.append(
            f"Latin hypercube ({name}): strongest rank correlation {strongest} "
            f"rho = {corr.loc[name, strongest]:+.2f}"
        )
    return lines


# --------------------------------------------------------------------------- series


def _fan_groups(sweep: _Sweep) -> tuple[dict[int, str], str]:
    """Points drawn in the fan charts, with labels; and how they were chosen."""
    points = sweep.points()
    points = points.loc[points.index.isin(sweep.runs["point_id"].unique())]
    if len(points) <= MAX_FAN_GROUPS:
        chosen = points
        how = "every point"
    elif sweep.method == "grid":
        x = sweep.factors[0]
        y = sweep.factors[1] if len(sweep.factors) > 1 else x
        lo_x, hi_x = points[x].min(), points[x].max()
        lo_y, hi_y = points[y].min(), points[y].max()
        mid_x = points[x].iloc[(points[x] - (lo_x + hi_x) / 2).abs().argmin()]
        mid_y = points[y].iloc[(points[y] - (lo_y + hi_y) / 2).abs().argmin()]
        ids = []
        for vx, vy in ((lo_x, lo_y), (lo_x, hi_y), (mid_x, mid_y), (hi_x, lo_y), (hi_x, hi_y)):
            match = points[(points[x] == vx) & (points[y] == vy)]
            if len(match) and match.index[0] not in ids:
                ids.append(match.index[0])
        chosen = points.loc[ids]
        how = "the corners and centre of the grid"
    else:
        return {-1: "all runs"}, "all runs pooled (a sampled design has no replicated points to fan)"
    labels = {
        int(pid): ", ".join(f"{_short(f)}={row[f]:g}" for f in sweep.factors)
        for pid, row in chosen.iterrows()
    }
    return labels, how


def _fans(sweep: _Sweep, out: Path, written: OutputFiles) -> list[str]:
    series_measures = list(sweep.design["outputs"]["series"]["measures"])
    labels, how = _fan_groups(sweep)
    ids = sweep.runs.set_index("run_id")["point_id"]
    lines = [f"Fan charts (median and 5-95% across replications) at {how}"]
    colours = plt.get_cmap("tab10")
    for name in series_measures:
        frame = sweep.store.read("series", columns=["run_id", "step", "date", name])
        frame["point_id"] = frame["run_id"].map(ids)
        if -1 in labels:
            frame["group"] = -1
        else:
            frame = frame[frame["point_id"].isin(labels)]
            frame["group"] = frame["point_id"]
        stats = frame.groupby(["group", "step", "date"])[name].quantile(list(QUANTILES)).unstack()
        stats.columns = ["p05", "p50", "p95"]
        stats["runs"] = frame.groupby(["group", "step", "date"])[name].size()
        stats = stats.reset_index()
        stats.insert(1, "label", stats["group"].map(labels))
        _csv(stats, out / f"fan_{name}.csv", written)
        fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
        for n, (group, part) in enumerate(stats.groupby("group", sort=False)):
            colour = POLE_COLOURS["russia"] if len(labels) == 1 else colours(n % 10)
            ax.fill_between(part["date"], part["p05"], part["p95"], color=colour, alpha=0.2)
            ax.plot(part["date"], part["p50"], color=colour, lw=2, label=labels[group])
        ax.set_ylabel(name)
        ax.set_title(f"{sweep.design['name']}: {name}, median and 5-95% band across replications", fontsize=9)
        ax.legend(fontsize=7, loc="best")
        ax.grid(alpha=0.3)
        _save(fig, out / f"fan_{name}.png", written)
    return lines
