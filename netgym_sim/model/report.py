"""What an interval's statistics report beyond the model's state, as ns-3 reports it.

Two things ns-3's reports show that the rates, queues and split of the model do not carry
(both calibrated to fixtures/ns3; FIDELITY.md):

- Minstrel-HT's rate probes: the reported Wi-Fi level of a user is, for one interval, another
  level (:func:`netgym_sim.model.radio.probe_levels`).
- ACK compression on a busy Wi-Fi uplink: a TCP receiver's ACKs wait for the channel its AP
  keeps busy and reach the sender in bursts, so the uplink rate of the ACKs varies more from
  one interval to the next than the downlink rate it acknowledges. Of a user whose ACKs go
  over Wi-Fi, on an AP busy for at least :data:`ACK_BUSY_SHARE` of the interval (its users'
  time shares summed), a uniform fraction in [0, 2 × :data:`ACK_HELD_FRACTION`) of the
  interval's ACKs is held back; the ACKs held are all delivered with the interval's own in an
  interval drawn with chance :data:`ACK_FLUSH_CHANCE` (or when the user leaves such an AP;
  they are dropped from the report when its ACKs stop). Over time every ACK is reported once.

Rules:
- One :class:`ReportNoise` per network, with its own random stream (spawned from the
  network's seed), applied to that network's users only. The lock-step batch applies the
  noises of stacked networks in one pass (:func:`apply_stacked`): each network's draws, its
  users' held ACKs and its APs' load are its own, and every operation is row by row, so the
  bits are those of each network's :meth:`ReportNoise.apply`.
- Report only: the rates users get, their queues, TCP and the split never see it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from netgym_sim.model import radio
from netgym_sim.model.stats import IntervalStats
from netgym_sim.model.topology import NO_CELL, WIFI, FloatArray, IntArray

__all__ = [
    "ACK_BUSY_SHARE",
    "ACK_FLUSH_CHANCE",
    "ACK_HELD_FRACTION",
    "ReportNoise",
    "apply_stacked",
]

#: In fixtures/ns3's TCP sessions a user's uplink (ACK) rate over its downlink rate, interval by
#: interval, stays within 0.90–1.08 of its median (5–95 %; mean absolute deviation 8 %) while
#: its AP's users keep the AP under 30 % busy (their Wi-Fi rate over 0.84 × their level, summed:
#: 11,049 user-intervals) and spreads to 0.78–1.48 (15 %) from 30 % busy (27,968): the ACKs are
#: held and released in bursts.
ACK_BUSY_SHARE = 0.3
#: Mean fraction of an interval's ACKs held back, and the chance an interval delivers the ACKs
#: held, fitted to that spread (median-normalised): 5/10/25/75/90/95 % points 0.82/0.84/0.91/
#: 1.13/1.31/1.45 and mean absolute deviation 0.14 (ns-3: 0.78/0.85/0.96/1.06/1.21/1.48, 0.15).
ACK_HELD_FRACTION = 0.12
ACK_FLUSH_CHANCE = 0.5
#: Intervals of draws a network holds (cycled), as for the contention draws.
PERIODS = radio.FADE_PERIODS


class ReportNoise:
    """The rate probes and ACK compression of one network's ``n`` users.

    Args:
        n: Users.
        seed: The stream's seed sequence.
        wifi: The Wi-Fi radio profile (its rate levels are the probes' levels).
    """

    def __init__(self, n: int, seed: np.random.SeedSequence, wifi: radio.RadioProfile) -> None:
        self._draws = np.random.default_rng(seed).random((n, PERIODS, 4))
        self._count = 0
        self._wifi = wifi
        #: ACK rate held back per user (Mbit/s of one interval).
        self.held_mbps: FloatArray = np.zeros(n)

    def next_draws(self) -> FloatArray:
        """This interval's draws, ``(n, 4)`` (the stream moves on by one interval)."""
        draws: FloatArray = self._draws[:, self._count % PERIODS]
        self._count += 1
        return draws

    def apply(self, stats: IntervalStats) -> IntervalStats:
        """``stats`` as reported: probe levels and compressed ACK rates."""
        reported, self.held_mbps = _report(
            stats, self._wifi, self.next_draws(), self.held_mbps, stats.cell_id[:, WIFI]
        )
        return reported


def apply_stacked(
    noises: Sequence[ReportNoise], stats: IntervalStats, owners: IntArray
) -> IntervalStats:
    """``stats`` of stacked networks as reported: each network's :meth:`ReportNoise.apply`
    on its own rows (``owners``: each row's network, in ``noises``' order), in one pass."""
    bounds = np.searchsorted(owners, np.arange(len(noises) + 1))
    draws = np.concatenate([noise.next_draws() for noise in noises])
    held = np.concatenate([noise.held_mbps for noise in noises])
    ap = stats.cell_id[:, WIFI]
    keyed = np.where(ap != NO_CELL, ap + owners * (NO_CELL + 1), NO_CELL)
    reported, held = _report(stats, noises[0]._wifi, draws, held, keyed)
    for i, noise in enumerate(noises):
        noise.held_mbps = held[bounds[i] : bounds[i + 1]]
    return reported


def _report(
    stats: IntervalStats,
    wifi: radio.RadioProfile,
    draws: FloatArray,
    held_mbps: FloatArray,
    ap: IntArray,
) -> tuple[IntervalStats, FloatArray]:
    """``stats`` as reported and the ACK rate held after (``ap``: each user's AP key, one
    key per AP of its own network, :data:`NO_CELL` none)."""
    d = stats.direction
    level = stats.max_rate_mbps.copy()
    rate = stats.link_rate_mbps[:, WIFI] if d == 0 else np.zeros(level.shape[1])
    level[0, :, WIFI] = radio.probe_levels(wifi, level[0, :, WIFI], rate, draws[:, :2])
    acks, held = _compress(stats, draws[:, 2:], held_mbps, ap)
    return dataclasses.replace(stats, max_rate_mbps=level, ack_rate_mbps=acks), held


def _compress(
    stats: IntervalStats, draws: FloatArray, held_mbps: FloatArray, ap: IntArray
) -> tuple[FloatArray, FloatArray]:
    on_ap = ap != NO_CELL
    where = np.where(on_ap, ap, 0)
    busy_per_ap = np.bincount(where, weights=np.where(on_ap, stats.time_share[:, WIFI], 0.0))
    busy = np.where(on_ap, busy_per_ap[where], 0.0)
    acking = stats.ack_link >= 0
    compressed = acking & (stats.ack_link == WIFI) & (busy >= ACK_BUSY_SHARE)
    held = np.where(compressed, 2.0 * ACK_HELD_FRACTION * draws[:, 0], 0.0)
    flush = acking & (~compressed | (draws[:, 1] < ACK_FLUSH_CHANCE))
    sent = stats.ack_rate_mbps
    out: FloatArray = sent * (1.0 - held) + np.where(flush, held_mbps, 0.0)
    kept: FloatArray = np.where(flush | ~acking, 0.0, held_mbps) + sent * held
    return out, kept
