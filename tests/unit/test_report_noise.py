"""model.report: what the reports add to the model's state (rate probes, ACK bursts)."""

from __future__ import annotations

import numpy as np

from netgym_sim.model import radio
from netgym_sim.model.report import ACK_BUSY_SHARE, ReportNoise
from netgym_sim.model.stats import IntervalStats
from netgym_sim.model.topology import LTE, NO_CELL, WIFI

WIFI_PROFILE = radio.wifi_profile()
LEVELS = radio.capacity_mbps(WIFI_PROFILE, np.asarray(WIFI_PROFILE.level_min_snr_db))


def _stats(n: int, level: float, wifi_rate: float, busy: float, ack_link: int) -> IntervalStats:
    def zeros(*shape: int) -> np.ndarray:
        return np.zeros(shape)

    max_rate = zeros(2, n, 3)
    max_rate[:, :, WIFI] = level
    link_rate = zeros(n, 3)
    link_rate[:, WIFI] = wifi_rate
    cell = np.full((n, 3), NO_CELL, dtype=np.int64)
    cell[:, WIFI] = 1
    share = zeros(n, 3)
    share[:, WIFI] = busy / n
    return IntervalStats(
        direction=0,
        measured_ms=100.0,
        xy_m=zeros(n, 2),
        cell_id=cell,
        max_rate_mbps=max_rate,
        tx_rate_mbps=link_rate.sum(axis=1),
        rate_mbps=link_rate.sum(axis=1),
        link_rate_mbps=link_rate,
        loss_ratio=zeros(n),
        owd_ms=zeros(n),
        max_owd_ms=zeros(n),
        link_owd_ms=zeros(n, 3),
        link_max_owd_ms=zeros(n, 3),
        violation_pct=zeros(n, 3),
        qos_ok=np.ones(n, bool),
        split_ratio_pct=zeros(2, n, 3),
        traffic_ratio_pct=zeros(2, n, 3),
        time_share=share,
        packets=np.ones(n, bool),
        ack_rate_mbps=np.full(n, 0.6),
        ack_link=np.full(n, ack_link, dtype=np.int64),
        ack_owd_ms=np.ones(n),
    )


def _run(stats: IntervalStats, intervals: int, seed: int = 7) -> list[IntervalStats]:
    noise = ReportNoise(stats.cell_id.shape[0], np.random.SeedSequence(seed), WIFI_PROFILE)
    return [noise.apply(stats) for _ in range(intervals)]


def test_a_probe_reports_another_level_and_never_a_missing_link() -> None:
    level = float(LEVELS[4])
    out = _run(_stats(50, level, 30.0, 0.9, WIFI), 200)
    reported = np.stack([s.max_rate_mbps[0, :, WIFI] for s in out])
    probes = reported != level
    assert np.all(np.isin(np.round(reported[probes], 3), np.round(LEVELS, 3)))
    share = float(probes.mean())
    assert 0.5 * radio.PROBE_CHANCE[-1] < share < 2.0 * radio.PROBE_CHANCE[-1], share
    none = _run(_stats(20, 0.0, 0.0, 0.0, -1), 200)
    assert all(np.all(s.max_rate_mbps[0, :, WIFI] == 0.0) for s in none)


def test_probes_come_more_often_at_a_low_wifi_rate() -> None:
    level = float(LEVELS[8])
    light, heavy = (
        np.mean([np.mean(s.max_rate_mbps[0, :, WIFI] != level) for s in _run(stats, 300)])
        for stats in (_stats(40, level, 1.0, 0.9, WIFI), _stats(40, level, 40.0, 0.9, WIFI))
    )
    assert light > 2.0 * heavy


def test_acks_on_a_busy_ap_are_held_and_all_delivered() -> None:
    stats = _stats(30, float(LEVELS[6]), 30.0, 0.9, WIFI)
    noise = ReportNoise(30, np.random.SeedSequence(7), WIFI_PROFILE)
    out = [noise.apply(stats) for _ in range(400)]
    acks = np.stack([s.ack_rate_mbps for s in out])
    assert np.std(acks / 0.6) > 0.05  # bursts: the ACK rate no longer follows the data
    assert np.all(acks >= 0.0)
    # Every ACK is reported once: what was sent = what was reported + what is held now,
    # and what is held stays a few intervals' worth (bursts, not a growing backlog).
    assert np.allclose(acks.sum(axis=0) + noise.held_mbps, 0.6 * len(out))
    assert np.all(noise.held_mbps < 0.6 * 3)
    assert np.all(out[0].link_rate_mbps == stats.link_rate_mbps)


def test_acks_stay_even_on_a_quiet_ap_or_over_lte() -> None:
    quiet = _run(_stats(10, float(LEVELS[6]), 5.0, 0.5 * ACK_BUSY_SHARE, WIFI), 100)
    lte = _run(_stats(10, float(LEVELS[6]), 30.0, 0.9, LTE), 100)
    for out in (quiet, lte):
        assert all(np.all(s.ack_rate_mbps == 0.6) for s in out)
