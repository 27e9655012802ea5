"""User mobility: a random walk inside the area, vectorised over all users.

The walk follows ns-3's ``RandomWalk2dMobilityModel`` in "distance" mode, which the
NetworkGym scenarios configure through ``user_random_walk`` (PROTOCOL.md §9): each user
moves in a straight line at a speed drawn uniformly from ``[min_speed, max_speed]`` m/s in a
direction drawn uniformly from ``[min_direction, max_direction]`` rad, and draws a new speed
and direction after every ``distance_m`` metres. At the area's edges the user is reflected
(ns-3 reflects the direction at the bounds), so a user never leaves the area and never
moves farther than ``speed × time`` (MODEL.md L1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netgym_sim.model.topology import Area, FloatArray

__all__ = ["RandomWalk", "WalkParams", "reflect_into"]


@dataclass(frozen=True)
class WalkParams:
    """The ``user_random_walk`` parameters (speeds in m/s, directions in rad)."""

    min_speed_mps: float
    max_speed_mps: float
    min_direction_rad: float
    max_direction_rad: float
    distance_m: float


def reflect_into(coord: FloatArray, low: float, high: float) -> tuple[FloatArray, FloatArray]:
    """Fold coordinates into ``[low, high]`` by mirror reflection at the bounds.

    Args:
        coord: Unbounded coordinates (m).
        low: Lower bound (m).
        high: Upper bound (m), ``>= low``.

    Returns:
        ``(folded, flipped)``: the reflected coordinates and a ``±1`` array that is ``-1``
        where an odd number of reflections reversed the direction of motion.
    """
    width = high - low
    if width <= 0.0:
        return np.full_like(coord, low), np.ones_like(coord)
    offset = coord - low
    bounces = np.floor(offset / width)
    # Reflection is periodic with period 2 × width; the remainder within one period folds.
    phase = np.mod(offset, 2.0 * width)
    folded = np.where(phase > width, 2.0 * width - phase, phase) + low
    flipped = np.where(np.mod(bounces, 2.0) == 1.0, -1.0, 1.0)
    return np.clip(folded, low, high), flipped


class RandomWalk:
    """Positions of all users and their random walk.

    Args:
        xy_m: ``(n, 2)`` start positions (inside ``area``).
        area: Walk bounds.
        params: Walk parameters.
        rng: The walk's own random stream (start positions are the caller's business).
    """

    def __init__(
        self, xy_m: FloatArray, area: Area, params: WalkParams, rng: np.random.Generator
    ) -> None:
        self.xy_m = np.array(xy_m, dtype=np.float64).reshape(-1, 2)
        self.area = area
        self.params = params
        self._rng = rng
        n = self.xy_m.shape[0]
        self.speed_mps = np.zeros(n)
        self.heading_rad = np.zeros(n)
        self.remaining_m = np.zeros(n)
        self._redraw(np.ones(n, dtype=bool))

    @property
    def moving(self) -> bool:
        """False when every speed is zero (static users)."""
        return self.params.max_speed_mps > 0.0

    def _redraw(self, mask: np.ndarray) -> None:
        count = int(np.count_nonzero(mask))
        if count == 0:
            return
        p = self.params
        self.speed_mps[mask] = self._rng.uniform(p.min_speed_mps, p.max_speed_mps, count)
        self.heading_rad[mask] = self._rng.uniform(p.min_direction_rad, p.max_direction_rad, count)
        self.remaining_m[mask] = p.distance_m

    def step(self, dt_ms: float) -> None:
        """Move every user for ``dt_ms`` milliseconds."""
        if not self.moving or dt_ms <= 0.0:
            return
        travel_m = self.speed_mps * (dt_ms / 1000.0)
        new_x = self.xy_m[:, 0] + travel_m * np.cos(self.heading_rad)
        new_y = self.xy_m[:, 1] + travel_m * np.sin(self.heading_rad)
        a = self.area
        x, flip_x = reflect_into(new_x, a.min_x_m, a.max_x_m)
        y, flip_y = reflect_into(new_y, a.min_y_m, a.max_y_m)
        self.xy_m = np.column_stack((x, y))
        bounced = (flip_x < 0.0) | (flip_y < 0.0)
        if np.any(bounced):
            vx = np.cos(self.heading_rad) * flip_x
            vy = np.sin(self.heading_rad) * flip_y
            self.heading_rad = np.where(bounced, np.arctan2(vy, vx), self.heading_rad)
        self.remaining_m -= travel_m
        self._redraw(self.remaining_m <= 0.0)
