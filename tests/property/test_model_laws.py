"""MODEL.md laws L1–L14 and L21–L24 for the multi-access model and its two scenarios.

Each law is a hypothesis property over small generated configurations, seeds and actions;
those comparing two runs are metamorphic (same seed, one change). Scenarios are driven
directly with SimPy, as the session does, without sockets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_sim.model.mobility import WalkParams
from netgym_sim.model.network import MultiAccessNetwork, NetworkParams, UserParams
from netgym_sim.model.radio import capacity_mbps, lte_profile, nr_profile, snr_db, wifi_profile
from netgym_sim.model.scheduling import max_min_time_share
from netgym_sim.model.topology import Area, Cells
from netgym_sim.model.traffic import TrafficSpec
from netgym_sim.scenarios._gma_common import GmaScenario
from netgym_sim.scenarios._gma_records import RATE_STEP_MBPS
from netgym_sim.scenarios.nqos_split import NqosSplitScenario
from netgym_sim.scenarios.qos_steer import QosSteerScenario

CONFIG_DIR = Path(__file__).resolve().parents[2] / "netgym_client" / "configs"
Stats = dict[str, tuple[list[Any], list[Any]]]
Action = Callable[[int, int], Any]


# -- helpers -------------------------------------------------------------------------------
def default_config(env: str) -> dict[str, Any]:
    """The shipped default env_config of ``env`` as the client sends it (PROTOCOL.md §7.2)."""
    config: dict[str, Any] = json.loads((CONFIG_DIR / f"{env}.json").read_text())["env_config"]
    config["env"] = env
    config["num_users"] = sum(config["per_slice_config"]["num_users"])
    config["measurement_interval_ms"] = config["gma"]["measurement_interval_ms"]
    config["measurement_guard_interval_ms"] = config["gma"]["measurement_guard_interval_ms"]
    step = config["measurement_interval_ms"] + config["measurement_guard_interval_ms"]
    config["env_end_time_ms"] = config["measurement_start_time_ms"] + step * (
        config["steps_per_episode"] * config["episodes_per_session"] + 1
    )
    return config


def small_config(
    env: str = "nqos_split",
    *,
    users: int = 3,
    interval_ms: int = 100,
    rate_mbps: tuple[float, float] = (1.0, 2.0),
    static: bool = False,
    protocol: str = "udp",
    downlink: bool = True,
    **changes: Any,
) -> dict[str, Any]:
    """A one-slice config of ``env`` with ``users`` users; ``changes`` override top keys."""
    config = default_config(env)
    per = config["per_slice_config"]
    for key in per:
        per[key] = per[key][:1]
    per["num_users"] = [users]
    per["transport_protocol"] = [protocol]
    per["min_udp_rate_per_user_mbps"] = [rate_mbps[0]]
    per["max_udp_rate_per_user_mbps"] = [rate_mbps[1]]
    config["num_users"] = users
    for section in ("gma", "wifi", "lte"):
        config[section]["measurement_interval_ms"] = interval_ms
    config["measurement_interval_ms"] = interval_ms
    config["downlink_traffic"] = downlink
    if static:
        config["user_random_walk"]["min_speed_m/s"] = 0
        config["user_random_walk"]["max_speed_m/s"] = 0
    config.update(changes)
    return config


def by_name(records: list[dict[str, Any]]) -> Stats:
    """``{"source::name": (ids, values)}`` of one measurement."""
    return {f"{r['source']}::{r['name']}": (r["id"], r["value"]) for r in records}


def run(
    config: dict[str, Any],
    seed: int,
    steps: int,
    action: Action | None = None,
    cls: type[GmaScenario] | None = None,
) -> list[list[dict[str, Any]]]:
    """Measurements of ``steps`` steps; ``action(k, ts)`` gives the policy after step k.

    Split weight rows may be written over every link (Wi-Fi, NR, LTE): on a config without
    gNBs they are sent as the scenario takes them, over its links (the NR weight must be 0).
    """
    if cls is None:
        cls = NqosSplitScenario if config["env"] == "nqos_split" else QosSteerScenario
    scenario = cls(config, seed)
    step_ms = config["measurement_interval_ms"] + config.get("measurement_guard_interval_ms", 0)
    t = config["measurement_start_time_ms"]
    env = simpy.Environment(initial_time=t)
    scenario.start(env)
    out = []
    for k in range(steps):
        t += step_ms
        env.run(until=t)
        out.append(scenario.measure(t))
        if action is not None:
            policy = action(k, t)
            if policy is not None:
                scenario.apply(over_links(policy, scenario.settings.links))
    return out


def over_links(policy: Any, links: tuple[int, ...]) -> Any:
    """``policy`` with 3-column split weight rows (Wi-Fi, NR, LTE) cut to the config's links."""
    records = policy if isinstance(policy, list) else [policy]
    out = []
    for record in records:
        rows = record.get("value") if isinstance(record, dict) else None
        if (
            str(record.get("name", "")).endswith("split_weight")
            and isinstance(rows, list)
            and len(links) < 3
            and all(isinstance(row, list) and len(row) == 3 for row in rows)
        ):
            assert all(row[k] == 0 for row in rows for k in range(3) if k not in links), rows
            out.append({**record, "value": [[row[k] for k in links] for row in rows]})
            continue
        out.append(record)
    return out if isinstance(policy, list) else out[0]


def split_action(weights: list[list[float]], direction: str = "dl") -> Action:
    """Send ``weights`` (one row per user) once, after the first measurement."""

    def act(k: int, ts: int) -> Any:
        if k != 0:
            return None
        ids = list(range(1, len(weights) + 1))
        return {
            "source": "gma",
            "name": f"{direction}::split_weight",
            "ts": ts,
            "id": ids,
            "value": weights,
        }

    return act


seeds = st.integers(0, 2**16)
weight_rows = st.lists(st.integers(0, 4).map(float), min_size=3, max_size=3).filter(
    lambda row: sum(row) > 0
)


def values(stats: Stats, name: str) -> np.ndarray:
    return np.asarray(stats[name][1], dtype=np.float64)


# -- L1 ------------------------------------------------------------------------------------
@settings(max_examples=15)
@given(
    seeds,
    st.floats(0.0, 30.0),
    st.floats(0.0, 30.0),
    st.integers(0, 20),
    st.integers(0, 20),
    st.sampled_from([100, 200]),
)
def test_l1_users_stay_in_area_and_move_at_most_max_speed(  # noqa: PLR0917 - one argument per hypothesis strategy
    seed: int, s1: float, s2: float, width: int, height: int, interval_ms: int
) -> None:
    low, high = sorted((s1, s2))
    config = small_config(users=6, interval_ms=interval_ms)
    config["user_random_walk"].update(
        {"min_speed_m/s": low, "max_speed_m/s": high, "distance_m": 1.0}
    )
    config["user_location_range"].update(
        {"min_x": 10, "max_x": 10 + width, "min_y": 5, "max_y": 5 + height}
    )
    history = [by_name(m) for m in run(config, seed, 6)]
    previous = None
    for stats in history:
        x, y = values(stats, "gma::x_loc"), values(stats, "gma::y_loc")
        assert np.all((x >= 10 - 1e-3) & (x <= 10 + width + 1e-3))
        assert np.all((y >= 5 - 1e-3) & (y <= 5 + height + 1e-3))
        if previous is not None:
            moved = np.hypot(x - previous[0], y - previous[1])
            assert np.all(moved <= high * interval_ms / 1000.0 + 2e-3)
        previous = (x, y)


# -- L2 ------------------------------------------------------------------------------------
@settings(max_examples=25)
@given(
    st.lists(st.floats(1.0, 3000.0), min_size=2, max_size=20),
    st.sampled_from(["wifi", "nr", "lte"]),
    st.booleans(),
)
def test_l2_capacity_non_increasing_in_distance(
    distances: list[float], tech: str, uplink: bool
) -> None:
    profile = {"wifi": wifi_profile(), "nr": nr_profile(), "lte": lte_profile(50)}[tech]
    d = np.sort(np.asarray(distances))
    rate = capacity_mbps(profile, snr_db(profile, d, uplink=uplink))
    assert np.all(np.diff(rate) <= 1e-9)


@settings(max_examples=10)
@given(seeds, st.integers(2, 8))
def test_l2_reported_lte_max_rate_non_increasing_in_distance(seed: int, users: int) -> None:
    config = small_config(users=users, static=True, rate_mbps=(0.1, 0.1))
    config["user_location_range"].update({"min_x": 0, "max_x": 3000, "min_y": 0, "max_y": 3000})
    stats = by_name(run(config, seed, 1)[0])
    x, y = values(stats, "gma::x_loc"), values(stats, "gma::y_loc")
    enb = config["lte_enb_locations"]
    dist = np.hypot(x - enb["x"], y - enb["y"])
    rate = values(stats, "lte::dl::max_rate")[np.argsort(dist)]
    assert np.all(np.diff(rate) <= 1e-3)


# -- L3 ------------------------------------------------------------------------------------
@settings(max_examples=15)
@given(seeds, st.integers(1, 10), st.integers(1, 6))
def test_l3_wifi_cell_is_strongest_ap_or_255(seed: int, users: int, steps: int) -> None:
    config = small_config(users=users)
    config["wifi"]["enable_rx_signal_based_handover"] = True
    # A wider area than the APs cover, so some users are out of range.
    config["user_location_range"].update({"min_x": -150, "max_x": 450, "min_y": -100, "max_y": 200})
    aps = np.array([[p["x"], p["y"], p["z"]] for p in config["wifi_ap_locations"]])
    z = config["user_location_range"]["z"]
    profile = wifi_profile()
    for measurement in run(config, seed, steps):
        stats = by_name(measurement)
        xy = np.column_stack((values(stats, "gma::x_loc"), values(stats, "gma::y_loc")))
        dist = Cells(aps).distances_m(xy, z)
        nearest = np.argmin(dist, axis=1)
        in_range = snr_db(profile, dist.min(axis=1)) >= profile.min_snr_db
        expected = np.where(in_range, nearest + 1, 255)
        cell = np.asarray(stats["wifi::cell_id"][1])
        # Positions are rounded to 1 mm: skip users within 1 cm of a tie or the range edge.
        near_tie = np.sort(dist, axis=1)[:, 1] - dist.min(axis=1) < 0.01
        assert np.all((cell == expected) | near_tie)


# -- model-level helpers -------------------------------------------------------------------
def network(
    xy: np.ndarray,
    rates: np.ndarray,
    seed: int,
    *,
    tcp: np.ndarray | None = None,
    shared_band: bool = False,
) -> MultiAccessNetwork:
    n = xy.shape[0]
    zeros = np.zeros(n)
    params = NetworkParams(
        area=Area(0, 300, 0, 100, 1.5),
        walk=WalkParams(0, 0, 0, 0, 1),
        cells=(
            Cells.from_points([(0, 25, 3), (100, 25, 3), (200, 75, 3)]),
            Cells.from_points([(50, 50, 15)]),
            Cells.from_points([(150, 50, 15)]),
        ),
        profiles=(wifi_profile(), nr_profile(), lte_profile(25)),
        backhaul_delay_ms=(0.0, 0.0, 0.0),
        wifi_shared_band=shared_band,
    )
    users = UserParams(
        xy_m=xy,
        traffic=TrafficSpec(
            rates, rates, np.zeros(n, bool), np.zeros(n, bool) if tcp is None else tcp, zeros + 1400
        ),
        steer=np.zeros(n, bool),
        qos_delay_ms=zeros + 20,
        test1_ms=zeros + 50,
        test2_ms=zeros + 100,
        loss_target=zeros + 0.01,
        violation_target=zeros + 0.01,
    )
    return MultiAccessNetwork(params, users, seed)


positions = st.lists(st.tuples(st.floats(0, 300), st.floats(0, 100)), min_size=1, max_size=12).map(
    lambda pts: np.array(pts, dtype=np.float64)
)


# -- L4, L5 --------------------------------------------------------------------------------
@settings(max_examples=20)
@given(positions, st.floats(0.1, 80.0), seeds, st.booleans(), st.booleans())
def test_l4_l5_delivered_within_offered_capacity_and_cell_capacity(
    xy: np.ndarray, rate: float, seed: int, with_tcp: bool, shared: bool
) -> None:
    n = xy.shape[0]
    tcp = (np.arange(n) % 3 == 0) & with_tcp
    net = network(xy, np.full(n, rate), seed, tcp=tcp, shared_band=shared)
    for tick in range(1, 31):
        backlog = net.queue_bits.copy()
        net.advance_to(tick * 10.0)
        served, offered = net.last_served_bits, net.last_offered_bits
        # L4: per user and link, at most what was there to send and what the link carries.
        assert np.all(served <= offered + backlog + 1e-6)
        assert np.all(served <= net.last_capacity_bits + 1e-6)
        # L5: per cell, time shares sum to at most 1, so rates to at most the best user's.
        assert np.any(net.last_group >= 0)  # every user has at least LTE here
        for link in range(3):
            group, cap = net.last_group[:, link], net.last_capacity_bits[:, link]
            for g in set(group[group >= 0].tolist()):
                members = group == g
                assert net.last_share[members, link].sum() <= 1.0 + 1e-9
                assert served[members, link].sum() <= cap[members].max() + 1e-6


@settings(max_examples=10)
@given(seeds, st.integers(1, 8), st.floats(0.5, 30.0))
def test_l4_l5_reported_rates_within_load_and_capacity(seed: int, users: int, rate: float) -> None:
    config = small_config(users=users, static=True, rate_mbps=(rate, rate))
    tx_total = np.zeros(users)
    rate_total = np.zeros(users)
    for measurement in run(config, seed, 5):
        stats = by_name(measurement)
        tx_total += values(stats, "gma::dl::tx_rate")
        rate_total += values(stats, "gma::dl::rate")
        # Rates are reported in RATE_STEP_MBPS steps, capacities in whole Mbit/s (as ns-3).
        step = RATE_STEP_MBPS / 2 + 1e-9
        assert np.all(rate_total <= tx_total + 2 * step * 5)
        for link in ("wifi", "lte"):
            link_rate = values(stats, f"gma::{link}::dl::rate")
            cap = values(stats, f"{link}::dl::max_rate")
            assert np.all(link_rate <= cap + 0.5 + step)
        lte_cell = np.asarray(stats["lte::cell_id"][1])
        on_cell = lte_cell == 1
        if on_cell.any():
            lte_rates = values(stats, "gma::lte::dl::rate")[on_cell]
            slack = 0.5 + step * on_cell.sum()
            assert lte_rates.sum() <= values(stats, "lte::dl::max_rate")[on_cell].max() + slack


# -- L6 ------------------------------------------------------------------------------------
@settings(max_examples=25)
@given(
    st.lists(st.floats(0.0, 2.0), min_size=1, max_size=15),
    st.lists(st.integers(0, 2), min_size=15, max_size=15),
    st.floats(0.0, 2.0),
    st.integers(0, 2),
)
def test_l6_adding_a_user_never_raises_others_share(
    demands: list[float], groups: list[int], extra: float, extra_group: int
) -> None:
    d = np.asarray(demands)
    g = np.asarray(groups[: len(demands)], dtype=np.int64)
    before = max_min_time_share(d, g, 3)
    after = max_min_time_share(np.append(d, extra), np.append(g, extra_group), 3)
    assert np.all(after[:-1] <= before + 1e-12)
    assert np.all(before <= d + 1e-12)
    for k in range(3):
        assert before[g == k].sum() <= 1.0 + 1e-9


@settings(max_examples=15)
@given(positions, st.tuples(st.floats(0, 300), st.floats(0, 100)), st.floats(1.0, 60.0), seeds)
def test_l6_extra_user_in_network_never_raises_existing_shares(
    xy: np.ndarray, extra: tuple[float, float], rate: float, seed: int
) -> None:
    n = xy.shape[0]
    base = network(xy, np.full(n, rate), seed)
    more = network(np.vstack((xy, extra)), np.full(n + 1, rate), seed)
    base.advance_to(10.0)
    more.advance_to(10.0)
    assert np.all(more.last_share[:n] <= base.last_share + 1e-12)


# -- L7 ------------------------------------------------------------------------------------
@settings(max_examples=10)
@given(seeds, st.integers(1, 6), st.floats(0.05, 0.5), st.sampled_from([2.0, 3.0]))
def test_l7_uncongested_scaling_of_load_scales_rates(
    seed: int, users: int, rate: float, k: float
) -> None:
    one = small_config(users=users, static=True, rate_mbps=(rate, 2 * rate))
    scaled = small_config(users=users, static=True, rate_mbps=(k * rate, 2 * k * rate))
    # Users within 45 m of the eNB (150, 50) and of the AP at (200, 75), and no NR gNB (the
    # nearest would be 90 m away): every link carries far more than the load, so the network
    # is uncongested everywhere (at a cell edge LTE or NR carries about 1 Mbit/s).
    for config in (one, scaled):
        config["user_location_range"].update({"min_x": 160, "max_x": 190, "min_y": 55, "max_y": 70})
        config["nr_gnb_locations"] = []
    for a, b in zip(run(one, seed, 3), run(scaled, seed, 3), strict=True):
        ra, rb = values(by_name(a), "gma::dl::rate"), values(by_name(b), "gma::dl::rate")
        # Reported rates are multiples of RATE_STEP_MBPS: each side is off by half a step.
        assert np.allclose(rb, k * ra, rtol=1e-6, atol=RATE_STEP_MBPS / 2 * (k + 1) + 1e-9)
