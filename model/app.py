"""The browser view: watch the alliance evolve and play with the levers (issue 4).

A Mesa ``SolaraViz`` page (Mesa 3.5, Solara) started by ``cohesion viz``. It shows:

* a map-like network: each state at its capital's longitude and latitude, a pie
  of its alignment over the four poles (the colours of every figure,
  :data:`model.output.POLE_COLOURS`), pie area proportional to economic weight,
  a status line for the CIS, CSTO and EAEU (member, partial, out), an arrow
  toward the pole it is drifting to since the start, ties in grey and conflicts
  dashed red, Moscow as a star;
* a table of each state's drift, in words;
* charts updated each step: the cohesion index (overall and per institution),
  member counts, each state's alignment with Russia, air-defence participation;
* controls: a scenario picker listing ``scenarios/``, sliders for Russian
  pressure and Western, Chinese and Turkish engagement (ranges and help text
  from :class:`~model.scenario.PowerParams`, defaults from the chosen
  scenario), a seed, Step, Play and Reset (Mesa's controller).

Picking another scenario starts it at once at step 0, with the sliders at that
scenario's own values and seed 0 (Mesa's own inputs keep the values they were
created with, so the parameter panel is rebuilt for each scenario). Moving a
slider or typing a seed takes effect on Reset, as everywhere in Mesa.

Everything is drawn with matplotlib on the server: the page needs no chart
library from a CDN, and ``cohesion viz`` serves Solara's own JavaScript and CSS
from the ``solara-assets`` package, so the view works with no network at all.
The model never imports this module.
"""

from __future__ import annotations

import html
import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import solara
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnnotationBbox, HPacker, TextArea, VPacker
from matplotlib.patches import FancyArrowPatch, Patch, Wedge
from mesa.visualization import SolaraViz
from mesa.visualization.user_param import Slider
from mesa.visualization.utils import update_counter

from model.catalogue import INSTITUTIONS, POLE_LABELS, POLES, RUSSIA_CAPITAL, STATES, STATUS_TIER
from model.errors import ScenarioError
from model.model import AllianceModel
from model.output import POLE_COLOURS
from model.scenario import PowerParams, Scenario, available_scenarios, load_scenario

#: Environment variable through which ``cohesion viz`` names the scenario to open.
SCENARIO_ENV = "COHESION_VIZ_SCENARIO"
DEFAULT_SCENARIO = "baseline"
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Lever:
    """A slider of the page: one field of one power in the scenario."""

    keyword: str
    pole: str
    field: str
    label: str

    @property
    def path(self) -> str:
        """Dotted key path in the scenario, for :meth:`Scenario.with_overrides`."""
        return f"powers.{self.pole}.{self.field}"

    def bounds(self) -> tuple[float, float]:
        """The (lower, upper) bounds the scenario schema allows for this field."""
        lower = upper = None
        for rule in PowerParams.model_fields[self.field].metadata:
            lower = getattr(rule, "ge", lower)
            upper = getattr(rule, "le", upper)
        if lower is None or upper is None:
            raise TypeError(f"PowerParams.{self.field} has no ge/le bounds to make a slider from")
        return float(lower), float(upper)

    def description(self) -> str:
        """The schema's description of the field."""
        return PowerParams.model_fields[self.field].description or ""

    def value_in(self, scenario: Scenario) -> float:
        """This lever's value in ``scenario``."""
        return float(getattr(scenario.powers[self.pole], self.field))


#: The levers on the page, in the order they are shown.
LEVERS = (
    Lever("russian_pressure", "russia", "pressure", "Russian pressure"),
    Lever("western_engagement", "west", "engagement", "Western engagement"),
    Lever("chinese_engagement", "china", "engagement", "Chinese engagement"),
    Lever("turkish_engagement", "turkey", "engagement", "Turkish engagement"),
)
SLIDER_STEPS = 100  # slider resolution: (upper - lower) / SLIDER_STEPS

#: Where the drift arrows point: the capital of each pole (longitude, latitude).
POLE_ANCHORS = {
    "russia": RUSSIA_CAPITAL[1:],
    "west": (4.35, 50.85),  # Brussels
    "china": (116.40, 39.90),  # Beijing
    "turkey": (32.86, 39.93),  # Ankara
}
DRIFT_SHOWN = 0.01  # smallest change in alignment called a drift
STATUS_MARK = {3: "●", 2: "◐", 1: "◐", 0: "○"}
STATUS_COLOUR = {3: "#1b1b1b", 2: "#c26a00", 1: "#c26a00", 0: "#a8a8a8"}
STATUS_WORD = {3: "member", 2: "partial", 1: "partial", 0: "out"}
CONFLICT_COLOUR = "#b0261b"
#: Institution line colours and styles in the charts (no pole colour, to avoid confusion).
INSTITUTION_STYLE = {
    "cis": ("#4d4d4d", "--"),
    "csto": ("#8c6d46", "-."),
    "eaeu": ("#7d3c98", ":"),
}
TIE_COLOUR = "#b9bec4"
LAT0 = 46.0  # latitude at which the map keeps distances true
_XSCALE = math.cos(math.radians(LAT0))
#: Where a state's label sits around its pie (x side, y side: -1, 0 or 1), where the
#: default (to the right) would collide with a neighbour.
LABEL_PLACEMENT = {
    "ARM": (-1, -1),
    "GEO": (-1, 1),
    "AZE": (1, 1),
    "BLR": (1, 0),
    "MDA": (-1, 0),
    "TJK": (0, -1),
    "TKM": (0, -1),
    "UKR": (1, -1),
    "UZB": (0, 1),
}


# --------------------------------------------------------------------------- the model


def parse_seed(value: Any) -> int:
    """Read a seed typed into the page (Mesa hands text inputs over as strings).

    Raises:
        ScenarioError: not a whole number of 0 or more.
    """
    if isinstance(value, bool):
        raise ScenarioError(f"seed {value!r} is not a whole number; type 0 or more")
    if isinstance(value, int | np.integer):
        number = int(value)
    else:
        text = str(value).strip()
        try:
            number = int(text)
        except ValueError:
            raise ScenarioError(f"seed {text!r} is not a whole number; type 0 or more") from None
    if number < 0:
        raise ScenarioError(f"seed {number} is negative; type 0 or more")
    return number


class ViewModel(AllianceModel):
    """The alliance model as the page builds it: scenario by name, levers, seed.

    Mesa's Reset rebuilds the model as ``type(model)(**parameters)``, so every
    control of the page is a keyword here. A seed that is not a whole number of
    0 or more does not stop the page: the run uses seed 0 and ``input_error``
    says so, and the page shows it.

    Args:
        scenario_name: a scenario name (see ``scenarios/``) or path. Not called
            ``scenario``: Mesa 3.5's Reset replaces a ``scenario`` keyword with
            a Mesa ``Scenario`` object of its own.
        seed: the seed, as an int or as the text typed into the page.
        russian_pressure: ``powers.russia.pressure``; None keeps the scenario's.
        western_engagement: ``powers.west.engagement``; None keeps the scenario's.
        chinese_engagement: ``powers.china.engagement``; None keeps the scenario's.
        turkish_engagement: ``powers.turkey.engagement``; None keeps the scenario's.

    Attributes:
        scenario_name: as given.
        seed: the seed used.
        input_error: a one-line message when the seed typed was rejected, else None.
        initial_alignment: alignments at step 0 (states x poles).
        history: alignments after each step, step 0 first.
    """

    def __init__(
        self,
        scenario_name: str = DEFAULT_SCENARIO,
        seed: int | str = DEFAULT_SEED,
        russian_pressure: float | None = None,
        western_engagement: float | None = None,
        chinese_engagement: float | None = None,
        turkish_engagement: float | None = None,
    ) -> None:
        """Load the scenario, apply the levers and build the model with node positions."""
        self.input_error: str | None = None
        try:
            seed_value = parse_seed(seed)
        except ScenarioError as exc:
            seed_value = DEFAULT_SEED
            self.input_error = f"{exc}. This run uses seed {DEFAULT_SEED}."
        chosen = {
            "russian_pressure": russian_pressure,
            "western_engagement": western_engagement,
            "chinese_engagement": chinese_engagement,
            "turkish_engagement": turkish_engagement,
        }
        overrides = {
            lever.path: round(float(chosen[lever.keyword]), 6)
            for lever in LEVERS
            if chosen[lever.keyword] is not None
        }
        config = load_scenario(scenario_name)
        if overrides:
            config = config.with_overrides(overrides)
        super().__init__(config, rng=seed_value, layout=True, collect="model")
        self.scenario_name = scenario_name
        self.seed = seed_value
        self.initial_alignment = self.alignment.copy()
        self.history: list[np.ndarray] = [self.alignment.copy()]

    def step(self) -> None:
        """Advance one quarter and remember the alignments for the charts."""
        super().step()
        self.history.append(self.alignment.copy())

    def lever_values(self) -> dict[str, float]:
        """The value of each lever in this run."""
        return {lever.keyword: lever.value_in(self.config) for lever in LEVERS}


def launch_scenario() -> str:
    """The scenario the page opens with: ``$COHESION_VIZ_SCENARIO`` or the baseline."""
    return os.environ.get(SCENARIO_ENV, "").strip() or DEFAULT_SCENARIO


def scenario_choices(launched: str | None = None) -> list[str]:
    """Names of the scenarios in ``scenarios/``, plus the launched one if it lives elsewhere."""
    names = [path.stem for path in available_scenarios()]
    launched = launch_scenario() if launched is None else launched
    if launched not in names:
        names.insert(0, launched)
    return names


def model_params(scenario: Scenario, scenario_name: str) -> dict[str, Any]:
    """SolaraViz parameters: the scenario (fixed), the seed and one slider per lever.

    Slider ranges come from the schema's bounds and the slider positions from
    ``scenario``'s values, so no number is written twice.
    """
    params: dict[str, Any] = {
        "scenario_name": scenario_name,
        "seed": {"type": "InputText", "value": str(DEFAULT_SEED), "label": "Seed (whole number)"},
    }
    for lever in LEVERS:
        lower, upper = lever.bounds()
        params[lever.keyword] = Slider(
            lever.label,
            value=lever.value_in(scenario),
            min=lower,
            max=upper,
            step=(upper - lower) / SLIDER_STEPS,
            dtype=float,
        )
    return params


# --------------------------------------------------------------------------- what the page says


def quarter_label(quarter: str) -> str:
    """``2027Q3`` -> ``2027 Q3``."""
    return quarter.replace("Q", " Q")


def date_line(model: AllianceModel) -> str:
    """The date of the current step, e.g. ``2027 Q3 — step 11 of 40``."""
    text = f"{quarter_label(model.quarter)} — step {model.steps} of {model.config.horizon}"
    if model.steps == 0:
        text += " (the end-2024 starting picture)"
    elif not model.running:
        text += " (end of the run; press Reset to start again)"
    return text


@dataclass(frozen=True)
class Drift:
    """How one state's alignment moved since step 0."""

    code: str
    name: str
    russia_start: float
    russia_now: float
    toward: str | None  # the pole that gained most, when it gained at least DRIFT_SHOWN
    gain: float

    @property
    def change(self) -> float:
        """Change in alignment with Russia."""
        return self.russia_now - self.russia_start

    def words(self) -> str:
        """The drift in a sentence fragment, e.g. ``drifting from Russia toward China``."""
        if self.change <= -DRIFT_SHOWN:
            target = f" toward {POLE_LABELS[self.toward]}" if self.toward else ""
            return f"drifting from Russia{target}"
        if self.change >= DRIFT_SHOWN:
            return "moving closer to Russia"
        if self.toward and self.toward != "russia":
            return f"steady with Russia; leaning to {POLE_LABELS[self.toward]}"
        return "steady"


def drifts(model: ViewModel) -> list[Drift]:
    """Each state's drift since step 0, most drifting away from Russia first."""
    change = model.alignment - model.initial_alignment
    found = []
    for state in model.states:
        i = state.index
        k = int(np.argmax(change[i]))
        toward = POLES[k] if change[i, k] >= DRIFT_SHOWN else None
        found.append(
            Drift(
                code=state.code,
                name=state.name,
                russia_start=float(model.initial_alignment[i, 0]),
                russia_now=float(model.alignment[i, 0]),
                toward=toward,
                gain=float(change[i, k]),
            )
        )
    return sorted(found, key=lambda d: d.change)


def drift_table_html(model: ViewModel) -> str:
    """An HTML table: alignment with Russia then and now, the drift in words, memberships."""
    rows = []
    by_code = {s.code: s for s in model.states}
    for d in drifts(model):
        state = by_code[d.code]
        colour = POLE_COLOURS[d.toward] if d.toward else "#555"
        marks = []
        for inst in INSTITUTIONS:
            status = state.status[inst]
            tier = STATUS_TIER[status]
            marks.append(
                f"<span title='{inst.upper()}: {status}' style='color:{STATUS_COLOUR[tier]}'>"
                f"{STATUS_MARK[tier]}&#8202;{inst.upper()}</span>"
            )
        if state.air_defence:
            marks.append("<span title='in the unified air-defence system'>▲AD</span>")
        rows.append(
            "<tr>"
            f"<td><b>{html.escape(d.name)}</b><br><span class='marks'>{' '.join(marks)}</span></td>"
            f"<td class='num'>{d.russia_start:.2f} → {d.russia_now:.2f}<br>({d.change:+.2f})</td>"
            f"<td style='color:{colour}'>{html.escape(d.words())}</td>"
            "</tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("State and memberships", "With Russia: start → now", "Drift since the start")
    )
    return (
        "<style>.cohesion-drift{border-collapse:collapse;font-size:12.5px;width:100%}"
        ".cohesion-drift th,.cohesion-drift td{padding:3px 6px;border-bottom:1px solid #e3e3e3;"
        "text-align:left;vertical-align:top}.cohesion-drift th{font-weight:600;color:#444}"
        ".cohesion-drift td.num,.cohesion-drift .marks{white-space:nowrap;font-size:11.5px;"
        "font-variant-numeric:tabular-nums}</style>"
        "<table class='cohesion-drift'><thead><tr>"
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "<div style='font-size:11.5px;color:#666;margin-top:6px'>Alignment with Russia: the "
        "share of a state's alignment that goes to Russia (0 to 1); the rest goes to the West, "
        "China and Türkiye. Most drifting away from Russia first. Memberships: ● member, "
        "◐ frozen, suspended, associate or observer, ○ out; ▲AD in the unified air defence. "
        "Hover a mark for the exact status.</div>"
    )


# --------------------------------------------------------------------------- figures


def _xy(lon: float, lat: float) -> tuple[float, float]:
    """Map coordinates: longitude shrunk by cos(LAT0), so that circles stay round."""
    return lon * _XSCALE, lat


def _radius(weight: float, largest: float) -> float:
    """Pie radius in map degrees: area proportional to economic weight."""
    return max(0.32, 1.7 * math.sqrt(weight / largest))


def draw_map(model: ViewModel) -> Figure:
    """The states on a map: alignment pies, statuses, drift arrows, ties and conflicts."""
    fig = Figure(figsize=(8.6, 6.1), dpi=100)
    ax = fig.add_axes((0.035, 0.2, 0.95, 0.78))
    codes = model.codes
    lonlat = [STATES[c][2:] for c in codes]
    xy = [_xy(*p) for p in lonlat]
    lons = [p[0] for p in lonlat] + [RUSSIA_CAPITAL[1]]
    lats = [p[1] for p in lonlat] + [RUSSIA_CAPITAL[2]]
    west, east = min(lons) - 10, max(lons) + 13
    ax.set_xlim(_xy(west, 0)[0], _xy(east, 0)[0])
    ax.set_ylim(min(lats) - 3.8, max(lats) + 2.4)
    ax.set_aspect("equal")
    ax.apply_aspect()
    ax.set_facecolor("#f3f5f7")
    lon_ticks = range(int(west) // 10 * 10 + 10, int(east) + 1, 10)
    ax.set_xticks([_xy(t, 0)[0] for t in lon_ticks], [f"{t}°E" for t in lon_ticks])
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0f}°N")
    ax.tick_params(labelsize=7, colors="#888", length=0)
    ax.grid(color="white", lw=1)
    for side in ax.spines.values():
        side.set_visible(False)

    for u, v, data in model.network.G.edges(data=True):
        (x0, y0), (x1, y1) = xy[u], xy[v]
        weight = float(data.get("weight", 0.0))
        if data.get("kind") == "conflict":
            if weight > 0:
                ax.plot(
                    [x0, x1],
                    [y0, y1],
                    ls=(0, (4, 2.5)),
                    color=CONFLICT_COLOUR,
                    lw=1.0 + 2.0 * weight,
                    zorder=2,
                )
        else:
            ax.plot([x0, x1], [y0, y1], color=TIE_COLOUR, lw=0.6 + 3.0 * weight, zorder=1)

    mx, my = _xy(*RUSSIA_CAPITAL[1:])
    ax.plot(mx, my, marker="*", ms=20, color=POLE_COLOURS["russia"], mec="black", zorder=6)
    ax.annotate(
        "Moscow (Russia, the leader)",
        (mx, my),
        xytext=(11, 2),
        textcoords="offset points",
        fontsize=8,
        va="bottom",
        color="#333",
    )

    points_per_degree = _points_per_unit(ax)
    largest = max(s.economic_weight for s in model.states)
    for d in drifts(model):
        state = model.states[codes.index(d.code)]
        i = state.index
        x, y = xy[i]
        r = _radius(state.economic_weight, largest)
        angle = 90.0
        for k, pole in enumerate(POLES):
            share = float(model.alignment[i, k])
            if share <= 0:
                continue
            ax.add_patch(
                Wedge(
                    (x, y), r, angle, angle + 360 * share, fc=POLE_COLOURS[pole], ec="white", lw=0.5, zorder=4
                )
            )
            angle += 360 * share
        if d.toward is not None:
            ax.add_patch(_drift_arrow(x, y, r, d))
        ax.add_artist(_label(state, d, (x, y), r * points_per_degree))

    _compass(ax)
    fig.legend(
        handles=_legend_handles(),
        loc="lower center",
        bbox_to_anchor=(0.5, 0.0),
        ncols=4,
        fontsize=7.5,
        frameon=False,
        handlelength=2.2,
        columnspacing=1.4,
    )
    return fig


def _points_per_unit(ax) -> float:
    """Typographic points per map degree (after the aspect is applied)."""
    (x0, _), (x1, _) = ax.transData.transform([(0.0, 0.0), (1.0, 0.0)])
    return (x1 - x0) * 72.0 / ax.figure.dpi


def _drift_arrow(x: float, y: float, r: float, d: Drift) -> FancyArrowPatch:
    """An arrow from the pie toward the capital of the pole the state moved to."""
    tx, ty = _xy(*POLE_ANCHORS[d.toward])
    dx, dy = tx - x, ty - y
    norm = math.hypot(dx, dy) or 1.0
    ux, uy = dx / norm, dy / norm
    length = min(5.0, 0.9 + 30.0 * d.gain)
    start = (x + ux * (r + 0.1), y + uy * (r + 0.1))
    end = (start[0] + ux * length, start[1] + uy * length)
    return FancyArrowPatch(
        start,
        end,
        arrowstyle="-|>",
        mutation_scale=13,
        lw=2.2,
        color=POLE_COLOURS[d.toward],
        zorder=5,
        alpha=0.9,
    )


def _label(state, d: Drift, xy: tuple[float, float], r_points: float) -> AnnotationBbox:
    """Name, status marks for CIS, CSTO and EAEU, and the drift, beside the pie."""
    name = TextArea(state.name, textprops={"fontsize": 8.5, "fontweight": "bold"})
    marks = []
    for inst in INSTITUTIONS:
        tier = STATUS_TIER[state.status[inst]]
        marks.append(
            TextArea(
                f"{STATUS_MARK[tier]}{inst.upper()}",
                textprops={"fontsize": 7, "color": STATUS_COLOUR[tier]},
            )
        )
    if state.air_defence:
        marks.append(TextArea("▲AD", textprops={"fontsize": 7, "color": "#1b1b1b"}))
    lines = [name, HPacker(children=marks, pad=0, sep=3)]
    russia = f"Russia {d.russia_now:.2f} ({d.change:+.2f})"
    drift_parts = [TextArea(russia, textprops={"fontsize": 7, "color": "#333"})]
    if d.toward is not None:
        drift_parts.append(
            TextArea(
                f"→ {POLE_LABELS[d.toward]}",
                textprops={"fontsize": 7, "color": POLE_COLOURS[d.toward], "fontweight": "bold"},
            )
        )
    lines.append(HPacker(children=drift_parts, pad=0, sep=3))
    side_x, side_y = LABEL_PLACEMENT.get(state.code, (1, 0))
    align = {1: "left", 0: "center", -1: "right"}[side_x]
    box = VPacker(children=lines, pad=0, sep=1, align=align)
    gap = r_points + 4
    diagonal = 0.72 if side_x and side_y else 1.0
    return AnnotationBbox(
        box,
        xy,
        xybox=(side_x * gap * diagonal, side_y * gap * diagonal),
        boxcoords="offset points",
        box_alignment=((1 - side_x) / 2, (1 - side_y) / 2),
        frameon=True,
        pad=0.2,
        bboxprops={"fc": "white", "ec": "none", "alpha": 0.75},
        zorder=7,
    )


def _compass(ax) -> None:
    """Name the poles at the edges of the map, in their colours, toward their capitals."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    style = {"fontsize": 9, "fontweight": "bold", "zorder": 3}
    ax.text(x0 + 0.3, y1 - 1.2, "◀ West", va="top", color=POLE_COLOURS["west"], **style)
    ax.text(x1 - 0.3, y0 + 2.2, "China ▶", ha="right", color=POLE_COLOURS["china"], **style)
    turkey = _xy(*POLE_ANCHORS["turkey"])[0]
    ax.text(turkey, y0 + 0.4, "▼ Türkiye", ha="center", color=POLE_COLOURS["turkey"], **style)


def _legend_handles() -> list:
    handles: list = [Patch(fc=POLE_COLOURS[p], label=f"aligned with {POLE_LABELS[p]}") for p in POLES]
    handles += [
        Line2D([], [], ls="", marker="o", color=STATUS_COLOUR[3], label="CIS/CSTO/EAEU member"),
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            fillstyle="left",
            color=STATUS_COLOUR[2],
            label="frozen, suspended,\nassociate or observer",
        ),
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            fillstyle="none",
            color=STATUS_COLOUR[0],
            label="out (withdrawn or never in)",
        ),
        Line2D([], [], ls="", marker="^", color="#1b1b1b", label="AD: in unified air defence"),
        Line2D([], [], ls="", marker="*", ms=10, color=POLE_COLOURS["russia"], mec="black", label="Moscow"),
        Line2D([], [], color=TIE_COLOUR, lw=2.5, label="cooperative tie"),
        Line2D([], [], color=CONFLICT_COLOUR, lw=2, ls=(0, (4, 2.5)), label="conflict"),
        Line2D(
            [],
            [],
            ls="",
            marker=r"$\longrightarrow$",
            ms=20,
            color="#555",
            label="drift since the start, toward\nthe pole that gained most",
        ),
        Patch(
            fc="none",
            ec="none",
            label="pie area ∝ economic weight;\n'Russia 0.27 (−0.05)': alignment\nwith Russia now (change)",
        ),
    ]
    return handles


def draw_charts(model: ViewModel) -> Figure:
    """Cohesion, member counts, each state's alignment with Russia, air defence."""
    data = model.datacollector.model_vars
    steps = np.arange(len(data["cohesion"]))
    horizon = model.config.horizon
    fig = Figure(figsize=(9.6, 6.2), dpi=100)
    fig.subplots_adjust(left=0.05, right=0.965, bottom=0.05, top=0.95, hspace=0.2, wspace=0.14)
    axes = fig.subplots(2, 2, sharex=True)
    ticks = [k for k in range(0, horizon + 1) if model.config.start.plus(k - 1).q == 4]
    for ax in axes.flat:
        ax.set_xlim(0, horizon)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7.5)
        ax.set_xticks(ticks, [str(model.config.start.plus(k - 1).year) for k in ticks])
        ax.axvline(model.steps, color="#999", lw=0.8)

    ax = axes[0, 0]
    ax.plot(steps, data["cohesion"], color="black", lw=2.4, label="all three")
    highest = max(data["cohesion"])
    for inst in INSTITUTIONS:
        colour, style = INSTITUTION_STYLE[inst]
        ax.plot(steps, data[f"cohesion_{inst}"], color=colour, ls=style, lw=1.6, label=inst.upper())
        highest = max(highest, *data[f"cohesion_{inst}"])
    ax.set_ylim(0, min(1.0, max(0.4, 1.25 * highest)))
    ax.set_title("Cohesion index: members' alignment with Russia, less its spread", fontsize=9, loc="left")
    ax.legend(fontsize=7, ncols=4, loc="upper right")

    ax = axes[0, 1]
    for inst in INSTITUTIONS:
        colour, style = INSTITUTION_STYLE[inst]
        ax.step(
            steps, data[f"{inst}_members"], where="post", color=colour, ls=style, lw=1.8, label=inst.upper()
        )
    ax.set_ylim(0, model.n_states + 1.5)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title("Full members (Russia included)", fontsize=9, loc="left")
    ax.legend(fontsize=7, ncols=3, loc="lower left")

    ax = axes[1, 0]
    history = np.array(model.history)
    by_code = {d.code: d for d in drifts(model)}
    ends = []
    for state in model.states:
        d = by_code[state.code]
        colour = POLE_COLOURS[d.toward] if d.toward else "#777"
        ax.plot(steps, history[:, state.index, 0], color=colour, lw=1.4)
        ends.append((float(history[-1, state.index, 0]), state.code, colour))
    for y, code, colour in _spread(ends, gap=0.045):
        ax.annotate(
            code,
            (len(steps) - 1, y),
            xytext=(3, 0),
            textcoords="offset points",
            fontsize=6.5,
            color=colour,
            va="center",
        )
    ax.set_ylim(0, 1.05)
    ax.set_title("Each state's alignment with Russia (colour: pole gaining most)", fontsize=9, loc="left")

    ax = axes[1, 1]
    ax.plot(steps, data["air_defence_rate"], color=POLE_COLOURS["russia"], lw=2)
    ax.set_ylim(0, 1.05)
    members = data["air_defence_members"][-1]
    ax.set_title(
        f"Unified air defence: share of CIS members in it ({members} states now)",
        fontsize=9,
        loc="left",
    )
    return fig


def _spread(ends: Sequence[tuple[float, str, str]], gap: float) -> list[tuple[float, str, str]]:
    """Nudge end-of-line labels apart vertically so they do not overlap."""
    placed: list[tuple[float, str, str]] = []
    for y, code, colour in sorted(ends):
        if placed and y - placed[-1][0] < gap:
            y = placed[-1][0] + gap
        placed.append((y, code, colour))
    return placed


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


# --------------------------------------------------------------------------- components


@solara.component
def Header(model: solara.Reactive[ViewModel]):
    """Scenario title, the date of the step, the levers of this run and any input error."""
    update_counter.get()
    m = model.value
    config = m.config
    with solara.Column(gap="4px", style={"padding": "4px 12px"}):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f"<span style='font-size:20px;font-weight:600'>{html.escape(config.name)}</span>"
                f"<span style='font-size:15px;color:#444'> — {html.escape(config.description)}"
                "</span>"
            ),
            classes=["cohesion-title"],
        )
        solara.Text(
            date_line(m),
            style={"font-size": "30px", "font-weight": "700", "color": "#1f2d3d"},
            classes=["cohesion-date"],
        )
        levers = " · ".join(
            f"{lever.label} {value:.2f}"
            for lever, value in zip(LEVERS, m.lever_values().values(), strict=True)
        )
        solara.Text(f"Seed {m.seed} · {levers}", style={"color": "#555"}, classes=["cohesion-levers"])
        if m.input_error:
            solara.Error(m.input_error, classes=["cohesion-input-error"])


@solara.component
def MapView(model: solara.Reactive[ViewModel]):
    """The map, redrawn after every step."""
    update_counter.get()
    m = model.value
    image = solara.use_memo(lambda: png(draw_map(m)), dependencies=[m, m.steps])
    with solara.Div(classes=["cohesion-map"]):
        solara.Image(image, width="100%")


@solara.component
def ChartsView(model: solara.Reactive[ViewModel]):
    """The four charts, redrawn after every step."""
    update_counter.get()
    m = model.value
    image = solara.use_memo(lambda: png(draw_charts(m)), dependencies=[m, m.steps])
    with solara.Div(classes=["cohesion-charts"], style={"max-width": "1000px"}):
        solara.Image(image, width="100%")


@solara.component
def DriftTable(model: solara.Reactive[ViewModel]):
    """Who is drifting from Russia, and toward whom, in words."""
    update_counter.get()
    solara.HTML(tag="div", unsafe_innerHTML=drift_table_html(model.value), classes=["cohesion-table"])


@solara.component
def LeverHelp():
    """What the sliders mean, from the scenario schema's descriptions."""
    with solara.Details("What the levers mean"):
        for lever in LEVERS:
            solara.Text(f"{lever.label}: {lever.description()}", style={"font-size": "12px"})
        solara.Text(
            "Move a slider or type a seed, then press Reset to start a run with it.",
            style={"font-size": "12px", "font-style": "italic"},
        )


@solara.component
def Viewer(scenario_name: str):
    """One scenario's page: Mesa's controls in the sidebar, map, table and charts."""
    first = solara.use_memo(lambda: ViewModel(scenario_name), dependencies=[scenario_name])
    model = solara.use_reactive(first)
    params = solara.use_memo(lambda: model_params(first.config, scenario_name), dependencies=[scenario_name])
    with solara.Sidebar():
        LeverHelp()
    with solara.Column(style={"padding": "0 8px"}):
        Header(model)
        with solara.Columns([2, 1]):
            MapView(model)
            DriftTable(model)
        ChartsView(model)
    SolaraViz(
        model,
        components=[],
        model_params=params,
        name=f"Alliance cohesion · {first.config.name}",
        play_interval=400,
    )


@solara.component
def Page():
    """The page: a scenario picker and the viewer of the scenario picked.

    A new pick first clears the viewer for one render, then shows the new one:
    Mesa's sidebar inputs sit in the layout's sidebar, where Solara matches
    widgets by position, so without the gap a slider moved in the old scenario
    would keep its position while the new run uses the new scenario's value.
    """
    choices = solara.use_memo(scenario_choices, dependencies=[])
    chosen = solara.use_reactive(launch_scenario())
    shown, set_shown = solara.use_state(chosen.value)

    def follow() -> None:
        if shown != chosen.value:
            set_shown(chosen.value)

    solara.use_effect(follow, [chosen.value, shown])
    with solara.Sidebar(), solara.Card("Scenario", classes=["cohesion-picker"]):
        solara.Select("Scenario", values=choices, value=chosen)
        solara.Text(
            "Picking a scenario starts it from step 0 with its own lever values.",
            style={"font-size": "12px", "color": "#666"},
        )
    if shown == chosen.value:
        Viewer(shown).key(f"viewer-{shown}")
    else:
        solara.Text(f"Loading {chosen.value}…")
