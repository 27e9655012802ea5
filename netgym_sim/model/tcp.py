"""TCP as a window-based sender per user: NewReno congestion control in fluid form.

Equations (per user and sub-step ``dt``; bits and ms):

- **Sending.** The sender keeps ``cwnd`` bits in flight, so over one round trip it sends one
  window: it puts ``cwnd · dt / RTT`` bits on its links in the sub-step (the fluid TCP model
  of Misra, Gong and Towsley, "Fluid-based analysis of a network of AQM routers supporting
  TCP flows", SIGCOMM 2000). With ``RTT = base + queue/rate`` this makes the standing queue
  on the bottleneck ``cwnd − rate · base``: a window larger than the path's bandwidth-delay
  product waits in the buffer (bufferbloat).
- **RTT** is measured by the caller: the in-order (after GMA reordering) one-way delay of the
  data plus the one-way delay of the ACK on the uplink.
- **Growth** (RFC 5681 §3.1): in slow start (``cwnd < ssthresh``) by the bits acknowledged;
  in congestion avoidance by ``MSS · acked / cwnd`` (about one segment per round trip).
- **Loss** (a buffer overflow on any of the user's links, or traffic with no link): at most
  once per round trip, as NewReno's fast recovery reacts once per window (RFC 6582):
  ``ssthresh = max(cwnd / 2, 2 · MSS)``, ``cwnd = ssthresh``; the window does not grow until
  the round trip of the loss is over.
- **Timeout.** NewReno repairs one lost segment per round trip, so a burst of more than
  :data:`BURST_LOSS_SEGMENTS` segments lost in one sub-step (a slow-start overshoot into a
  full buffer) ends in a retransmission timeout instead: ``ssthresh = max(cwnd / 2, 2 ·
  MSS)``, ``cwnd = 1 MSS`` (RFC 5681 §3.1), and the flow is silent for the timeout,
  ``max(1 s, 2 · RTT)`` (RFC 6298's 1 s minimum, ns-3's ``MinRto``), during which the
  queues drain.
- **Start**: an initial window of :data:`INITIAL_WINDOW_SEGMENTS` segments (RFC 6928, ns-3's
  ``TcpSocket::InitialCwnd``), ``ssthresh`` unbounded (ns-3's ``InitialSlowStartThreshold``).
  Flows start at seeded times spread over the first :data:`START_SPREAD_MS`, so that users
  alike do not lose packets in lock step (the ns-3 sample's users are at different points
  of their sawtooth: LTE delays 65 … 682 ms at one instant).
- **ACKs**: one per :data:`DELAYED_ACK_SEGMENTS` segments (RFC 5681 §4.2, ns-3's
  ``DelAckCount``) of :data:`ACK_BYTES` bytes (IPv4 20 + TCP 20 + timestamps 12), so the ACK
  stream is ``52 / (2 · packet_size)`` of the data rate (1.9 % at 1400-byte packets; the ns-3
  sample shows 1.7–1.9 %).

Every variant named in the config (``tcp``, ``TcpNewReno``, ``TcpCubic``, ``TcpBbr``, …) is
modelled by this loss-based sender (FIDELITY.md says where that differs).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from netgym_sim.model.topology import FloatArray

__all__ = [
    "ACK_BYTES",
    "BURST_LOSS_SEGMENTS",
    "DELAYED_ACK_SEGMENTS",
    "INITIAL_WINDOW_SEGMENTS",
    "MAX_CWND_BITS",
    "MIN_RTO_MS",
    "START_SPREAD_MS",
    "TcpSenders",
]

#: Initial congestion window, segments (RFC 6928).
INITIAL_WINDOW_SEGMENTS = 10
#: Segments acknowledged by one ACK (delayed ACK, RFC 5681 §4.2).
DELAYED_ACK_SEGMENTS = 2
#: Size of one pure ACK on the wire, bytes (IPv4 + TCP + timestamp option).
ACK_BYTES = 52
#: Flows start uniformly within this long after the network starts, ms.
START_SPREAD_MS = 500.0
#: More segments than this lost in one sub-step end in a retransmission timeout.
BURST_LOSS_SEGMENTS = 3
#: Least retransmission timeout, ms (RFC 6298 §2.4).
MIN_RTO_MS = 1000.0
#: Largest window, bits (a numerical guard: buffer overflows bound it long before).
MAX_CWND_BITS = 8e9


class TcpSenders:
    """The congestion windows of every user's TCP flow (zero-rate for UDP users).

    Args:
        tcp: ``(n,)`` which users send TCP.
        segment_bits: ``(n,)`` segment (packet) size of each user, bits.
        start_ms: Simulated time the network starts at.
        rng: The senders' own random stream (start times).
    """

    def __init__(
        self,
        tcp: npt.NDArray[np.bool_],
        segment_bits: FloatArray,
        start_ms: float,
        rng: np.random.Generator,
    ) -> None:
        self.tcp = np.asarray(tcp, dtype=bool)
        spread = rng.uniform(0.0, START_SPREAD_MS, self.tcp.shape[0])
        self.start_ms: FloatArray = np.asarray(start_ms + spread, dtype=np.float64)
        self.any = bool(np.any(self.tcp))
        self.mss = np.asarray(segment_bits, dtype=np.float64)
        self.cwnd_bits: FloatArray = np.where(self.tcp, INITIAL_WINDOW_SEGMENTS * self.mss, 0.0)
        self.ssthresh_bits: FloatArray = np.full(self.tcp.shape[0], np.inf)
        self.recovery_until_ms: FloatArray = np.full(self.tcp.shape[0], -np.inf)
        self.silent_until_ms: FloatArray = np.full(self.tcp.shape[0], -np.inf)
        self.ack_per_bit: FloatArray = ACK_BYTES * 8.0 / (DELAYED_ACK_SEGMENTS * self.mss)

    def send_bits(self, rtt_ms: FloatArray, now_ms: float, dt_ms: float) -> FloatArray:
        """Bits each flow puts on its links in the ``dt_ms`` from ``now_ms`` (a window per RTT)."""
        started = np.clip((now_ms + dt_ms - self.start_ms) / dt_ms, 0.0, 1.0)
        started = np.where(now_ms < self.silent_until_ms, 0.0, started)
        sent: FloatArray = self.cwnd_bits * (started * dt_ms / np.maximum(rtt_ms, 1e-3))
        return sent

    def on_sub_step(
        self,
        now_ms: float,
        acked_bits: FloatArray,
        lost_bits: FloatArray,
        rtt_ms: FloatArray,
    ) -> None:
        """Update the windows after a sub-step that acknowledged ``acked_bits``.

        Args:
            now_ms: End of the sub-step.
            acked_bits: Bits delivered (and so acknowledged) per user.
            lost_bits: Bits dropped per user (buffer overflow, no link).
            rtt_ms: Each flow's round trip now.
        """
        if not self.any:
            return
        recovering = now_ms < self.recovery_until_ms
        event = (lost_bits > 0.0) & self.tcp & ~recovering
        if np.any(event):
            halved = np.maximum(self.cwnd_bits * 0.5, 2.0 * self.mss)
            timeout = event & (lost_bits > BURST_LOSS_SEGMENTS * self.mss)
            self.ssthresh_bits = np.where(event, halved, self.ssthresh_bits)
            self.cwnd_bits = np.where(event, np.where(timeout, self.mss, halved), self.cwnd_bits)
            rto_ms = np.maximum(MIN_RTO_MS, 2.0 * rtt_ms)
            self.silent_until_ms = np.where(timeout, now_ms + rto_ms, self.silent_until_ms)
            self.recovery_until_ms = np.where(
                event, now_ms + np.where(timeout, rto_ms, rtt_ms), self.recovery_until_ms
            )
        grow = self.tcp & ~event & ~recovering
        slow_start = self.cwnd_bits < self.ssthresh_bits
        safe = np.maximum(self.cwnd_bits, 1.0)
        increase = np.where(slow_start, acked_bits, self.mss * acked_bits / safe)
        self.cwnd_bits = np.minimum(
            np.where(grow, self.cwnd_bits + increase, self.cwnd_bits), MAX_CWND_BITS
        )

    def ack_bits(self, delivered_bits: FloatArray) -> FloatArray:
        """Bits of ACKs the receivers send back for ``delivered_bits`` of data."""
        acks: FloatArray = np.where(self.tcp, delivered_bits * self.ack_per_bit, 0.0)
        return acks
