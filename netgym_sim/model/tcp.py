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

**BBR** (``tcp`` and ``TcpBbr``: NetworkGym's "tcp" is ns-3's ``TcpBbr``; Cardwell, Cheng,
Gunn, Hassas Yeganeh and Jacobson, "BBR: Congestion-Based Congestion Control", ACM Queue 14(5),
2016, and draft-cardwell-iccrg-bbr-congestion-control-00), in the same fluid form:

- The flow paces at ``gain · BtlBw`` with its window capped at ``cwnd_gain · BtlBw · RTprop``
  (at least :data:`BBR_MIN_WINDOW_SEGMENTS`): here the window is set every sub-step to
  ``min(gain · BtlBw · RTT, cwnd_gain · BtlBw · RTprop)``, so that the window-per-RTT sending
  above is BBR's pacing, bounded by its in-flight cap.
- ``BtlBw`` is the largest delivery rate (bits acknowledged per ms) of the last
  :data:`BBR_BW_ROUNDS` round trips; ``RTprop`` the smallest RTT seen.
- Startup paces at ``2/ln 2`` until ``BtlBw`` grows by less than 25 % for 3 round trips,
  Drain at ``ln 2/2`` for one round trip, then ProbeBW cycles the gains
  :data:`BBR_CYCLE` one RTprop each, from a seeded phase per flow (ns-3 starts the cycle at
  a random phase too). ProbeRTT (a 200 ms dip every 10 s) is not modelled.
- ACK aggregation (ns-3's ``TcpBbr`` keeps Linux's extra-acked window): the MACs of Wi-Fi
  (A-MPDU with block ACKs) and LTE (per-TTI grants) acknowledge in bursts, so BBR's bandwidth
  samples exceed the link's rate and its window, not its pacing, bounds what it has in flight.
  Here BtlBw is lifted by :data:`BBR_AGGREGATION` in the pacing and the window cap grows by
  :data:`BBR_EXTRA_ACKED_MS` of BtlBw. Both are calibrated to fixtures/ns3 (GMA's own split:
  the aggregate one-way delay's median ratio to ns-3 is 0.98, Wi-Fi's 0.93; without them
  0.27).
- Over LTE (a flow whose LTE queue is its longest: all of it on LTE, or a fixed split that
  gives LTE more than it carries) ns-3's ``TcpBbr`` is not held by its window: the LTE queue
  grows without loss for the whole session, ~48 ms per second for every user alike
  (fixtures/ns3 ``*_tcp_lte_*``, ``*_tcp_half_*``). Here such a flow's window grows in ProbeBW
  by :data:`BBR_LTE_GROWTH` of the bits delivered in order (GMA's reordering,
  :func:`netgym_sim.model.gma.in_order_bits`), and falls back when Wi-Fi's queue is the longer.
- Losses do not shrink a BBR window (BBR v1 does not treat loss as congestion): a BBR flow's
  NewReno recovery deadline is kept at +∞, so the loss-based update above never applies to it.

Every other variant named in the config (``TcpNewReno``, ``TcpCubic``, …) is modelled by the
loss-based sender (FIDELITY.md says where that differs).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from netgym_sim.model import _kernel
from netgym_sim.model.gma import MIN_SHARE, in_order_bits
from netgym_sim.model.topology import LTE, FloatArray

__all__ = [
    "ACK_BYTES",
    "BBR_AGGREGATION",
    "BBR_BW_ROUNDS",
    "BBR_CYCLE",
    "BBR_EXTRA_ACKED_MS",
    "BBR_LTE_GROWTH",
    "BBR_MIN_WINDOW_SEGMENTS",
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
#: BBR's Startup (and Drain's inverse) pacing gain, 2/ln 2.
BBR_HIGH_GAIN = 2.0 / 0.6931471805599453
#: BBR's ProbeBW pacing gains, one RTprop each.
BBR_CYCLE = np.array([1.25, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
#: BBR's window cap, in bandwidth-delay products (ProbeBW and Drain).
BBR_CWND_GAIN = 2.0
#: Round trips over which BBR keeps the largest delivery rate.
BBR_BW_ROUNDS = 10
#: Smallest BBR window, segments.
BBR_MIN_WINDOW_SEGMENTS = 4
#: Startup ends after this many round trips without 25 % growth of the bandwidth estimate.
BBR_FULL_BW_ROUNDS = 3
#: Data BBR adds to its window for ACK aggregation, as ms of BtlBw (calibrated: fixtures/ns3).
BBR_EXTRA_ACKED_MS = 65.0
#: How far the bursty ACKs of the Wi-Fi and LTE MACs lift BBR's bandwidth samples.
BBR_AGGREGATION = 1.25
#: Window growth of a BBR flow whose LTE queue is its longest, as a share of the bits it gets
#: delivered (ProbeBW): in fixtures/ns3 (``*_tcp_lte_*``, ``*_tcp_half_*``) ns-3's TcpBbr over
#: LTE keeps ~4.8 % more in flight each second, without loss, so the LTE queue delay grows by
#: 47–48 ms per second for the whole session, for every user alike. 5.8 % here, as the pacing
#: dips of ProbeBW give some back: netgym's slope then matches (tests/unit/test_calibration_ns3).
BBR_LTE_GROWTH = 0.058
#: The constants of :func:`netgym_sim.model._kernel.windows`, in its order.
_WINDOW_CONSTS = np.array(
    [
        BBR_HIGH_GAIN,
        BBR_CWND_GAIN,
        BBR_AGGREGATION,
        BBR_EXTRA_ACKED_MS,
        INITIAL_WINDOW_SEGMENTS,
        BBR_MIN_WINDOW_SEGMENTS,
        MAX_CWND_BITS,
    ]
)
#: BBR phases.
_STARTUP, _DRAIN, _PROBE_BW = 0, 1, 2


class TcpSenders:
    """The congestion windows of every user's TCP flow (zero-rate for UDP users).

    Args:
        tcp: ``(n,)`` which users send TCP.
        bbr: ``(n,)`` which of them run BBR (the others: the loss-based sender).
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
        bbr: npt.NDArray[np.bool_] | None = None,
    ) -> None:
        self.tcp = np.asarray(tcp, dtype=bool)
        n = self.tcp.shape[0]
        spread = rng.uniform(0.0, START_SPREAD_MS, n)
        self.start_ms: FloatArray = np.asarray(start_ms + spread, dtype=np.float64)
        self.any = bool(np.any(self.tcp))
        self.mss = np.asarray(segment_bits, dtype=np.float64)
        self.cwnd_bits: FloatArray = np.where(self.tcp, INITIAL_WINDOW_SEGMENTS * self.mss, 0.0)
        self.ssthresh_bits: FloatArray = np.full(self.tcp.shape[0], np.inf)
        self.recovery_until_ms: FloatArray = np.full(self.tcp.shape[0], -np.inf)
        self.silent_until_ms: FloatArray = np.full(self.tcp.shape[0], -np.inf)
        self.ack_per_bit: FloatArray = ACK_BYTES * 8.0 / (DELAYED_ACK_SEGMENTS * self.mss)
        self.bbr = self.tcp & (np.zeros(n, bool) if bbr is None else np.asarray(bbr, bool))
        self.bbr_any = bool(np.any(self.bbr))
        # A BBR flow never enters the loss-based recovery (see the module's notes).
        self.recovery_until_ms[self.bbr] = np.inf
        self._phase = np.full(n, _STARTUP, dtype=np.int64)
        self._cycle = np.asarray(rng.integers(0, BBR_CYCLE.size, n), dtype=np.int64)
        self._cycle_start_ms = np.zeros(n)
        self._round_start_ms = np.full(n, -np.inf)
        self._round_max = np.zeros(n)
        self._bw_rounds = np.zeros((n, BBR_BW_ROUNDS))
        self._rounds = np.zeros(n, dtype=np.int64)
        self._full_bw = np.zeros(n)
        self._full_bw_count = np.zeros(n, dtype=np.int64)
        self.btlbw_bits_ms: FloatArray = np.zeros(n)
        self.rtprop_ms: FloatArray = np.full(n, np.inf)
        self._lte_bound: FloatArray = np.zeros(n)
        self._lte_extra_bits: FloatArray = np.zeros(n)

    def _gains(self) -> tuple[FloatArray, FloatArray]:
        """Pacing and window gains of every BBR flow's phase."""
        pacing = np.where(
            self._phase == _STARTUP,
            BBR_HIGH_GAIN,
            np.where(self._phase == _DRAIN, 1.0 / BBR_HIGH_GAIN, BBR_CYCLE[self._cycle]),
        )
        window = np.where(self._phase == _STARTUP, BBR_HIGH_GAIN, BBR_CWND_GAIN)
        return pacing, window

    def set_bbr_windows(self, rtt_ms: FloatArray, lte_bound: FloatArray) -> None:
        """Set every BBR flow's window for the next sub-step from its model of the path.

        ``lte_bound``: 1 for flows whose LTE queue is their longest; in ProbeBW their window
        grows by :data:`BBR_LTE_GROWTH` of what is delivered (see :meth:`on_bbr_delivery`).
        """
        if not self.bbr_any:
            return
        self._lte_bound = np.asarray(lte_bound, dtype=np.float64)
        rtt = np.maximum(rtt_ms, 1e-3)
        rtprop = np.where(np.isfinite(self.rtprop_ms), self.rtprop_ms, rtt)
        # Before the first delivery the initial window stands for the bandwidth estimate.
        initial = INITIAL_WINDOW_SEGMENTS * self.mss / rtt
        bw = np.where(self.btlbw_bits_ms > 0.0, self.btlbw_bits_ms, initial)
        pacing, window_gain = self._gains()
        extra = bw * BBR_EXTRA_ACKED_MS + self._lte_extra_bits
        window = np.minimum(
            pacing * BBR_AGGREGATION * bw * rtt + self._lte_extra_bits,
            window_gain * bw * rtprop + extra,
        )
        window = np.clip(window, BBR_MIN_WINDOW_SEGMENTS * self.mss, MAX_CWND_BITS)
        self.cwnd_bits = np.where(self.bbr, window, self.cwnd_bits)

    def bbr_windows(
        self,
        rtt_ms: FloatArray,
        queue_bits: FloatArray,
        rate_bits_ms: FloatArray,
        usable: npt.NDArray[np.bool_],
        *,
        compiled: bool = False,
    ) -> None:
        """:meth:`set_bbr_windows`, a flow LTE-bound where its LTE queue (as time to drain it
        at the link's rate) is its longest; ``compiled``: in one compiled loop
        (:func:`netgym_sim.model._kernel.windows`), the same arithmetic."""
        if compiled:
            _kernel.windows(rtt_ms, queue_bits, rate_bits_ms, usable, *self.windows_state())
            return
        wait = np.where(usable, queue_bits / np.maximum(rate_bits_ms, 1e-9), -1.0)
        longest = (wait[:, LTE] > 0.0) & (wait[:, LTE] >= wait.max(axis=1))
        self.set_bbr_windows(rtt_ms, np.asarray(longest, dtype=np.float64))

    def bbr_delivery(
        self,
        now_ms: float,
        dt_ms: float,
        served_bits: FloatArray,
        offered_bits: FloatArray,
        rtt_ms: FloatArray,
        *,
        compiled: bool = False,
    ) -> None:
        """:meth:`on_bbr_delivery` of what GMA delivers in order (:func:`in_order_bits`) of
        ``served_bits`` (per link, of ``offered_bits``); ``compiled``: in one compiled loop
        (:func:`netgym_sim.model._kernel.delivery`), the same arithmetic."""
        if compiled:
            state = self.delivery_state()
            _kernel.delivery(now_ms, dt_ms, served_bits, offered_bits, rtt_ms, *state)
            return
        delivered = in_order_bits(served_bits, offered_bits)
        self.on_bbr_delivery(now_ms, delivered, dt_ms, rtt_ms)

    def windows_state(self) -> tuple[Any, ...]:
        """The arguments of :func:`_kernel.windows` after the path's four."""
        return (
            LTE,
            self.bbr,
            self.mss,
            self.btlbw_bits_ms,
            self.rtprop_ms,
            self._phase,
            self._cycle,
            BBR_CYCLE,
            self._lte_bound,
            self._lte_extra_bits,
            self.cwnd_bits,
            _WINDOW_CONSTS,
        )

    def delivery_state(self) -> tuple[Any, ...]:
        """The arguments of :func:`_kernel.delivery` after the sub-step's five."""
        return (
            self.bbr,
            self.start_ms,
            self._round_max,
            self.rtprop_ms,
            self._round_start_ms,
            self._cycle_start_ms,
            self._bw_rounds,
            self._rounds,
            self.btlbw_bits_ms,
            self._full_bw,
            self._full_bw_count,
            self._phase,
            self._cycle,
            self._lte_bound,
            self._lte_extra_bits,
            MIN_SHARE,
            BBR_LTE_GROWTH,
            BBR_FULL_BW_ROUNDS,
            BBR_CYCLE.size,
        )

    def on_bbr_delivery(
        self, now_ms: float, delivered_bits: FloatArray, dt_ms: float, rtt_ms: FloatArray
    ) -> None:
        """Update the BBR flows' path model after a sub-step that delivered ``delivered_bits``."""
        if not self.bbr_any:
            return
        live = self.bbr & (now_ms >= self.start_ms)
        self._round_max = np.where(
            live, np.maximum(self._round_max, delivered_bits / dt_ms), self._round_max
        )
        self.rtprop_ms = np.where(live, np.minimum(self.rtprop_ms, rtt_ms), self.rtprop_ms)
        first = live & ~np.isfinite(self._round_start_ms)
        self._round_start_ms[first] = now_ms
        self._cycle_start_ms[first] = now_ms
        ended = live & (now_ms >= self._round_start_ms + np.maximum(rtt_ms, dt_ms)) & ~first
        if np.any(ended):
            rows = np.nonzero(ended)[0]
            self._bw_rounds[rows, self._rounds[rows] % BBR_BW_ROUNDS] = self._round_max[rows]
            self._rounds[rows] += 1
            self.btlbw_bits_ms[rows] = self._bw_rounds[rows].max(axis=1)
            self._round_max[rows] = 0.0
            self._round_start_ms[rows] = now_ms
            # Startup ends once the estimate stops growing; Drain lasts one round trip.
            grew = self.btlbw_bits_ms >= self._full_bw * 1.25
            self._full_bw = np.where(ended & grew, self.btlbw_bits_ms, self._full_bw)
            self._full_bw_count = np.where(
                ended, np.where(grew, 0, self._full_bw_count + 1), self._full_bw_count
            )
            draining = ended & (self._phase == _DRAIN)
            self._phase[draining] = _PROBE_BW
            self._cycle_start_ms[draining] = now_ms
            full = ended & (self._phase == _STARTUP) & (self._full_bw_count >= BBR_FULL_BW_ROUNDS)
            self._phase[full] = _DRAIN
        probing = live & (self._phase == _PROBE_BW)
        lte = self._lte_bound > 0.0
        self._lte_extra_bits = np.where(
            lte,
            self._lte_extra_bits + np.where(probing, BBR_LTE_GROWTH * delivered_bits, 0.0),
            0.0,
        )
        rtprop = np.where(np.isfinite(self.rtprop_ms), self.rtprop_ms, rtt_ms)
        advance = probing & (now_ms >= self._cycle_start_ms + rtprop)
        self._cycle[advance] = (self._cycle[advance] + 1) % BBR_CYCLE.size
        self._cycle_start_ms[advance] = now_ms

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
