"""Per-interval accumulators of the multi-access network and the statistics they yield.

Rules:
- Only the traffic direction (downlink unless ``downlink_traffic`` is false) carries data;
  the other direction reports no packets (rate 0, delays −1) but its own split and traffic
  ratios, so a downlink action never changes an uplink metric (MODEL.md L23).
- Every rate is bits delivered in the measured part of the step divided by its duration.
- Delays are averaged over delivered bits (all of a user's packets have one size).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from netgym_sim.model.topology import NUM_LINKS, FloatArray, IntArray

__all__ = ["NO_DELAY", "Accumulator", "IntervalStats"]

#: Delay reported when no packet was received in the interval (PROTOCOL.md §3).
NO_DELAY = -1.0
#: Number of delay thresholds tracked per user: QoS requirement, test 1, test 2.
NUM_THRESHOLDS = 3


@dataclass(frozen=True)
class IntervalStats:
    """What the network measured during one interval (arrays over users, links).

    Attributes:
        direction: 0 = downlink carries the traffic, 1 = uplink.
        measured_ms: Duration the rates are averaged over.
        xy_m: ``(n, 2)`` positions at the end of the interval.
        cell_id: ``(n, 3)`` wire cell ids per link (255 = none).
        max_rate_mbps: ``(2, n, 3)`` capacity per direction, user, link.
        tx_rate_mbps: ``(n,)`` offered load.
        rate_mbps: ``(n,)`` delivered rate, the sum of ``link_rate_mbps``.
        link_rate_mbps: ``(n, 3)`` delivered rate per link.
        loss_ratio: ``(n,)`` share of the offered bits lost (buffer overflow, no link).
        owd_ms: ``(n,)`` mean one-way delay after reordering (−1 = no packet).
        max_owd_ms: ``(n,)`` largest one-way delay after reordering (−1 = no packet).
        link_owd_ms: ``(n, 3)`` mean one-way delay per link (−1 = no packet).
        link_max_owd_ms: ``(n, 3)`` largest one-way delay per link (−1 = no packet).
        violation_pct: ``(n, 3)`` % of packets over the QoS requirement, test 1, test 2.
        qos_ok: ``(n,)`` the user passed its QoS test (delay violation and loss targets).
        split_ratio_pct: ``(2, n, 3)`` configured split per direction.
        traffic_ratio_pct: ``(2, n, 3)`` measured split per direction.
        time_share: ``(n, 3)`` mean share of its cell's time the user got, per link.
        packets: ``(n,)`` the user received at least one packet.
        ack_rate_mbps: ``(n,)`` rate of the TCP ACKs on the reverse direction (0: none).
        ack_link: ``(n,)`` link index the ACKs use (−1: none).
        ack_owd_ms: ``(n,)`` one-way delay of the ACKs (−1: none).
    """

    direction: int
    measured_ms: float
    xy_m: FloatArray
    cell_id: IntArray
    max_rate_mbps: FloatArray
    tx_rate_mbps: FloatArray
    rate_mbps: FloatArray
    link_rate_mbps: FloatArray
    loss_ratio: FloatArray
    owd_ms: FloatArray
    max_owd_ms: FloatArray
    link_owd_ms: FloatArray
    link_max_owd_ms: FloatArray
    violation_pct: FloatArray
    qos_ok: npt.NDArray[np.bool_]
    split_ratio_pct: FloatArray
    traffic_ratio_pct: FloatArray
    time_share: FloatArray
    packets: npt.NDArray[np.bool_]
    ack_rate_mbps: FloatArray
    ack_link: IntArray
    ack_owd_ms: FloatArray


class Accumulator:
    """Sums over the sub-steps of one interval, for ``n`` users."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.reset()

    def reset(self) -> None:
        """Start a new interval."""
        n = self.n
        self.ms = 0.0
        self.offered_bits = np.zeros(n)
        self.link_offered_bits = np.zeros((n, NUM_LINKS))
        self.served_bits = np.zeros((n, NUM_LINKS))
        self.lost_bits = np.zeros(n)
        self.link_delay_bits_ms = np.zeros((n, NUM_LINKS))
        self.link_max_ms = np.full((n, NUM_LINKS), -np.inf)
        self.delay_bits_ms = np.zeros(n)
        self.max_ms = np.full(n, -np.inf)
        self.violation_bits = np.zeros((n, NUM_THRESHOLDS))
        self.time_share_ms = np.zeros((n, NUM_LINKS))
        self.ack_bits = np.zeros(n)

    def link_owd(self) -> tuple[FloatArray, FloatArray]:
        """Mean and max delay per user and link (−1 where nothing was delivered)."""
        has = self.served_bits > 0.0
        mean = np.where(has, self.link_delay_bits_ms / np.where(has, self.served_bits, 1.0), -1.0)
        top = np.where(has, self.link_max_ms, NO_DELAY)
        return mean, top

    def user_owd(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Mean delay, max delay and % violations per threshold per user."""
        total = self.served_bits.sum(axis=1)
        has = total > 0.0
        safe = np.where(has, total, 1.0)
        mean = np.where(has, self.delay_bits_ms / safe, NO_DELAY)
        top = np.where(has, self.max_ms, NO_DELAY)
        violation = np.where(has[:, None], 100.0 * self.violation_bits / safe[:, None], 0.0)
        return mean, top, np.clip(violation, 0.0, 100.0)
