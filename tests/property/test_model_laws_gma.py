"""MODEL.md laws L8–L14: the GMA split, its lag, delays, reordering and QoS."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from netgym_sim.model import gma
from netgym_sim.model.radio import capacity_mbps, lte_profile, snr_db
from netgym_sim.scenarios._gma_records import RATE_STEP_MBPS
from tests.property.test_model_laws import (
    by_name,
    run,
    seeds,
    small_config,
    split_action,
    values,
    weight_rows,
)

LINKS = ("wifi", "nr", "lte")


# -- L8 ------------------------------------------------------------------------------------
@settings(max_examples=15)
@given(seeds, st.lists(weight_rows, min_size=1, max_size=6), st.sampled_from([100, 200, 1000]))
def test_l8_traffic_ratio_sums_to_100_and_converges_to_split_ratio(
    seed: int, rows: list[list[float]], interval_ms: int
) -> None:
    config = small_config(users=len(rows), static=True, interval_ms=interval_ms)
    history = [by_name(m) for m in run(config, seed, 4, split_action(rows))]
    for stats in history:
        for d in ("dl", "ul"):
            # Whole percentages (as ns-3 reports them): each of 3 links is off by 0.5 at most;
            # a direction without traffic (uplink here) reports 0 on every link.
            total = sum(values(stats, f"gma::{link}::{d}::traffic_ratio") for link in LINKS)
            carried = values(stats, f"gma::{d}::tx_rate") > 0
            assert np.all(np.abs(total[carried] - 100.0) <= 1.5)
            assert np.all(total[~carried] == 0.0)
            # split_ratio rows carry the users whose split was set (dl after the action)
            if f"gma::wifi::{d}::split_ratio" in stats:
                split = sum(values(stats, f"gma::{link}::{d}::split_ratio") for link in LINKS)
                assert np.allclose(split, 100.0, atol=0.01)
        assert np.all(values(stats, "gma::dl::tx_rate") > 0)
    # Documented lag: within 1 point of the new split from the 2nd measurement after it
    # (plus the half point of rounding to whole percentages).
    expected = 100.0 * gma.burst_fractions(np.asarray(rows))
    for stats in history[2:]:
        usable = (np.asarray(stats["wifi::cell_id"][1]) != 255) & (
            np.asarray(stats["nr::cell_id"][1]) != 255
        )
        for i, link in enumerate(LINKS):
            split = values(stats, f"gma::{link}::dl::split_ratio")
            ratio = values(stats, f"gma::{link}::dl::traffic_ratio")
            assert np.allclose(split, expected[:, i], atol=1e-3)
            assert np.all(np.abs(ratio - split)[usable] <= 1.5)


def test_l8_burst_rounding_last_link_absorbs() -> None:
    fractions = gma.burst_fractions(np.array([[1, 1, 1], [0.5, 0.5, 0.0], [1, 0, 0]]))
    assert np.allclose(fractions * 32, [[11, 11, 10], [16, 16, 0], [32, 0, 0]])


@settings(max_examples=25)
@given(st.lists(st.lists(st.floats(0, 10), min_size=3, max_size=3), min_size=1, max_size=10))
@example([[0.0, 0.0, 2.2250738585072014e-308]])  # a tiny sum once overflowed 32 / total
def test_l8_burst_fractions_are_32nds_summing_to_one(rows: list[list[float]]) -> None:
    weights = np.asarray(rows)
    weights[weights.sum(axis=1) <= 0, 0] = 1.0
    fractions = gma.burst_fractions(weights)
    assert np.all(fractions >= 0)
    assert np.allclose(fractions.sum(axis=1), 1.0)
    assert np.allclose(fractions * 32, np.round(fractions * 32))
    assert np.all(np.abs(fractions - weights / weights.sum(axis=1, keepdims=True)) <= 1.5 / 32)


@settings(max_examples=25)
@given(
    st.lists(st.integers(0, 32), min_size=2, max_size=2),
    st.lists(
        st.tuples(st.sampled_from(["wifi", "lte", "even"]), st.integers(1, 7)),
        min_size=1,
        max_size=4,
    ),
)
@example([32, 0], [("wifi", 7), ("even", 1), ("wifi", 5), ("lte", 6)])
def test_l8_built_in_moves_grow_by_a_unit_a_move_after_the_third_of_a_run(
    start: list[int], spells: list[tuple[str, int]]
) -> None:
    # One user, Wi-Fi and LTE (NR unusable); each decision sees Wi-Fi or LTE 50 ms slower, or
    # both within the threshold. A run: moves in a row off the same link; the k-th move of a
    # run moves max(1, k − 3) units, never more than the slow link carries; the rest of a
    # decision that does not move ends the run.
    bursts = np.array([[float(start[0]), 0.0, 32.0 - start[0]]])
    usable = np.array([[True, False, True]])
    run, run_from = np.zeros(1, dtype=np.int64), np.full(1, -1, dtype=np.int64)
    expected_run = 0
    expected_from = -1
    for which in [which for which, count in spells for _ in range(count)]:
        owd = {"wifi": [80.0, 0.0, 30.0], "lte": [30.0, 0.0, 80.0], "even": [30.0, 0.0, 35.0]}
        slow = {"wifi": 0, "lte": 2, "even": -1}[which]
        carries = slow >= 0 and bursts[0, slow] > 0
        if carries:
            expected_run = expected_run + 1 if expected_from == slow else 1
            expected_from = slow
        else:
            expected_run, expected_from = 0, -1
        want = min(max(1, expected_run - gma.TSC_SPEEDUP_AFTER), bursts[0, slow]) if carries else 0
        before = bursts.copy()
        bursts, run, run_from = gma.delay_based_step(
            bursts, np.array([owd[which]]), usable, run, run_from
        )
        assert bursts.sum() == 32.0 and np.all(bursts >= 0) and bursts[0, 1] == 0.0
        if carries:
            assert before[0, slow] - bursts[0, slow] == want
        else:
            assert np.array_equal(bursts, before)
        assert (int(run[0]), int(run_from[0])) == (expected_run, expected_from)


# -- L9, L12, L13 --------------------------------------------------------------------------
@settings(max_examples=15)
@given(
    seeds,
    st.integers(1, 8),
    st.floats(0.5, 40.0),
    st.sampled_from(["udp", "TcpBbr"]),
    st.booleans(),
    st.lists(weight_rows, min_size=8, max_size=8),
)
def test_l9_l12_l13_aggregates_delays_and_qos(  # noqa: PLR0917 - one argument per hypothesis strategy
    seed: int, users: int, rate: float, protocol: str, poisson: bool, rows: list[list[float]]
) -> None:
    config = small_config(users=users, rate_mbps=(rate, rate), protocol=protocol)
    config["per_slice_config"]["udp_poisson_arrival"] = [poisson]
    for measurement in run(config, seed, 4, split_action(rows[:users])):
        stats = by_name(measurement)
        for d in ("dl", "ul"):
            link_rates = [values(stats, f"gma::{link}::{d}::rate") for link in LINKS]
            rate_total = values(stats, f"gma::{d}::rate")
            # L9 ± rounding: each of the 4 reported rates is off by half a rate step at most.
            assert np.allclose(rate_total, sum(link_rates), atol=2 * RATE_STEP_MBPS + 1e-9)
            qos = values(stats, f"gma::{d}::qos_rate")
            assert np.all(qos <= rate_total)  # L13
            owd = values(stats, f"gma::{d}::owd")
            max_owd = values(stats, f"gma::{d}::max_owd")
            assert np.all(max_owd >= owd)  # L12
            link_owd = np.column_stack([values(stats, f"gma::{x}::{d}::owd") for x in LINKS])
            link_max = np.column_stack([values(stats, f"gma::{x}::{d}::max_owd") for x in LINKS])
            for i, link in enumerate(LINKS):
                assert np.all(values(stats, f"gma::{link}::{d}::qos_rate") <= link_rates[i])  # L13
                assert np.all(link_max[:, i] >= link_owd[:, i])
            # a link without data may report GMA's probe delay: carried = delay and data
            carried = (link_owd >= 0) & (np.column_stack(link_rates) > 0)
            has = carried.any(axis=1)
            assert np.all(owd[has] >= 0)
            assert np.all((link_owd >= 0).any(axis=1)[owd >= 0])
            has &= owd >= 0
            low = np.where(carried, link_owd, np.inf).min(axis=1)
            high = np.where(carried, link_max, -np.inf).max(axis=1)
            # L12 ± rounding to whole ms (half a ms on each side).
            assert np.all(owd[has] >= low[has] - 1.0)
            assert np.all(owd[has] <= high[has] + 1.0)


# -- L10 -----------------------------------------------------------------------------------
def lte_only(load_mbps: float, **changes: Any) -> tuple[dict[str, Any], float, float]:
    """One static user at a fixed point served by LTE only; its capacity and base delay."""
    config = small_config(users=1, static=True, rate_mbps=(load_mbps, load_mbps), **changes)
    config["wifi_ap_locations"] = []
    config["nr_gnb_locations"] = []
    config["user_location_range"].update({"min_x": 100, "max_x": 100, "min_y": 50, "max_y": 50})
    enb = config["lte_enb_locations"]
    profile = lte_profile(config["lte"]["resource_block_num"])
    distance = np.sqrt((100 - enb["x"]) ** 2 + (50 - enb["y"]) ** 2 + (1.5 - enb["z"]) ** 2)
    cap = float(capacity_mbps(profile, snr_db(profile, np.array([distance])))[0])
    base = config["lte"]["backhaul_delay_ms"] + profile.access_delay_ms + 1400 * 8 / (cap * 1e3)
    return config, cap, base


@settings(max_examples=10)
@given(seeds, st.floats(0.01, 0.5), st.floats(0.0, 30.0))
def test_l10_uncongested_delay_near_base_and_rising_with_load(
    seed: int, fraction: float, backhaul: float
) -> None:
    _, cap, _ = lte_only(1.0)
    delays = []
    for load in (fraction, 0.7, 0.95):
        config, _, base = lte_only(load * cap)
        config["lte"]["backhaul_delay_ms"] = backhaul
        owd = [values(by_name(m), "gma::dl::owd")[0] for m in run(config, seed, 3)]
        delays.append(owd[-1])
        if load <= 0.5:
            # Within half a ms of the base, reported in whole ms: within 1 ms.
            assert all(abs(d - (base + backhaul)) <= 1.0 for d in owd)
    assert delays[0] <= delays[1] <= delays[2]
    assert delays[2] > delays[0]


@settings(max_examples=5)
@given(seeds, st.floats(1.2, 2.0))
def test_l10_overload_delay_grows_step_by_step(seed: int, overload: float) -> None:
    _, cap, _ = lte_only(1.0)
    config, _, _ = lte_only(overload * cap)
    owd = [values(by_name(m), "gma::dl::owd")[0] for m in run(config, seed, 3)]
    assert owd[0] < owd[1] < owd[2]


# -- L11 -----------------------------------------------------------------------------------
@settings(max_examples=15)
@given(
    seeds,
    st.integers(1, 5),
    st.floats(1.0, 30.0),
    st.integers(0, 31),
    st.integers(1, 16),
    st.sampled_from([(0, 2), (2, 0), (0, 1), (1, 2)]),
)
def test_l11_moving_traffic_from_a_to_b(  # noqa: PLR0917 - one argument per hypothesis strategy
    seed: int, users: int, rate: float, share: int, moved: int, pair: tuple[int, int]
) -> None:
    a, b = pair
    moved = min(moved, 32 - share)
    before = [[0.0, 0.0, 0.0] for _ in range(users)]
    after = [[0.0, 0.0, 0.0] for _ in range(users)]
    for row_b, row_a in zip(before, after, strict=True):
        row_b[a], row_b[b] = 32.0 - share, float(share)
        row_a[a], row_a[b] = 32.0 - share - moved, float(share + moved)
    config = small_config(users=users, static=True, rate_mbps=(rate, rate))
    runs = [run(config, seed, 4, split_action(rows)) for rows in (before, after)]
    for m_before, m_after in list(zip(*runs, strict=True))[2:]:
        s0, s1 = by_name(m_before), by_name(m_after)
        for link, worse in ((LINKS[b], True), (LINKS[a], False)):
            d0 = values(s0, f"gma::{link}::dl::owd")
            d1 = values(s1, f"gma::{link}::dl::owd")
            both = (d0 >= 0) & (d1 >= 0)
            if worse:
                assert np.all(d1[both] >= d0[both] - 1e-3)
            else:
                assert np.all(d1[both] <= d0[both] + 1e-3)


# -- L14 -----------------------------------------------------------------------------------
@settings(max_examples=25)
@given(
    st.lists(st.tuples(st.floats(0, 500), st.floats(0, 500)), min_size=1, max_size=20),
    st.floats(0, 600),
    st.floats(0, 600),
)
def test_l14_violation_fraction_bounds_and_monotone(
    spans: list[tuple[float, float]], t1: float, t2: float
) -> None:
    lo = np.array([min(s) for s in spans])
    hi = np.array([max(s) for s in spans])
    low_t, high_t = sorted((t1, t2))
    f_low = gma.violation_fraction(lo, hi, np.full(lo.shape, low_t))
    f_high = gma.violation_fraction(lo, hi, np.full(lo.shape, high_t))
    assert np.all(f_high <= f_low)
    assert np.all(gma.violation_fraction(lo, hi, hi) == 0.0)
    assert np.all(gma.violation_fraction(lo, hi, lo - 1e-9) == 1.0)


@settings(max_examples=10)
@given(seeds, st.integers(1, 6), st.floats(0.5, 60.0), st.floats(0, 50), st.floats(0, 50))
def test_l14_delay_violation_in_scenario(
    seed: int, users: int, rate: float, r1: float, r2: float
) -> None:
    def violations(requirement: float) -> list[np.ndarray]:
        config = small_config(users=users, rate_mbps=(rate, rate))
        config["per_slice_config"]["qos_delay_requirement_ms"] = [requirement]
        config["per_slice_config"]["delay_test_1_thresh_ms"] = [requirement]
        return [values(by_name(m), "gma::dl::delay_violation") for m in run(config, seed, 3)]

    low, high = sorted((r1, r2))
    for v_zero, v_low, v_high, v_huge, m in zip(
        violations(0.0),
        violations(low),
        violations(high),
        violations(1e9),
        run(small_config(users=users, rate_mbps=(rate, rate)), seed, 3),
        strict=True,
    ):
        has = values(by_name(m), "gma::dl::owd") >= 0
        assert np.all(v_zero[has] == 100.0)
        assert np.all(v_huge == 0.0)
        assert np.all(v_high <= v_low)
        assert np.all((v_low >= 0) & (v_low <= 100))
