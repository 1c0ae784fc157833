"""Planning scenarios: what-if changes to the park plan, projected and compared on fill and the river balance.

* :func:`load_scenario` reads a YAML scenario (``docs/scenarios.md``);
* :func:`apply_scenario` returns an in-memory atlas with the changes and the projection
  (nothing is written);
* :func:`compare_scenarios` compares scenarios with the baseline per bank and year;
* :class:`LeasePaceModel` is the replaceable projection model.
"""

from __future__ import annotations

from kcn_gis.scenario.apply import ScenarioState, apply_scenario
from kcn_gis.scenario.compare import (
    COMPARE_COLUMNS,
    MILESTONE_COLUMNS,
    backtest_projection,
    compare_scenarios,
    compare_states,
    project_scenarios,
    scenario_milestones,
)
from kcn_gis.scenario.model import (
    BASELINE,
    CHANGE_KINDS,
    Change,
    Scenario,
    bundled_scenarios,
    load_scenario,
    scenario_from_dict,
)
from kcn_gis.scenario.projection import BANDS, LeasePaceModel, PaceFit

__all__ = [
    "BANDS",
    "BASELINE",
    "CHANGE_KINDS",
    "COMPARE_COLUMNS",
    "MILESTONE_COLUMNS",
    "Change",
    "LeasePaceModel",
    "PaceFit",
    "Scenario",
    "ScenarioState",
    "apply_scenario",
    "backtest_projection",
    "bundled_scenarios",
    "compare_scenarios",
    "compare_states",
    "load_scenario",
    "project_scenarios",
    "scenario_from_dict",
    "scenario_milestones",
]
