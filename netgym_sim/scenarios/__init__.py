"""Scenarios: one module per simulated environment, looked up by ``env`` name.

The table maps an environment name to ``"module:Class"`` so that a scenario's module (and
its model) is imported only when a session of that environment starts.
"""

from __future__ import annotations

import importlib

from netgym_sim.errors import UnknownEnvironment
from netgym_sim.scenarios.base import Record, Scenario

__all__ = ["SCENARIOS", "Record", "Scenario", "scenario_class"]

SCENARIOS: dict[str, str] = {
    "custom": "netgym_sim.scenarios.custom:CustomScenario",
    "nqos_split": "netgym_sim.scenarios.nqos_split:NqosSplitScenario",
    "qos_steer": "netgym_sim.scenarios.qos_steer:QosSteerScenario",
    "network_slicing": "netgym_sim.scenarios.network_slicing:NetworkSlicingScenario",
    "rmcat": "netgym_sim.scenarios.rmcat:RmcatScenario",
}


def scenario_class(env_name: str) -> type[Scenario]:
    """Return the scenario class serving ``env_name``.

    Raises:
        UnknownEnvironment: ``env_name`` is not simulated (or its module is not available).
    """
    target = SCENARIOS.get(env_name)
    if target is None:
        raise UnknownEnvironment(
            f"env {env_name!r} is not simulated; known: {', '.join(sorted(SCENARIOS))}"
        )
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise UnknownEnvironment(f"env {env_name!r} is not available in this build") from exc
    cls: type[Scenario] = getattr(module, class_name)
    return cls
