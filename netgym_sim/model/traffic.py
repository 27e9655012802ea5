"""Offered load per user, from a slice's traffic settings (PROTOCOL.md §9 ``per_slice_config``).

- UDP, constant bit rate: each user sends at a rate drawn once, uniformly in the slice's
  ``[min_udp_rate_per_user_mbps, max_udp_rate_per_user_mbps]``; the rate is
  ``min + u·(max − min)`` with ``u ~ U[0, 1)`` so scaling both bounds scales it exactly.
- UDP with ``udp_poisson_arrival``: packets of ``packet_size_bytes`` arrive as a Poisson
  process with that mean rate (a Poisson count of packets per sub-step).
- TCP (``tcp``/``Tcp<Variant>``; ``tcp`` and ``TcpBbr`` are BBR): an elastic flow that
  sends as fast as its links carry it; its offered load is decided by the network each
  sub-step (see
  :mod:`netgym_sim.model.network`), so :meth:`Traffic.arrivals_bits` gives it 0 here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from netgym_sim.model.topology import FloatArray

__all__ = ["Traffic", "TrafficSpec"]


@dataclass(frozen=True)
class TrafficSpec:
    """Per-user traffic settings (all arrays of length ``n``).

    Attributes:
        min_rate_mbps: Lower bound of the user's UDP rate.
        max_rate_mbps: Upper bound of the user's UDP rate.
        poisson: Poisson (True) or constant-rate (False) UDP arrivals.
        tcp: Elastic TCP flow instead of UDP.
        packet_bytes: Packet size.
        bbr: Which TCP flows run BBR (``tcp``, ``TcpBbr``); the others are loss-based.
    """

    min_rate_mbps: FloatArray
    max_rate_mbps: FloatArray
    poisson: npt.NDArray[np.bool_]
    tcp: npt.NDArray[np.bool_]
    packet_bytes: FloatArray
    bbr: npt.NDArray[np.bool_] | None = None


class Traffic:
    """Arrivals of every user's UDP traffic, sub-step by sub-step.

    Args:
        spec: The users' settings.
        rng: The traffic's own random stream (rate draws and Poisson counts).
    """

    def __init__(self, spec: TrafficSpec, rng: np.random.Generator) -> None:
        self.spec = spec
        self._rng = rng
        u = rng.random(spec.min_rate_mbps.shape[0])
        self.rate_mbps: FloatArray = spec.min_rate_mbps + u * (
            spec.max_rate_mbps - spec.min_rate_mbps
        )
        self.rate_mbps[spec.tcp] = 0.0
        self.packet_bits: FloatArray = spec.packet_bytes * 8.0
        self._poisson_idx = np.nonzero(spec.poisson & ~spec.tcp)[0]

    def arrivals_bits(self, dt_ms: float) -> FloatArray:
        """Bits of UDP traffic that arrive at every user's sender during ``dt_ms``."""
        # Mbit/s × ms = kbit.
        bits = self.rate_mbps * (dt_ms * 1000.0)
        self.draw_poisson(bits[None, :])
        return bits

    def draw_poisson(self, bits: FloatArray) -> None:
        """Replace the Poisson flows' columns of ``(k, n)`` mean arrivals ``bits`` (one row
        per sub-step) by their draws, in place: row after row, from this traffic's stream."""
        if self._poisson_idx.size:
            idx = self._poisson_idx
            packets = self._rng.poisson(bits[:, idx] / self.packet_bits[idx])
            bits[:, idx] = packets * self.packet_bits[idx]
