"""The Python API as a researcher in a notebook uses it: bad arguments, copies, seeds."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import model.scenario.schema as scenario_module
from model import AllianceModel, Scenario, ScenarioError, load_scenario, simulate
from model.output import manifest
from model.simulate import with_horizon

# --------------------------------------------------------------------------- arguments


@pytest.fixture
def steps_run(monkeypatch) -> list[int]:
    """Counts the model's steps, to show that a bad argument fails before any."""
    calls: list[int] = []
    original = AllianceModel.step

    def step(self) -> None:
        calls.append(self.steps)
        original(self)

    monkeypatch.setattr(AllianceModel, "step", step)
    return calls


@pytest.mark.parametrize(
    ("arguments", "name", "fragment"),
    [
        ({"scenario": None}, "scenario", "got NoneType; allowed a Scenario, a scenario name or a path"),
        ({"scenario": 3}, "scenario", "got int"),
        (
            {"seed": 1.5},
            "seed",
            "1.5 is not an integer; allowed an integer >= 0, a numpy SeedSequence or None",
        ),
        ({"seed": "abc"}, "seed", "'abc' is not an integer"),
        ({"seed": True}, "seed", "True is a bool, not an integer"),
        ({"seed": -1}, "seed", "-1 is negative"),
        ({"seed": np.random.default_rng(0)}, "seed", "numpy Generator, whose seed cannot be stored"),
        ({"steps": "10"}, "steps", "'10' is not an integer; allowed an integer from 1 to 400"),
        ({"steps": 2.5}, "steps", "2.5 is not an integer"),
        ({"steps": True}, "steps", "True is a bool"),
        ({"steps": 0}, "steps", "0 is out of range; allowed an integer from 1 to 400"),
        ({"steps": 401}, "steps", "401 is out of range"),
        ({"collect": "everything"}, "collect", "allowed 'all', 'model' or 'final'"),
        ({"collect": None}, "collect", "None is not one of the choices"),
        ({"every": 0}, "every", "0 is out of range; allowed an integer >= 1"),
        ({"every": 1.0}, "every", "1.0 is not an integer"),
    ],
)
def test_simulate_refuses_a_bad_argument_before_running(baseline, steps_run, arguments, name, fragment):
    arguments = {"scenario": baseline, **arguments}
    with pytest.raises(ScenarioError) as info:
        simulate(arguments.pop("scenario"), **arguments)
    message = str(info.value)
    assert message.startswith(f"{name}: "), message
    assert fragment in message
    assert "--" not in message and "\n" not in message
    assert steps_run == []


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        ({"scenario": None}, "scenario"),
        ({"rng": 1.5}, "rng"),
        ({"rng": "abc"}, "rng"),
        ({"rng": True}, "rng"),
        ({"rng": -2}, "rng"),
        ({"collect": "x"}, "collect"),
        ({"every": 0}, "every"),
        ({"every": "2"}, "every"),
    ],
)
def test_the_mesa_model_refuses_a_bad_argument(baseline, arguments, name):
    arguments = {"scenario": baseline, **arguments}
    with pytest.raises(ScenarioError, match=f"^{name}: ") as info:
        AllianceModel(arguments.pop("scenario"), **arguments)
    assert "--" not in str(info.value)


def test_the_mesa_model_takes_the_seeds_mesa_takes(baseline):
    """As Mesa's Model(rng=...): an int (also numpy's), a SeedSequence, a Generator."""
    finals = []
    for rng in (np.int64(3), np.random.SeedSequence(3), np.random.default_rng(3), np.random.default_rng(3)):
        model = AllianceModel(baseline.with_overrides({"horizon": 3}), rng=rng, collect="final")
        while model.running:
            model.step()
        finals.append(model.measures["mean_alignment_russia"])
    assert finals[2] == finals[3]


def test_integer_seeds_are_stored_as_given(baseline):
    results = simulate(baseline, seed=np.int64(7), steps=2, collect="final")
    assert results.seed == 7 and type(results.seed) is int
    assert results.seed_record() == 7


def test_overrides_must_be_a_mapping_of_key_paths(baseline):
    with pytest.raises(ScenarioError, match=r"^overrides: got list; allowed a mapping of dotted key paths"):
        baseline.with_overrides([("powers.russia.pressure", 0.7)])
    with pytest.raises(ScenarioError, match=r"^overrides: the key \('powers', 'russia'\) is a tuple"):
        baseline.with_overrides({("powers", "russia"): 0.7})


@pytest.mark.parametrize("reference", [None, 3, ["baseline"]])
def test_load_scenario_names_its_argument(reference):
    with pytest.raises(ScenarioError, match=r"^scenario: got .*; allowed a scenario name or a path"):
        load_scenario(reference)


# --------------------------------------------------------------------------- copies


@pytest.mark.parametrize(
    ("update", "fragment"),
    [
        ({"horizon": -5}, "horizon: Input should be greater than or equal to 1"),
        ({"horizon": 10**6}, "horizon: Input should be less than or equal to 400"),
        ({"horizon": 2.5}, "horizon: Input should be a valid integer"),
        ({"horizon": None}, "horizon:"),
        ({"name": "Not Snake"}, "name:"),
    ],
)
def test_a_copy_changed_with_model_copy_is_validated(baseline, steps_run, update, fragment):
    copy = baseline.model_copy(update=update)
    for run in (lambda: simulate(copy), lambda: AllianceModel(copy)):
        with pytest.raises(ScenarioError, match="changed after validation") as info:
            run()
        assert fragment in str(info.value)
    assert steps_run == []


def test_a_nested_copy_is_validated(baseline):
    russia = baseline.powers.russia.model_copy(update={"pressure": 7})
    copy = baseline.model_copy(update={"powers": baseline.powers.model_copy(update={"russia": russia})})
    with pytest.raises(ScenarioError, match=r"powers\.russia\.pressure"):
        simulate(copy, steps=1)


def test_each_scenario_object_is_validated_at_most_once(baseline, monkeypatch):
    calls = []
    validate = scenario_module.validate_scenario

    def counting(data, *, source):
        calls.append(source)
        return validate(data, source=source)

    monkeypatch.setattr(scenario_module, "validate_scenario", counting)
    for _ in range(3):
        AllianceModel(baseline, rng=0, collect="final")
    assert calls == []  # it came out of validation
    copy = baseline.model_copy(update={"horizon": 6})
    runs = [simulate(copy, seed=1, collect="final") for _ in range(3)]
    assert len(calls) == 1
    assert runs[0].final().equals(runs[2].final())


def test_a_valid_copy_runs_as_the_validated_scenario_does(baseline):
    copy = baseline.model_copy(update={"horizon": 5})
    direct = simulate(copy, seed=4)
    validated = simulate(baseline.with_overrides({"horizon": 5}), seed=4)
    pd.testing.assert_frame_equal(direct.states, validated.states)


def test_a_copy_with_a_quoted_whole_number_is_refused_as_a_file_would_be(baseline):
    copy = baseline.model_copy(update={"horizon": "3"})  # model_copy validates nothing
    with pytest.raises(ScenarioError, match=r"horizon: Input should be a valid integer \(got '3'\)"):
        simulate(copy, seed=0, collect="final")


def test_steps_drop_the_shocks_after_the_run_and_change_nothing_before(steps_run):
    full = simulate("middle_corridor", seed=2, steps=24, collect="model")
    short = simulate("middle_corridor", seed=2, steps=8, collect="model")
    assert [str(s.date) for s in short.scenario.shocks] == ["2026Q1"] * 3
    assert Scenario.model_validate(manifest(short)["resolved_scenario"]) == short.scenario
    pd.testing.assert_frame_equal(short.model, full.model.iloc[:9])
    assert with_horizon(short.scenario, 8) is short.scenario


# --------------------------------------------------------------------------- seeds


def test_a_spawned_seed_is_stored_whole_and_re_runs_the_run(baseline):
    child = np.random.SeedSequence(2024).spawn(3)[2]
    first = simulate(baseline, seed=child, steps=6, collect="final")
    assert first.seed.entropy == 2024 and first.seed.spawn_key == (2,)
    again = simulate(first.scenario, seed=first.seed, collect="final")
    pd.testing.assert_frame_equal(first.model, again.model)
    # the entropy alone (what was stored before) is another run
    parent = simulate(baseline, seed=2024, steps=6, collect="final")
    assert parent.final()["cohesion"] != first.final()["cohesion"]
    record = json.loads(json.dumps(manifest(first)))["seed"]
    assert record == {"entropy": 2024, "spawn_key": [2]}
    rebuilt = np.random.SeedSequence(record["entropy"], spawn_key=record["spawn_key"])
    pd.testing.assert_frame_equal(simulate(first.scenario, seed=rebuilt, collect="final").model, first.model)


def test_no_seed_draws_fresh_entropy_and_stores_it(baseline):
    first = simulate(baseline, seed=None, steps=4, collect="final")
    assert isinstance(first.seed, np.random.SeedSequence)
    again = simulate(first.scenario, seed=first.seed, collect="final")
    pd.testing.assert_frame_equal(first.model, again.model)
    assert simulate(baseline, seed=None, steps=4, collect="final").seed.entropy != first.seed.entropy
