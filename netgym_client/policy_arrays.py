"""nqos_split's policies as arrays: what the embedded path hands the simulator in place of JSON.

With nqos_split's own adapter (:class:`~netgym_client.adapters.nqos_split.NqosSplitAdapter`,
none of its conversions overridden) and the embedded simulator, a policy is one
``gma::dl::split_weight`` record for users 1 … N whose value is the adapter's normalised
weight rows. :class:`SplitPolicy` carries those rows as an array; the simulator takes it as
the ``env-action`` it stands for (same checks, same effect, same errors,
``netgym_sim.embedded.SplitWeights``), with no JSON to build, check and parse. A vector env
computes the rows of all its sub-environments in one numpy pass
(:meth:`NqosSplitAdapter.split_weights_many`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from netgym_client.adapters import Adapter
from netgym_client.adapters.base import PolicyRecords, template_record
from netgym_client.adapters.nqos_split import NqosSplitAdapter
from netgym_client.stats import NetworkStats

__all__ = ["SplitPolicy", "array_adapter", "split_policy"]

#: The methods of NqosSplitAdapter that the array path stands in for: an adapter that
#: overrides one of them takes the ordinary path.
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
    "split_weights_many",
    "outcome_many",
)


def array_adapter(adapter: Adapter) -> bool:
    """Whether ``adapter`` is nqos_split's own, whose conversions the array path computes."""
    return isinstance(adapter, NqosSplitAdapter) and all(
        getattr(type(adapter), name) is getattr(NqosSplitAdapter, name) for name in ARRAY_METHODS
    )


@dataclasses.dataclass(frozen=True)
class SplitPolicy:
    """The adapter's policy for one action, its weight rows as an array.

    Attributes:
        ts: The ``ts`` it echoes (that of the measurement's ``gma::dl::rate`` row).
        weights: ``(N, L)`` float32, the rows ``normalize_split_weights`` gives.
    """

    ts: int
    weights: np.ndarray

    def records(self) -> PolicyRecords:
        """The record the adapter's ``policy`` gives for the same action."""
        return {
            "name": "dl::split_weight",
            "ts": self.ts,
            "source": "gma",
            "id": list(range(1, self.weights.shape[0] + 1)),
            "value": self.weights.tolist(),
        }

    def message(self) -> Any:
        """The simulator's form (``netgym_sim.embedded.SplitWeights``, loaded lazily)."""
        from netgym_sim.embedded import SplitWeights  # noqa: PLC0415 (the simulator's door)

        return SplitWeights(self.ts, self.weights.astype(np.float64))


def split_policy(stats: NetworkStats, weights: np.ndarray) -> SplitPolicy:
    """The policy answering ``stats`` with ``weights`` (its ``ts`` as the adapter's)."""
    ts = template_record(stats, "gma::dl::rate", "dl::split_weight", None, ids=())["ts"]
    return SplitPolicy(int(ts), weights)
