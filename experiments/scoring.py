"""Scoring a hindcast: the recorded memberships of 1999-2024 against simulated ones.

Every (state, institution, year-end) is a *cell* whose outcome is one of three
classes: ``in`` (full member), ``partial`` (in but holding back: associate,
suspended, frozen, observer, leaving) and ``out``. A forecaster gives each cell
three probabilities ``p_in``, ``p_partial``, ``p_out``; the model's are the
shares of its runs in each class (:func:`probabilities`).

The record
----------
:func:`record_statuses` reads ``data/membership_events.csv`` (columns ``date``,
``state``, ``institution``, ``event``, ``source``). Decisions:

- A cell's class is the recorded status at the *end* of its year (31 December):
  the class implied by the last status-changing event dated on or before it.
  Events of one day keep the order of the file.
- A state with no status-changing event for an institution is ``out`` of it.
- CST (the Collective Security Treaty of 1992) and the CSTO (from 2002) are one
  institution, ``csto``. SCO rows are not scored and are skipped unread; any
  other institution is refused.
- The EAEU exists from 2015-01-01: years before 2015 have *no* EAEU rows (they
  are dropped, not scored as ``out``).
- States scored: :data:`SCORED_STATES` (ARM AZE BLR KAZ KGZ TJK TKM UZB GEO MDA
  UKR); Russia is never scored. Years: 1999 to 2024.
- Every event text of a scored institution must be in :data:`EVENT_CLASSES`
  (exact text, surrounding and repeated whitespace ignored); an unknown text
  raises ``ValueError`` naming it, so a new row of the CSV cannot be silently
  mis-scored. The table, the class each event implies from its date on
  (no change: not a status change, the class stays what it was):

  ===============================================================  =========
  event text                                                       class
  ===============================================================  =========
  ``founder``                                                      in
  ``founder (Charter never ratified)``                             in
  ``joined``                                                       in
  ``signed``                                                       in
  ``signed (date differs by source: 9 Sep or 9 Dec)``              in
  ``rejoined``                                                     in
  ``did not renew (left)``                                         out
  ``did not renew (left; joined GUAM)``                            out
  ``exit effective``                                               out
  ``representatives recalled from all CIS bodies``                 out
  ``associate member (downgraded)``                                partial
  ``suspended``                                                    partial
  ``suspended (confirmed 2012-12-19)``                             partial
  ``withdrawal begun``                                             partial
  ``withdrawal begun (after Crimea annexation)``                   partial
  ``began denouncing CIS agreements``                              partial
  ``began denouncing the CIS Charter``                             partial
  ``participation frozen``                                         partial
  ``observer``                                                     partial
  ``exit notified``                                                no change
  ``exit notified (after war with Russia)``                        no change
  ``first CSTO deployment (about 2000 troops) at Kazakh request``  no change
  ``requested CSTO help against Azerbaijan; none given``           no change
  ``boycotted CSTO summit``                                        no change
  ``stopped financing``                                            no change
  ===============================================================  =========

The simulation
--------------
``simulated`` has columns ``run``, ``state``, ``institution`` (``cis``, ``csto``,
``eaeu``), ``year`` and ``status``, the model's status word at the year-end;
:func:`statuses_at_year_ends` builds it from the starting statuses and the
engine's event log. A status's class is :data:`STATUS_CLASSES` (member -> in;
frozen, suspended, associate, observer -> partial; withdrawn, none -> out).

Forecasters and periods
-----------------------
Periods (:data:`PERIODS`): ``in_sample`` = year-ends 1999-2014, ``out_of_sample``
= 2015-2024. Besides the model, two references (:func:`reference_forecasts`):

- ``persistence``: every cell keeps the class it had at the start of the period,
  with probability 1. In sample the start is the record as of 1999-04-01 (the
  day before the 1999 treaty exits); out of sample it is the end-2014 record,
  except for the EAEU, whose first scored year is 2015: there it is the record
  as of 2015-01-02, after the founding and Armenia's accession. That start is
  two days into the period and knows two of the EAEU's entries, which favours
  the reference (a harder bar for the model).
- ``base_rate``: r = the share of in-sample record cells (1999-2014) whose class
  differs from the previous year-end's (1999 is compared with end-1998). For a
  cell t years after the period's start (t = year - first year of the period +
  1), P(start class) = (1 - r)^t and the rest is split equally between the two
  other classes. Out of sample r is still estimated on 1999-2014, so nothing is
  fitted on held-out data.

The period-start classes and r come from the events file too, so they are
gathered in a :class:`Reference` (:func:`reference_data`) and passed alongside
the record.

Scores (:func:`score`)
----------------------
- Brier: mean over cells of the sum over the three classes of (p_k - o_k)^2,
  in [0, 2]; a uniform forecast scores 2/3.
- Log loss: mean over cells of -ln p_observed, with *every* forecaster's
  probabilities first clipped to [0.01, 0.99] and renormalised to sum to 1, so
  a confident miss costs at most -ln(0.01/1.98) ≈ 5.29 instead of infinity, and
  a perfect forecast scores -ln(0.99/1.01) ≈ 0.020, not 0.

Timing (:func:`timing_errors`)
------------------------------
For each recorded change of class in a period, per run, the first year of the
period where the simulated class moves into the recorded to-class (is that
class at the year-end, having been another at the previous year-end; for the
period's first year, the previous class is the recorded period-start class);
and, for series where the record has no change in the period, the share of runs
that change class at all (false alarms).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NamedTuple

import numpy as np
import pandas as pd

#: The three outcome classes, in the order of the probability columns.
CLASSES: Final = ("in", "partial", "out")
#: The probability columns of a forecast, one per class.
PROB_COLUMNS: Final = ("p_in", "p_partial", "p_out")
#: The columns naming a cell.
KEYS: Final = ("state", "institution", "year")
#: The institutions scored.
INSTITUTIONS: Final = ("cis", "csto", "eaeu")
#: The states scored (never Russia).
SCORED_STATES: Final = ("ARM", "AZE", "BLR", "KAZ", "KGZ", "TJK", "TKM", "UZB", "GEO", "MDA", "UKR")
#: The year-ends scored.
YEARS: Final = tuple(range(1999, 2025))
#: The EAEU's first year (it exists from 2015-01-01); earlier years are not scored for it.
EAEU_FIRST_YEAR: Final = 2015
#: Clipping of probabilities before the log loss.
CLIP: Final = (0.01, 0.99)
#: The forecasters of :func:`score_table`, in its row order.
FORECASTERS: Final = ("model", "persistence", "base_rate")
#: The columns of :func:`score_table`.
SCORE_COLUMNS: Final = ("forecaster", "period", "brier", "log_loss", "n")

#: The class of each model status word.
STATUS_CLASSES: Final = {
    "member": "in",
    "frozen": "partial",
    "suspended": "partial",
    "associate": "partial",
    "observer": "partial",
    "withdrawn": "out",
    "none": "out",
}

#: Each event text of the record -> the class it implies from its date on (None: no change).
EVENT_CLASSES: Final[Mapping[str, str | None]] = {
    "founder": "in",
    "founder (Charter never ratified)": "in",
    "joined": "in",
    "signed": "in",
    "signed (date differs by source: 9 Sep or 9 Dec)": "in",
    "rejoined": "in",
    "did not renew (left)": "out",
    "did not renew (left; joined GUAM)": "out",
    "exit effective": "out",
    "representatives recalled from all CIS bodies": "out",
    "associate member (downgraded)": "partial",
    "suspended": "partial",
    "suspended (confirmed 2012-12-19)": "partial",
    "withdrawal begun": "partial",
    "withdrawal begun (after Crimea annexation)": "partial",
    "began denouncing CIS agreements": "partial",
    "began denouncing the CIS Charter": "partial",
    "participation frozen": "partial",
    "observer": "partial",
    "exit notified": None,
    "exit notified (after war with Russia)": None,
    "first CSTO deployment (about 2000 troops) at Kazakh request": None,
    "requested CSTO help against Azerbaijan; none given": None,
    "boycotted CSTO summit": None,
    "stopped financing": None,
}

#: The record's institution names -> the scored institution (SCO: skipped).
RECORD_INSTITUTIONS: Final = {"CIS": "cis", "CST": "csto", "CSTO": "csto", "EAEU": "eaeu"}
IGNORED_INSTITUTIONS: Final = frozenset({"SCO"})
EVENT_FILE_COLUMNS: Final = ("date", "state", "institution", "event", "source")


@dataclass(frozen=True)
class Period:
    """A scored period.

    Attributes:
        name: ``in_sample`` or ``out_of_sample``.
        first: its first year-end.
        last: its last year-end.
        start: the date of the record persistence starts from (events on it included).
        eaeu_start: the same for the EAEU, when it differs.
    """

    name: str
    first: int
    last: int
    start: str
    eaeu_start: str | None = None

    @property
    def years(self) -> range:
        """Its year-ends."""
        return range(self.first, self.last + 1)


#: The two periods scored.
PERIODS: Final = {
    "in_sample": Period("in_sample", 1999, 2014, start="1999-04-01"),
    "out_of_sample": Period("out_of_sample", 2015, 2024, start="2014-12-31", eaeu_start="2015-01-02"),
}


class Score(NamedTuple):
    """The scores of one forecaster on one set of cells."""

    brier: float
    log_loss: float
    n: int


@dataclass(frozen=True)
class Reference:
    """What the reference forecasters need from the record besides its year-ends.

    Attributes:
        starts: the class at the start of each period: columns ``period``,
            ``state``, ``institution``, ``cls``.
        rate: r, the share of in-sample cells whose class changed over their year.
        changes: the in-sample changes counted.
        cells: the in-sample cells counted.
    """

    starts: pd.DataFrame
    rate: float
    changes: int
    cells: int


@dataclass(frozen=True)
class Timing:
    """The timing of the simulated changes of class in one period.

    Attributes:
        changes: one row per recorded change: ``period``, ``state``,
            ``institution``, ``from_cls``, ``to_cls``, ``recorded_year``,
            ``median_year`` (median simulated year among runs that made the
            move), ``median_abs_error`` (years, same runs), ``share_never``
            (runs that never made it in the period), ``runs``.
        false_alarms: one row per series with no recorded change in the period:
            ``period``, ``state``, ``institution``, ``recorded_cls``,
            ``share_changed`` (runs with any change of class), ``mean_changes``
            (changes per run), ``runs``; highest share first.
    """

    changes: pd.DataFrame
    false_alarms: pd.DataFrame


# --------------------------------------------------------------------------- the record


def _normalise(text: str) -> str:
    return " ".join(str(text).split())


def _read_events(path: str | Path) -> pd.DataFrame:
    """The record's events of the scored institutions, with the class each implies."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise ValueError(
            f"events_csv_path: {str(path)!r} does not exist; allowed an events CSV file"
        ) from None
    missing = [c for c in EVENT_FILE_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {', '.join(missing)}; required: {', '.join(EVENT_FILE_COLUMNS)}"
        )
    raw = raw.assign(
        institution=raw["institution"].map(_normalise),
        state=raw["state"].map(_normalise),
        event=raw["event"].map(_normalise),
    )
    unknown = sorted(set(raw["institution"]) - set(RECORD_INSTITUTIONS) - IGNORED_INSTITUTIONS)
    if unknown:
        allowed = ", ".join([*RECORD_INSTITUTIONS, *sorted(IGNORED_INSTITUTIONS)])
        raise ValueError(f"{path}: unknown institution {unknown[0]!r}; allowed: {allowed}")
    rows = raw[raw["institution"].isin(list(RECORD_INSTITUTIONS))].reset_index(drop=True)
    dates = pd.to_datetime(rows["date"], format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        bad = rows.loc[dates.isna(), "date"].iloc[0]
        raise ValueError(f"{path}: bad date {bad!r}; allowed YYYY-MM-DD")
    bad_events = ~rows["event"].isin(list(EVENT_CLASSES))
    if bad_events.any():
        row = rows[bad_events].iloc[0]
        raise ValueError(
            f"{path}: unknown event text {row['event']!r} ({row['date']} {row['state']} "
            f"{row['institution']}); allowed: the texts of experiments.scoring.EVENT_CLASSES "
            "(add it there with the class it implies)"
        )
    out = pd.DataFrame(
        {
            "date": dates,
            "state": rows["state"],
            "institution": rows["institution"].map(RECORD_INSTITUTIONS),
            "event": rows["event"],
            "cls": rows["event"].map(lambda e: EVENT_CLASSES[e]),
        }
    )
    return out.sort_values("date", kind="mergesort").reset_index(drop=True)


def _states(states: object) -> tuple[str, ...]:
    if isinstance(states, str) or not isinstance(states, Iterable):
        raise ValueError(f"states: {states!r} is not a list of state codes; allowed e.g. ['ARM', 'KAZ']")
    out = tuple(states)
    if not out:
        raise ValueError("states: empty; allowed one or more state codes such as 'ARM'")
    for s in out:
        if not isinstance(s, str) or not s:
            raise ValueError(f"states: {s!r} is not a state code; allowed codes such as 'ARM'")
    if "RUS" in out:
        raise ValueError("states: 'RUS' is never scored; allowed the other states, e.g. SCORED_STATES")
    if len(set(out)) != len(out):
        raise ValueError(f"states: {list(out)!r} repeats a state; allowed each state once")
    return out


def _years(years: object, name: str = "years") -> tuple[int, ...]:
    if isinstance(years, str) or not isinstance(years, Iterable):
        raise ValueError(f"{name}: {years!r} is not a list of years; allowed e.g. range(1999, 2025)")
    out = tuple(years)
    if not out:
        raise ValueError(f"{name}: empty; allowed one or more years")
    for y in out:
        if isinstance(y, bool) or not isinstance(y, int | np.integer):
            raise ValueError(f"{name}: {y!r} is not a whole year; allowed integers such as 1999")
    out = tuple(int(y) for y in out)
    if list(out) != sorted(set(out)):
        raise ValueError(f"{name}: {list(out)!r} is not increasing without repeats; allowed e.g. 1999, 2000")
    return out


def _classes_at(events: pd.DataFrame, states: tuple[str, ...], dates: list[pd.Timestamp]) -> pd.DataFrame:
    """The class of each state and institution at the end of each date (state, institution, when, cls)."""
    changes = events[events["cls"].notna() & events["state"].isin(states)]
    grid = pd.MultiIndex.from_product([states, INSTITUTIONS], names=["state", "institution"])
    frames = []
    for when in dates:
        last = changes[changes["date"] <= when].groupby(["state", "institution"], sort=False)["cls"].last()
        cls = last.reindex(grid).fillna("out")
        frames.append(cls.reset_index().assign(when=when))
    return pd.concat(frames, ignore_index=True)


def record_statuses(
    events_csv_path: str | Path,
    *,
    states: Iterable[str] = SCORED_STATES,
    years: Iterable[int] = YEARS,
) -> pd.DataFrame:
    """The recorded class of every state, institution and year-end.

    See the module docstring for the decisions (the event table, CST = CSTO,
    no EAEU rows before 2015, absent = out).

    Args:
        events_csv_path: the membership events file (``data/membership_events.csv``).
        states: the states scored (never ``RUS``).
        years: the year-ends, increasing.

    Returns:
        Columns ``state``, ``institution`` (``cis``, ``csto``, ``eaeu``), ``year``,
        ``cls`` (``in``, ``partial``, ``out``), sorted by them.

    Raises:
        ValueError: a missing file or column, a bad date, an unknown institution or
            event text, or bad ``states`` or ``years``.
    """
    states = _states(states)
    years = _years(years)
    events = _read_events(events_csv_path)
    at = _classes_at(events, states, [pd.Timestamp(year=y, month=12, day=31) for y in years])
    at["year"] = at.pop("when").dt.year.astype(np.int64)
    at = at[(at["institution"] != "eaeu") | (at["year"] >= EAEU_FIRST_YEAR)]
    return _sorted(at[["state", "institution", "year", "cls"]])


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values([c for c in KEYS if c in frame.columns], kind="mergesort").reset_index(drop=True)


def reference_data(events_csv_path: str | Path, *, states: Iterable[str] = SCORED_STATES) -> Reference:
    """The period-start classes and the base rate of change, from the record.

    Args:
        events_csv_path: the membership events file.
        states: the states scored (as for :func:`record_statuses`).

    Returns:
        The :class:`Reference` the reference forecasters and the timing use.

    Raises:
        ValueError: as :func:`record_statuses`.
    """
    states = _states(states)
    events = _read_events(events_csv_path)
    frames = []
    for period in PERIODS.values():
        at = _classes_at(events, states, [pd.Timestamp(period.start)]).drop(columns="when")
        if period.eaeu_start is not None:
            eaeu = _classes_at(events, states, [pd.Timestamp(period.eaeu_start)]).drop(columns="when")
            at = pd.concat([at[at["institution"] != "eaeu"], eaeu[eaeu["institution"] == "eaeu"]])
        if pd.Timestamp(period.eaeu_start or period.start).year < EAEU_FIRST_YEAR:
            at = at[at["institution"] != "eaeu"]
        frames.append(at.assign(period=period.name))
    starts = pd.concat(frames, ignore_index=True)[["period", "state", "institution", "cls"]]
    starts = starts.sort_values(["period", "state", "institution"], kind="mergesort").reset_index(drop=True)
    sample = PERIODS["in_sample"]
    record = record_statuses(events_csv_path, states=states, years=range(sample.first - 1, sample.last + 1))
    record = record.sort_values(["state", "institution", "year"])
    previous = record.groupby(["state", "institution"])["cls"].shift()
    scored = (record["year"] >= sample.first) & previous.notna()
    changes = int((record.loc[scored, "cls"] != previous[scored]).sum())
    cells = int(scored.sum())
    return Reference(starts=starts, rate=changes / cells, changes=changes, cells=cells)


# --------------------------------------------------------------------------- the simulation

_QUARTER = re.compile(r"(\d{4})Q([1-4])")


def _parse_quarter(label: object, name: str) -> tuple[int, int]:
    match = _QUARTER.fullmatch(label) if isinstance(label, str) else None
    if match is None:
        raise ValueError(f"{name}: {label!r} is not a quarter label; allowed e.g. '1999Q2'")
    return int(match[1]), int(match[2])


def _run_ids(runs: object) -> np.ndarray:
    if isinstance(runs, bool):
        raise ValueError(
            f"runs: {runs!r} is not a number of runs; allowed a positive integer or a list of run ids"
        )
    if isinstance(runs, int | np.integer):
        if runs < 1:
            raise ValueError(f"runs: {runs} is out of range; allowed a positive integer or a list of run ids")
        return np.arange(int(runs), dtype=np.int64)
    if isinstance(runs, str) or not isinstance(runs, Iterable):
        raise ValueError(
            f"runs: {runs!r} is not a number of runs; allowed a positive integer or a list of run ids"
        )
    ids = np.asarray(list(runs))
    if ids.size == 0 or not np.issubdtype(ids.dtype, np.integer) or len(np.unique(ids)) != ids.size:
        raise ValueError(f"runs: {runs!r} is not a list of distinct integer run ids; allowed e.g. [0, 1, 2]")
    return ids.astype(np.int64)


def _require(frame: object, columns: Iterable[str], name: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{name}: {type(frame).__name__} is not a DataFrame; allowed a pandas DataFrame")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}; required: {', '.join(columns)}")
    return frame


def _check_values(values: pd.Series, allowed: Iterable[str], name: str) -> None:
    allowed = list(allowed)
    bad = ~values.isin(allowed)
    if bad.any():
        raise ValueError(f"{name}: {values[bad].iloc[0]!r} is not allowed; allowed: {', '.join(allowed)}")


def statuses_at_year_ends(
    start: pd.DataFrame,
    events: pd.DataFrame,
    *,
    runs: int | Iterable[int],
    start_quarter: str,
    years: Iterable[int],
) -> pd.DataFrame:
    """Every run's status at each year-end, from the starting statuses and the event log.

    A cell's status at the end of a year is the ``to`` of its last event of that
    year or an earlier one (by ``step``, then by row order), else its starting
    status. Rows of the log whose institution is ``air_defence`` or whose ``to``
    is ``boycott`` are not status changes and are ignored. Each event's ``from``
    must be the cell's status before it, and its ``quarter`` the label of its
    ``step`` (step 1 is ``start_quarter``).

    Args:
        start: the statuses before step 1, the same for every run: columns
            ``state``, ``institution``, ``status``, one row per cell.
        events: the engine's log: columns ``run``, ``step``, ``quarter`` (e.g.
            ``"2003Q4"``), ``state``, ``institution``, ``from``, ``to``.
        runs: the number of runs (ids 0 to runs - 1) or the run ids; runs without
            events keep their starting statuses.
        start_quarter: the label of step 1, e.g. ``"1999Q2"``.
        years: the year-ends wanted, increasing, none before the start's year.

    Returns:
        Columns ``run``, ``state``, ``institution``, ``year``, ``status`` (the last
        three categorical), sorted by run, state, institution and year.

    Raises:
        ValueError: a missing column, an unknown state, institution, status, run
            or quarter label, a quarter that is not its step's, an event whose
            ``from`` is not the status before it, or a year before the start.
    """
    ids = _run_ids(runs)
    first_year, first_q = _parse_quarter(start_quarter, "start_quarter")
    years = _years(years)
    if years[0] < first_year:
        raise ValueError(
            f"years: {years[0]} is before the start ({start_quarter}); allowed {first_year} and later"
        )
    _require(start, ("state", "institution", "status"), "start")
    _require(events, ("run", "step", "quarter", "state", "institution", "from", "to"), "events")
    _check_values(start["institution"], INSTITUTIONS, "start institution")
    _check_values(start["status"], STATUS_CLASSES, "start status")
    cells = start[["state", "institution"]].astype(str)
    if cells.duplicated().any():
        row = cells[cells.duplicated()].iloc[0]
        raise ValueError(f"start: cell {row['state']} {row['institution']} appears twice; allowed once each")
    order = np.lexsort((cells["institution"].to_numpy(), cells["state"].to_numpy()))
    cells = cells.iloc[order].reset_index(drop=True)
    start_status = start["status"].astype(str).to_numpy()[order]
    statuses = list(STATUS_CLASSES)
    code = {s: i for i, s in enumerate(statuses)}
    start_codes = np.array([code[s] for s in start_status], dtype=np.int8)
    n_runs, n_cells, n_years = len(ids), len(cells), len(years)

    ev = events[(events["institution"] != "air_defence") & (events["to"] != "boycott")]
    _check_values(ev["institution"], INSTITUTIONS, "events institution")
    _check_values(ev["from"], statuses, "events from")
    _check_values(ev["to"], statuses, "events to")
    run_index = pd.Index(ids).get_indexer(ev["run"].to_numpy())
    if (run_index < 0).any():
        bad = ev["run"].to_numpy()[run_index < 0][0]
        raise ValueError(
            f"events: run {bad.item() if hasattr(bad, 'item') else bad!r} is not one of the runs given"
        )
    cell_index = pd.MultiIndex.from_frame(cells).get_indexer(
        pd.MultiIndex.from_arrays([ev["state"].astype(str), ev["institution"].astype(str)])
    )
    if (cell_index < 0).any():
        row = ev[cell_index < 0].iloc[0]
        raise ValueError(f"events: cell {row['state']} {row['institution']} has no starting status in start")
    label_codes, labels = pd.factorize(ev["quarter"])
    parsed = np.array([_parse_quarter(label, "events quarter") for label in labels], dtype=np.int64).reshape(
        -1, 2
    )
    year = parsed[label_codes, 0]
    serial = year * 4 + parsed[label_codes, 1] - 1
    step = ev["step"].to_numpy(np.int64)
    wrong = serial != first_year * 4 + first_q - 1 + step - 1
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise ValueError(
            f"events: quarter {ev['quarter'].iloc[i]!r} is not the label of step {step[i]} "
            f"(step 1 is {start_quarter}); allowed quarter = start_quarter + step - 1"
        )
    to, before = (_word_codes(ev[column], code) for column in ("to", "from"))
    sort = np.lexsort((np.arange(len(ev)), step, cell_index, run_index))
    run_index, cell_index, year, to, before = (a[sort] for a in (run_index, cell_index, year, to, before))
    if len(sort):
        series = run_index * n_cells + cell_index
        new = np.r_[True, series[1:] != series[:-1]]
        expected = np.where(new, start_codes[cell_index], np.r_[0, to[:-1]])
        bad = np.flatnonzero(before != expected)
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"events: run {ids[run_index[i]]} {cells['state'][cell_index[i]]} "
                f"{cells['institution'][cell_index[i]]} goes from {statuses[before[i]]!r} but was "
                f"{statuses[expected[i]]!r}; allowed from = the status before the event"
            )
    # slot 0: the start and every event before the first year wanted; slot j + 1: year-end years[j]
    slot = np.searchsorted(np.asarray(years), year, side="left") + 1
    slot[year < years[0]] = 0
    keep = slot <= n_years
    values = np.zeros((n_runs, n_cells, n_years + 1), dtype=np.int8)
    values[:, :, 0] = start_codes
    known = np.zeros((n_runs, n_cells, n_years + 1), dtype=bool)
    # later events overwrite earlier ones of the same slot (fancy assignment keeps the last)
    values[run_index[keep], cell_index[keep], slot[keep]] = to[keep]
    known[run_index[keep], cell_index[keep], slot[keep]] = True
    for j in range(1, n_years + 1):
        values[:, :, j] = np.where(known[:, :, j], values[:, :, j], values[:, :, j - 1])
    status = values[:, :, 1:].reshape(-1)
    states = pd.Categorical(cells["state"])
    institutions = pd.Categorical(cells["institution"], categories=list(INSTITUTIONS))
    return pd.DataFrame(
        {
            "run": np.repeat(ids, n_cells * n_years),
            "state": pd.Categorical.from_codes(
                np.tile(np.repeat(states.codes, n_years), n_runs), categories=states.categories
            ),
            "institution": pd.Categorical.from_codes(
                np.tile(np.repeat(institutions.codes, n_years), n_runs), categories=institutions.categories
            ),
            "year": np.tile(np.asarray(years, dtype=np.int64), n_runs * n_cells),
            "status": pd.Categorical.from_codes(status, categories=statuses),
        }
    )


def _word_codes(values: pd.Series, code: Mapping[str, int]) -> np.ndarray:
    """The code of each (already checked) word, factorized first (fast on long columns)."""
    codes, uniques = pd.factorize(values)
    return np.array([code[str(u)] for u in uniques], dtype=np.int8)[codes]


_CLASS_CODE: Final = {c: i for i, c in enumerate(CLASSES)}
_STATUS_CODE: Final = {s: _CLASS_CODE[c] for s, c in STATUS_CLASSES.items()}


def _factorize(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (-1: missing) and the distinct values they index (fast on long columns)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(np.int64), pd.Index(values.cat.categories)
    codes, uniques = pd.factorize(values)
    return codes.astype(np.int64), pd.Index(uniques)


def _status_codes(status: pd.Series) -> np.ndarray:
    """The class code (0 in, 1 partial, 2 out) of each status word."""
    codes, uniques = _factorize(status)
    lookup = np.array(
        [_STATUS_CODE.get(u, -1) if isinstance(u, str) else -1 for u in uniques], dtype=np.int64
    )
    out = np.where(codes >= 0, lookup[np.maximum(codes, 0)] if len(lookup) else -1, -1)
    if (out < 0).any():
        bad = status.iloc[int(np.flatnonzero(out < 0)[0])]
        raise ValueError(f"simulated status: {bad!r} is not a status; allowed: {', '.join(STATUS_CLASSES)}")
    return out


def probabilities(simulated: pd.DataFrame) -> pd.DataFrame:
    """The share of runs in each class, per state, institution and year.

    Args:
        simulated: columns ``run``, ``state``, ``institution``, ``year``, ``status``,
            one row per run and cell; every cell must hold every run.

    Returns:
        Columns ``state``, ``institution``, ``year``, ``p_in``, ``p_partial``,
        ``p_out``, ``runs``, sorted by the first three.

    Raises:
        ValueError: a missing column, an unknown status or institution, no rows,
            or a cell that does not hold every run.
    """
    _require(simulated, ("run", *KEYS, "status"), "simulated")
    if not len(simulated):
        raise ValueError("simulated: no rows; allowed one row per run and cell")
    _check_values(simulated["institution"], INSTITUTIONS, "simulated institution")
    classes = _status_codes(simulated["status"])
    (s, states), (i, institutions), (y, years) = (_factorize(simulated[k]) for k in KEYS)
    if (s < 0).any() or (y < 0).any():
        raise ValueError("simulated: a missing state or year; allowed one row per run and cell")
    shape = (len(states), len(institutions), len(years))
    cell = (s * shape[1] + i) * shape[2] + y
    counts = np.bincount(cell * 3 + classes, minlength=3 * math.prod(shape)).reshape(-1, 3)
    size = counts.sum(axis=1)
    present = np.flatnonzero(size)
    n_runs = simulated["run"].nunique()
    short = present[size[present] != n_runs]
    if short.size:
        a, b, c = np.unravel_index(short[0], shape)
        raise ValueError(
            f"simulated: cell {states[a]} {institutions[b]} {years[c]} holds {size[short[0]]} rows for "
            f"{n_runs} runs; allowed exactly one row per run and cell"
        )
    a, b, c = np.unravel_index(present, shape)
    shares = counts[present] / n_runs
    out = pd.DataFrame(
        {
            "state": np.asarray(states[a], dtype=object).astype(str),
            "institution": np.asarray(institutions[b], dtype=object).astype(str),
            "year": np.asarray(years[c]).astype(np.int64),
        }
    )
    for k, name in enumerate(PROB_COLUMNS):
        out[name] = shares[:, k]
    out["runs"] = n_runs
    return _sorted(out)


# --------------------------------------------------------------------------- forecasts and scores


def _period(period: object) -> Period:
    if period not in PERIODS:
        raise ValueError(f"period: {period!r} is not a period; allowed: {', '.join(PERIODS)}")
    return PERIODS[str(period)]


def _check_record(record: object) -> pd.DataFrame:
    record = _require(record, (*KEYS, "cls"), "record")
    _check_values(record["cls"], CLASSES, "record cls")
    if record.duplicated(list(KEYS)).any():
        row = record[record.duplicated(list(KEYS))].iloc[0]
        raise ValueError(f"record: cell {row['state']} {row['institution']} {row['year']} appears twice")
    return record


def _in_period(record: pd.DataFrame, period: Period) -> pd.DataFrame:
    return record[(record["year"] >= period.first) & (record["year"] <= period.last)]


def _starts(record: pd.DataFrame, reference: Reference, period: Period) -> np.ndarray:
    """The period-start class code of each row of ``record``."""
    if not isinstance(reference, Reference):
        raise ValueError(
            f"reference: {type(reference).__name__} is not a Reference; allowed what reference_data returns"
        )
    starts = reference.starts[reference.starts["period"] == period.name]
    merged = record[["state", "institution"]].merge(
        starts[["state", "institution", "cls"]], on=["state", "institution"], how="left"
    )
    if merged["cls"].isna().any():
        row = merged[merged["cls"].isna()].iloc[0]
        raise ValueError(
            f"reference: no {period.name} start for {row['state']} {row['institution']}; "
            "allowed a reference built for the record's states"
        )
    return merged["cls"].map(_CLASS_CODE).to_numpy(np.int64)


def reference_forecasts(
    record: pd.DataFrame, reference: Reference, *, period: str
) -> dict[str, pd.DataFrame]:
    """The persistence and base-rate forecasts of the record's cells in a period.

    Args:
        record: as :func:`record_statuses` returns (other periods' rows are ignored).
        reference: from :func:`reference_data`.
        period: ``in_sample`` or ``out_of_sample``.

    Returns:
        ``{"persistence": ..., "base_rate": ...}``, each with columns ``state``,
        ``institution``, ``year``, ``p_in``, ``p_partial``, ``p_out``.

    Raises:
        ValueError: a bad record, reference or period.
    """
    span = _period(period)
    cells = _sorted(_in_period(_check_record(record), span)[list(KEYS)])
    start = _starts(cells, reference, span)
    onehot = np.eye(3)[start]
    t = (cells["year"].to_numpy(np.int64) - span.first + 1).astype(float)
    stay = (1.0 - reference.rate) ** t
    base = np.repeat(((1.0 - stay) / 2.0)[:, None], 3, axis=1)
    base[np.arange(len(cells)), start] = stay
    return {
        "persistence": cells.assign(**{c: onehot[:, i] for i, c in enumerate(PROB_COLUMNS)}),
        "base_rate": cells.assign(**{c: base[:, i] for i, c in enumerate(PROB_COLUMNS)}),
    }


def _matched(forecast: pd.DataFrame, record: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The forecast probabilities (n x 3) and observed class codes of the record's cells."""
    forecast = _require(forecast, (*KEYS, *PROB_COLUMNS), "forecast")
    record = _check_record(record)
    if not len(record):
        raise ValueError("record: no cells to score; allowed one or more cells")
    if forecast.duplicated(list(KEYS)).any():
        row = forecast[forecast.duplicated(list(KEYS))].iloc[0]
        raise ValueError(f"forecast: cell {row['state']} {row['institution']} {row['year']} appears twice")
    merged = record[[*KEYS, "cls"]].merge(forecast[[*KEYS, *PROB_COLUMNS]], on=list(KEYS), how="left")
    missing = merged[list(PROB_COLUMNS)].isna().any(axis=1)
    if missing.any():
        row = merged[missing].iloc[0]
        raise ValueError(
            f"forecast: no probabilities for {row['state']} {row['institution']} {row['year']} "
            f"({int(missing.sum())} record cells missing); allowed a forecast of every record cell"
        )
    p = merged[list(PROB_COLUMNS)].to_numpy(float)
    if (p < 0).any() or (p > 1).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError(
            "forecast: probabilities outside [0, 1] or not summing to 1; allowed a distribution per cell"
        )
    return p, merged["cls"].map(_CLASS_CODE).to_numpy(np.int64)


def _cell_brier(p: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Each cell's Brier score: the sum over the three classes of (p_k - o_k)^2."""
    return ((p - np.eye(3)[observed]) ** 2).sum(axis=1)


def score(forecast: pd.DataFrame, record: pd.DataFrame) -> Score:
    """The Brier score and log loss of a forecast on the record's cells.

    Brier: mean over cells of the sum over the three classes of (p_k - o_k)^2.
    Log loss: mean of -ln p_observed, the probabilities clipped to [0.01, 0.99]
    and renormalised to sum to 1 first (the same for every forecaster). Cells of
    the forecast the record does not have are ignored.

    Args:
        forecast: columns ``state``, ``institution``, ``year``, ``p_in``, ``p_partial``, ``p_out``.
        record: columns ``state``, ``institution``, ``year``, ``cls``: the cells scored.

    Returns:
        ``Score(brier, log_loss, n)``, n the cells scored.

    Raises:
        ValueError: a missing column or cell, duplicated cells, an unknown class,
            probabilities that are not a distribution, or no cells.
    """
    p, observed = _matched(forecast, record)
    brier = float(_cell_brier(p, observed).mean())
    q = np.clip(p, *CLIP)
    q /= q.sum(axis=1, keepdims=True)
    log_loss = float(-np.log(q[np.arange(len(q)), observed]).mean())
    return Score(brier=brier, log_loss=log_loss, n=len(p))


#: Resamples of the series bootstrap (:func:`brier_difference`) and its fixed seed: the
#: interval is a property of the forecasts, so the same forecasts always give the same one.
BOOTSTRAP_RESAMPLES: Final = 4000
BOOTSTRAP_SEED: Final = 20150101
DIFFERENCE_COLUMNS: Final = ("period", "reference", "difference", "low", "high", "series", "n")


class Difference(NamedTuple):
    """Forecaster A's mean Brier minus B's, with a 95% bootstrap interval over series."""

    difference: float
    low: float
    high: float
    series: int
    n: int


def brier_difference(
    a: pd.DataFrame, b: pd.DataFrame, record: pd.DataFrame, *, resamples: int = BOOTSTRAP_RESAMPLES
) -> Difference:
    """Mean Brier of forecast ``a`` minus that of ``b`` on the record's cells, with its uncertainty.

    The cells of one series (a state in an institution) are years of one story and
    far from independent, so the interval resamples whole series with replacement
    (a cluster bootstrap): each resample's difference is its cells' mean, and the
    interval is the 2.5 and 97.5 percentiles of ``resamples`` of them, drawn from
    the fixed :data:`BOOTSTRAP_SEED` (the same forecasts always give the same
    interval). An interval that holds 0 means the record cannot tell the two apart.

    Raises:
        ValueError: as :func:`score`, or ``resamples`` below 100.
    """
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 100:
        raise ValueError(f"resamples: {resamples!r} is out of range; allowed a whole number >= 100")
    record = _check_record(record)
    pa, observed = _matched(a, record)
    pb, _ = _matched(b, record)
    gap = _cell_brier(pa, observed) - _cell_brier(pb, observed)
    series, _names = pd.factorize(pd.MultiIndex.from_frame(record[["state", "institution"]]))
    k = int(series.max()) + 1
    sums = np.bincount(series, weights=gap, minlength=k)
    counts = np.bincount(series, minlength=k).astype(float)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    picks = rng.integers(0, k, size=(resamples, k))
    boot = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    low, high = np.percentile(boot, [2.5, 97.5])
    return Difference(float(gap.mean()), float(low), float(high), k, len(gap))


def difference_table(
    model_probs: pd.DataFrame, record: pd.DataFrame, *, reference: Reference
) -> pd.DataFrame:
    """The model's Brier minus each reference's, per period, with 95% series-bootstrap intervals.

    Returns:
        Columns :data:`DIFFERENCE_COLUMNS`: one row per period and reference
        (persistence, base_rate); negative differences favour the model.

    Raises:
        ValueError: as :func:`score_table`.
    """
    rows = []
    for name, cells, references in _scored_periods(record, reference):
        for forecaster, forecast in references.items():
            d = brier_difference(model_probs, forecast, cells)
            rows.append({"period": name, "reference": forecaster, **d._asdict()})
    return pd.DataFrame(rows, columns=list(DIFFERENCE_COLUMNS))


def _scored_periods(
    record: pd.DataFrame, reference: Reference
) -> Iterator[tuple[str, pd.DataFrame, dict[str, pd.DataFrame]]]:
    """Each period the record covers: its name, its cells and the references' forecasts of them."""
    record = _check_record(record)
    for name, span in PERIODS.items():
        cells = _in_period(record, span)
        if len(cells):
            yield name, cells, reference_forecasts(cells, reference, period=name)


def score_table(model_probs: pd.DataFrame, record: pd.DataFrame, *, reference: Reference) -> pd.DataFrame:
    """The scores of the model and the two references, per period.

    Args:
        model_probs: the model's forecast (:func:`probabilities`).
        record: the record (:func:`record_statuses`); a period with none of its
            year-ends in the record is left out.
        reference: the period starts and base rate (:func:`reference_data`).

    Returns:
        Columns ``forecaster``, ``period``, ``brier``, ``log_loss``, ``n``: one row
        per period (in sample first) and forecaster (model, persistence, base_rate).

    Raises:
        ValueError: as :func:`score`, or the record covers no period.
    """
    rows = []
    for name, cells, references in _scored_periods(record, reference):
        forecasts = {"model": model_probs, **references}
        for forecaster in FORECASTERS:
            s = score(forecasts[forecaster], cells)
            rows.append({"forecaster": forecaster, "period": name, **s._asdict()})
    if not rows:
        raise ValueError(
            f"record: no year-end in {', '.join(f'{p.first}-{p.last}' for p in PERIODS.values())}; "
            "allowed a record covering a period"
        )
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS)).astype({"n": np.int64})


def reliability_table(forecast: pd.DataFrame, record: pd.DataFrame, *, bins: int = 10) -> pd.DataFrame:
    """Forecast probability bins against observed frequency, over all three class forecasts.

    Args:
        forecast: as for :func:`score`.
        record: the cells (as for :func:`score`).
        bins: equal-width bins of [0, 1] (the last includes 1).

    Returns:
        One row per bin: ``bin``, ``low``, ``high``, ``n`` (class forecasts in it),
        ``mean_forecast``, ``observed`` (share of them that came true; NaN when empty).

    Raises:
        ValueError: as :func:`score`, or ``bins`` not a positive integer.
    """
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins: {bins!r} is not a positive integer; allowed e.g. 10")
    p, observed = _matched(forecast, record)
    hit = np.eye(3)[observed].reshape(-1)
    flat = p.reshape(-1)
    which = np.minimum((flat * bins).astype(np.int64), bins - 1)
    n = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(which, weights=flat, minlength=bins) / n
        freq = np.bincount(which, weights=hit, minlength=bins) / n
    edges = np.linspace(0.0, 1.0, bins + 1)
    return pd.DataFrame(
        {
            "bin": np.arange(bins),
            "low": edges[:-1],
            "high": edges[1:],
            "n": n,
            "mean_forecast": mean,
            "observed": freq,
        }
    )


# --------------------------------------------------------------------------- timing


def _class_array(
    simulated: pd.DataFrame, cells: pd.DataFrame, years: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """The simulated class codes as runs x cells x years, and the run ids."""
    _require(simulated, ("run", *KEYS, "status"), "simulated")
    rows = simulated[simulated["year"].isin(years)]
    cell = pd.MultiIndex.from_frame(cells[["state", "institution"]]).get_indexer(
        pd.MultiIndex.from_arrays([rows["state"].astype(str), rows["institution"].astype(str)])
    )
    rows, cell = rows[cell >= 0], cell[cell >= 0]
    if not len(rows):
        raise ValueError(
            "simulated: no rows for the record's cells in the period; allowed a simulation of them"
        )
    runs, run = np.unique(rows["run"].to_numpy(), return_inverse=True)
    year = np.searchsorted(np.asarray(years), rows["year"].to_numpy())
    out = np.full((len(runs), len(cells), len(years)), -1, dtype=np.int8)
    out[run, cell, year] = _status_codes(rows["status"])
    if (out < 0).any():
        r, c, y = (int(x[0]) for x in np.nonzero(out < 0))
        raise ValueError(
            f"simulated: run {runs[r]} has no status for {cells['state'].iloc[c]} "
            f"{cells['institution'].iloc[c]} {years[y]}; allowed one row per run and cell"
        )
    return out, runs


def timing_errors(
    simulated: pd.DataFrame, record: pd.DataFrame, *, period: str, reference: Reference
) -> Timing:
    """When the runs make the record's changes of class, and the changes they add.

    A recorded change is a year-end whose class differs from the previous
    year-end's (for the period's first year, from the recorded period-start
    class). A run *makes* it in the first year of the period where its class is
    the recorded to-class while at the previous year-end (for the first year:
    the recorded period-start class) it was another; whatever class it came
    from. A false alarm is a run that changes class, in the same sense, in a
    series where the record has no change in the period.

    Args:
        simulated: as for :func:`probabilities`; it must cover the record's cells
            of the period.
        record: as :func:`record_statuses` returns.
        period: ``in_sample`` or ``out_of_sample``.
        reference: from :func:`reference_data` (the period-start classes).

    Returns:
        The :class:`Timing` of the period.

    Raises:
        ValueError: a bad argument or a simulation not covering the record's cells.
    """
    span = _period(period)
    cells_record = _sorted(_in_period(_check_record(record), span))
    change_columns = [
        "period",
        "state",
        "institution",
        "from_cls",
        "to_cls",
        "recorded_year",
        "median_year",
        "median_abs_error",
        "share_never",
        "runs",
    ]
    alarm_columns = [
        "period",
        "state",
        "institution",
        "recorded_cls",
        "share_changed",
        "mean_changes",
        "runs",
    ]
    if not len(cells_record):
        return Timing(pd.DataFrame(columns=change_columns), pd.DataFrame(columns=alarm_columns))
    series = cells_record[["state", "institution"]].drop_duplicates().reset_index(drop=True)
    start = _starts(series, reference, span)
    years = tuple(sorted(cells_record["year"].unique().tolist()))
    recorded = np.full((len(series), len(years)), -1, dtype=np.int64)
    index = pd.MultiIndex.from_frame(series).get_indexer(
        pd.MultiIndex.from_frame(cells_record[["state", "institution"]])
    )
    recorded[index, np.searchsorted(years, cells_record["year"].to_numpy())] = (
        cells_record["cls"].map(_CLASS_CODE).to_numpy()
    )
    sim, _runs = _class_array(simulated, series, years)
    n_runs = sim.shape[0]
    year_array = np.asarray(years)
    changes, alarms = [], []
    sim_before = np.concatenate(
        [np.broadcast_to(start[None, :, None], (n_runs, len(series), 1)), sim[:, :, :-1]], axis=2
    )
    sim_changed = sim != sim_before
    for c, row in series.iterrows():
        rec = recorded[c]
        present = rec >= 0  # the EAEU has no years before 2015 (not within one period)
        rec_before = np.r_[start[c], rec[:-1]]
        moves = np.flatnonzero(present & (rec != rec_before))
        for y in moves:
            to = rec[y]
            into = (sim[:, c, :] == to) & (sim_before[:, c, :] != to)
            made = into.any(axis=1)
            first = year_array[into.argmax(axis=1)][made]
            changes.append(
                {
                    "period": span.name,
                    "state": row["state"],
                    "institution": row["institution"],
                    "from_cls": CLASSES[rec_before[y]],
                    "to_cls": CLASSES[to],
                    "recorded_year": int(years[y]),
                    "median_year": float(np.median(first)) if made.any() else math.nan,
                    "median_abs_error": float(np.median(np.abs(first - years[y])))
                    if made.any()
                    else math.nan,
                    "share_never": float(1.0 - made.mean()),
                    "runs": n_runs,
                }
            )
        if not moves.size:
            count = sim_changed[:, c, :].sum(axis=1)
            alarms.append(
                {
                    "period": span.name,
                    "state": row["state"],
                    "institution": row["institution"],
                    "recorded_cls": CLASSES[start[c]],
                    "share_changed": float((count > 0).mean()),
                    "mean_changes": float(count.mean()),
                    "runs": n_runs,
                }
            )
    changes_frame = pd.DataFrame(changes, columns=change_columns)
    alarm_frame = pd.DataFrame(alarms, columns=alarm_columns)
    alarm_frame = alarm_frame.sort_values(
        ["share_changed", "state", "institution"], ascending=[False, True, True], kind="mergesort"
    ).reset_index(drop=True)
    return Timing(changes_frame, alarm_frame)
