"""Fast checks of the browser view, without a browser: model, levers, components, launcher."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("solara", reason="the view's packages are not installed (pip install -e '.[viz]')")

import ipyvuetify as v
import solara
from matplotlib.figure import Figure
from matplotlib.patches import Wedge
from mesa.visualization.solara_viz import _build_model_init_kwargs
from mesa.visualization.utils import update_counter

from model import app, viz_cli
from model.catalogue import STATES
from model.errors import ScenarioError
from model.output import POLE_COLOURS
from model.scenario import PowerParams, load_scenario

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- the model


@pytest.mark.parametrize(("typed", "expected"), [("7", 7), (" 12 ", 12), (3, 3), ("0", 0)])
def test_seed_typed_as_text_is_cast_to_int(typed, expected):
    model = app.ViewModel("baseline", seed=typed)
    assert model.seed == expected
    assert model.input_error is None


def test_string_seed_gives_the_same_run_as_the_int_seed():
    a, b = app.ViewModel("baseline", seed="5"), app.ViewModel("baseline", seed=5)
    for _ in range(4):
        a.step()
        b.step()
    np.testing.assert_array_equal(a.alignment, b.alignment)


@pytest.mark.parametrize("typed", ["abc", "1.5", "", "-3", True])
def test_bad_seed_is_reported_not_raised(typed):
    model = app.ViewModel("baseline", seed=typed)
    assert model.seed == app.DEFAULT_SEED
    assert "seed" in model.input_error and "0 or more" in model.input_error
    assert "\n" not in model.input_error


def test_parse_seed_rejects_with_the_bad_value():
    with pytest.raises(ScenarioError, match="'x1' is not a whole number"):
        app.parse_seed("x1")
    with pytest.raises(ScenarioError, match="-2 is negative"):
        app.parse_seed("-2")


def test_levers_override_the_scenario_and_none_keeps_it():
    base = load_scenario("baseline")
    model = app.ViewModel("baseline", russian_pressure=0.9, western_engagement=0.1, chinese_engagement=None)
    powers = model.config.powers
    assert powers.russia.pressure == 0.9
    assert powers.west.engagement == 0.1
    assert powers.china.engagement == base.powers.china.engagement
    assert powers.turkey.engagement == base.powers.turkey.engagement
    assert model.lever_values()["russian_pressure"] == 0.9


def test_out_of_range_lever_is_refused_by_the_schema():
    with pytest.raises(ScenarioError, match=r"powers\.russia\.pressure"):
        app.ViewModel("baseline", russian_pressure=1.5)


def test_view_model_places_nodes_at_capitals_and_keeps_history():
    model = app.ViewModel("baseline")
    for _ in range(3):
        model.step()
    assert len(model.history) == 4
    np.testing.assert_array_equal(model.history[-1], model.alignment)
    np.testing.assert_array_equal(model.history[0], model.initial_alignment)
    assert len(model.datacollector.model_vars["cohesion"]) == 4


def test_mesa_reset_rebuilds_the_same_scenario_with_the_levers():
    """Mesa 3.5.1's Reset: kwargs from the parameters, then ``type(model)(**kwargs)``."""
    model = app.ViewModel("russian_pressure_high")
    params = {"scenario_name": "russian_pressure_high", "seed": "4", "russian_pressure": 0.2}
    kwargs = _build_model_init_kwargs(
        model, params, add_scenario_when_empty=True, require_model_accepts_scenario=True
    )
    fresh = type(model)(**kwargs)
    assert fresh.config.name == "russian_pressure_high"
    assert fresh.seed == 4
    assert fresh.config.powers.russia.pressure == 0.2


# --------------------------------------------------------------------------- controls


def test_slider_ranges_are_the_schema_bounds_and_defaults_the_scenario_values():
    for name in ("baseline", "russian_pressure_high", "western_engagement_high"):
        scenario = load_scenario(name)
        params = app.model_params(scenario, name)
        for lever in app.LEVERS:
            slider = params[lever.keyword]
            metadata = PowerParams.model_fields[lever.field].metadata
            assert slider.min == next(m.ge for m in metadata if hasattr(m, "ge"))
            assert slider.max == next(m.le for m in metadata if hasattr(m, "le"))
            assert slider.value == getattr(scenario.powers[lever.pole], lever.field)
            assert slider.is_float_slider
        assert params["scenario_name"] == name
        assert params["seed"]["type"] == "InputText"


def test_lever_descriptions_come_from_the_schema():
    for lever in app.LEVERS:
        assert lever.description() == PowerParams.model_fields[lever.field].description


def test_view_model_keywords_match_the_page_parameters():
    accepted = set(inspect.signature(app.ViewModel.__init__).parameters) - {"self"}
    params = app.model_params(load_scenario("baseline"), "baseline")
    assert set(params) == accepted
    assert "scenario" not in accepted  # Mesa's Reset would replace it with its own object


def test_scenario_choices_are_the_files_in_scenarios(monkeypatch):
    monkeypatch.delenv(app.SCENARIO_ENV, raising=False)
    files = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
    assert app.scenario_choices() == files
    assert app.launch_scenario() == "baseline"


def test_a_scenario_outside_the_folder_is_added_to_the_choices(monkeypatch, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("extends: baseline\nname: mine\ndescription: Mine.\n")
    monkeypatch.setenv(app.SCENARIO_ENV, str(path))
    assert app.launch_scenario() == str(path)
    assert app.scenario_choices()[0] == str(path)
    assert app.ViewModel(str(path)).config.name == "mine"


# --------------------------------------------------------------------------- what the page says


def test_date_line_names_quarter_and_step():
    model = app.ViewModel("baseline")
    assert app.date_line(model).startswith("2024 Q4 — step 0 of 40")
    for _ in range(11):
        model.step()
    assert app.date_line(model) == "2027 Q3 — step 11 of 40"


def test_drifts_name_the_pole_that_gained_most():
    model = app.ViewModel("baseline")
    model.alignment = model.initial_alignment.copy()
    model.alignment[0] = model.initial_alignment[0] + np.array([-0.1, 0.0, 0.1, 0.0])
    model.alignment[1] = model.initial_alignment[1] + np.array([0.05, -0.05, 0.0, 0.0])
    found = {d.code: d for d in app.drifts(model)}
    first, second = model.codes[0], model.codes[1]
    assert found[first].toward == "china"
    assert found[first].change == pytest.approx(-0.1)
    assert found[first].words() == "drifting from Russia toward China"
    assert found[second].words() == "moving closer to Russia"
    assert app.drifts(model)[0].code == first  # most drifting away first
    assert all(d.words() == "steady" for c, d in found.items() if c not in (first, second))


def test_drift_table_lists_every_state_with_its_statuses():
    model = app.ViewModel("wider_region")
    table = app.drift_table_html(model)
    for state in model.states:
        assert state.name in table
        for status in state.status.values():
            assert status in table


def test_map_draws_a_pie_per_state_in_pole_colours_and_a_dashed_conflict():
    model = app.ViewModel("baseline")
    for _ in range(8):
        model.step()
    fig = app.draw_map(model)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    wedges = [p for p in ax.patches if isinstance(p, Wedge)]
    centres = {tuple(np.round(w.center, 6)) for w in wedges}
    assert len(centres) == model.n_states
    colours = {tuple(np.round(w.get_facecolor()[:3], 3)) for w in wedges}
    allowed = {
        tuple(np.round(np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)]) / 255, 3))
        for c in POLE_COLOURS.values()
    }
    assert colours <= allowed
    dashed = [line for line in ax.lines if line.get_linestyle() not in ("-", "None")]
    conflicts = [e for *_, e in model.network.G.edges(data=True) if e["kind"] == "conflict"]
    assert len(dashed) == len(conflicts) > 0
    assert app.png(fig)[:8] == b"\x89PNG\r\n\x1a\n"


def test_map_places_states_by_capital_longitude_and_latitude():
    model = app.ViewModel("baseline")
    wedges = [p for p in app.draw_map(model).axes[0].patches if isinstance(p, Wedge)]
    centres = {tuple(np.round(w.center, 6)) for w in wedges}
    for i, code in enumerate(model.codes):
        lon, lat = model.network[i].position  # the model's own layout (capital lon, lat)
        assert (lon, lat) == pytest.approx(STATES[code][2:])
        assert tuple(np.round(app._xy(lon, lat), 6)) in centres


def test_charts_have_the_four_panels_and_follow_the_run():
    model = app.ViewModel("baseline")
    first = app.png(app.draw_charts(model))
    model.step()
    fig = app.draw_charts(model)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert any("Cohesion" in t for t in titles)
    assert any("members" in t for t in titles)
    assert any("alignment with Russia" in t for t in titles)
    assert any("air defence" in t for t in titles)
    assert app.png(fig) != first


def test_a_step_redraws_the_map_of_the_wider_region():
    """Speed is measured in benchmarks/bench_latency.py, not asserted here."""
    model = app.ViewModel("wider_region")
    before = app.png(app.draw_map(model))
    for _ in range(2):
        model.step()
    assert app.png(app.draw_map(model)) != before


# --------------------------------------------------------------------------- components


@solara.component
def LaidOutPage():  # noqa: N802
    """The page inside the app layout ``solara run`` gives it (sidebar and app bar)."""
    with solara.AppLayout():
        app.Page()


def _render_page(monkeypatch):
    monkeypatch.delenv(app.SCENARIO_ENV, raising=False)
    return solara.render(LaidOutPage(), handle_error=False)


def test_page_renders_title_date_levers_and_controls(monkeypatch):
    _box, rc = _render_page(monkeypatch)
    rc.find(v.Html, class_="cohesion-date").assert_single()
    date = rc.find(v.Html, class_="cohesion-date").widget
    assert "2024 Q4 — step 0 of 40" in date.children[0]
    title = rc.find(attributes={"class": "cohesion-title"}).widget
    assert "baseline" in title.unsafe_innerHTML
    assert load_scenario("baseline").description in title.unsafe_innerHTML
    for label in ("Reset", "Step"):
        rc.find(v.Btn, children=[label]).assert_single()
    names = {w.widget.label for w in rc.find(v.Slider)}
    assert {lever.label for lever in app.LEVERS} <= names
    rc.find(v.Select, label="Scenario").assert_single()
    rc.find(v.TextField, label="Seed (whole number)").assert_single()
    rc.close()


def test_step_button_advances_the_date(monkeypatch):
    _box, rc = _render_page(monkeypatch)
    rc.find(v.Btn, children=["Step"]).widget.click()
    date = rc.find(v.Html, class_="cohesion-date").widget
    assert date.children[0].startswith("2025 Q1 — step 1 of 40")
    rc.close()


def test_picking_a_scenario_restarts_with_its_lever_values(monkeypatch):
    _box, rc = _render_page(monkeypatch)
    rc.find(v.Btn, children=["Step"]).widget.click()
    rc.find(v.Select, label="Scenario").widget.v_model = "russian_pressure_high"
    rc.find(v.Html, class_="cohesion-date").assert_single()
    date = rc.find(v.Html, class_="cohesion-date").widget
    assert "step 0 of" in date.children[0]
    high = load_scenario("russian_pressure_high").powers.russia.pressure
    slider = rc.find(v.Slider, label="Russian pressure").widget
    assert slider.v_model == pytest.approx(high)
    levers = rc.find(v.Html, class_="cohesion-levers").widget.children[0]
    assert f"Russian pressure {high:.2f}" in levers
    rc.close()


def test_picking_a_scenario_resets_a_moved_slider_to_the_new_value(monkeypatch):
    _box, rc = _render_page(monkeypatch)
    rc.find(v.Slider, label="Russian pressure").widget.v_model = 0.9
    rc.find(v.Select, label="Scenario").widget.v_model = "wider_region"  # same pressure
    rc.find(v.Html, class_="cohesion-date").assert_single()
    expected = load_scenario("wider_region").powers.russia.pressure
    assert rc.find(v.Slider, label="Russian pressure").widget.v_model == pytest.approx(expected)
    rc.find(v.Btn, children=["Reset"]).widget.click()
    levers = rc.find(v.Html, class_="cohesion-levers").widget.children[0]
    assert f"Russian pressure {expected:.2f}" in levers
    rc.close()


def test_bad_seed_then_reset_shows_a_message_not_a_crash(monkeypatch):
    _box, rc = _render_page(monkeypatch)
    seed = rc.find(v.TextField, label="Seed (whole number)").widget
    seed.v_model = "twelve"
    seed.fire_event("focusout", None)  # Solara's text input reports on focus-out or Enter
    rc.find(v.Btn, children=["Reset"]).widget.click()
    rc.find(v.Alert).assert_not_empty()
    assert any("'twelve' is not a whole number" in str(w.widget.children) for w in rc.find(v.Alert))
    rc.close()


def test_components_redraw_on_update_counter(monkeypatch):
    model = solara.reactive(app.ViewModel("baseline"))
    _box, rc = solara.render(app.Header(model), handle_error=False)
    model.value.step()
    update_counter.value += 1
    date = rc.find(v.Html, class_="cohesion-date").widget
    assert "step 1 of 40" in date.children[0]
    rc.close()


# --------------------------------------------------------------------------- the launcher


def _parser() -> tuple[argparse.ArgumentParser, object]:
    parser = argparse.ArgumentParser(prog="cohesion")
    sub = parser.add_subparsers(dest="command")
    handler = viz_cli.register(sub)
    return parser, handler


def test_viz_defaults_to_loopback_and_baseline():
    parser, _ = _parser()
    args = parser.parse_args(["viz"])
    assert args.host == "127.0.0.1"
    assert args.scenario == "baseline"
    assert args.port == viz_cli.DEFAULT_PORT
    args = parser.parse_args(["viz", "wider_region", "--port", "9001", "--host", "0.0.0.0"])
    assert (args.scenario, args.port, args.host) == ("wider_region", 9001, "0.0.0.0")


def test_server_environment_turns_telemetry_off_and_serves_assets_locally():
    env = viz_cli.server_environment("wider_region", base={"PATH": "/bin"})
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert env["SOLARA_ASSETS_PROXY"] == "True"
    assert env["SOLARA_ASSETS_CDN"].startswith("http://127.0.0.1:")
    assert env[app.SCENARIO_ENV] == "wider_region"
    assert env["PATH"] == "/bin"


def test_server_command_is_production_without_version_check():
    command = viz_cli.server_command(host="127.0.0.1", port=8123)
    assert command[1:5] == ["-m", "solara", "run", "model.app"]
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--port") + 1] == "8123"
    assert {"--production", "--no-check-version", "--no-open"} <= set(command)


def test_viz_validates_the_scenario_before_launching(monkeypatch):
    started = []
    monkeypatch.setattr(viz_cli.subprocess, "Popen", lambda *a, **k: started.append(a))
    parser, handler = _parser()
    with pytest.raises(ScenarioError, match="no such scenario"):
        handler(parser.parse_args(["viz", "no_such_scenario"]))
    assert started == []


def test_viz_launches_the_server_with_the_scenario(monkeypatch):
    calls = []

    class FakeProcess:
        def __init__(self, command, env):
            calls.append((command, env))

        def wait(self):
            return 0

    monkeypatch.setattr(viz_cli.subprocess, "Popen", FakeProcess)
    parser, handler = _parser()
    assert handler(parser.parse_args(["viz", "caucasus_flare_up", "--port", "8124"])) == 0
    ((command, env),) = calls
    assert env[app.SCENARIO_ENV] == "caucasus_flare_up"
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert command[command.index("--host") + 1] == "127.0.0.1"


def test_installation_check_passes_here_and_names_the_bundle():
    viz_cli.check_installation()
    bundles = viz_cli.required_bundles()
    assert bundles and all((viz_cli.asset_folder() / b).is_dir() for b in bundles)


def test_installation_check_refuses_vue3_ipyvue(monkeypatch):
    real = viz_cli.metadata.version
    monkeypatch.setattr(viz_cli.metadata, "version", lambda name: "3.0.1" if name == "ipyvue" else real(name))
    with pytest.raises(ScenarioError, match=r"ipyvue 3\.0\.1 .*mesa#3806"):
        viz_cli.check_installation()


def test_installation_check_refuses_missing_assets(monkeypatch, tmp_path):
    monkeypatch.setenv("SOLARA_ASSETS_PROXY_CACHE_DIR", str(tmp_path))
    with pytest.raises(ScenarioError, match=r"solara-vuetify-app.*missing"):
        viz_cli.check_installation()


def test_cohesion_viz_bad_scenario_is_one_line_exit_2(capsys):
    from model.cli import main

    assert main(["viz", "no_such_scenario"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cohesion: error: no_such_scenario: no such scenario file")
    assert "\n" not in err
