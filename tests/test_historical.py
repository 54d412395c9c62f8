"""The historical scenario (scenarios/historical_1999.yaml): a hindcast from 1 April 1999.

What is checked here is the scenario's honesty, not the model's fit: its starting statuses
are the record of 1 April 1999 as data/membership_events.csv gives it (derived from the CSV,
not copied from the YAML); every recorded driver shock of data/shocks.csv in 1999-2024 stands
in the scenario at its quarter (or is excluded below with a reason); every number carries a
source key or an ``est:`` with its reason; and no behavioural parameter is set (the defaults
are used; setting them would be tuning).
"""

from __future__ import annotations

import csv
import re
from datetime import date

import pytest
import yaml

from model.catalogue import INSTITUTIONS
from model.scenario import Quarter, Scenario, load_scenario
from tests.conftest import ROOT
from tests.test_package import source_keys

PATH = ROOT / "scenarios" / "historical_1999.yaml"
DATA = ROOT / "data"
#: The starting picture: 1 April 1999, the day before the CST came up for renewal.
AS_OF = date(1999, 4, 1)
STATES = ("ARM", "AZE", "BLR", "KAZ", "KGZ", "TJK", "TKM", "UZB", "GEO", "MDA", "UKR")

#: The EAEU did not exist until 2015, so the CSV has no EAEU row before then. The scenario's
#: `eaeu` status stands for its predecessor, the Customs Union of Belarus, Kazakhstan,
#: Kyrgyzstan, Russia and Tajikistan as it stood in 1999 (Tajikistan joined in February 1999).
#: That union is not in the CSV; this set is the one recorded fact the test adds to it.
CUSTOMS_UNION_1999 = {"BLR", "KAZ", "KGZ", "TJK"}

#: shocks.csv rows (by date) that have no shock in the scenario, with the reason.
EXCLUDED_SHOCK_ROWS = {
    # An agreement to fund the system: the funding, deliveries and guarantees (the driver
    # change) come after 2024Q4, and membership of the system is an outcome a shock may not set.
    "2024-12-01": "agreement to fund the unified CIS air-defence system; its effect falls after the run",
}

#: CSV institution names -> the model's institutions (the CST is the CSTO's predecessor).
INSTITUTION = {"CIS": "cis", "CST": "csto", "CSTO": "csto", "EAEU": "eaeu"}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(PATH)


def read_csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def status_after(event: str) -> str | None:
    """The status an event of membership_events.csv leaves a state in; None if it changes none."""
    text = event.lower()
    if text.startswith(("founder", "joined", "signed", "rejoined")):
        return "member"
    if text.startswith(("did not renew", "exit effective")):
        return "withdrawn"
    if text.startswith("associate"):
        return "associate"
    if text.startswith("suspended"):
        return "suspended"
    if text.startswith("participation frozen"):
        return "frozen"
    if text.startswith("observer"):
        return "observer"
    return None  # deployments, requests, boycotts, notices, partial steps


def recorded_statuses(as_of: date) -> dict[str, dict[str, str]]:
    """Each state's status per institution on ``as_of``, from membership_events.csv."""
    statuses = {code: dict.fromkeys(INSTITUTIONS, "none") for code in STATES}
    rows = sorted(read_csv("membership_events.csv"), key=lambda r: r["date"])
    for row in rows:
        if date.fromisoformat(row["date"]) > as_of or row["state"] not in statuses:
            continue
        institution = INSTITUTION.get(row["institution"])
        status = status_after(row["event"])
        if institution is None or status is None:
            continue
        statuses[row["state"]][institution] = status
    return statuses


def test_the_hindcast_has_eleven_states_from_1999q2_to_2024q4(scenario):
    assert set(scenario.states) == set(STATES)
    assert scenario.start == Quarter(1999, 2)
    assert scenario.start.plus(scenario.horizon - 1) == Quarter(2024, 4)
    assert scenario.start.first_day() == AS_OF  # the start quarter opens on the as-of day


def test_the_event_reader_knows_every_event_before_the_start():
    """No pre-1999 event is silently skipped by status_after."""
    for row in read_csv("membership_events.csv"):
        if date.fromisoformat(row["date"]) <= AS_OF:
            assert status_after(row["event"]) is not None, row


def test_the_starting_statuses_are_the_record_of_1_april_1999(scenario):
    recorded = recorded_statuses(AS_OF)
    eaeu_rows = [r for r in read_csv("membership_events.csv") if r["institution"] == "EAEU"]
    assert min(date.fromisoformat(r["date"]) for r in eaeu_rows) > AS_OF  # no EAEU in 1999
    for code in STATES:
        status = scenario.states[code].status
        assert status.cis == recorded[code]["cis"], code
        assert status.csto == recorded[code]["csto"], code
        assert status.eaeu == ("member" if code in CUSTOMS_UNION_1999 else "none"), code
    # The record's headline, as a check on the reader: all eleven in the CIS; the 1999 CST.
    assert all(recorded[c]["cis"] == "member" for c in STATES)
    members = {c for c in STATES if recorded[c]["csto"] == "member"}
    assert members == {"ARM", "AZE", "BLR", "GEO", "KAZ", "KGZ", "TJK", "UZB"}


def test_the_april_1999_non_renewals_are_left_to_the_model():
    """AZE, GEO and UZB left the CST on 2 April 1999, inside the first quarter: not preset."""
    after = recorded_statuses(date(1999, 4, 2))
    assert {c for c in STATES if after[c]["csto"] == "withdrawn"} == {"AZE", "GEO", "UZB"}


def test_no_behavioural_parameter_is_set():
    data = yaml.safe_load(PATH.read_text())
    assert not {"weights", "dynamics", "institutions", "extends"} & set(data)


def _shock_rows() -> list[dict[str, str]]:
    return [r for r in read_csv("shocks.csv") if 1999 <= date.fromisoformat(r["date"]).year <= 2024]


def test_every_recorded_shock_of_1999_2024_is_in_the_scenario(scenario):
    """Convention: a shock's note starts with the shocks.csv date (YYYY-MM-DD) of its row."""
    rows = _shock_rows()
    assert len(rows) >= 20
    missing = []
    for row in rows:
        when = Quarter.parse(date.fromisoformat(row["date"]))
        matches = [
            s
            for s in scenario.shocks
            if s.note.startswith(row["date"]) and abs(s.date.index - when.index) <= 1
        ]
        if not matches and row["date"] not in EXCLUDED_SHOCK_ROWS:
            missing.append(f"{row['date']} {row['description']}")
        if matches:
            for shock in matches:  # the row's source key (or "general record") is named
                assert row["source"] in shock.note, (row["date"], shock.note)
    assert missing == []
    for day in EXCLUDED_SHOCK_ROWS:  # an exclusion is a real row, and explained in the YAML
        assert day in {r["date"] for r in rows}
        assert any(day in line.split("#", 1)[-1] for line in PATH.read_text().splitlines() if "#" in line)


def test_every_shock_is_a_recorded_row_or_a_marked_trend_and_sized_as_an_estimate(scenario):
    days = {r["date"] for r in _shock_rows()}
    for n, shock in enumerate(scenario.shocks):
        head = shock.note.split(" ", 1)[0]
        assert head in days or head == "trend:", (n, shock.note)
        assert "est:" in shock.note or "A4" in shock.note, (n, shock.note)


# --------------------------------------------------------------------------- comments

_NUMBER = re.compile(r"(?:(?<=:\s)|(?<=[{,]\s)|(?<=\[))(-?\d+(?:\.\d+)?)(?=\s*(?:[,}\]]|$))")


def split_comment(line: str) -> tuple[str, str]:
    """A YAML line's code and its comment (a '#' inside quotes is not a comment)."""
    quote = None
    for k, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#" and (k == 0 or line[k - 1].isspace()):
            return line[:k], line[k + 1 :]
    return line, ""


def _without_strings(code: str) -> str:
    return re.sub(r"\"[^\"]*\"|'[^']*'", '""', code)


def _indent(code: str) -> int:
    stripped = code.lstrip(" ")
    indent = len(code) - len(stripped)
    return indent + 2 if stripped.startswith("- ") else indent


def sourced(comment: str, keys: set[str]) -> bool:
    """A comment that gives a source key from data/SOURCES.md or an estimate."""
    return "est:" in comment or any(k in keys for k in re.findall(r"\b(?:[TRABMX]\d{1,2}|SEED)\b", comment))


def unsourced_numbers(text: str, keys: set[str]) -> tuple[list[str], int]:
    """Lines with a number whose own comment and block line's comment give no source; and the count."""
    lines = text.splitlines()
    offenders, count = [], 0
    for n, line in enumerate(lines):
        code, comment = split_comment(line)
        found = _NUMBER.findall(_without_strings(code))
        if not found:
            continue
        count += len(found)
        if sourced(comment, keys):
            continue
        block = ""
        for prev in reversed(lines[:n]):  # the block's line: the nearest line indented less
            prev_code, prev_comment = split_comment(prev)
            if prev_code.strip() and _indent(prev_code) < _indent(code):
                block = prev_comment
                break
        if not sourced(block, keys):
            offenders.append(f"{n + 1}: {line.strip()}")
    return offenders, count


def _count_numbers(node) -> int:
    if isinstance(node, dict):
        return sum(_count_numbers(v) for v in node.values())
    if isinstance(node, list):
        return sum(_count_numbers(v) for v in node)
    return int(isinstance(node, int | float) and not isinstance(node, bool))


def test_every_number_carries_a_source_key_or_an_estimate():
    text = PATH.read_text()
    offenders, count = unsourced_numbers(text, source_keys())
    assert offenders == []
    assert count == _count_numbers(yaml.safe_load(text))  # the line scan saw every number


def test_the_comment_check_catches_a_bare_number():
    keys = source_keys()
    text = "states:\n  ARM:\n    remittances: 0.04\n    trade:   # T10\n      russia: 0.35\n"
    assert unsourced_numbers(text, keys) == (["3: remittances: 0.04"], 2)
    assert unsourced_numbers("a: 1   # Q9 not a key\n", keys)[0] == ["1: a: 1   # Q9 not a key"]
    assert unsourced_numbers('a: {b: 1, note: "2 of 3"}   # est: x\n', keys) == ([], 1)
