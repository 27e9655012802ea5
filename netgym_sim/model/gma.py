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
  the earlier packets of the slower one. Per sub-step each link's packets gain
  ``κ · (max_l mean_l − mean_l)`` with κ = :data:`REORDERING_FACTOR` = 1 (full in-order
  delivery), so once both links carry traffic the aggregate delay is the slower link's: the
  ns-3 sample's ``gma::dl::owd`` equals its ``gma::lte::dl::owd`` for every user (298, 65,
  682, 507 ms) while Wi-Fi's is 0–2 ms. The aggregate stays between the smallest and the
  largest link delay plus a non-negative reordering term (L12).
- **Built-in split** (``value: []``, the system default of nqos_split): GMA's own
  delay-based traffic splitting control (draft-zhu-gma-tsc, "GMA Traffic Splitting
  Control": the receiver compares the links' one-way delays and moves the split in steps of
  burst units). Rule, see :func:`delay_based_step`: a user starts with all traffic on Wi-Fi
  (as ns-3 does); every :data:`TSC_PERIOD_MS` of simulated time, at a seeded phase of its
  own (users do not decide in lock-step), if the highest and the lowest one-way delay of
  its usable links over the interval that ends the period (ns-3's moves follow the delays
  of the interval they show in: 94 % of them go from the slower link of that interval, 72 %
  from the slower of the last second's) differ by more than
  :data:`TSC_DELAY_THRESHOLD_MS`, units (1/32) move
  from the slowest link to the fastest: one, and one more for each move beyond
  :data:`TSC_SPEEDUP_AFTER` in an unbroken run of moves off the same link (1, 1, 1, 1, 2,
  3, 4, …; a decision that does not move, a lost link or an agent's split ends the run). A
  link with no packets in the period counts with its
  base delay (GMA's probes), and the bursts of a link the user lost go to its fastest
  usable link. A Wi-Fi link below :data:`WIFI_DOWN_SNR_DB` counts as lost to this rule
  (GMA's probes fail at the cell edge) though the user stays associated and a fixed split
  still uses it. The period and the runs are calibrated to the ns-3 recordings of
  fixtures/ns3 (FIDELITY.md).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from netgym_sim.model.topology import LTE, WIFI, FloatArray, IntArray, users_per_cell

#: Share of a flow below which a link does not bound its in-order delivery (:func:`in_order_bits`).
MIN_SHARE = 1e-9

__all__ = [
    "BURST_PACKETS",
    "MAX_BUSY",
    "MIN_SHARE",
    "REORDERING_FACTOR",
    "SPLIT_LAG_MS",
    "TSC_DELAY_THRESHOLD_MS",
    "TSC_PERIOD_MS",
    "TSC_SPEEDUP_AFTER",
    "WIFI_DOWN_SNR_DB",
    "burst_fractions",
    "delay_based_step",
    "in_order_bits",
    "lag_factor",
    "md1_wait_ms",
    "queue_waits_ms",
    "shared_wifi_buffer_bits",
    "start_weights",
    "steer_fractions",
    "violation_fraction",
]

#: Packets per GMA split burst (``mx_algorithm`` "gma"; PROTOCOL.md §9).
BURST_PACKETS = 32
#: Time constant of the split lag, ms.
SPLIT_LAG_MS = 25.0
#: Share of the gap to the slowest link's delay that in-order delivery adds.
REORDERING_FACTOR = 1.0
#: How often each user's built-in (delay-based) split decides, simulated ms. fixtures/ns3:
#: where a user's links differ by more than 10 ms, ns-3 moves its split one unit in 7–13 %
#: of the 100 ms intervals (2,000 user-intervals of the docs-layout recordings): about once
#: a second.
TSC_PERIOD_MS = 1000.0
#: Delay difference between a user's links that makes the built-in split move, ms.
TSC_DELAY_THRESHOLD_MS = 10.0
#: Moves in an unbroken run off one link after which each move is one unit larger.
#: fixtures/ns3's GMA-own recordings (2,250 moves): a run's moves go 1, 1, 1, 1, then 2
#: (7 of 13 up), 3, 4 units; the session's first run, off Wi-Fi, is seen as 1, 1, 1, then 2
#: (105 of 112), 3 (45 of 55), 4 (8 of 10) because its first move (100 → 96.9 %) comes
#: before ns-3 first reports a split.
TSC_SPEEDUP_AFTER = 3
#: Downlink SNR below which the built-in split counts a Wi-Fi link as down (its traffic goes
#: to the other links), dB, within VHT MCS 4's band (11–16.5 dB, radio.py). Calibrated to
#: fixtures/ns3's default-split recordings: a user at a reported 43.9 Mbit/s (MCS 4) has its
#: traffic off Wi-Fi in 25 % of user-steps (mean over the sessions; netgym 23 %), at 65.8 and
#: above in 0.6 % (netgym 0 %); pooled, 51 % at 43.9 and 57–83 % at 7.3–29.2 Mbit/s.
WIFI_DOWN_SNR_DB = 13.0
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
    # Clip before dividing, so that a tiny (subnormal) width cannot overflow the ratio.
    ramp = np.clip(hi_ms - threshold_ms, 0.0, safe) / safe
    point = np.where(lo_ms > threshold_ms, 1.0, 0.0)
    result: FloatArray = np.where(width > 0.0, ramp, point)
    return result


def delay_based_step(
    bursts: FloatArray,
    owd_ms: FloatArray,
    usable: npt.NDArray[np.bool_],
    run: IntArray | None = None,
    run_from: IntArray | None = None,
) -> tuple[FloatArray, IntArray, IntArray]:
    """One decision of the built-in delay-based split, for ``(n, L)`` burst counts.

    Args:
        bursts: Packets per link of each user's burst (each row sums to 32).
        owd_ms: The links' one-way delays over the last period (base delay where no packet).
        usable: Which links each user can use now.
        run: Each user's moves so far in its unbroken run (0: none; default all 0).
        run_from: The link each user's run moves traffic off (−1: none).

    Returns:
        The new burst counts, runs and runs' links. A lost link's bursts go to the fastest
        usable link (ending the run); then, where the usable links' delays differ by more than
        :data:`TSC_DELAY_THRESHOLD_MS`, units move from the slowest usable link that carries
        some to the fastest: ``max(1, run − TSC_SPEEDUP_AFTER)`` of them, the move counted in
        ``run`` (a new run if it leaves another link), at most what the slow link carries.
        A decision that moves nothing ends the run.
    """
    out: FloatArray = np.array(bursts, dtype=np.float64)
    n = out.shape[0]
    rows = np.arange(n)
    runs: IntArray = np.zeros(n, dtype=np.int64) if run is None else np.array(run, np.int64)
    froms: IntArray = (
        np.full(n, -1, dtype=np.int64) if run_from is None else np.array(run_from, np.int64)
    )
    has_link = usable.any(axis=1)
    fast = np.argmin(np.where(usable, owd_ms, np.inf), axis=1)
    stranded = np.where(usable, 0.0, out).sum(axis=1)
    move = has_link & (stranded > 0)
    out[move] = np.where(usable[move], out[move], 0.0)
    out[rows[move], fast[move]] += stranded[move]
    carrying = usable & (out > 0)
    slow = np.argmax(np.where(carrying, owd_ms, -np.inf), axis=1)
    gap = owd_ms[rows, slow] - owd_ms[rows, fast]
    shift = has_link & carrying.any(axis=1) & (slow != fast) & (gap > TSC_DELAY_THRESHOLD_MS)
    continuing = (froms == slow) & ~move
    runs = np.where(shift, np.where(continuing, runs, 0) + 1, 0)
    froms = np.where(shift, slow, -1)
    units = np.minimum(np.maximum(runs - TSC_SPEEDUP_AFTER, 1), out[rows, slow])
    units = np.where(shift, units, 0.0)
    out[rows, slow] -= units
    out[rows, fast] += units
    return out, runs, froms


def in_order_bits(served: FloatArray, offered: FloatArray) -> FloatArray:
    """Bits per user that arrive in order after GMA's reordering (what TCP acknowledges).

    Packets are split over the links in the ratio they were offered; the receiver hands them
    on in order, so the link that delivers the smallest part of its share bounds the flow. A
    link offered less than :data:`MIN_SHARE` of the flow bounds nothing.
    """
    total = offered.sum(axis=1)
    spread = offered / np.where(total > 0.0, total, 1.0)[:, None]
    part = spread > MIN_SHARE
    per_share = np.where(part, served / np.where(part, spread, 1.0), np.inf)
    bound = per_share.min(axis=1)
    every = served.sum(axis=1)
    in_order: FloatArray = np.where(np.isfinite(bound), np.minimum(bound, every), every)
    return in_order


def queue_waits_ms(  # noqa: PLR0917 - the arrays of one sub-step
    queue0: FloatArray,
    queue1: FloatArray,
    served_bits: FloatArray,
    dt_ms: float,
    cell: IntArray,
    shared: int,
) -> tuple[FloatArray, FloatArray]:
    """The smallest and largest queueing wait (ms) of the packets each user gets on each link.

    A user's own queue (``queue0`` before, ``queue1`` after the sub-step, bits) drains at the
    rate it was served, except on link ``shared`` (Wi-Fi): an AP keeps one transmit queue for
    all its stations (ns-3's ``WifiMacQueue``), so every user an AP serves waits behind the
    queue of all it serves, at the rate it serves them all — in fixtures/ns3 the users of one
    AP report Wi-Fi delays within a few % of each other (user_cv 0.03–0.06 where 4–8 users
    share two APs).
    """
    has = served_bits > 0.0
    rate = np.where(has, served_bits / dt_ms, 1.0)
    lo = np.minimum(queue0, queue1) / rate
    hi = np.maximum(queue0, queue1) / rate
    col = cell[:, shared]
    member = (col >= 0) & has[:, shared]
    if not np.any(member):
        return lo, hi
    where = np.where(member, col, 0)
    size = int(where.max()) + 1

    def per_cell(values: FloatArray) -> FloatArray:
        summed = np.bincount(where, weights=np.where(member, values, 0.0), minlength=size)
        return np.asarray(summed[where], dtype=np.float64)

    q0, q1 = per_cell(queue0[:, shared]), per_cell(queue1[:, shared])
    total = per_cell(rate[:, shared])
    safe = np.where(total > 0.0, total, 1.0)
    lo[:, shared] = np.where(member, np.minimum(q0, q1) / safe, lo[:, shared])
    hi[:, shared] = np.where(member, np.maximum(q0, q1) / safe, hi[:, shared])
    return lo, hi


def shared_wifi_buffer_bits(full_bits: FloatArray, group: IntArray, wifi: int) -> FloatArray:
    """Each user's room in its links' buffers: ``full_bits`` but on Wi-Fi its share of its AP's.

    An AP keeps one transmit queue (ns-3's ``WifiMacQueue``, 500 packets) for all the users it
    serves, so ``k`` users of one AP (``group``, −1: none) hold ``1/k`` of it each: in
    fixtures/ns3 the Wi-Fi delay stays at 60–110 ms whether 1 or 4 users share an AP.
    """
    out = np.array(full_bits, dtype=np.float64)
    out[:, wifi] = full_bits[:, wifi] / np.maximum(users_per_cell(group), 1)
    return out


def start_weights(usable: npt.NDArray[np.bool_]) -> FloatArray:
    """GMA's start: everything on Wi-Fi where it is usable, else on the other links.

    ns-3 starts every user on Wi-Fi (``traffic_ratio`` 100 % in the first interval of every
    fixtures/ns3 recording of a user in Wi-Fi range); a user out of range spreads equally
    over its other usable links (LTE for a user with none). ``usable``: ``(n, 3)`` per link.
    """
    weights: FloatArray = usable.astype(np.float64)
    on_wifi = usable[:, WIFI]
    weights[on_wifi] = 0.0
    weights[on_wifi, WIFI] = 1.0
    weights[weights.sum(axis=1) <= 0.0, LTE] = 1.0
    return weights
