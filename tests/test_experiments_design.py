"""Experiment designs: the shipped ones load and run; bad ones get one clear line; samplers
have the shapes their methods promise; seeds are SeedSequence children, one per run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from experiments.design import (
    MEASURES,
    available_designs,
    load_design,
    validate_design,
)
from experiments.runs import context_of, plan_chunks, run_chunk, run_seed
from model.errors import ScenarioError

GOOD = {
    "name": "tiny",
    "description": "A tiny grid.",
    "scenario": "baseline",
    "factors": {
        "powers.russia.pressure": [0.2, 0.8],
        "powers.china.engagement": {"min": 0.0, "max": 1.0, "num": 3},
    },
    "replications": 2,
    "quarters": 3,
    "seed": 7,
}


def design_file(tmp_path: Path, data: dict, name: str = "design.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def with_changes(**changes) -> dict:
    data = {**GOOD, **changes}
    return {k: v for k, v in data.items() if v is not None}


# --------------------------------------------------------------------------- shipped designs


SHIPPED = available_designs()


def test_the_three_required_designs_ship():
    names = {p.stem for p in SHIPPED}
    assert {"pressure_vs_engagement", "sobol_drivers", "morris_screening"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_design_loads_and_its_first_runs_run(path):
    design = load_design(path, quarters=2)
    assert design.name == path.stem
    points = design.sample()
    assert points.shape == (design.n_points, len(design.factors))
    for k, factor in enumerate(design.factors):
        assert points[:, k].min() >= factor.low and points[:, k].max() <= factor.high
    chunk = next(plan_chunks(np.arange(2), points, design.replications, 2))
    result = run_chunk(context_of(design), chunk)
    assert result.failures is None
    assert list(result.runs["run_id"]) == [0, 1]


def test_shipped_design_names_are_unique():
    names = [load_design(p).name for p in SHIPPED]
    assert len(names) == len(set(names))


def test_sobol_drivers_is_about_ten_factors_and_22528_runs_at_n_1024():
    design = load_design("sobol_drivers")
    assert len(design.factors) == 10
    assert design.design.sampler.n == 1024
    assert design.n_runs == 1024 * (2 * 10 + 2) == 22_528


# --------------------------------------------------------------------------- bad designs

BAD = [
    ({"replicatons": 3}, "replicatons: unknown key 'replicatons'; allowed keys here: name, description"),
    ({"factors": {"powers.russia.presure": [0.1]}}, "factors.powers.russia.presure: unknown key path"),
    ({"factors": {"states.XYZ.hedging": [0.1]}}, "'XYZ' is not in the base scenario's states"),
    ({"factors": {"weights.security.x": [0.1]}}, "weights.security is a single value"),
    ({"factors": {"powers.russia": [0.1]}}, "powers.russia is a group of keys (pressure, engagement,"),
    ({"factors": {"states.KAZ.neutral": [0.1]}}, "states.KAZ.neutral is not a number"),
    ({"factors": {"horizon": [4]}}, "horizon cannot be a factor; set the design's quarters"),
    ({"factors": {"powers.russia.pressure": {"min": 0.8, "max": 0.2, "num": 3}}}, "empty range: min 0.8"),
    ({"factors": {"powers.russia.pressure": []}}, "empty list of values"),
    ({"factors": {"powers.russia.pressure": 0.5}}, "neither a list of values nor a range"),
    (
        {"factors": {"powers.russia.pressure": {"min": 0.0, "max": 1.5, "num": 3}}},
        "1.5 is out of range; allowed [0, 1]",
    ),
    ({"factors": {"dynamics.adjustment": [0.0, 0.5]}}, "0 is out of range; allowed (0, 1]"),
    ({"factors": {"institutions.patience": [1, 2.5]}}, "institutions.patience is a whole number; got 2.5"),
    ({"factors": {"powers.russia.pressure": {"min": 0.0, "max": 1.0}}}, "needs num"),
    ({"factors": {}}, "factors: Dictionary should have at least 1 item"),
    (
        {"sampler": {"method": "sobel"}},
        "sampler.method: Input should be 'grid', 'latin', 'sobol' or 'morris'",
    ),
    (
        {"sampler": {"method": "sobol", "n": 1000}},
        "n = 1000 is not a power of two; Sobol sampling needs one (nearest: 512 or 1024)",
    ),
    ({"sampler": {"method": "sobol"}}, "the sobol sampler needs n"),
    ({"sampler": {"method": "morris", "trajectories": 4, "levels": 5}}, "levels = 5 is odd"),
    ({"sampler": {"method": "morris"}}, "the morris sampler needs trajectories"),
    ({"sampler": {"method": "grid", "n": 4}}, "n does not apply to the grid sampler"),
    ({"sampler": {"method": "latin", "n": 8}}, "a list of values needs the grid sampler"),
    ({"outputs": {"measures": ["cohesion", "happiness"]}}, "outputs.measures: unknown measure 'happiness'"),
    (
        {"outputs": {"series": {"every": 0}}},
        "outputs.series.every: Input should be greater than or equal to 1",
    ),
    (
        {"outputs": {"series": {"evry": 2}}},
        "outputs.series.evry: unknown key 'evry'; allowed keys here: every, measures",
    ),
    ({"seed": None}, "seed: required key is missing"),
    ({"seed": -1}, "seed: Input should be greater than or equal to 0"),
    ({"replications": 0}, "replications: Input should be greater than or equal to 1"),
    ({"quarters": 500}, "quarters: Input should be less than or equal to 400"),
    ({"scenario": "no_such_scenario"}, "scenario: no_such_scenario: no such scenario file"),
    ({"name": "Bad Name"}, "name: String should match pattern"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m[:40] for _, m in BAD])
def test_a_bad_design_gets_one_line_naming_the_file_and_key(tmp_path, change, message):
    path = design_file(tmp_path, with_changes(**change))
    with pytest.raises(ScenarioError) as info:
        load_design(path)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(str(path.resolve()) + ": ")
    assert message in text


def test_joint_constraints_of_the_scenario_are_left_to_the_run(tmp_path):
    # each value is inside the field's bounds; 0.4 breaks the CSTO ladder's order only jointly
    data = with_changes(factors={"institutions.csto.step_down": [0.1, 0.4]})
    design = load_design(design_file(tmp_path, data))
    chunk = next(plan_chunks(np.arange(4), design.sample(), 2, 4))
    result = run_chunk(context_of(design), chunk)
    assert list(result.runs["run_id"]) == [0, 1]
    assert list(result.failures["run_id"]) == [2, 3]
    assert result.failures["error"].str.contains("step_down < step_up").all()


def test_yaml_errors_and_missing_files_are_one_line(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML at line"):
        load_design(broken)
    with pytest.raises(ScenarioError, match="no such design file; built-in designs: "):
        load_design(tmp_path / "missing.yaml")


def test_the_command_line_prints_a_bad_design_as_one_line_and_exits_2(tmp_path):
    path = design_file(tmp_path, with_changes(sampler={"method": "sobol", "n": 100}))
    done = subprocess.run(
        [sys.executable, "-m", "model.cli", "sweep", str(path), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("cohesion: error: ")
    assert "n = 100 is not a power of two" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_relative_scenario_path_is_found_next_to_the_design(tmp_path):
    (tmp_path / "mine.yaml").write_text("extends: baseline\nname: mine\ndescription: Mine.\n")
    design = load_design(design_file(tmp_path, with_changes(scenario="mine.yaml")))
    assert design.scenario.name == "mine"


# --------------------------------------------------------------------------- samplers

RANGES = {
    "powers.russia.pressure": {"min": 0.0, "max": 1.0},
    "weights.security": {"min": 0.5, "max": 2.0},
    "institutions.patience": {"min": 1, "max": 6},
}


def sampled(tmp_path: Path, sampler: dict, factors: dict = RANGES, **top) -> np.ndarray:
    data = with_changes(factors=factors, sampler=sampler, **top)
    design = validate_design(data, source=tmp_path / "d.yaml")
    points = design.sample()
    assert len(points) == design.n_points
    return points


def test_grid_is_the_full_factorial_with_the_first_factor_slowest(tmp_path):
    points = sampled(
        tmp_path,
        {"method": "grid"},
        {"powers.russia.pressure": [0.1, 0.9], "weights.security": {"min": 1, "max": 2, "num": 3}},
    )
    assert points.tolist() == [[0.1, 1], [0.1, 1.5], [0.1, 2], [0.9, 1], [0.9, 1.5], [0.9, 2]]


@pytest.mark.parametrize(
    ("sampler", "rows"),
    [
        ({"method": "latin", "n": 10}, 10),
        ({"method": "sobol", "n": 8}, 8 * (3 + 2)),
        ({"method": "sobol", "n": 8, "second_order": True}, 8 * (2 * 3 + 2)),
        ({"method": "morris", "trajectories": 5, "levels": 4}, 5 * (3 + 1)),
    ],
)
def test_sampler_shapes_bounds_and_integer_rounding(tmp_path, sampler, rows):
    points = sampled(tmp_path, sampler)
    assert points.shape == (rows, 3)
    for k, spec in enumerate(RANGES.values()):
        assert spec["min"] <= points[:, k].min() and points[:, k].max() <= spec["max"]
    assert np.array_equal(points[:, 2], np.round(points[:, 2]))


def test_latin_hypercube_puts_one_point_in_each_stratum(tmp_path):
    points = sampled(tmp_path, {"method": "latin", "n": 20}, {"powers.russia.pressure": {"min": 0, "max": 1}})
    assert sorted(np.floor(points[:, 0] * 20).astype(int).tolist()) == list(range(20))


def test_the_sample_is_a_function_of_the_seed(tmp_path):
    a = sampled(tmp_path, {"method": "sobol", "n": 8}, seed=1)
    b = sampled(tmp_path, {"method": "sobol", "n": 8}, seed=1)
    c = sampled(tmp_path, {"method": "sobol", "n": 8}, seed=2)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_default_outputs_are_every_numeric_model_measure(tmp_path):
    design = validate_design(with_changes(), source=tmp_path / "d.yaml")
    assert design.measures == MEASURES
    assert "quarter" not in MEASURES and "cohesion" in MEASURES
    assert design.every is None


# --------------------------------------------------------------------------- seeds and hash


def test_run_seeds_are_the_children_of_the_master_seed_one_per_run():
    children = np.random.SeedSequence(20250101).spawn(50)
    for run_id in (0, 1, 17, 49):
        seed = run_seed(20250101, run_id)
        assert seed.spawn_key == children[run_id].spawn_key
        assert np.array_equal(seed.generate_state(4), children[run_id].generate_state(4))


def test_replications_of_a_point_get_different_seeds_and_outcomes(tmp_path):
    design = validate_design(with_changes(replications=3), source=tmp_path / "d.yaml")
    chunk = next(plan_chunks(np.arange(3), design.sample(), 3, 3))
    assert set(chunk.point_ids.tolist()) == {0}
    runs = run_chunk(context_of(design), chunk).runs
    assert runs["seed_spawn_key"].tolist() == [0, 1, 2]
    assert runs["cohesion"].nunique() == 3


def test_the_design_hash_is_stable_and_changes_with_the_design(tmp_path):
    one = validate_design(with_changes(), source=tmp_path / "a.yaml")
    same = validate_design(with_changes(), source=tmp_path / "b.yaml")
    other = validate_design(with_changes(seed=8), source=tmp_path / "a.yaml")
    assert one.digest == same.digest
    assert one.digest != other.digest
    assert one.as_json()["scenario"]["resolved"]["name"] == "baseline"
