"""Shared fixtures: the baseline scenario and small scripted scenarios."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from model.scenario import Scenario, load_scenario, validate_scenario

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def baseline() -> Scenario:
    return load_scenario("baseline")


def neutral_state(**overrides) -> dict:
    """A state with even, middling drivers; tests change one driver at a time."""
    state = {
        "economic_weight": 10,
        "trade": {"russia": 0.2, "west": 0.2, "china": 0.2, "turkey": 0.2, "other": 0.2},
        "arms": {"russia": 0.25, "west": 0.25, "china": 0.25, "turkey": 0.25, "other": 0.0},
        "remittances": 0.0,
        "energy_dependence": 0.0,
        "external_threat": 0.0,
        "affinity": {"west": 0.5, "china": 0.5, "turkey": 0.5},
        "opinion_russia": 0.5,
        "hedging": 0.5,
        "sovereignty": 0.5,
        "status": {"cis": "member", "csto": "member", "eaeu": "member"},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(state.get(key), dict):
            state[key] = {**state[key], **value}
        else:
            state[key] = value
    return state


def even_power(**overrides) -> dict:
    power = {
        "pressure": 0.0,
        "engagement": 0.0,
        "security_credibility": 0.5,
        "arms_supply": 1.0,
        "dominance": 0.5,
    }
    power.update(overrides)
    return power


def scripted(states: dict[str, dict], **top) -> Scenario:
    """A scenario of the given states, with even powers and no noise unless overridden."""
    data = {
        "name": "scripted",
        "description": "A scripted test scenario.",
        "states": states,
        "powers": {p: even_power() for p in ("russia", "west", "china", "turkey")},
        "dynamics": {"noise": 0.0},
    }
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            merged = copy.deepcopy(data[key])
            for k, v in value.items():
                merged[k] = {**merged.get(k, {}), **v} if isinstance(v, dict) else v
            data[key] = merged
        else:
            data[key] = value
    return validate_scenario(data, source="scripted")
