"""alliance-cohesion: an agent-based model of the Russia-led alliances of the former Soviet space.

The public surface: :func:`simulate` runs a scenario and returns its tables;
:func:`load_scenario` reads and validates a scenario file; :class:`AllianceModel`
is the Mesa model itself.
"""

from model.errors import ScenarioError
from model.model import AllianceModel
from model.scenario import Scenario, load_scenario
from model.simulate import Results, simulate

__all__ = ["AllianceModel", "Results", "Scenario", "ScenarioError", "load_scenario", "simulate"]
