"""Scenario loading: extends chains, defaults, and one-line errors for every bad input."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from model.errors import ScenarioError
from model.scenario import SCENARIO_DIR, Scenario, json_schema, load_scenario
from tests.conftest import ROOT


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


VARIANT = """\
extends: {parent}
name: my_variant
description: Baseline with a harder Russia.
powers:
  russia:
    pressure: 0.8
"""


def test_a_variant_is_a_few_lines_and_inherits_the_rest(tmp_path, baseline):
    path = write(tmp_path, "my_variant.yaml", VARIANT.format(parent="baseline"))
    variant = load_scenario(path)
    assert variant.powers.russia.pressure == 0.8
    assert variant.powers.russia.engagement == baseline.powers.russia.engagement
    assert variant.states == baseline.states
    assert variant.digest() != baseline.digest()


def test_extends_by_relative_path_inside_the_folder_tree(tmp_path):
    """top.yaml -> sub/mid.yaml -> ../base.yaml: every file stays under top.yaml's folder."""
    write(tmp_path, "base.yaml", (SCENARIO_DIR / "baseline.yaml").read_text())
    write(tmp_path, "sub/mid.yaml", "extends: ../base.yaml\npowers: {west: {engagement: 0.6}}\n")
    path = write(tmp_path, "top.yaml", VARIANT.format(parent="sub/mid.yaml"))
    scenario = load_scenario(path)
    assert (scenario.name, scenario.powers.west.engagement) == ("my_variant", 0.6)


def test_the_baseline_sets_only_the_calibrated_behavioural_parameters(baseline):
    # the eleven fitted on 1999-2014 (tests/test_posterior.py: at the posterior median); the rest
    # of the weights, dynamics and thresholds are the schema's defaults
    defaults = Scenario.model_fields["weights"].default_factory()
    calibrated = {"security", "economy", "autonomy", "identity"}
    for name, value in baseline.weights.model_dump().items():
        assert (value != getattr(defaults, name)) == (name in calibrated), name
    assert baseline.institutions.csto.step_down != 0.12  # the hand-set default, replaced
    assert baseline.institutions.csto.leave == 0.06 and baseline.institutions.eaeu.join == 0.9
    assert baseline.dynamics.adjustment == Scenario.model_fields["dynamics"].default_factory().adjustment


def test_digest_is_stable_and_key_order_free(baseline):
    again = load_scenario("baseline")
    assert baseline.digest() == again.digest()
    assert len(baseline.digest()) == 64


def test_overrides_by_key_path(baseline):
    changed = baseline.with_overrides({"powers.china.engagement": 0.9, "states.KAZ.hedging": 0.1})
    assert changed.powers.china.engagement == 0.9
    assert changed.states["KAZ"].hedging == 0.1


# --------------------------------------------------------------------------- bad input

BAD = [
    (
        "unknown key",
        "powers:\n  russia:\n    presure: 0.9\n",
        ["powers.russia.presure", "unknown key 'presure'", "allowed keys here: pressure"],
    ),
    (
        "wrong type",
        "powers:\n  russia:\n    pressure: high\n",
        ["powers.russia.pressure", "valid number", "'high'"],
    ),
    (
        "out of range",
        "powers:\n  russia:\n    pressure: 1.5\n",
        ["powers.russia.pressure", "less than or equal to 1", "got 1.5"],
    ),
    (
        "shares that do not sum to one",
        "states:\n  KAZ:\n    trade: {russia: 0.5, west: 0.3, china: 0.3, turkey: 0.0, other: 0.0}\n",
        ["states.KAZ.trade", "sum to 1.1", "must sum to 1"],
    ),
    (
        "unknown state code",
        "states:\n  XYZ: {hedging: 0.5}\n",
        ["states.XYZ", "'ARM'", "'UKR'"],
    ),
    (
        "membership set by a shock",
        "shocks:\n  - {date: 2026Q1, kind: threat, states: [ARM], delta: 0.1, csto: withdrawn}\n",
        ["shocks[0].csto", "memberships and alignments are model outcomes", "threat"],
    ),
    (
        "unknown shock kind",
        "shocks:\n  - {date: 2026Q1, kind: coup, states: [ARM], delta: 0.1}\n",
        ["shocks[0]", "'coup' is unknown", "trade_access"],
    ),
    (
        "shock outside the run",
        "shocks:\n  - {date: 2040Q1, kind: threat, states: [ARM], delta: 0.1}\n",
        ["2040Q1 is outside the run", "2025Q1 to 2034Q4"],
    ),
    (
        "bad quarter",
        "start: 2025-13\n",
        ["start", "write it like 2025Q1"],
    ),
    (
        "a shock on no state",
        "shocks:\n  - {date: 2026Q1, kind: threat, states: [], delta: 0.1}\n",
        ["shocks[0].states", "an empty list affects no state"],
    ),
    (
        "a shock naming a state twice",
        "shocks:\n  - {date: 2026Q1, kind: opinion, states: [KAZ, KAZ], delta: 0.1}\n",
        ["shocks[0].states", "KAZ is listed twice"],
    ),
    (
        "a conflict of a state with itself",
        "shocks:\n  - {date: 2026Q1, kind: conflict, states: [KAZ, KAZ], delta: 0.1}\n",
        ["shocks[0].states", "KAZ is listed twice"],
    ),
    (
        "tie to a state not in the scenario",
        "ties:\n  KAZ-GEO: {weight: 0.5}\n",
        ["ties.KAZ-GEO", "GEO is not in this scenario's states"],
    ),
    (
        "thresholds out of order",
        "institutions:\n  csto: {step_down: 0.5, leave: 0.2, step_up: 0.4, join: 0.6}\n",
        ["institutions.csto", "leave <= step_down < step_up <= join"],
    ),
]


@pytest.mark.parametrize(("case", "text", "fragments"), BAD, ids=[b[0] for b in BAD])
def test_bad_scenarios_get_one_clear_line(tmp_path, case, text, fragments):
    path = write(
        tmp_path,
        "bad.yaml",
        "extends: baseline\nname: bad\ndescription: A broken variant.\n" + text,
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message, message


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match=r"no such scenario file; built-in scenarios: .*baseline"):
        load_scenario(tmp_path / "nope.yaml")


def test_not_yaml(tmp_path):
    path = write(tmp_path, "broken.yaml", "name: [unclosed\n")
    with pytest.raises(ScenarioError, match=r"broken.yaml: not valid YAML at line \d+"):
        load_scenario(path)


def test_yaml_that_is_not_a_mapping(tmp_path):
    path = write(tmp_path, "list.yaml", "- a\n- b\n")
    with pytest.raises(ScenarioError, match="top level is list; a scenario must be a YAML mapping"):
        load_scenario(path)


def test_binary_file(tmp_path):
    path = tmp_path / "image.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    with pytest.raises(ScenarioError, match=r"not UTF-8 text|not valid YAML"):
        load_scenario(path)


def test_unsafe_yaml_tags_are_refused(tmp_path):
    path = write(tmp_path, "evil.yaml", "name: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ScenarioError, match=r"YAML tag !!python/object/apply:os.system is not allowed"):
        load_scenario(path)


def test_cyclic_extends(tmp_path):
    write(tmp_path, "a.yaml", "extends: b.yaml\nname: a\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\nname: b\n")
    with pytest.raises(ScenarioError, match=r"extends: cycle a.yaml -> b.yaml -> a.yaml"):
        load_scenario(tmp_path / "a.yaml")


def test_missing_extends(tmp_path):
    path = write(tmp_path, "v.yaml", "extends: nowhere.yaml\nname: v\n")
    with pytest.raises(ScenarioError, match=r"v.yaml: extends: 'nowhere.yaml' not found"):
        load_scenario(path)


def test_extends_cannot_leave_the_folder_tree(tmp_path):
    write(tmp_path, "outside.yaml", (SCENARIO_DIR / "baseline.yaml").read_text())
    path = write(tmp_path, "inner/v.yaml", VARIANT.format(parent="../outside.yaml"))
    with pytest.raises(ScenarioError, match=r"leaves the scenario folder .*give an absolute path"):
        load_scenario(path)
    explicit = write(tmp_path, "inner/w.yaml", VARIANT.format(parent=tmp_path / "outside.yaml"))
    assert load_scenario(explicit).name == "my_variant"


def test_extends_must_be_a_name(tmp_path):
    path = write(tmp_path, "v.yaml", "extends: [baseline]\nname: v\n")
    with pytest.raises(ScenarioError, match="must be a scenario name or path"):
        load_scenario(path)


def test_unknown_override_path(baseline):
    with pytest.raises(ScenarioError, match=r"powers\.russia\.presure: unknown key path"):
        baseline.with_overrides({"powers.russia.presure": 0.5})
    with pytest.raises(ScenarioError, match="less than or equal to 1"):
        baseline.with_overrides({"powers.russia.pressure": 2})


# --------------------------------------------------------------------------- schema


def test_committed_json_schema_is_current():
    committed = json.loads((ROOT / "scenarios" / "scenario.schema.json").read_text())
    assert committed == json.loads(json.dumps(json_schema())), "run: make schema"


def test_json_schema_describes_every_field():
    schema = json_schema()
    power = schema["$defs"]["PowerParams"]["properties"]["pressure"]
    assert power["minimum"] == 0 and power["maximum"] == 1 and power["description"]
    for name, definition in schema["$defs"].items():
        for field, spec in definition.get("properties", {}).items():
            assert spec.get("description"), f"{name}.{field} has no description"


def test_model_description_lists_every_parameter_and_is_current():
    from model.paramtable import DOC, GROUPS, updated

    text = DOC.read_text()
    assert updated(text) == text, "run: python -m model.paramtable --write"
    for _, model, _, _ in GROUPS:
        for name in model.model_fields:
            assert f"| `{name}` |" in text, name


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nosuch", "start_from: 'nosuch' not found"),
        ("''", "start_from: '' must be a scenario name or path"),
        ("/etc/passwd", "start_from: '/etc/passwd' is not a scenario file"),
        ("wider_region", "start_from: wider_region has the states"),
    ],
)
def test_a_bad_start_from_is_one_line(tmp_path, value, message):
    path = tmp_path / "s.yaml"
    path.write_text(f"extends: baseline\nname: s\nstart_from: {value}\n")
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(path)
    assert "\n" not in str(info.value)


def test_start_from_copies_the_named_scenarios_drivers_and_keeps_its_own_levers(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("extends: baseline\nname: s\npowers: {russia: {pressure: 0.9}}\n")
    scenario, baseline = load_scenario(path), load_scenario("baseline")
    assert scenario.start_from.name == "baseline"  # inherited from baseline.yaml
    assert scenario.powers.russia.pressure == 0.9
    pictured = scenario.pictured()
    assert pictured.powers == baseline.powers and pictured.states == baseline.states
    assert baseline.pictured() is baseline  # its own picture: nothing to equilibrate apart
