"""The ``qos_steer`` environment: steer each user's traffic to Wi-Fi or cellular for QoS.

Rules (PROTOCOL.md §10, §13, §14; MODEL.md L1–L14, L21–L24):
- Config: the current layout (the ``nqos_split`` one, §14), with qos_steer's values.
- Actions, treated alike (§14): ``gma::wifi::dl::split_ratio`` with one 0/1 per ``id``
  (1 = Wi-Fi, 0 = cellular, i.e. LTE), as the original client sends it; or
  ``gma::dl::split_weight`` with one one-hot integer row per ``id``, one entry per link the
  config has (Wi-Fi, NR with gNBs, LTE: ``[1, 0]`` or ``[0, 1]`` without gNBs), as ns-3
  expects. The ``ul`` forms act on the uplink. ``value: []`` hands the choice back to
  the built-in policy, which steers each user to its link with the largest usable capacity.
- A user's ``qos_rate`` equals its rate when its share of packets over
  ``qos_delay_requirement_ms`` is within ``qos_delay_violation_target`` and its loss within
  ``qos_loss_target`` during the interval, else 0.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from netgym_sim.errors import InvalidAction
from netgym_sim.model.topology import LTE, NUM_LINKS, WIFI
from netgym_sim.scenarios._gma_common import GmaScenario, link_label

__all__ = ["QosSteerScenario"]


class QosSteerScenario(GmaScenario):
    """Multi-access QoS steering: an agent puts each user on Wi-Fi or on cellular."""

    name = "qos_steer"
    builtin_steer: ClassVar[bool] = True

    def _knobs(self) -> dict[str, Any]:
        knobs = super()._knobs()
        for d in ("dl", "ul"):
            knobs[f"gma::wifi::{d}::split_ratio"] = self._steer_flags
        return knobs

    def apply_array(self, name: str, values: np.ndarray) -> bool:
        """:meth:`GmaScenario.apply_array`, and the original client's steering flags
        (``wifi::<d>::split_ratio``: ``(N,)`` 0/1 integers)."""
        source, _, rest = name.partition("::")
        direction, _, knob = rest.partition("::")
        if source != "wifi" or knob != "split_ratio" or direction not in ("dl", "ul"):
            return super().apply_array(name, values)
        if values.shape != (self.num_users,) or values.dtype.kind not in "iu":
            return False
        if not np.all((values == 0) | (values == 1)):
            return False
        rows = np.zeros((values.shape[0], NUM_LINKS))
        rows[np.arange(values.shape[0]), np.where(values == 1, WIFI, LTE)] = 1.0
        self._check_rows(rows, "action_list[0].value")
        self.commit_split(direction, rows)
        return True

    def _steer_flags(self, values: list[Any], where: str) -> np.ndarray:
        rows = np.zeros((len(values), NUM_LINKS))
        for i, value in enumerate(values):
            rows[i, WIFI if self._flag(value, f"{where}[{i}]") else LTE] = 1.0
        self._check_rows(rows, where)
        return rows

    def _weight_rows(self, values: list[Any], where: str) -> np.ndarray:
        rows = super()._weight_rows(values, where)
        for i, row in enumerate(rows):
            if sorted(row.tolist()) != [0.0, 0.0, 1.0]:
                raise InvalidAction(
                    f"{where}[{i}]: qos_steer needs a one-hot integer row "
                    f"({link_label(self.settings.links)}), got {values[i]!r:.60}"
                )
        return rows
