"""rmcat: one real-time media flow through a trace-driven bottleneck, with a NADA controller.

Pure numbers: no SimPy, JSON or sockets. :class:`RmcatModel` is stepped by the caller
(``step(dt_ms, send_rate_bps)``) and closes a feedback interval with ``end_interval()``, which
returns the flow's metrics and runs one NADA update.

Bottleneck (:class:`Bottleneck`): a drop-tail FIFO fluid queue. Over a stretch of constant
arrival rate ``a`` and capacity ``c`` (bytes per ms) lasting ``dt``, starting with backlog ``b``
and buffer ``B`` (Kleinrock, *Queueing Systems* vol. 2, fluid approximation):

    served  = min(c·dt, b + a·dt)                 (the queue empties at most once)
    dropped = max(0, b + (a − c)·dt − B)          (tail drop once the buffer is full)
    b'      = b + a·dt − served − dropped

These are exact for piecewise-constant rates, so steps are split at the trace's period
boundaries. Queuing delay = backlog / capacity; rtt = 2 × one-way propagation + queuing delay.
The trace's random loss hits packets leaving the queue (a lossy link after the bottleneck):
each step's output is cut into ``N = ceil(bytes / PACKET_SIZE_BYTES)`` pieces and a seeded
``Binomial(N, loss)`` of them is lost. Competing traffic (UDP at a constant rate, TCP as a
fluid Reno flow) shares the FIFO: the old backlog leaves first, in proportion to each class's
share of it, then new arrivals in proportion to their rates; tail drops hit new arrivals in
proportion to their rates.

NADA (RFC 8698; constants of §4.1 Figure 3 in :class:`NadaParams`), run once per feedback
interval (DELTA = 100 ms):

* receiver (§4.2): ``d_tilde = d_queue`` if ``d_queue < QTH`` or no loss in the last LOGWIN,
  else ``QTH·exp(−LAMBDA·(d_queue − QTH)/QTH)`` (non-linear warping);
  ``x_curr = d_tilde + DLOSS·(p_loss/PLRREF)²`` (no ECN marking in this model);
  ``r_recv`` = received bits over the last LOGWIN; accelerated ramp-up (rmode 0) when no loss
  and every queuing-delay sample in the last LOGWIN is below QEPS, else gradual (rmode 1);
  ``p_loss`` is the loss ratio over the last LOGWIN (§5.1.2 leaves the estimator open).
* sender (§4.3): accelerated: ``gamma = min(GAMMA_MAX, QBOUND/(rtt + DELTA + DFILT))``,
  ``r_ref = max(r_ref, (1 + gamma)·r_recv)``; gradual:
  ``x_offset = x_curr − PRIO·XREF·RMAX/r_ref``, ``x_diff = x_curr − x_prev``,
  ``r_ref −= KAPPA·(delta/TAU)·(x_offset/TAU)·r_ref + KAPPA·ETA·(x_diff/TAU)·r_ref``;
  then ``r_ref`` is clipped to [RMIN, RMAX]. Without a rate-shaping buffer (§5.2.1) the
  sending rate is ``r_ref``. NADA starts at RMIN.

Loss intervals (``avgint``/``curint``) follow TFRC (RFC 5348 §5.2, §5.4): losses less than one
rtt after the start of a loss event belong to it; an interval counts the packets received
from one loss event to the next; the average weights the last 8 intervals 1,1,1,1,.8,.6,.4,.2
and takes the larger of the averages with and without the open interval.

Simplifications: the receiver sees the bottleneck output without the propagation shift, and
NADA's feedback reaches the sender without delay; counts in packets are byte totals divided
by :data:`PACKET_SIZE_BYTES`; random loss does not throttle TCP cross flows (they back off on
tail drops only).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from netgym_sim.model.traces import Trace

__all__ = [
    "PACKET_SIZE_BYTES",
    "Bottleneck",
    "IntervalStats",
    "NadaController",
    "NadaParams",
    "RenoFlow",
    "RmcatModel",
    "StepResult",
]

#: Media packet size used to express byte counts in packets (a typical RTP video packet).
PACKET_SIZE_BYTES = 1000.0
#: TCP maximum segment size, bytes (Ethernet MTU minus IP/TCP headers with timestamps).
TCP_MSS_BYTES = 1448.0
#: TCP initial window, RFC 6928: 10 segments.
TCP_INITIAL_CWND_BYTES = 10 * TCP_MSS_BYTES
#: Upper bound of a TCP window (a 64 MiB receive window), bytes.
TCP_MAX_CWND_BYTES = 64.0 * 2**20
#: Floor on the rtt used for window → rate (a zero-delay trace must not divide by zero), ms.
MIN_RTT_MS = 1.0
#: RFC 5348 §5.4 weights of the last 8 loss intervals, most recent first.
LOSS_INTERVAL_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 0.8, 0.6, 0.4, 0.2)
#: bytes = bit/s × ms / BITS_MS_PER_BYTE_S (8 bits per byte, 1000 ms per s).
BITS_MS_PER_BYTE_S = 8000.0


@dataclass(frozen=True)
class NadaParams:
    """NADA's constants, RFC 8698 §4.1 Figure 3 (defaults as published)."""

    prio: float = 1.0
    rmin_bps: float = 150_000.0
    rmax_bps: float = 1_500_000.0
    xref_ms: float = 10.0
    kappa: float = 0.5
    eta: float = 2.0
    tau_ms: float = 500.0
    delta_ms: float = 100.0
    logwin_ms: float = 500.0
    qeps_ms: float = 10.0
    dfilt_ms: float = 120.0
    gamma_max: float = 0.5
    qbound_ms: float = 50.0
    qth_ms: float = 50.0
    lambda_: float = 0.5
    plrref: float = 0.01
    dloss_ms: float = 10.0


class NadaController:
    """NADA's reference-rate update (RFC 8698 §4.2–§4.3; equations in the module docstring)."""

    def __init__(self, params: NadaParams | None = None) -> None:
        self.params = params or NadaParams()
        #: The reference (and sending) rate r_ref, bit/s; NADA starts at RMIN.
        self.rate_bps = self.params.rmin_bps
        self._x_prev_ms: float | None = None

    def congestion_signal_ms(self, qdel_ms: float, plr: float, recent_loss: bool) -> float:
        """Aggregated congestion signal ``x_curr`` in ms (RFC 8698 §4.2)."""
        p = self.params
        d_tilde = qdel_ms
        if recent_loss and qdel_ms >= p.qth_ms:
            d_tilde = p.qth_ms * math.exp(-p.lambda_ * (qdel_ms - p.qth_ms) / p.qth_ms)
        return d_tilde + p.dloss_ms * (plr / p.plrref) ** 2

    def update(
        self,
        *,
        x_curr_ms: float,
        rtt_ms: float,
        recv_rate_bps: float,
        accelerated: bool,
        delta_ms: float,
    ) -> float:
        """Run one sender update and return the new reference rate, bit/s (RFC 8698 §4.3)."""
        p = self.params
        r_ref = self.rate_bps
        x_prev = x_curr_ms if self._x_prev_ms is None else self._x_prev_ms
        if accelerated:
            gamma = min(p.gamma_max, p.qbound_ms / (rtt_ms + p.delta_ms + p.dfilt_ms))
            r_ref = max(r_ref, (1.0 + gamma) * recv_rate_bps)
        else:
            x_offset = x_curr_ms - p.prio * p.xref_ms * p.rmax_bps / r_ref
            x_diff = x_curr_ms - x_prev
            r_ref *= (
                1.0
                - p.kappa * (delta_ms / p.tau_ms) * (x_offset / p.tau_ms)
                - p.kappa * p.eta * (x_diff / p.tau_ms)
            )
        self.rate_bps = min(p.rmax_bps, max(p.rmin_bps, r_ref))
        self._x_prev_ms = x_curr_ms
        return self.rate_bps


@dataclass
class RenoFlow:
    """A TCP cross flow as a fluid Reno window: slow start, +1 MSS per rtt, halve on drops."""

    start_ms: float
    cwnd_bytes: float = TCP_INITIAL_CWND_BYTES
    ssthresh_bytes: float = math.inf
    last_cut_ms: float = -math.inf

    def rate_bps(self, rtt_ms: float) -> float:
        """Sending rate of a window-limited flow: cwnd / rtt."""
        return self.cwnd_bytes * BITS_MS_PER_BYTE_S / max(rtt_ms, MIN_RTT_MS)

    def advance(self, t_ms: float, dt_ms: float, rtt_ms: float, congested: bool) -> None:
        """Grow the window over ``dt_ms``, or halve it once per rtt when the queue dropped."""
        rtt_ms = max(rtt_ms, MIN_RTT_MS)
        if congested and t_ms - self.last_cut_ms >= rtt_ms:
            self.ssthresh_bytes = max(2 * TCP_MSS_BYTES, self.cwnd_bytes / 2)
            self.cwnd_bytes = self.ssthresh_bytes
            self.last_cut_ms = t_ms
        elif self.cwnd_bytes < self.ssthresh_bytes:
            self.cwnd_bytes += self.cwnd_bytes * dt_ms / rtt_ms  # doubles per rtt
        else:
            self.cwnd_bytes += TCP_MSS_BYTES * dt_ms / rtt_ms
        self.cwnd_bytes = min(self.cwnd_bytes, TCP_MAX_CWND_BYTES)


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one :meth:`Bottleneck.transfer` (or model step) did; all in bytes."""

    sent_bytes: float  # media bytes offered to the queue
    delivered_bytes: float  # media bytes leaving the queue
    dropped_bytes: float  # media bytes tail-dropped (buffer full)
    lost_bytes: float  # media bytes lost at random on the link
    received_bytes: float  # delivered − lost
    cross_sent_bytes: float
    cross_delivered_bytes: float
    cross_dropped_bytes: float
    capacity_bytes: float  # what the bottleneck could have forwarded
    backlog_bytes: float  # total backlog at the end
    peak_backlog_bytes: float  # largest total backlog during the step (drops happen only there)


class Bottleneck:
    """Drop-tail FIFO fluid queue whose capacity, delay and loss follow a trace.

    Args:
        trace: The bottleneck schedule.
        buffer_bytes: Drop-tail limit of the backlog, bytes (> 0).
        rng: Source of the random link loss.
    """

    def __init__(self, trace: Trace, buffer_bytes: float, rng: np.random.Generator) -> None:
        if not buffer_bytes > 0:
            raise ValueError(f"buffer_bytes must be > 0, got {buffer_bytes!r}")
        self.trace = trace
        self.buffer_bytes = float(buffer_bytes)
        self.media_backlog_bytes = 0.0
        self.cross_backlog_bytes = 0.0
        self._rng = rng

    @property
    def backlog_bytes(self) -> float:
        """Total bytes queued."""
        return self.media_backlog_bytes + self.cross_backlog_bytes

    def queue_delay_ms(self, t_ms: float) -> float:
        """Queuing delay of a byte arriving at ``t_ms``: backlog / capacity, ms."""
        return self.backlog_bytes * BITS_MS_PER_BYTE_S / (self.trace.bw_kbps_at(t_ms) * 1000.0)

    def transfer(
        self, t_ms: float, dt_ms: float, media_bps: float, cross_bps: float = 0.0
    ) -> StepResult:
        """Offer constant rates from ``t_ms`` for ``dt_ms``; split at trace period boundaries."""
        totals = [0.0] * 9
        end_ms = t_ms + dt_ms
        trace = self.trace
        # Backlog is linear within a segment, so its peak is at a segment end.
        peak = self.backlog_bytes
        while t_ms < end_ms:
            i = trace.index_at(t_ms)
            seg_end = min(end_ms, trace.next_change_ms(t_ms))
            part = self._segment(
                seg_end - t_ms, trace.bw_kbps[i] * 1000.0, trace.loss[i], media_bps, cross_bps
            )
            for k in range(9):
                totals[k] += part[k]
            peak = max(peak, self.backlog_bytes)
            t_ms = seg_end
        return _step_result(totals, self.backlog_bytes, peak)

    def _segment(
        self, dt_ms: float, capacity_bps: float, loss: float, media_bps: float, cross_bps: float
    ) -> tuple[float, ...]:
        cap = capacity_bps * dt_ms / BITS_MS_PER_BYTE_S
        a_media = media_bps * dt_ms / BITS_MS_PER_BYTE_S
        a_cross = cross_bps * dt_ms / BITS_MS_PER_BYTE_S
        b_media, b_cross = self.media_backlog_bytes, self.cross_backlog_bytes
        backlog = b_media + b_cross
        arrivals = a_media + a_cross
        served = min(cap, backlog + arrivals)
        dropped = max(0.0, backlog + arrivals - served - self.buffer_bytes)
        # FIFO: the old backlog leaves first, then the new arrivals (shares as documented).
        served_old = min(served, backlog)
        served_new = served - served_old
        media_old = served_old * (b_media / backlog) if backlog > 0 else 0.0
        media_share = a_media / arrivals if arrivals > 0 else 0.0
        served_media = media_old + served_new * media_share
        dropped_media = dropped * media_share
        served_cross = served - served_media
        dropped_cross = dropped - dropped_media
        self.media_backlog_bytes = max(0.0, b_media + a_media - served_media - dropped_media)
        self.cross_backlog_bytes = max(0.0, b_cross + a_cross - served_cross - dropped_cross)
        lost = 0.0
        if loss > 0 and served_media > 0:
            pieces = math.ceil(served_media / PACKET_SIZE_BYTES)
            lost = served_media * int(self._rng.binomial(pieces, loss)) / pieces
        return (
            a_media,
            served_media,
            dropped_media,
            lost,
            served_media - lost,
            a_cross,
            served_cross,
            dropped_cross,
            cap,
        )


@dataclass(frozen=True)
class IntervalStats:
    """The flow's metrics for one feedback interval (PROTOCOL.md §13 names and units).

    The first eleven fields are the ``rmcat::*`` records; the rest are totals for checks.
    """

    loglen_pkts: int  # packets received in the last LOGWIN (the receiver's history)
    qdel_ms: float  # queuing delay at the end of the interval
    rtt_ms: float  # 2 × propagation + queuing delay
    ploss_pkts: int  # packets lost (tail drop + link loss) in the last LOGWIN
    plr: float  # loss ratio over the last LOGWIN
    xcurr_ms: float  # NADA's aggregated congestion signal
    rrate_bps: float  # receive rate over the interval
    srate_bps: float  # sending rate used during the interval (action or NADA)
    nada_srate_bps: float  # NADA's own rate after this interval's update
    avgint_pkts: float  # average loss interval (RFC 5348 §5.4)
    curint_pkts: float  # packets received since the last loss event
    duration_ms: float
    start_media_backlog_bytes: float
    totals: StepResult


class RmcatModel:
    """The media flow, its bottleneck, optional cross traffic and NADA, stepped by the caller.

    Args:
        trace: The bottleneck schedule (times in ms since the simulation started).
        seed: Seeds the random link loss.
        buffer_bytes: Drop-tail limit of the bottleneck queue, bytes.
        start_ms: Simulated time at which the media flow (and the model clock) starts.
        udp_starts_ms: Start time of each constant-rate UDP cross flow.
        udp_rate_bps: Rate of each UDP cross flow, bit/s.
        tcp_starts_ms: Start time of each TCP (fluid Reno) cross flow.
        params: NADA's constants.
    """

    def __init__(
        self,
        trace: Trace,
        *,
        seed: int | np.random.SeedSequence,
        buffer_bytes: float,
        start_ms: float = 0.0,
        udp_starts_ms: Sequence[float] = (),
        udp_rate_bps: float = 0.0,
        tcp_starts_ms: Sequence[float] = (),
        params: NadaParams | None = None,
    ) -> None:
        self.trace = trace
        self.link = Bottleneck(trace, buffer_bytes, np.random.default_rng(seed))
        self.nada = NadaController(params)
        self.now_ms = float(start_ms)
        self._flow_start_ms = float(start_ms)
        self._udp_starts_ms = sorted(float(t) for t in udp_starts_ms)
        self._udp_rate_bps = float(udp_rate_bps)
        self._tcp = [RenoFlow(float(t)) for t in sorted(tcp_starts_ms)]
        # Receiver log over LOGWIN: (end time, received bytes, lost bytes, queuing delay ms).
        self._log: deque[tuple[float, float, float, float]] = deque()
        self._loss_intervals: deque[float] = deque(maxlen=len(LOSS_INTERVAL_WEIGHTS))
        self._curint_pkts = 0.0
        self._last_loss_event_ms = -math.inf
        self._start_interval()

    @property
    def nada_rate_bps(self) -> float:
        """NADA's current reference rate, bit/s."""
        return self.nada.rate_bps

    def rtt_ms(self) -> float:
        """Round-trip time now: 2 × propagation delay + queuing delay, ms."""
        i = self.trace.index_at(self.now_ms)
        return 2.0 * self.trace.delay_ms[i] + self.link.queue_delay_ms(self.now_ms)

    def _start_interval(self) -> None:
        self._interval_start_ms = self.now_ms
        self._interval_start_backlog = self.link.media_backlog_bytes
        self._totals = [0.0] * 9
        self._peak_backlog = self.link.backlog_bytes
        self._rate_min = math.inf
        self._rate_max = -math.inf
        self._rate_ms_sum = 0.0

    def step(self, dt_ms: float, send_rate_bps: float | None = None) -> StepResult:
        """Advance ``dt_ms`` with the media flow sending at ``send_rate_bps`` (None: NADA's rate).

        Raises:
            ValueError: ``dt_ms`` <= 0, or a rate that is negative or not finite.
        """
        if not dt_ms > 0:
            raise ValueError(f"dt_ms must be > 0, got {dt_ms!r}")
        rate = self.nada.rate_bps if send_rate_bps is None else float(send_rate_bps)
        if not (math.isfinite(rate) and rate >= 0):
            raise ValueError(f"send_rate_bps must be finite and >= 0, got {send_rate_bps!r}")
        t = self.now_ms
        rtt = self.rtt_ms()
        cross_bps = self._udp_rate_bps * sum(1 for s in self._udp_starts_ms if s <= t)
        active_tcp = [flow for flow in self._tcp if flow.start_ms <= t]
        for flow in active_tcp:
            cross_bps += flow.rate_bps(rtt)
        result = self.link.transfer(t, dt_ms, rate, cross_bps)
        self.now_ms = t + dt_ms
        congested = result.dropped_bytes + result.cross_dropped_bytes > 0
        for flow in active_tcp:
            flow.advance(t, dt_ms, rtt, congested)
        self._record(result, rtt)
        for k, value in enumerate(
            (
                result.sent_bytes,
                result.delivered_bytes,
                result.dropped_bytes,
                result.lost_bytes,
                result.received_bytes,
                result.cross_sent_bytes,
                result.cross_delivered_bytes,
                result.cross_dropped_bytes,
                result.capacity_bytes,
            )
        ):
            self._totals[k] += value
        self._peak_backlog = max(self._peak_backlog, result.peak_backlog_bytes)
        self._rate_min = min(self._rate_min, rate)
        self._rate_max = max(self._rate_max, rate)
        self._rate_ms_sum += rate * dt_ms
        return result

    def _record(self, result: StepResult, rtt_ms: float) -> None:
        """Receiver side: log the step and track loss events (RFC 5348 §5.2)."""
        lost = result.dropped_bytes + result.lost_bytes
        if lost > 0 and self.now_ms - self._last_loss_event_ms > rtt_ms:
            self._loss_intervals.appendleft(self._curint_pkts)
            self._curint_pkts = 0.0
            self._last_loss_event_ms = self.now_ms
        self._curint_pkts += result.received_bytes / PACKET_SIZE_BYTES
        self._log.append(
            (self.now_ms, result.received_bytes, lost, self.link.queue_delay_ms(self.now_ms))
        )
        horizon = self.now_ms - self.nada.params.logwin_ms
        while self._log and self._log[0][0] <= horizon:
            self._log.popleft()

    def _avgint_pkts(self) -> float:
        closed = list(self._loss_intervals)
        with_open = [self._curint_pkts, *closed[: len(LOSS_INTERVAL_WEIGHTS) - 1]]
        means = [_weighted_mean(with_open)]
        if closed:
            means.append(_weighted_mean(closed))
        return max(means)

    def end_interval(self) -> IntervalStats:
        """Close the feedback interval: compute its metrics, then run one NADA update."""
        p = self.nada.params
        duration_ms = self.now_ms - self._interval_start_ms
        qdel_ms = self.link.queue_delay_ms(self.now_ms)
        rtt_ms = self.rtt_ms()
        received_w = sum(entry[1] for entry in self._log)
        lost_w = sum(entry[2] for entry in self._log)
        max_qdel_w = max((entry[3] for entry in self._log), default=0.0)
        plr = lost_w / (lost_w + received_w) if lost_w + received_w > 0 else 0.0
        recent_loss = lost_w > 0
        x_curr_ms = self.nada.congestion_signal_ms(qdel_ms, plr, recent_loss)
        window_ms = min(p.logwin_ms, self.now_ms - self._flow_start_ms)
        recv_rate_w = received_w * BITS_MS_PER_BYTE_S / window_ms if window_ms > 0 else 0.0
        self.nada.update(
            x_curr_ms=x_curr_ms,
            rtt_ms=rtt_ms,
            recv_rate_bps=recv_rate_w,
            accelerated=not recent_loss and max_qdel_w < p.qeps_ms,
            delta_ms=duration_ms if duration_ms > 0 else p.delta_ms,
        )
        totals = _step_result(self._totals, self.link.backlog_bytes, self._peak_backlog)
        if self._rate_min == self._rate_max:
            srate_bps = self._rate_min
        elif duration_ms > 0:
            srate_bps = self._rate_ms_sum / duration_ms
        else:
            srate_bps = self.nada.rate_bps
        rrate_bps = (
            totals.received_bytes * BITS_MS_PER_BYTE_S / duration_ms if duration_ms > 0 else 0.0
        )
        stats = IntervalStats(
            loglen_pkts=round(received_w / PACKET_SIZE_BYTES),
            qdel_ms=qdel_ms,
            rtt_ms=rtt_ms,
            ploss_pkts=round(lost_w / PACKET_SIZE_BYTES),
            plr=plr,
            xcurr_ms=x_curr_ms,
            rrate_bps=rrate_bps,
            srate_bps=srate_bps,
            nada_srate_bps=self.nada.rate_bps,
            avgint_pkts=self._avgint_pkts(),
            curint_pkts=self._curint_pkts,
            duration_ms=duration_ms,
            start_media_backlog_bytes=self._interval_start_backlog,
            totals=totals,
        )
        self._start_interval()
        return stats


def _step_result(totals: Sequence[float], backlog_bytes: float, peak_bytes: float) -> StepResult:
    """A :class:`StepResult` from its first nine fields, in order, and the backlogs."""
    sent, delivered, dropped, lost, received, x_sent, x_delivered, x_dropped, cap = totals
    return StepResult(
        sent,
        delivered,
        dropped,
        lost,
        received,
        x_sent,
        x_delivered,
        x_dropped,
        cap,
        backlog_bytes,
        peak_bytes,
    )


def _weighted_mean(intervals: Sequence[float]) -> float:
    weights = LOSS_INTERVAL_WEIGHTS[: len(intervals)]
    return sum(w * i for w, i in zip(weights, intervals, strict=False)) / sum(weights)
