"""The adapter interface: measurements → observation/reward, action → policy.

Rules:
- An adapter is built from a :class:`~netgym_client.config.NetGymConfig` and declares its
  ``observation_space`` and ``action_space`` from it.
- :meth:`Adapter.observation` returns a finite ``float32`` array inside the observation space
  for every measurement the server can send. Values missing from a measurement are filled
  explicitly (:meth:`Adapter.fill`: 0 for rates and capacities; :meth:`Adapter.fill_last_seen`:
  the last seen value, for positions) and counted in ``info["filled_values"]``; values outside
  the Box are clipped into it and counted in ``info["clipped_values"]``. The original client
  does neither (it sends NaN for missing users and leaves e.g. rmcat's bit rates far above the
  Box's 1000); we do both so that every observation is a member of its space.
- :meth:`Adapter.policy` turns an action (or ``None`` for "the built-in algorithm") into the
  ``action_list`` of an ``env-action``: plain JSON values (no numpy scalars) copied from a
  template record of the last measurement, so ``source`` and ``ts`` echo it (PROTOCOL.md §7.3).
- Actions are checked against the action space (:meth:`Adapter.prepare_action`): a wrong shape,
  a non-finite number or an out-of-range ``MultiDiscrete`` entry raises
  :class:`~netgym_client.errors.ActionError`; a ``Box`` action is clipped into the Box (counted in
  ``info["clipped_action_values"]``), as gymnasium's ``ClipAction`` wrapper would.
- Only the observation updates the counters, so ``reward``/``policy``/``info`` may be called in
  any order and any number of times with the same result.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from netgym_client.config import NetGymConfig
from netgym_client.errors import ActionError
from netgym_client.stats import NetworkStats

__all__ = ["Adapter", "PolicyRecords", "template_record"]

PolicyRecords = dict[str, Any] | list[dict[str, Any]]


def template_record(
    stats: NetworkStats,
    key: str,
    name: str,
    value: Any,
    ids: Sequence[int] | np.ndarray | None = None,
) -> dict[str, Any]:
    """A policy record copied from the measurement row ``key`` with ``name``/``value`` replaced.

    The record's keys come in the original client's order (``name``, ``ts``, ``source``,
    ``id``, ``value``; the custom worker's nested ``""`` pair becomes flat ``id``/``value``, as
    the original's flattened row does), so ``source`` and ``ts`` echo the measurement the
    action answers.

    Args:
        stats: The measurement the action answers.
        key: ``"source::name"`` of the template row.
        name: The control knob's name (without the source).
        value: The record's ``value``: a JSON-ready list.
        ids: The record's ``id``; default the template row's ids. Adapters pass their own
            entity ids so that ``value[i]`` always belongs to ``id[i]``, even when the
            template row lacks a user.

    Returns:
        The record. When the measurement lacks the template row, ``source`` is the part of
        ``key`` before ``::``, ``ts`` the measurement's ``ts`` and ``id`` ``ids`` (or ``[]``).
    """
    if key in stats:
        metric = stats.metric(key)
        source, ts, row_ids = metric.source, int(metric.ts), list(metric.ids)
    else:
        source, ts, row_ids = key.split("::", 1)[0], int(stats.ts), []
    chosen = row_ids if ids is None else ids
    return {
        "name": name,
        "ts": ts,
        "source": source,
        "id": [int(i) for i in chosen],
        "value": value,
    }


class Adapter(ABC):
    """Converts between one environment's measurements and an agent's spaces.

    Subclasses set :attr:`env_name`, build their spaces in ``__init__`` and implement
    :meth:`observation`, :meth:`reward` and :meth:`policy`. The helpers :meth:`rows`,
    :meth:`fill`, :meth:`fill_last_seen`, :meth:`clip_observation` and
    :meth:`prepare_action` keep the Rules of this module.

    Attributes:
        config: The configuration the adapter was built from.
        filled_values: Values filled in the last observation because the measurement
            lacked them.
        clipped_values: Values of the last observation clipped into the observation space.
        clipped_action_values: Entries of the last Box action clipped into the action space.
    """

    #: The environment this adapter serves.
    env_name: ClassVar[str]
    observation_space: gym.spaces.Space[Any]
    action_space: gym.spaces.Space[Any]

    def __init__(self, config: NetGymConfig) -> None:
        self.config = config
        self.filled_values = 0
        self.clipped_values = 0
        self.clipped_action_values = 0
        self._last_seen: dict[str, dict[int, float]] = {}

    @abstractmethod
    def observation(self, stats: NetworkStats) -> np.ndarray:
        """The observation for one measurement."""

    @abstractmethod
    def reward(self, stats: NetworkStats) -> float:
        """The reward for one measurement."""

    @abstractmethod
    def policy(self, action: np.ndarray | None, stats: NetworkStats) -> PolicyRecords:
        """The ``action_list`` for ``action`` (``None``: let the server's algorithm decide)."""

    def info(self, stats: NetworkStats) -> dict[str, Any]:
        """Extra ``info`` entries for one measurement: the fill and clip counts."""
        return {
            "filled_values": self.filled_values,
            "clipped_values": self.clipped_values,
            "clipped_action_values": self.clipped_action_values,
        }

    # -- observation helpers -------------------------------------------------------------
    def reset_counts(self) -> None:
        """Zero the observation's fill and clip counters (done by :meth:`rows`)."""
        self.filled_values = 0
        self.clipped_values = 0

    def fill(
        self, stats: NetworkStats, key: str, ids: Sequence[int] | np.ndarray, fill: float = 0.0
    ) -> np.ndarray:
        """Values of ``key`` aligned to ``ids`` (float64), ``fill`` where missing (counted)."""
        self.filled_values += stats.count_missing(key, ids=ids)
        return stats.get(key, ids=ids, fill=fill)

    def fill_last_seen(
        self,
        stats: NetworkStats,
        key: str,
        ids: Sequence[int] | np.ndarray,
        initial: float = 0.0,
    ) -> np.ndarray:
        """Values of ``key`` aligned to ``ids``, the id's last seen value where missing.

        Meant for positions (``gma::x_loc``/``y_loc``, m): a user who is not measured has
        not jumped to the origin. ``initial`` stands in until an id was seen once. Fills are
        counted like :meth:`fill`'s.
        """
        ids_list = [int(i) for i in ids]
        missing = stats.count_missing(key, ids=ids_list)
        self.filled_values += missing
        memory = self._last_seen.setdefault(key, {})
        if missing == 0:
            values = stats.get(key, ids=ids_list)
        else:
            # A NaN fill marks exactly the missing entries (measured values are finite).
            values = stats.get(key, ids=ids_list, fill=float("nan"))
            for i, uid in enumerate(ids_list):
                if np.isnan(values[i]):
                    values[i] = memory.get(uid, initial)
        for uid, v in zip(ids_list, values, strict=True):
            memory[uid] = float(v)
        return values

    def clip_observation(self, values: np.ndarray) -> np.ndarray:
        """``values`` clipped into the observation Box, as ``float32`` (clips counted).

        Clipping happens in float64 before the cast, so that a huge measurement becomes the
        Box's bound rather than ``inf``; a NaN (never sent by a valid peer) becomes the lower
        bound and is counted too.
        """
        space = self.observation_space
        arr = np.asarray(values, dtype=np.float64)
        if not isinstance(space, gym.spaces.Box):
            return arr.astype(np.float32)
        low = space.low.astype(np.float64)
        high = space.high.astype(np.float64)
        nan = np.isnan(arr)
        outside = nan | (arr < low) | (arr > high)
        self.clipped_values += int(np.count_nonzero(outside))
        arr = np.where(nan, low, arr)
        return np.clip(arr, low, high).astype(space.dtype)

    def rows(
        self,
        stats: NetworkStats,
        keys: Sequence[str],
        ids: Sequence[int] | np.ndarray,
        fills: Mapping[str, float] | None = None,
    ) -> np.ndarray:
        """A ``(len(keys), len(ids))`` observation, one filled row per metric, clipped.

        Resets the counters, fills missing values (``fills[key]``, default 0) and clips the
        result into the observation space (:meth:`clip_observation`).
        """
        self.reset_counts()
        fills = fills or {}
        if len(keys) == 0:
            return self.clip_observation(np.zeros((0, len(ids))))
        out = np.vstack([self.fill(stats, key, ids, fills.get(key, 0.0)) for key in keys])
        return self.clip_observation(out)

    # -- action helpers ------------------------------------------------------------------
    def prepare_action(self, action: Any) -> np.ndarray | None:
        """``action`` checked against the action space; ``None`` for "built-in algorithm".

        ``None`` or an empty array means the server's own algorithm decides. A ``Box`` action
        is clipped into the Box (the count is kept in :attr:`clipped_action_values`); a
        ``MultiDiscrete``/``Discrete``/``MultiBinary`` action must hold integers in range.

        Returns:
            The action as an array of the space's dtype, or ``None``.

        Raises:
            ActionError: Wrong shape, not numeric, not finite, or out of a discrete range.
        """
        self.clipped_action_values = 0
        if action is None:
            return None
        try:
            arr = np.asarray(action)
        except (ValueError, TypeError) as exc:
            raise ActionError(f"action is not an array of numbers: {exc}") from exc
        if arr.size == 0:
            return None
        if arr.dtype == np.bool_:
            arr = arr.astype(np.int64)
        if not np.issubdtype(arr.dtype, np.number):
            raise ActionError(f"action must hold numbers, got dtype {arr.dtype}")
        space = self.action_space
        shape = space.shape
        if shape is not None and arr.shape != shape:
            raise ActionError(f"action shape {arr.shape} does not match the action space {space}")
        values = arr.astype(np.float64)
        if not np.all(np.isfinite(values)):
            raise ActionError(f"action holds a non-finite value: {arr.tolist()!r:.200}")
        if isinstance(space, gym.spaces.Box):
            low, high = space.low.astype(np.float64), space.high.astype(np.float64)
            self.clipped_action_values = int(np.count_nonzero((values < low) | (values > high)))
            return np.clip(values, low, high).astype(space.dtype)
        if isinstance(space, gym.spaces.MultiDiscrete):
            start = np.asarray(space.start, dtype=np.float64)
            return self._discrete(values, start, start + space.nvec - 1, space)
        if isinstance(space, gym.spaces.Discrete):
            start = np.asarray(space.start, dtype=np.float64)
            return self._discrete(values, start, start + space.n - 1, space)
        if isinstance(space, gym.spaces.MultiBinary):
            return self._discrete(values, np.zeros_like(values), np.ones_like(values), space)
        return arr

    @staticmethod
    def _discrete(
        values: np.ndarray, low: np.ndarray, high: np.ndarray, space: gym.spaces.Space[Any]
    ) -> np.ndarray:
        if not np.all(values == np.round(values)):
            raise ActionError(f"action for {space} must hold integers, got {values.tolist()}")
        bad = (values < low) | (values > high)
        if np.any(bad):
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ActionError(
                f"action entry {index} = {values[index]:g} is outside "
                f"[{low[index]:g}, {high[index]:g}] of {space}"
            )
        return values.astype(np.int64)
