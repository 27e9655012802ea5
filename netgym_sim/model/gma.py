"""Generic Multi-Access (GMA) convergence: split weights, their lag, and packet delays.

Equations:

- **Bursts.** ns-3's GMA splits traffic in bursts of :data:`BURST_PACKETS` (32) packets: a
  weight row ``w`` becomes integer burst sizes ``round(w_l · 32 / Σw)`` for every link but
  the last, which takes what is left (PROTOCOL.md §9). ``split_ratio`` = ``100 · burst / 32``.
- **Lag.** A new split reaches the sender one control round trip later and the packets
  already queued on the old split keep arriving, so the share actually put on the links
  follows the configured one as a first-order lag: every sub-step ``dt``,
  ``applied += (target − applied) · (1 − exp(−dt/τ))`` with τ = :data:`SPLIT_LAG_MS` (25 ms).
  The measured ``traffic_ratio`` over a 100 ms interval is within 0.5 % of a new
  ``split_ratio`` from the second interval after the change (``e^{−4}/4·…``; L8).
- **Packet delay** of the packets a link delivers to a user during one sub-step:
  uniform on ``[lo, hi]`` with
  ``lo = backhaul + access + T_pkt + min(q₀, q₁)/s`` and
  ``hi = backhaul + access + T_pkt + max(q₀, q₁)/s + 2·W``, where ``T_pkt`` is the
  packet's transmission time at the user's link rate, ``q₀, q₁`` the user's fluid backlog on
  the link at the start and end of the sub-step (bits), ``s`` the rate it was served at
  (bit/ms), and ``W = ρ/(2(1−ρ)) · T_pkt`` the M/D/1 mean waiting time (Kleinrock,
  *Queueing Systems* vol. 1, 1975, Pollaczek-Khinchine) for the cell's busy share ``ρ``
  (capped at :data:`MAX_BUSY`). Uniform makes ``W`` the mean extra wait and bounds the
  support, so violation shares are exactly 0 above every packet's delay and 100 below
  every packet's delay (MODEL.md L14).
- **Reordering.** GMA delivers in order: a packet that came over a faster link waits for
  the slower one's. Per sub-step each link's packets gain
  ``κ · (max_l mean_l − mean_l)`` (κ = :data:`REORDERING_FACTOR`), which keeps the aggregate
  delay between the smallest and the largest link delay (L12).
"""

from __future__ import annotations

import math

import numpy as np

from netgym_sim.model.topology import FloatArray

__all__ = [
    "BURST_PACKETS",
    "MAX_BUSY",
    "REORDERING_FACTOR",
    "SPLIT_LAG_MS",
    "burst_fractions",
    "lag_factor",
    "md1_wait_ms",
    "steer_fractions",
    "violation_fraction",
]

#: Packets per GMA split burst (``mx_algorithm`` "gma"; PROTOCOL.md §9).
BURST_PACKETS = 32
#: Time constant of the split lag, ms.
SPLIT_LAG_MS = 25.0
#: Share of the gap to the slowest link's delay that in-order delivery adds.
REORDERING_FACTOR = 0.5
#: Largest busy share used in the M/D/1 wait (keeps the wait finite in a saturated cell).
MAX_BUSY = 0.95


def burst_fractions(weights: FloatArray) -> FloatArray:
    """Turn ``(n, L)`` non-negative weight rows (each with a positive sum) into burst shares.

    Every link but the last gets ``round(w · 32 / Σw)`` packets (half away from zero, like
    C++ ``std::round``), the last link the rest. Should rounding leave the last link a
    negative count, the largest burst gives it back.

    Returns:
        ``(n, L)`` shares ``burst / 32``: multiples of 1/32 summing to exactly 1.
    """
    total = weights.sum(axis=1, keepdims=True)
    scaled = (weights / total) * BURST_PACKETS  # ratio first: a tiny total must not overflow
    bursts = np.floor(scaled + 0.5)
    bursts[:, -1] = BURST_PACKETS - bursts[:, :-1].sum(axis=1)
    negative = bursts[:, -1] < 0
    if np.any(negative):
        rows = np.nonzero(negative)[0]
        largest = np.argmax(bursts[rows, :-1], axis=1)
        bursts[rows, largest] += bursts[rows, -1]
        bursts[rows, -1] = 0.0
    fractions: FloatArray = bursts / BURST_PACKETS
    return fractions


def steer_fractions(weights: FloatArray) -> FloatArray:
    """One-hot rows: all traffic on the link with the largest weight (first one on ties)."""
    out: FloatArray = np.zeros_like(weights)
    out[np.arange(weights.shape[0]), np.argmax(weights, axis=1)] = 1.0
    return out


def lag_factor(dt_ms: float, tau_ms: float = SPLIT_LAG_MS) -> float:
    """The share of the gap to the target split closed in ``dt_ms``."""
    return 1.0 - math.exp(-dt_ms / tau_ms) if tau_ms > 0.0 else 1.0


def md1_wait_ms(busy: FloatArray, service_ms: FloatArray) -> FloatArray:
    """M/D/1 mean waiting time for busy share ``busy`` and service time ``service_ms``."""
    rho = np.clip(busy, 0.0, MAX_BUSY)
    result: FloatArray = rho / (2.0 * (1.0 - rho)) * service_ms
    return result


def violation_fraction(
    lo_ms: FloatArray, hi_ms: FloatArray, threshold_ms: FloatArray
) -> FloatArray:
    """Share of packets uniform on ``[lo, hi]`` whose delay exceeds ``threshold_ms``.

    Exactly 0 when ``threshold >= hi``, exactly 1 when ``threshold < lo``, and
    non-increasing in the threshold in between (MODEL.md L14).
    """
    width = hi_ms - lo_ms
    safe = np.where(width > 0.0, width, 1.0)
    ramp = np.clip((hi_ms - threshold_ms) / safe, 0.0, 1.0)
    point = np.where(lo_ms > threshold_ms, 1.0, 0.0)
    result: FloatArray = np.where(width > 0.0, ramp, point)
    return result
