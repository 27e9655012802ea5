"""Hypothesis strategies for adapter actions: members of an action space, and a bit beyond.

>>> import gymnasium as gym
>>> from hypothesis import given
>>> space = gym.spaces.MultiDiscrete([2, 2, 2])
>>> @given(actions(space))
... def test_member(action):
...     assert space.contains(action)
>>> test_member()
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra import numpy as hnp

__all__ = ["actions", "default_actions", "out_of_range_actions"]

#: How far beyond a Box's bounds :func:`out_of_range_actions` may go, in multiples of its
#: width (and at least this many units), so that clipping is exercised on both sides.
_OVERSHOOT = 3.0


def _box_bounds(space: gym.spaces.Box) -> tuple[np.ndarray, np.ndarray]:
    low = np.broadcast_to(space.low, space.shape).astype(np.float64)
    high = np.broadcast_to(space.high, space.shape).astype(np.float64)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        raise InvalidArgument(f"actions() needs a bounded Box, got {space}")
    return low, high


@st.composite
def _beyond_box(draw: st.DrawFn, space: gym.spaces.Box) -> np.ndarray:
    low, high = _box_bounds(space)
    margin = np.maximum(high - low, 1.0) * _OVERSHOOT
    lo, hi = low - margin, high + margin
    # One unit-interval draw per entry, mapped onto [lo, hi], keeps every value finite
    # whatever the bounds' magnitude.
    unit = draw(hnp.arrays(np.float64, space.shape, elements=st.floats(0.0, 1.0)))
    beyond: np.ndarray = (lo + unit * (hi - lo)).astype(space.dtype)
    return beyond


def _discrete_bounds(space: gym.spaces.Space[Any]) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(space, gym.spaces.MultiDiscrete):
        start = np.asarray(space.start, dtype=np.int64)
        return start, start + np.asarray(space.nvec, dtype=np.int64) - 1
    if isinstance(space, gym.spaces.Discrete):
        start = np.asarray(space.start, dtype=np.int64)
        return start, start + np.asarray(space.n, dtype=np.int64) - 1
    if isinstance(space, gym.spaces.MultiBinary):
        shape = space.shape
        return np.zeros(shape, dtype=np.int64), np.ones(shape, dtype=np.int64)
    raise InvalidArgument(f"no action strategy for {type(space).__name__} spaces: {space}")


@st.composite
def _discrete_members(draw: st.DrawFn, space: gym.spaces.Space[Any]) -> np.ndarray:
    low, high = _discrete_bounds(space)
    flat = [draw(st.integers(int(lo), int(hi))) for lo, hi in zip(low.flat, high.flat, strict=True)]
    return np.asarray(flat, dtype=np.int64).reshape(low.shape)


def actions(space: gym.spaces.Space[Any]) -> st.SearchStrategy[np.ndarray]:
    """Members of ``space``: a bounded ``Box``, ``Discrete``, ``MultiDiscrete``, ``MultiBinary``.

    Box draws include the bounds themselves as often as hypothesis likes (it favours them).

    Raises:
        InvalidArgument: Another kind of space, or an unbounded Box.
    """
    if isinstance(space, gym.spaces.Box):
        low, high = _box_bounds(space)
        return hnp.arrays(
            space.dtype,
            space.shape,
            elements=st.floats(
                float(low.min()), float(high.max()), width=32, allow_subnormal=False
            ),
        ).map(lambda a: np.clip(a, low, high).astype(space.dtype))
    return _discrete_members(space)


def out_of_range_actions(space: gym.spaces.Box) -> st.SearchStrategy[np.ndarray]:
    """Finite Box actions of the right shape that may lie outside the Box (to be clipped)."""
    if not isinstance(space, gym.spaces.Box):
        raise InvalidArgument(f"out_of_range_actions() needs a Box, got {space}")
    return _beyond_box(space)


def default_actions() -> st.SearchStrategy[np.ndarray | None]:
    """What asks the server for its built-in algorithm: ``None`` or an empty array."""
    return st.sampled_from([None, np.array([]), np.zeros((0,), dtype=np.float32)])
