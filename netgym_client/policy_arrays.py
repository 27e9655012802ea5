"""The GMA adapters' policies as arrays: what the embedded path hands the simulator for JSON.

With nqos_split's or qos_steer's own adapter (none of its conversions overridden) and the
embedded simulator, a policy is one ``gma`` record for users 1 … N: nqos_split's
``dl::split_weight`` (its normalised weight rows), qos_steer's ``wifi::dl::split_ratio`` (its
0/1 choices). :class:`SplitPolicy` carries those values as an array; the simulator takes it
as the ``env-action`` it stands for (same checks, same effect, same errors:
``netgym_sim.embedded.SplitWeights`` and ``SteerFlags``), with no JSON to build, check and
parse. A vector env computes the values of all its sub-environments in one numpy pass
(:meth:`GmaUserAdapter.policy_values_many`) and their observations and rewards too
(:meth:`GmaUserAdapter.outcome_many`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from netgym_client import protocol
from netgym_client.adapters import Adapter
from netgym_client.adapters._gma import GmaUserAdapter
from netgym_client.adapters.base import PolicyRecords, template_record
from netgym_client.adapters.nqos_split import NqosSplitAdapter
from netgym_client.adapters.qos_steer import QosSteerAdapter
from netgym_client.stats import NetworkStats

__all__ = ["ARRAY_METHODS", "SplitPolicy", "array_adapter", "split_policy"]

#: The adapter methods the array path stands in for: an adapter that overrides one of them
#: (a subclass) takes the ordinary path.
ARRAY_METHODS = (
    "policy",
    "prepare_action",
    "observation",
    "reward",
    "info",
    "rows",
    "fill",
    "clip_observation",
    "reset_counts",
    "policy_values_many",
    "observations_many",
    "outcome_many",
)
#: The adapters whose own conversions the array path computes.
ARRAY_ADAPTERS: tuple[type[GmaUserAdapter], ...] = (NqosSplitAdapter, QosSteerAdapter)


def array_adapter(adapter: Adapter) -> bool:
    """Whether ``adapter`` is one of :data:`ARRAY_ADAPTERS` with its conversions as written."""
    own = next((cls for cls in ARRAY_ADAPTERS if isinstance(adapter, cls)), None)
    return own is not None and all(
        getattr(type(adapter), name) is getattr(own, name) for name in ARRAY_METHODS
    )


@dataclasses.dataclass(frozen=True)
class SplitPolicy:
    """The adapter's policy for one action, its values as an array.

    Attributes:
        ts: The ``ts`` it echoes (that of the measurement's ``gma::dl::rate`` row).
        name: The record's ``name`` (the adapter's :attr:`~GmaUserAdapter.POLICY_NAME`).
        values: One entry per user: float32 weight rows (``normalize_split_weights``'s) or
            int64 choices.
    """

    ts: int
    name: str
    values: np.ndarray

    def records(self) -> PolicyRecords:
        """The record the adapter's ``policy`` gives for the same action."""
        return protocol.users_action_record(self.name, self.ts, self.values)

    def message(self) -> Any:
        """The simulator's form (``netgym_sim.embedded.SplitWeights`` or ``SteerFlags``)."""
        from netgym_sim.embedded import SplitWeights, SteerFlags  # noqa: PLC0415 (lazily)

        if self.name == "dl::split_weight":
            return SplitWeights(self.ts, self.values.astype(np.float64))
        if self.name == "wifi::dl::split_ratio":
            return SteerFlags(self.ts, self.values.astype(np.int64))
        raise ValueError(f"no array form for a {self.name!r} record")


def split_policy(stats: NetworkStats, name: str, values: np.ndarray) -> SplitPolicy:
    """The policy answering ``stats`` with ``values`` (its ``ts`` as the adapter's)."""
    ts = template_record(stats, "gma::dl::rate", name, None, ids=())["ts"]
    return SplitPolicy(int(ts), name, values)
