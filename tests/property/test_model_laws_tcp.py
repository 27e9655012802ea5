"""Laws of TCP over multi-access (the fidelity laws F1–F4 of docs/model.md), as metamorphic
properties: same seed, one change, compare.

- F1 Under TCP, a larger buffer never lowers delay.
- F2 With traffic on both links, the aggregate one-way delay is at least the faster link's.
- F3 Moving split off the bloated link lowers the aggregate one-way delay — once it is moved
  far enough that the link stops being the bottleneck: a loss-based TCP fills the buffer of
  whichever link limits it, so a small move leaves the bloated queue as full as before.
- F4 A farther user never gets a higher quantized ``max_rate`` (shadowing off), and every
  reported capacity is one of the technology's rate levels; LTE is free space, as ns-3's.
- F5 BBR (``tcp``, ``TcpBbr``) holds a steady queue on Wi-Fi, where its window binds, and
  grows its queue on LTE all session (ns-3's TcpBbr over LTE, fixtures/ns3).
F1–F3 are laws of the loss-based sender (``TcpNewReno``), which fills whatever buffer it has.
Plus the calibration fact the model must keep: a loss-based TCP builds queues of tens to
hundreds of ms on LTE.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_sim.model import gma
from netgym_sim.model.network import MultiAccessNetwork
from netgym_sim.model.radio import (
    LTE_CQI_SE,
    LTE_RB_HZ,
    VHT20_RATE_MBPS,
    WIFI_REPORT_FACTOR,
    capacity_mbps,
    lte_profile,
    snr_db,
    wifi_profile,
)
from netgym_sim.model.topology import LTE, WIFI, users_per_cell
from netgym_sim.scenarios.nqos_split import NqosSplitScenario
from tests.property.test_model_laws import by_name, run, seeds, small_config, split_action, values


def docs_layout(
    users: int, *, static: bool = False, protocol: str = "TcpNewReno"
) -> dict[str, Any]:
    """The NetworkGym docs' ns-3 sample layout: eNB at x = 0 (50 RBs), APs at x = 15 and 35,
    users in 0–55 × 0–10 m, TCP downlink (the loss-based sender unless ``protocol`` says)."""
    config = small_config(users=users, protocol=protocol, static=static)
    config["lte"]["resource_block_num"] = 50
    config["lte_enb_locations"] = {"x": 0, "y": 0, "z": 3}
    config["wifi_ap_locations"] = [{"x": 15, "y": 0, "z": 3}, {"x": 35, "y": 0, "z": 3}]
    config["nr_gnb_locations"] = []
    config["user_location_range"] = {"min_x": 0, "max_x": 55, "min_y": 0, "max_y": 10, "z": 1.5}
    return config


def model_of(config: dict[str, Any], seed: int, buffer_packets: float | None = None) -> Any:
    """The scenario of ``config``, its network rebuilt with another LTE/Wi-Fi buffer."""
    scenario = NqosSplitScenario(config, seed)
    if buffer_packets is not None:
        net = scenario.model
        params = dataclasses.replace(net.params, buffer_packets=(buffer_packets,) * 3)
        # The same model seed as the scenario's (its second spawned child of the session seed).
        _, model_ss = np.random.SeedSequence(seed).spawn(2)
        scenario.model = MultiAccessNetwork(params, net.users, int(model_ss.generate_state(1)[0]))
    return scenario


def owd_series(scenario: Any, intervals: int, start_ms: int = 1000, step_ms: int = 100) -> Any:
    """Per-interval aggregate mean and max one-way delay of every user (ms, −1: none)."""
    net = scenario.model
    means, tops = [], []
    for k in range(1, intervals + 1):
        net.advance_to(float(start_ms + k * step_ms))
        stats = net.end_interval()
        means.append(stats.owd_ms)
        tops.append(stats.max_owd_ms)
    return np.array(means), np.array(tops)


# -- F1 ------------------------------------------------------------------------------------
@settings(max_examples=5, deadline=None)
@given(seeds, st.integers(1, 4), st.sampled_from([50, 100, 200]), st.sampled_from([2, 4]))
def test_f1_a_larger_buffer_never_lowers_delay(
    seed: int, users: int, small: int, factor: int
) -> None:
    # All traffic on LTE, static users: the buffer alone differs between the two runs.
    config = docs_layout(users, static=True)
    rows = [[0.0, 0.0, 1.0]] * users
    results = []
    for buffer in (small, small * factor):
        scenario = model_of(config, seed, buffer)
        scenario.model.set_split(0, np.arange(users), np.asarray(rows))
        results.append(owd_series(scenario, 60))
    (mean_s, top_s), (mean_b, top_b) = results
    assert np.all(top_b.max(axis=0) >= top_s.max(axis=0))
    assert np.all(mean_b.mean(axis=0) >= mean_s.mean(axis=0))
    # And the queue really is what the buffer allows: the peak delay grows with it.
    assert top_b.max() > top_s.max()


# -- F2 ------------------------------------------------------------------------------------
@settings(max_examples=5, deadline=None)
@given(seeds, st.integers(1, 4), st.integers(4, 28))
def test_f2_aggregate_delay_is_at_least_the_faster_links(
    seed: int, users: int, wifi_units: int
) -> None:
    config = docs_layout(users)
    rows = [[float(wifi_units), 0.0, 32.0 - wifi_units]] * users
    checked = 0
    for measurement in run(config, seed, 40, split_action(rows)):
        stats = by_name(measurement)
        owd = values(stats, "gma::dl::owd")
        wifi, lte = values(stats, "gma::wifi::dl::owd"), values(stats, "gma::lte::dl::owd")
        both = (wifi >= 0) & (lte >= 0)
        # Whole ms on both sides: at most one ms of rounding between them.
        assert np.all(owd[both] >= np.minimum(wifi, lte)[both] - 1.0)
        checked += int(both.sum())
    assert checked > 0


def test_f2_in_order_delivery_makes_the_aggregate_the_slower_links_delay() -> None:
    # The ns-3 sample: gma::dl::owd equals gma::lte::dl::owd while Wi-Fi's is ~0.
    config = docs_layout(4)
    last = by_name(run(config, 3, 50, split_action([[1.0, 0.0, 1.0]] * 4))[-1])
    owd, lte = values(last, "gma::dl::owd"), values(last, "gma::lte::dl::owd")
    wifi = values(last, "gma::wifi::dl::owd")
    assert np.all(lte > wifi + 10)
    assert np.all(np.abs(owd - lte) <= 0.05 * lte + 1.0)


# -- F3 ------------------------------------------------------------------------------------
@settings(max_examples=5, deadline=None)
@given(seeds, st.integers(1, 4), st.integers(14, 16))
def test_f3_moving_split_off_the_bloated_link_lowers_aggregate_delay(
    seed: int, users: int, moved: int
) -> None:
    # Half on LTE bloats its buffer; an eighth or less of the split no longer fills LTE. (A
    # quarter still can, in ns-3 too: fixtures/ns3's `*_tcp_q3_*` recordings keep LTE the
    # bottleneck, its queue growing ~50 ms/s.)
    config = docs_layout(users)
    half = [[16.0, 0.0, 16.0]] * users
    less_lte = [[16.0 + moved, 0.0, 16.0 - moved]] * users
    means = []
    for rows in (half, less_lte):
        history = [by_name(m) for m in run(config, seed, 60, split_action(rows))]
        owd = np.array([values(h, "gma::dl::owd") for h in history[20:]])
        means.append(np.nanmean(np.where(owd >= 0, owd, np.nan), axis=0))
    assert np.all(means[1] < means[0])


# -- F4 ------------------------------------------------------------------------------------
@given(st.lists(st.floats(1.0, 500.0), min_size=2, max_size=30), st.booleans())
def test_f4_quantized_rates_are_table_levels_and_non_increasing_in_distance(
    distances: list[float], uplink: bool
) -> None:
    d = np.sort(np.asarray(distances))
    lte = capacity_mbps(lte_profile(50), snr_db(lte_profile(50), d, uplink=uplink))
    wifi = capacity_mbps(wifi_profile(), snr_db(wifi_profile(), d, uplink=uplink))
    assert np.all(np.diff(lte) <= 0) and np.all(np.diff(wifi) <= 0)
    lte_levels = {0.0} | {round(50 * LTE_RB_HZ * 0.735 * se / 1e6, 9) for se in LTE_CQI_SE}
    assert {round(float(v), 9) for v in lte} <= lte_levels
    levels = {0.0, *(round(r * WIFI_REPORT_FACTOR, 6) for r in VHT20_RATE_MBPS)}
    assert {round(float(v), 6) for v in wifi} <= levels


@settings(max_examples=10, deadline=None)
@given(seeds)
def test_f4_lte_is_free_space_every_user_of_a_300_m_area_gets_the_top_cqi(seed: int) -> None:
    # ns-3's LTE path loss is Friis (fixtures/ns3: users 31-114 m from the eNB all get the
    # same share of the cell); distance still counts, kilometres away.
    config = docs_layout(6, static=True)
    scenario = NqosSplitScenario(config, seed)
    net = scenario.model
    net.walk.xy_m[:3] = np.array([[0.0, 0.0], [55.0, 10.0], [300.0, 100.0]])
    net.advance_to(1100.0)
    stats = net.end_interval()
    lte = stats.max_rate_mbps[0, :3, LTE]
    assert np.all(lte == lte[0]) and lte[0] > 36.0
    far = capacity_mbps(lte_profile(50), snr_db(lte_profile(50), np.array([5000.0])))
    assert 0.0 < far[0] < lte[0]
    # Wi-Fi still falls with distance: the user 250 m past the last AP has none
    assert stats.max_rate_mbps[0, 0, WIFI] > stats.max_rate_mbps[0, 2, WIFI] == 0.0


# -- calibration facts ---------------------------------------------------------------------
@settings(max_examples=5, deadline=None)
@given(seeds)
def test_tcp_bloats_lte_to_tens_or_hundreds_of_ms_where_udp_does_not(seed: int) -> None:
    def lte_owd(protocol: str) -> float:
        config = docs_layout(4)
        config["per_slice_config"]["transport_protocol"] = [protocol]
        history = [by_name(m) for m in run(config, seed, 50, split_action([[1, 0, 1]] * 4))]
        owd = np.array([values(h, "gma::lte::dl::owd") for h in history[20:]])
        return float(np.median(owd[owd >= 0]))

    tcp, udp = lte_owd("TcpNewReno"), lte_owd("udp")
    assert 30.0 <= tcp <= 2000.0
    assert udp < 20.0 < tcp


# -- F5 ------------------------------------------------------------------------------------
@settings(max_examples=5, deadline=None)
@given(seeds, st.integers(2, 4))
def test_f5_bbr_on_wifi_holds_its_queue_where_on_lte_it_grows(seed: int, users: int) -> None:
    """fixtures/ns3: ns-3's BBR on Wi-Fi keeps its queue (60–120 ms in ``*_tcp_wifi_*``), on
    LTE the queue grows all session (``*_tcp_lte_*``); the rate of that growth is calibrated
    against the recordings in tests/unit/test_calibration_ns3.py."""

    def figures(weights: list[float]) -> tuple[np.ndarray, float]:
        config = docs_layout(users, static=True, protocol="TcpBbr")
        history = [by_name(m) for m in run(config, seed, 60, split_action([weights] * users))]
        owd = np.array([values(h, "gma::dl::owd") for h in history])
        rate = np.array([values(h, "gma::dl::rate") for h in history[20:]])
        return owd, float(rate.mean())

    wifi, wifi_rate = figures([1, 0, 0])
    lte, lte_rate = figures([0, 0, 1])
    wifi_mid, wifi_late = float(np.median(wifi[20:30])), float(np.median(wifi[50:60]))
    assert wifi_late <= 1.1 * wifi_mid + 5.0, (wifi_mid, wifi_late)  # no growth
    growth = lte[55] - lte[15]  # per user, over 4 s (ns-3: ~48 ms per second)
    assert float(growth.max()) > 30.0, growth
    assert wifi_rate > 0.0 and lte_rate > 0.0


_bits = st.floats(0.0, 1e6, allow_nan=False)


@given(
    st.integers(1, 6).flatmap(
        lambda n: st.tuples(
            st.lists(st.tuples(_bits, _bits, _bits), min_size=n, max_size=n),
            st.lists(st.tuples(_bits, _bits, _bits), min_size=n, max_size=n),
        )
    )
)
def test_in_order_delivery_is_bounded_by_the_link_that_keeps_least_of_its_share(
    pair: tuple[list[tuple[float, float, float]], list[tuple[float, float, float]]],
) -> None:
    """GMA hands packets on in order: what TCP sees is at most what was served, and at most
    what the slowest link's part (served ÷ its share of the offer) allows; served in the
    offer's ratio, it is everything served."""
    served, offered = np.array(pair[0]), np.array(pair[1])
    got = gma.in_order_bits(served, offered)
    assert got.shape == (served.shape[0],)
    assert np.all(got <= served.sum(axis=1) + 1e-6)
    assert np.all(got >= 0.0)
    total = offered.sum(axis=1)
    for u in range(served.shape[0]):
        share = offered[u] / total[u] if total[u] > 0 else np.zeros(3)
        for link in np.nonzero(share > gma.MIN_SHARE)[0]:
            assert got[u] <= served[u, link] / share[link] * (1 + 1e-9) + 1e-6
    proportional = gma.in_order_bits(offered * 0.5, offered)
    np.testing.assert_allclose(proportional, offered.sum(axis=1) * 0.5, rtol=1e-9, atol=1e-6)


@given(st.lists(st.integers(-1, 5), max_size=30))
def test_users_per_cell_counts_the_users_of_each_users_cell(cells: list[int]) -> None:
    got = users_per_cell(np.array(cells, dtype=np.int64))
    assert got.tolist() == [cells.count(c) if c >= 0 else 0 for c in cells]
