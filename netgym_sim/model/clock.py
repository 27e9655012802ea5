"""The sub-steps of one step: a guard (not measured), then the measured interval.

Rules:
- Sub-steps last about :data:`TICK_MS`, at most :data:`MAX_TICKS` per guard or interval
  (bounding the cost of long intervals), and end exactly on the guard's and the step's end.
"""

from __future__ import annotations

import math

__all__ = ["MAX_TICKS", "TICK_MS", "tick_offsets"]

#: Target sub-step length, ms.
TICK_MS = 10.0
#: Most sub-steps per measured interval (or per guard), bounding the cost of long intervals.
MAX_TICKS = 50


def tick_offsets(guard_ms: float, interval_ms: float) -> list[tuple[float, bool]]:
    """Sub-step end offsets within one step and whether each sub-step is measured."""
    out: list[tuple[float, bool]] = []
    if guard_ms > 0:
        count = min(MAX_TICKS, max(1, math.ceil(guard_ms / TICK_MS)))
        out += [(guard_ms * j / count, False) for j in range(1, count + 1)]
    count = min(MAX_TICKS, max(1, math.ceil(interval_ms / TICK_MS)))
    out += [(guard_ms + interval_ms * j / count, True) for j in range(1, count + 1)]
    return out
