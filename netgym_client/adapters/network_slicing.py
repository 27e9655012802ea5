"""Adapter of the ``network_slicing`` environment (PROTOCOL.md §11, §14).

Cellular slicing: the agent sets how many LTE resource-block groups (RBGs) each slice gets
with priority.

Observation Space: ``Box(0, 1000, (3, S), float32)``, S = the number of slices
(``len(per_slice_config.num_users)``), column ``s`` = slice id ``s`` of the LTE cell:

===  ===================================  ====  ===  ====
row  feature                              unit  min  max
===  ===================================  ====  ===  ====
0    ``gma::dl::cell::rate``              Mbps  0    1000
1    ``lte::dl::cell::rb_usage``          %     0    1000
2    ``gma::dl::cell::delay_violation``   %     0    1000
===  ===================================  ====  ===  ====

Each of these records holds one ``{"slice": [...], "value": [...]}`` object per cell. ns-3 has
one LTE cell (id 1); when a record holds several, the lowest cell id is observed (the
original's shape breaks instead). Values are placed by slice id (ns-3 numbers the slices
``0 … S-1`` in ``per_slice_config`` order, the order the original reads them in); a slice,
cell or record that is missing reads 0 (counted in ``info["filled_values"]``; the original
crashes on a missing record), and values outside the Box are clipped
(``info["clipped_values"]``).

Action Space: ``Box(0, 1, (S,), float32)``: per slice, the share of the cell's RBGs it gets
with priority, scaled by ``1/S``. Clipped into the Box. The sum is not enforced.

Policy sent: a list of three records, each a copy of the ``lte::dl::cell::max_rate`` row
(source ``lte``, the cell ids, its ``ts``) in which, for every cell entry, only the inner
``value`` is replaced and the inner ``slice`` list kept:

- ``drb_allocation`` (dedicated RBGs): ``0.0`` per slice;
- ``prb_allocation`` (prioritized RBGs): ``p = round(interp(a, [0, 1], [0, rbg_num / S]))`` as
  ints, rounding half to even (numpy's); with 100 RBs and 2 slices, ``0 … 12``;
- ``srb_allocation`` (shared RBGs): ``rbg_num`` (a float) per slice;

where ``rbg_num = resource_block_num / rbg_size`` and the RBG size is 1, 2, 3, 4 RBs for fewer
than 10, 26, 63, 110 RBs (3GPP TS 36.213 Table 7.1.6.1-1). Values follow the kept slice list by
slice id. A cell entry without a usable slice list (not an object, or ids outside ``0 … S-1``
or repeated) gets ``slice: [0 … S-1]``; without the template row the records name cell 1.
``None`` or an empty action sends the same three records with ``value: []`` each: ns-3 then
keeps the RBGs of ``per_slice_config``.

Reward, by ``rl_config.reward_type``:

- ``"slice_utility"`` (netgym's default, §14): for each slice ``s`` of the observed cell, with
  ``T`` = ``gma::dl::cell::rate`` (delivered, Mbps), ``L`` = ``gma::dl::cell::tx_rate``
  (offered load, Mbps), ``V`` = ``gma::dl::cell::delay_violation`` (%) and ``U`` =
  ``lte::dl::cell::rb_usage`` (%)::

      reward = Σ_s [ served_s − 1.5 · clip(V_s / 100, 0, 1) − 0.5 · clip(U_s / 100, 0, 1) ]
      served_s = clip(T_s / L_s, 0, 1) if L_s > 0 else 0

  A slice with no offered load earns nothing for service (a missing slice reads 0 and so adds
  0); delivery is capped at the offered load because queued packets of an earlier interval
  can make ``T`` exceed this interval's ``L``. Bounds: [−2·S, S].
- ``""``: constant 0.0, as the original.

Episode End: ``truncated`` after ``steps_per_episode`` measurements, ``terminated`` at the
end of the session (handled by the environment).

Arguments: ``env_config.per_slice_config`` (S), ``env_config.lte.resource_block_num``;
``rl_config.reward_type``.

>>> from netgym_client.config import load_config
>>> adapter = NetworkSlicingAdapter(load_config("network_slicing"))
>>> adapter.rbg_num, adapter.observation_space.shape
(25.0, (3, 2))
>>> prioritized_rbgs(np.array([0.0, 1.0, 0.5, 0.52]), rbg_num=25.0, num_slices=2)  # half to even
[0, 12, 6, 6]
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from netgym_client.adapters.base import Adapter, PolicyRecords, template_record
from netgym_client.config import NetGymConfig
from netgym_client.errors import ConfigError
from netgym_client.stats import NetworkStats

__all__ = [
    "OBS_KEYS",
    "NetworkSlicingAdapter",
    "prioritized_rbgs",
    "rbg_size",
    "slice_utility",
]

#: Observation rows, in order: delivered rate (Mbps), RB usage (%), delay violations (%).
OBS_KEYS = ("gma::dl::cell::rate", "lte::dl::cell::rb_usage", "gma::dl::cell::delay_violation")
#: Upper bound of every observation feature (the original's Box).
OBS_HIGH = 1000.0
#: The template row of the policy records.
TEMPLATE_KEY = "lte::dl::cell::max_rate"
#: The policy's knobs, in the original's order: dedicated, prioritized, shared RBGs.
KNOBS = ("drb_allocation", "prb_allocation", "srb_allocation")
#: The LTE cell id ns-3 uses when no template row names one (§14).
DEFAULT_CELL_ID = 1
#: Offered load of a slice, Mbps (for ``slice_utility``).
LOAD_KEY = "gma::dl::cell::tx_rate"
#: ``slice_utility`` weights of the delay-violation and RB-usage fractions.
DELAY_VIOLATION_WEIGHT = 1.5
RB_USAGE_WEIGHT = 0.5
#: Resource blocks per RBG by channel size (3GPP TS 36.213 Table 7.1.6.1-1): (below RBs, size).
_RBG_SIZES = ((10, 1), (26, 2), (63, 3), (110, 4))


def rbg_size(resource_blocks: int) -> int:
    """Resource blocks per RBG for a channel of ``resource_blocks`` RBs; −1 above 109."""
    for below, size in _RBG_SIZES:
        if resource_blocks < below:
            return size
    return -1


def prioritized_rbgs(action: np.ndarray, rbg_num: float, num_slices: int) -> list[int]:
    """``round(interp(a, [0, 1], [0, rbg_num / S]))`` per slice, half to even, as ints."""
    scaled = np.interp(
        np.asarray(action, dtype=np.float64), [0.0, 1.0], [0.0, rbg_num / num_slices]
    )
    return [int(v) for v in np.rint(scaled)]


def slice_utility(
    rate_mbps: np.ndarray,
    load_mbps: np.ndarray,
    delay_violation_pct: np.ndarray,
    rb_usage_pct: np.ndarray,
) -> float:
    """``Σ_s served_s − 1.5·clip(V_s/100, 0, 1) − 0.5·clip(U_s/100, 0, 1)`` (see module docs)."""
    rate = np.asarray(rate_mbps, dtype=np.float64)
    load = np.asarray(load_mbps, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(load > 0, rate / np.where(load > 0, load, 1.0), 0.0)
    served = np.clip(np.nan_to_num(ratio, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    violation = np.clip(np.asarray(delay_violation_pct, dtype=np.float64) / 100.0, 0.0, 1.0)
    usage = np.clip(np.asarray(rb_usage_pct, dtype=np.float64) / 100.0, 0.0, 1.0)
    terms = served - DELAY_VIOLATION_WEIGHT * violation - RB_USAGE_WEIGHT * usage
    return float(np.sum(terms))


class NetworkSlicingAdapter(Adapter):
    """Adapter of the ``network_slicing`` environment; see the module documentation.

    Attributes:
        num_slices: S, the number of slices.
        resource_block_num: LTE resource blocks of the cell.
        rbg_num: RBGs of the cell, ``resource_block_num / rbg_size`` (a float, as sent).

    Raises:
        ConfigError: The channel is too wide for the RBG table (≥ 110 RBs).
    """

    env_name = "network_slicing"

    def __init__(self, config: NetGymConfig) -> None:
        super().__init__(config)
        self.num_slices = len(config.env_config["per_slice_config"]["num_users"])
        self.resource_block_num = int(config.env_config["lte"]["resource_block_num"])
        size = rbg_size(self.resource_block_num)
        if size <= 0:
            raise ConfigError(
                "env_config.lte.resource_block_num",
                f"must be below 110 for the RBG table, got {self.resource_block_num}",
            )
        self.rbg_num = self.resource_block_num / size
        self.reward_type = str(config.rl_config.get("reward_type", ""))
        self.observation_space = gym.spaces.Box(
            0, OBS_HIGH, (len(OBS_KEYS), self.num_slices), np.float32
        )
        self.action_space = gym.spaces.Box(0, 1, (self.num_slices,), np.float32)

    # -- measurements --------------------------------------------------------------------
    def slice_values(self, stats: NetworkStats, key: str) -> tuple[np.ndarray, int]:
        """Per-slice values of ``key`` in the lowest-id cell, 0 where missing, and the count.

        Returns:
            ``(values, missing)``: S float64 values placed by slice id, and how many were
            filled with 0.
        """
        out = np.full(self.num_slices, np.nan)
        cells = stats.sliced(key) if key in stats else {}
        if cells:
            slice_ids, values = cells[min(cells)]
            for sid, value in zip(slice_ids, values, strict=False):
                s = int(sid)
                if 0 <= s < self.num_slices and np.isnan(out[s]):
                    out[s] = float(value)
        missing = int(np.count_nonzero(np.isnan(out)))
        return np.nan_to_num(out, nan=0.0), missing

    def observation(self, stats: NetworkStats) -> np.ndarray:
        """Delivered rate, RB usage and delay violations per slice of the LTE cell."""
        self.reset_counts()
        rows = []
        for key in OBS_KEYS:
            values, missing = self.slice_values(stats, key)
            self.filled_values += missing
            rows.append(values)
        return self.clip_observation(np.vstack(rows))

    def reward(self, stats: NetworkStats) -> float:
        """The ``slice_utility`` of the observed cell (default), or 0.0 (``reward_type ""``)."""
        if self.reward_type != "slice_utility":
            return 0.0
        rate, _ = self.slice_values(stats, "gma::dl::cell::rate")
        load, _ = self.slice_values(stats, LOAD_KEY)
        violation, _ = self.slice_values(stats, "gma::dl::cell::delay_violation")
        usage, _ = self.slice_values(stats, "lte::dl::cell::rb_usage")
        return slice_utility(rate, load, violation, usage)

    # -- policy --------------------------------------------------------------------------
    def _slice_list(self, kept: Any) -> list[int]:
        """The template cell's slice ids if usable (distinct, in ``0 … S-1``), else all."""
        try:
            ids = [int(s) for s in kept]
        except (TypeError, ValueError):
            ids = []
        if ids and len(set(ids)) == len(ids) and all(0 <= s < self.num_slices for s in ids):
            return ids
        return list(range(self.num_slices))

    def policy(self, action: np.ndarray | None, stats: NetworkStats) -> PolicyRecords:
        """Three ``lte::{drb,prb,srb}_allocation`` records for the RBG split."""
        prepared = self.prepare_action(action)
        if TEMPLATE_KEY in stats:
            cell_ids = [int(c) for c in stats.metric(TEMPLATE_KEY).ids]
            sliced = stats.sliced(TEMPLATE_KEY)
        else:
            cell_ids, sliced = [], {}
        if not cell_ids:
            cell_ids = [DEFAULT_CELL_ID]
        if prepared is None:
            return [template_record(stats, TEMPLATE_KEY, knob, [], ids=cell_ids) for knob in KNOBS]
        per_slice: dict[str, list[Any]] = {
            "drb_allocation": [0.0] * self.num_slices,
            "prb_allocation": prioritized_rbgs(prepared, self.rbg_num, self.num_slices),
            "srb_allocation": [float(self.rbg_num)] * self.num_slices,
        }
        records = []
        for knob in KNOBS:
            value = []
            for cell in cell_ids:
                kept = sliced[cell][0] if cell in sliced else None
                slices = self._slice_list(kept)
                value.append({"slice": slices, "value": [per_slice[knob][s] for s in slices]})
            records.append(template_record(stats, TEMPLATE_KEY, knob, value, ids=cell_ids))
        return records
