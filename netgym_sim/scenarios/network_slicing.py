"""The ``network_slicing`` environment: share an LTE carrier's RBGs among slices.

Rules (PROTOCOL.md §11, §13, §14; MODEL.md L15–L17, L21–L24):
- Config: the current layout (the ``nqos_split`` one, §14); the default has one eNB, no
  Wi-Fi AP and no NR gNB, so every user's traffic is on LTE. Users are numbered 1 … N slice by
  slice; ``lte::slice_id`` is the slice index. The carrier has ``R = resource_block_num /
  rbg_size`` RBGs (TS 36.213 Table 7.1.6.1-1; 100 RBs → 25.0). Every LTE cell starts with the
  ``dedicated_rbg``, ``prioritized_rbg`` and ``shared_rbg`` of ``per_slice_config``.
- Actions ``lte::drb_allocation`` (dedicated), ``lte::prb_allocation`` (prioritized) and
  ``lte::srb_allocation`` (shared): ``id`` lists LTE cell ids (1 …), ``value`` one
  ``{"slice": [slice ids], "value": [RBGs]}`` object per cell (or a list of one RBG count per
  slice, in slice order). RBG counts are numbers ≥ 0 (fractions allowed: the original client
  sends ``R`` itself as the shared count, 16.67 for 50 RBs; a shared count is a cap and may
  exceed ``R``); slices a record leaves out keep their allocation. ``value: []`` returns that
  kind of allocation to the configured one, and so does a cell's ``{"slice": [...], "value":
  []}`` (the original adapters' "no action", sent per cell) for the slices it lists.
- All records of a policy are checked before any is applied; a cell whose dedicated plus
  prioritized RBGs exceed ``R`` is rejected with an env-error naming the cell and the excess
  (nothing of that policy is applied).
- The split-weight and priority knobs of the GMA scenarios are accepted too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from netgym_sim.errors import InvalidAction, InvalidEnvConfig
from netgym_sim.model.slicing import SliceAllocation, rbg_count
from netgym_sim.model.topology import LTE
from netgym_sim.scenarios._gma_common import GmaScenario, entity_indices

__all__ = ["ALLOCATION_KNOBS", "NetworkSlicingScenario"]

#: Action knob → the allocation field it sets.
ALLOCATION_KNOBS = {
    "lte::drb_allocation": "dedicated",
    "lte::prb_allocation": "prioritized",
    "lte::srb_allocation": "shared",
}
_CONFIG_KEYS = {
    "dedicated": "dedicated_rbg",
    "prioritized": "prioritized_rbg",
    "shared": "shared_rbg",
}

Parsed = tuple[str, int, np.ndarray, np.ndarray | None]


class NetworkSlicingScenario(GmaScenario):
    """LTE RAN slicing: an agent moves prioritized RBGs between slices."""

    name = "network_slicing"
    reports_missed_split: ClassVar[bool] = False

    def __init__(self, env_config: Mapping[str, Any], seed: int) -> None:
        super().__init__(env_config, seed)
        s = self.settings
        self.cells = s.cells[LTE].count
        self.num_slices = len(s.slices["num_users"])
        tables = {
            field: np.tile(np.array(s.slices[key], dtype=np.float64), (self.cells, 1))
            for field, key in _CONFIG_KEYS.items()
        }
        self.configured = SliceAllocation(rbgs=rbg_count(s.resource_blocks), **tables)
        problems = self.configured.problems()
        if problems:
            raise InvalidEnvConfig(
                "env_config.per_slice_config: the RBG allocation does not fit the carrier: "
                + "; ".join(problems)
            )
        self.model.set_slicing(self.configured)

    @property
    def allocation(self) -> SliceAllocation:
        """The allocation in force."""
        allocation = self.model.slicing
        assert allocation is not None  # set in __init__, only ever replaced
        return allocation

    # -- actions ---------------------------------------------------------------------------
    def _parse_record(self, record: Mapping[str, Any], where: str) -> Parsed:
        knob = f"{record['source']}::{record['name']}"
        field = ALLOCATION_KNOBS.get(knob)
        if field is None:
            return super()._parse_record(record, where)
        ids, values = record["id"], record["value"]
        if isinstance(values, list) and not values:
            return f"alloc:{field}", 0, np.zeros(0, np.int64), None
        if not isinstance(ids, list) or not isinstance(values, list):
            raise InvalidAction(f"{where}.value: {knob} needs one entry per cell id in arrays")
        cells = entity_indices(ids, f"{where}.id", self.cells, "LTE cell")
        table = np.full((len(cells), self.num_slices), np.nan)
        default = getattr(self.configured, field)
        for row, value in enumerate(values):
            self._slice_row(value, table[row], default[cells[row]], f"{where}.value[{row}]")
        return f"alloc:{field}", 0, cells, table

    def _slice_row(self, value: Any, row: np.ndarray, default: np.ndarray, where: str) -> None:
        """Fill ``row`` (NaN = keep) from one cell's ``{slice, value}`` object or list.

        ``{"slice": [...], "value": []}`` (the original adapters' "no action") gives the listed
        slices the cell's configured allocation (``default``), the system default.
        """
        if isinstance(value, Mapping):
            slices, counts = value["slice"], value["value"]
            if len(set(slices)) != len(slices):
                raise InvalidAction(f"{where}.slice: slice ids must not repeat, got {slices!r:.80}")
            if not counts:
                self._check_slice_ids(slices, where)
                row[slices] = default[slices]
                return
        elif isinstance(value, list) and len(value) == self.num_slices:
            slices, counts = list(range(self.num_slices)), value
        else:
            raise InvalidAction(
                f"{where}: must be a {{slice, value}} object or {self.num_slices} RBG counts, "
                f"got {value!r:.60}"
            )
        if len(slices) != len(counts):
            raise InvalidAction(
                f"{where}.value: has {len(counts)} items but slice has {len(slices)}"
            )
        self._check_slice_ids(slices, where)
        for k, (sid, count) in enumerate(zip(slices, counts, strict=True)):
            if count < 0:
                raise InvalidAction(f"{where}.value[{k}]: RBGs must be >= 0, got {count!r:.40}")
            row[sid] = float(count)

    def _check_slice_ids(self, slices: list[Any], where: str) -> None:
        for k, sid in enumerate(slices):
            if not 0 <= sid < self.num_slices:
                raise InvalidAction(
                    f"{where}.slice[{k}]: must be a slice id in 0..{self.num_slices - 1}, "
                    f"got {sid!r:.40}"
                )

    def _commit(self, parsed: list[Parsed]) -> None:
        """Check the new allocation whole, then apply the other knobs and the allocation."""
        allocation = self.allocation
        others = []
        for entry in parsed:
            kind, _, cells, table = entry
            if not kind.startswith("alloc:"):
                others.append(entry)
                continue
            field = kind.partition(":")[2]
            current = getattr(allocation, field).copy()
            if table is None:
                current = getattr(self.configured, field).copy()
            else:
                current[cells] = np.where(np.isnan(table), current[cells], table)
            allocation = replace(allocation, **{field: current})
        problems = allocation.problems()
        if problems:
            raise InvalidAction("RBG allocation rejected: " + "; ".join(problems))
        super()._commit(others)
        self.model.set_slicing(allocation)
