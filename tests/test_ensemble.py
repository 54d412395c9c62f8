"""The ensemble engine gives every run the numbers the Mesa model gives it alone.

The engine and the Mesa model run the same rule functions (``model.rules``); the
engine on many runs at once. These tests hold it to the model of record: every
shipped scenario, several seeds of both kinds, every quarter's measures to 1e-12
and the event log identical; design points set straight into the arrays equal
validated scenarios; results do not depend on the block size; a run that breaks
down fails alone.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from model.ensemble import collected_steps, run_ensemble, run_generator, run_points
from model.errors import ScenarioError
from model.rules.measures import MEASURES
from model.scenario import available_scenarios, load_scenario
from model.simulate import simulate

SEEDS = [0, 7, np.random.SeedSequence(2024, spawn_key=(3,)), np.random.SeedSequence(11)]


def _same_run(ensemble, r, results, every=1, events=True):
    frame = results.model
    for name in MEASURES:
        np.testing.assert_allclose(
            ensemble.series[name][r], frame[name].to_numpy(dtype=float), rtol=1e-12, atol=1e-12, err_msg=name
        )
    if not events:
        return
    events = ensemble.events[ensemble.events["run"] == r].drop(columns="run").reset_index(drop=True)
    assert events.astype(str).equals(results.events.astype(str))


@pytest.mark.parametrize("path", available_scenarios(), ids=lambda p: p.stem)
def test_every_shipped_scenario_runs_the_same_in_the_engine_and_the_mesa_model(path):
    scenario = load_scenario(path)
    ensemble = run_ensemble([scenario] * len(SEEDS), SEEDS, every=1, events=True)
    assert not ensemble.failed.any()
    for r, seed in enumerate(SEEDS):
        _same_run(ensemble, r, simulate(scenario, seed=seed, collect="model"))


def test_events_happen_and_match_when_states_move():
    # Strong pressure moves statuses: the event comparison is not of two empty logs.
    scenario = load_scenario("russian_pressure_high").with_overrides(
        {"institutions.patience": 1, "institutions.boycott": 0.3, "dynamics.noise": 0.2}
    )
    ensemble = run_ensemble([scenario] * 3, SEEDS[:3], every=1, events=True)
    assert len(ensemble.events) > 10
    for r, seed in enumerate(SEEDS[:3]):
        _same_run(ensemble, r, simulate(scenario, seed=seed, collect="model"))


def test_design_points_set_into_the_arrays_equal_validated_scenarios():
    base = load_scenario("caucasus_flare_up").model_copy(update={"horizon": 16})
    rng = np.random.default_rng(5)
    n = 24
    paths = ["powers.russia.pressure", "weights.autonomy", "states.ARM.opinion_russia"]
    paths.append("institutions.patience")
    values = np.column_stack([rng.random(n), 0.5 + rng.random(n), rng.random(n), rng.integers(1, 4, n)])
    integer = [False, False, False, True]
    seeds = [np.random.SeedSequence(8, spawn_key=(k,)) for k in range(n)]
    fast = run_points(base, paths, values, seeds, integer=integer, every=1, events=True)
    for r in (0, 9, 23):
        row = zip(paths, integer, values[r], strict=True)
        overrides = {p: (round(v) if i else float(v)) for p, i, v in row}
        scenario = base.with_overrides(overrides)
        _same_run(fast, r, simulate(scenario, seed=seeds[r], collect="model"))
    # Ladder thresholds (ordered, a joint constraint) go straight into the arrays too when every
    # point keeps them ordered, and give each point's validated scenario's numbers.
    ladder = ["institutions.cis.step_down", "institutions.csto.step_down", "institutions.eaeu.join"]
    steps = np.column_stack([rng.uniform(0, 0.25, n), rng.uniform(0.06, 0.3, n), rng.uniform(0.5, 1, n)])
    laddered = run_points(
        base,
        [*paths, *ladder],
        np.column_stack([values, steps]),
        seeds,
        integer=[*integer, 0, 0, 0],
        every=1,
        events=True,
    )
    for r in (0, 9, 23):
        row = zip([*paths, *ladder], [*integer, 0, 0, 0], [*values[r], *steps[r]], strict=True)
        scenario = base.with_overrides({p: (round(v) if i else float(v)) for p, i, v in row})
        _same_run(laddered, r, simulate(scenario, seed=seeds[r], collect="model"))
    slow = run_points(
        base,
        [*paths, "institutions.csto.leave"],
        np.column_stack([values, np.full(n, 0.05)]),
        seeds,
        integer=[*integer, False],
        every=1,
        events=True,
    )
    for name in MEASURES:
        np.testing.assert_array_equal(slow.series[name], fast.series[name])
    assert slow.events.equals(fast.events)


def test_a_point_the_schema_rejects_fails_its_runs_only():
    base = load_scenario("baseline").model_copy(update={"horizon": 4})
    values = np.array([[0.05], [0.5], [0.05]])  # leave 0.5 > step_down: thresholds out of order
    result = run_points(base, ["institutions.csto.leave"], values, [0, 1, 2])
    assert result.failed.tolist() == [False, True, False]
    assert result.errors[1].startswith("ScenarioError: ") and "leave <= step_down" in result.errors[1]


def test_results_do_not_depend_on_the_block_size():
    scenario = load_scenario("wider_region").model_copy(update={"horizon": 12})
    seeds = [np.random.SeedSequence(1, spawn_key=(k,)) for k in range(10)]
    whole = run_ensemble([scenario] * 10, seeds, every=3, events=True)
    blocks = run_ensemble([scenario] * 10, seeds, every=3, events=True, block=3)
    for name in MEASURES:
        np.testing.assert_array_equal(whole.series[name], blocks.series[name])
    assert whole.events.equals(blocks.events)


@pytest.mark.parametrize("fallback", [False, True])
def test_a_series_holds_only_the_measures_asked_for(monkeypatch, fallback):
    # Memory grows with the measures kept per step, not with all of them; the numbers and the
    # end-of-run measures are unchanged, on the engine and on its run-by-run fallback.
    import model.ensemble as engine

    scenario = load_scenario("wider_region").model_copy(update={"horizon": 9})
    seeds = [np.random.SeedSequence(3, spawn_key=(k,)) for k in range(4)]
    whole = run_ensemble([scenario] * 4, seeds, every=2)
    keep = ["energy", "cohesion_csto"]
    if fallback:
        monkeypatch.setattr(engine, "_simulate_block", _raise)
        with pytest.warns(RuntimeWarning, match="engine broken on purpose"):
            part = run_ensemble([scenario] * 4, seeds, every=2, series_measures=keep)
    else:
        part = run_ensemble([scenario] * 4, seeds, every=2, series_measures=keep)
    assert list(part.series) == ["energy", "cohesion_csto"]
    for name in part.series:
        np.testing.assert_allclose(part.series[name], whole.series[name], rtol=0, atol=1e-12)
    for name in MEASURES:
        np.testing.assert_allclose(part.measures[name], whole.measures[name], rtol=0, atol=1e-12)
        assert part.measures[name].dtype == whole.measures[name].dtype
    values = np.array([[0.5], [0.9], [0.5], [0.9]])
    with pytest.warns(RuntimeWarning) if fallback else contextlib.nullcontext():
        points = run_points(
            scenario, ["powers.china.engagement"], values, seeds, every=3, series_measures=["energy"]
        )
    assert list(points.series) == ["energy"] and points.series["energy"].shape == (4, 4)
    with pytest.raises(ValueError, match="unknown measure 'cohesion_nato'"):
        run_ensemble([scenario], [0], every=2, series_measures=["cohesion_nato"])
    with pytest.raises(ValueError, match="unknown measure 'cohesion_nato'"):  # even with no series
        run_points(scenario, [], np.zeros((1, 0)), [0], series_measures=["cohesion_nato"])
    with pytest.raises(ValueError, match="is a string"):
        run_ensemble([scenario], [0], every=2, series_measures="energy")


def _raise(*args, **kwargs):
    raise RuntimeError("engine broken on purpose")


def test_runs_of_different_shapes_are_run_apart_and_returned_in_order():
    short = load_scenario("baseline").model_copy(update={"horizon": 5})
    other = load_scenario("wider_region").model_copy(update={"horizon": 5})
    order = [short, other, short, other]
    result = run_ensemble(order, [0, 1, 2, 3])
    for r, scenario in enumerate(order):
        final = simulate(scenario, seed=r, collect="final").final()
        assert result.measures["cohesion"][r] == pytest.approx(final["cohesion"], abs=1e-12)


def test_a_run_that_breaks_down_fails_alone(monkeypatch):
    import model.ensemble as engine

    real = engine.measure

    def broken(world):
        values = real(world)
        values["energy"] = values["energy"].copy()
        values["energy"][1] = np.nan
        return values

    monkeypatch.setattr(engine, "measure", broken)
    result = run_ensemble([load_scenario("baseline").model_copy(update={"horizon": 3})] * 3, [0, 1, 2])
    assert result.failed.tolist() == [False, True, False]
    assert result.errors[1] == (
        "ScenarioError: baseline: quarter 2024Q4: the measure energy is nan, not a finite number; the "
        "scenario's values make the model break down (check very large or very small economic weights)"
    )


def test_the_noise_stream_is_the_mesa_models():
    from model import AllianceModel

    for seed in SEEDS:
        model = AllianceModel("baseline", rng=seed)
        ours = run_generator(seed)
        np.testing.assert_array_equal(model.rng.normal(size=5), ours.normal(size=5))


def test_collected_steps_follow_simulate():
    assert collected_steps(10, None) == [0, 10]
    assert collected_steps(10, 4) == [0, 4, 8, 10]
    frame = simulate("baseline", seed=0, steps=10, collect="model", every=4).model
    assert frame["step"].tolist() == collected_steps(10, 4)


def test_a_scenario_the_mesa_model_refuses_fails_in_the_engine_too():
    cut = load_scenario("caucasus_flare_up").model_copy(update={"horizon": 4})  # shocks after the run
    with pytest.raises(ScenarioError) as refused:
        simulate(cut, seed=0)
    ok = load_scenario("baseline").model_copy(update={"horizon": 4})
    result = run_ensemble([cut, ok], [0, 1])
    assert result.failed.tolist() == [True, False]
    assert result.errors[0] == f"ScenarioError: {str(refused.value).splitlines()[0]}"
    points = run_points(cut, ["powers.russia.pressure"], np.array([[0.2], [0.4]]), [0, 1])
    assert points.failed.all()


def test_values_the_schema_rejects_are_never_written_straight_into_the_arrays():
    base = load_scenario("baseline").model_copy(update={"horizon": 4})
    values = np.array([[0.01], [np.nan], [-0.5], [0.02]])
    result = run_points(base, ["dynamics.noise"], values, [0, 1, 2, 3])
    assert result.failed.tolist() == [False, True, True, False]
    assert all(e.startswith("ScenarioError: ") for e in (result.errors[1], result.errors[2]))
    patience = run_points(base, ["institutions.patience"], np.array([[2.0], [2.5]]), [0, 1], integer=[False])
    assert patience.failed.tolist() == [True, True]  # a whole number given as a float is refused


def test_a_rejected_point_in_a_block_that_falls_back_still_fails(monkeypatch):
    import model.ensemble as engine

    def broken(*args, **kwargs):
        raise RuntimeError("an engine bug")

    monkeypatch.setattr(engine, "_simulate_block", broken)
    base = load_scenario("baseline").model_copy(update={"horizon": 3})
    with pytest.warns(RuntimeWarning, match="an engine bug"):
        result = run_points(base, ["institutions.csto.leave"], np.array([[0.05], [0.5]]), [0, 1])
    assert result.failed.tolist() == [False, True]  # never the base scenario's numbers
    final = simulate(base.with_overrides({"institutions.csto.leave": 0.05}), seed=0, collect="final").final()
    assert result.measures["cohesion"][0] == pytest.approx(final["cohesion"], abs=1e-12)


PRESENT_DAY = [p for p in available_scenarios() if load_scenario(p).start_from is not None]


@pytest.mark.parametrize("path", PRESENT_DAY, ids=lambda p: p.stem)
def test_a_scenario_starts_from_its_picture_and_its_levers_act_from_the_first_quarter(path):
    scenario = load_scenario(path)
    picture = load_scenario(scenario.start_from.name)
    both = run_ensemble([picture, scenario], [3, 3], every=1)
    for name in MEASURES:  # step 0 is the picture's, whatever the scenario's levers say
        assert both.series[name][0, 0] == both.series[name][1, 0], name
    a, b = simulate(picture, seed=3), simulate(scenario, seed=3)
    first_a, first_b = a.states[a.states.step == 0], b.states[b.states.step == 0]
    columns = [
        c for c in first_a.columns if c.startswith(("alignment_", "utility_", "commitment_", "pressure_"))
    ]
    np.testing.assert_array_equal(first_a[columns].to_numpy(), first_b[columns].to_numpy())
    if scenario.powers != picture.powers:  # a lever on the powers moves the run from the first quarter
        moved = max(abs(both.series[n][0, 1:] - both.series[n][1, 1:]).max() for n in ("cohesion",))
        assert moved > 0


def test_design_points_start_from_the_base_picture_but_keep_their_parameters():
    base = load_scenario("baseline").model_copy(update={"horizon": 4})
    values = np.array([[0.5, 1.0], [0.95, 1.0], [0.5, 2.5]])  # Russian pressure; autonomy weight
    result = run_points(base, ["powers.russia.pressure", "weights.autonomy"], values, [1, 1, 1], every=1)
    start = result.series["cohesion"][:, 0]
    assert start[0] == start[1]  # a lever acts from the first quarter
    assert start[2] != start[0]  # a behavioural parameter shapes the starting equilibrium itself
    assert result.series["cohesion"][1, -1] != result.series["cohesion"][0, -1]
    for r, (pressure, autonomy) in enumerate(values):
        point = base.with_overrides({"powers.russia.pressure": pressure, "weights.autonomy": autonomy})
        _same_run(result, r, simulate(point, seed=1, collect="model"), events=False)


def test_without_a_picture_the_levers_shape_the_start():
    base = load_scenario("baseline").model_copy(update={"horizon": 2, "start_from": None})
    russia = base.powers.russia.model_copy(update={"pressure": 0.95})
    high = base.model_copy(update={"powers": base.powers.model_copy(update={"russia": russia})})
    both = run_ensemble([base, high], [0, 0], every=1)
    assert both.series["cohesion"][0, 0] != both.series["cohesion"][1, 0]


@pytest.mark.parametrize("fallback", [False, True])
def test_a_forecast_origin_restarts_the_runs_from_the_observed_statuses(monkeypatch, fallback):
    # Before the origin the runs are untouched; from it they run on from the statuses given,
    # with no event logged for the re-start, on the engine and on its Mesa-model fallback alike.
    import model.ensemble as engine
    from model.ensemble import Origin
    from model.rules.world import STATUSES

    scenario = load_scenario("russian_pressure_high").model_copy(update={"horizon": 12})
    seeds = [np.random.SeedSequence(9, spawn_key=(k,)) for k in range(3)]
    plain = run_ensemble([scenario] * 3, seeds, every=1, events=True)
    status = np.array([[STATUSES.index("member")] * 3 for _ in scenario.states], dtype=np.int64)
    status[list(scenario.states).index("ARM"), 1] = STATUSES.index("withdrawn")  # ARM out of the CSTO
    origin = Origin(step=5, status=status)
    if fallback:
        monkeypatch.setattr(engine, "_simulate_block", _raise)
        with pytest.warns(RuntimeWarning, match="engine broken on purpose"):
            restarted = run_ensemble([scenario] * 3, seeds, every=1, events=True, origin=origin)
    else:
        restarted = run_ensemble([scenario] * 3, seeds, every=1, events=True, origin=origin)
    for name in MEASURES:  # steps 0-4 are the same runs
        np.testing.assert_array_equal(restarted.series[name][:, :5], plain.series[name][:, :5])
    # at step 5 every state is a full member of all three but ARM, out of the CSTO (Russia counts
    # too); with a patience of 2 nobody can move a rung in the origin's own quarter
    assert scenario.institutions.patience >= 2
    n = len(scenario.states)
    assert (restarted.series["eaeu_members"][:, 5] == n + 1).all()
    assert (restarted.series["csto_members"][:, 5] == n).all()
    assert (plain.series["eaeu_members"][:, 5] < n + 1).all()  # which the plain runs are not
    before = restarted.events[restarted.events["step"] < 5].reset_index(drop=True)
    assert before.astype(str).equals(
        plain.events[plain.events["step"] < 5].reset_index(drop=True).astype(str)
    )
    after = restarted.events[restarted.events["step"] >= 5]
    first = after.drop_duplicates(["run", "state", "institution"])
    first = first[first["institution"] != "air_defence"]
    first = first[first["to"] != "boycott"]
    assert len(first)  # the re-started runs move
    for _, row in first.iterrows():  # each cell's first move after the origin starts from its status
        k = ("cis", "csto", "eaeu").index(row["institution"])
        assert row["from"] == STATUSES[status[list(scenario.states).index(row["state"]), k]]
    if not fallback:  # the engine and the Mesa model agree on the re-started runs
        monkeypatch.setattr(engine, "_simulate_block", _raise)
        with pytest.warns(RuntimeWarning):
            mesa = run_ensemble([scenario] * 3, seeds, every=1, events=True, origin=origin)
        for name in MEASURES:
            np.testing.assert_allclose(mesa.series[name], restarted.series[name], rtol=0, atol=1e-12)
        assert mesa.events.astype(str).equals(restarted.events.astype(str))


def test_an_origin_that_does_not_fit_is_refused_in_one_line():
    from model.ensemble import Origin

    scenario = load_scenario("baseline").model_copy(update={"horizon": 4})
    n = len(scenario.states)
    with pytest.raises(ValueError, match="allowed a whole number >= 1"):
        Origin(step=0, status=np.zeros((n, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="one column per institution"):
        Origin(step=1, status=np.zeros((n, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="outside 0-6"):
        Origin(step=1, status=np.full((n, 3), 7, dtype=np.int64))
    with pytest.raises(ValueError, match="one row per state"):
        run_ensemble([scenario], [0], origin=Origin(step=2, status=np.zeros((n + 1, 3), dtype=np.int64)))
    with pytest.raises(ValueError, match="allowed 1 to 4"):
        run_points(
            scenario,
            [],
            np.zeros((1, 0)),
            [0],
            origin=Origin(step=5, status=np.zeros((n, 3), dtype=np.int64)),
        )
