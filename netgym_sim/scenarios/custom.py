"""The ``custom`` environment: the dummy worker's measurements.

The original dummy worker sends, every step, ``test::measurement_1`` … ``measurement_4``
for users ``0 … num_users-1``: random integers 3–9, in its nested record shape (id/value
under an empty-string key; PROTOCOL.md §3, §8, captures/04). Actions (``test::srate``) are
accepted and do not change the data, as in the original.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import simpy

from netgym_sim.errors import InvalidEnvConfig
from netgym_sim.scenarios.base import Record, Scenario

__all__ = ["CustomScenario"]

#: Names of the dummy metrics, in the order the dummy worker sends them.
METRIC_NAMES = ("measurement_1", "measurement_2", "measurement_3", "measurement_4")
#: Dummy values are uniform integers in [LOW, HIGH].
LOW, HIGH = 3, 9
#: Largest user count we accept (keeps one message well under the protocol's size limit).
MAX_USERS = 10_000


class CustomScenario(Scenario):
    """Dummy measurements for the ``custom`` environment."""

    name = "custom"

    def __init__(self, env_config: Mapping[str, Any], seed: int) -> None:
        super().__init__(env_config, seed)
        num_users = env_config.get("num_users")
        if isinstance(num_users, bool) or not isinstance(num_users, int):
            raise InvalidEnvConfig(f"env_config.num_users: must be an integer, got {num_users!r}")
        if not 1 <= num_users <= MAX_USERS:
            raise InvalidEnvConfig(
                f"env_config.num_users: must be in [1, {MAX_USERS}], got {num_users}"
            )
        self.num_users = num_users
        self._rng = np.random.default_rng(seed)

    def start(self, env: simpy.Environment) -> None:
        """The dummy data needs no process: values are drawn when measured."""

    def apply(self, action_list: Any, *, checked: bool = False) -> None:
        """Check the policy's form; the dummy data does not depend on it."""
        self.check_form(action_list, checked)

    def measure(self, now_ms: int) -> list[Record]:
        """Four dummy records in the nested ``""`` shape."""
        ids = list(range(self.num_users))
        values = self._rng.integers(LOW, HIGH + 1, size=(len(METRIC_NAMES), self.num_users))
        return [
            {"name": name, "ts": now_ms, "source": "test", "": {"id": ids, "value": row}}
            for name, row in zip(METRIC_NAMES, values.tolist(), strict=True)
        ]
