"""netgym's nqos_split beside the ns-3 sample of the NetworkGym docs, and the paper's layout.

Usage: PYTHONPATH=. python benchmarks/calibrate_nqos.py [--seeds 8]

1. The docs' sample layout (``mx_traffic_splitting.md``): 4 users in 0–55 × 0–10 m, an LTE
   eNB at x = 0 with 50 resource blocks, Wi-Fi APs at x = 15 and 35, TCP downlink, the
   system default split, read at ts 6000. Prints, per metric, ns-3's four users beside
   netgym's (the median user of every seed, and the range over seeds and users).
2. The NetworkGym paper's layout: an eNB at x = 40, APs at x = 30 and 50, users on a line
   0–80 m walking at 1 m/s, TCP; the normalized utility
   ``ln(mean rate / (mean wifi max_rate + mean lte max_rate)) − ln(mean owd / 1000 ms)``
   of the system default and of fixed splits, averaged over the session.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

import numpy as np
import simpy

from netgym_client.adapters.nqos_split import normalized_utility
from netgym_sim.scenarios import scenario_class

#: The ns-3 sample at ts 6000 (system default, 4 users, TCP), per user 1 … 4.
NS3_SAMPLE: dict[str, list[float]] = {
    "gma::dl::rate": [8.824, 17.072, 6.736, 14.4],
    "gma::dl::owd": [298, 65, 682, 507],
    "gma::dl::max_owd": [310, 71, 689, 523],
    "gma::lte::dl::owd": [298, 65, 682, 507],
    "gma::wifi::dl::owd": [0, 0, 0, 0],
    "gma::wifi::dl::max_owd": [2, 2, 0, 1],
    "gma::wifi::dl::rate": [7.08, 9.176, 3.136, 3.248],
    "gma::lte::dl::rate": [8.592, 8.592, 5.456, 8.472],
    "gma::wifi::dl::traffic_ratio": [45, 52, 36, 28],
    "gma::wifi::dl::split_ratio": [56.25, 50, 53.125, 21.875],
    "lte::dl::max_rate": [37, 37, 23, 37],
    "wifi::dl::max_rate": [78, 78, 65, 78],
    "gma::ul::rate": [0.152, 0.32, 0.112, 0.256],
    "gma::wifi::ul::rate": [0.152, 0.32, 0.112, 0.256],
    "gma::ul::owd": [1, 1, 1, 1],
}

SUBSCRIPTIONS = [*NS3_SAMPLE, "lte::dl::cell::max_rate", "lte::dl::cell::rb_usage"]


def _slices(users: int, protocol: str) -> dict[str, list[Any]]:
    return {
        "num_users": [users],
        "dedicated_rbg": [0],
        "prioritized_rbg": [0],
        "shared_rbg": [25],
        "packet_size_bytes": [1400],
        "transport_protocol": [protocol],
        "udp_poisson_arrival": [False],
        "min_udp_rate_per_user_mbps": [2],
        "max_udp_rate_per_user_mbps": [2],
        "qos_test_duration_ms": [500],
        "qos_loss_target": [0.01],
        "qos_delay_violation_target": [0.01],
        "qos_delay_requirement_ms": [100],
        "delay_test_1_thresh_ms": [200],
        "delay_test_2_thresh_ms": [400],
        "downlink_mode": ["auto"],
        "uplink_mode": ["auto"],
    }


def layout_config(
    *,
    users: int,
    enb_x: float,
    ap_x: list[float],
    area: tuple[float, float, float, float],
    speed_mps: tuple[float, float],
    rbs: int = 50,
    steps: int = 60,
    protocol: str = "tcp",
) -> dict[str, Any]:
    """An nqos_split env_config (current layout) for one calibration layout."""
    interval = 100
    return {
        "env": "nqos_split",
        "subscribed_network_stats": SUBSCRIPTIONS,
        "steps_per_episode": steps,
        "episodes_per_session": 1,
        "num_users": users,
        "downlink_traffic": True,
        "max_wait_time_for_action_ms": -1,
        "lte_enb_locations": {"x": enb_x, "y": 0, "z": 3},
        "wifi_ap_locations": [{"x": x, "y": 0, "z": 3} for x in ap_x],
        "per_slice_config": _slices(users, protocol),
        "user_random_walk": {
            "min_speed_m/s": speed_mps[0],
            "max_speed_m/s": speed_mps[1],
            "min_direction_gradients": 0.0,
            "max_direction_gradients": 6.283184,
            "distance_m": 3,
        },
        "user_location_range": {
            "min_x": area[0],
            "max_x": area[1],
            "min_y": area[2],
            "max_y": area[3],
            "z": 1.5,
        },
        "measurement_start_time_ms": 1000,
        "measurement_interval_ms": interval,
        "measurement_guard_interval_ms": 0,
        "gma": {
            "mx_algorithm": "gma",
            "enable_dynamic_flow_prioritization": False,
            "measurement_interval_ms": interval,
            "measurement_guard_interval_ms": 0,
        },
        "wifi": {
            "backhaul_delay_ms": 0,
            "ap_share_same_band": False,
            "enable_rx_signal_based_handover": True,
            "measurement_interval_ms": interval,
            "measurement_guard_interval_ms": 0,
        },
        "nr": {"backhaul_delay_ms": 0},
        "lte": {
            "backhaul_delay_ms": 0,
            "resource_block_num": rbs,
            "measurement_interval_ms": interval,
            "measurement_guard_interval_ms": 0,
        },
        "env_end_time_ms": 1000 + interval * (steps + 1),
    }


def docs_config(steps: int = 60) -> dict[str, Any]:
    """The docs' ns-3 sample layout."""
    return layout_config(
        users=4, enb_x=0, ap_x=[15, 35], area=(0, 55, 0, 10), speed_mps=(1, 2), steps=steps
    )


def paper_config(users: int = 4, steps: int = 100) -> dict[str, Any]:
    """The NetworkGym paper's layout: users on a line 0–80 m at 1 m/s."""
    return layout_config(
        users=users, enb_x=40, ap_x=[30, 50], area=(0, 80, 0, 0), speed_mps=(1, 1), steps=steps
    )


def run(
    config: dict[str, Any], seed: int, weights: list[float] | None = None
) -> list[dict[str, list[Any]]]:
    """Every measurement of one session, as ``{source::name: values}``; fixed split or default."""
    scenario: Any = scenario_class("nqos_split")(config, seed)
    step = config["measurement_interval_ms"]
    t = config["measurement_start_time_ms"]
    sim = simpy.Environment(initial_time=t)
    scenario.start(sim)
    users = config["num_users"]
    out = []
    for _ in range(config["steps_per_episode"]):
        t += step
        sim.run(until=t)
        records = scenario.measure(t)
        out.append({f"{r['source']}::{r['name']}": r["value"] for r in records})
        value: list[Any] = [] if weights is None else [weights] * users
        scenario.apply(
            {
                "source": "gma",
                "name": "dl::split_weight",
                "ts": t,
                "id": list(range(1, users + 1)),
                "value": value,
            }
        )
    return out


def utility_of(m: dict[str, list[Any]]) -> float:
    """The NetworkGym paper's reward of one measurement, as the adapter computes it."""
    owds = [v for v in m["gma::dl::owd"] if v >= 0]
    return normalized_utility(
        float(np.mean(m["gma::dl::rate"])),
        float(np.mean(m["wifi::dl::max_rate"])) + float(np.mean(m["lte::dl::max_rate"])),
        statistics.fmean(owds) if owds else 0.0,
    )


def docs_table(seeds: int) -> None:
    at = (6000 - 1000) // 100 - 1  # the measurement with ts 6000
    rows: dict[str, list[float]] = {k: [] for k in NS3_SAMPLE}
    medians: dict[str, list[float]] = {k: [] for k in NS3_SAMPLE}
    for seed in range(seeds):
        m = run(docs_config(), seed)[at]
        for k in NS3_SAMPLE:
            rows[k] += [float(v) for v in m[k]]
            medians[k].append(float(np.median(m[k])))
    print(
        f"1. docs layout, ts 6000, system default, TCP, 4 users (netgym: {seeds} seeds × 4 users)"
    )
    print(
        f"{'metric':<30} {'ns-3 users 1-4':<28} {'ns-3 median':>11} "
        f"{'netgym median':>13} {'netgym range':>18}"
    )
    for k, ns3 in NS3_SAMPLE.items():
        ns = "/".join(f"{v:g}" for v in ns3)
        print(
            f"{k:<30} {ns:<28} {statistics.median(ns3):>11.3f} "
            f"{statistics.median(rows[k]):>13.3f} "
            f"{min(rows[k]):>8.3f} … {max(rows[k]):<8.3f}"
        )


def paper_table(seeds: int) -> None:
    print("\n2. paper layout (eNB x=40, APs x=30/50, users on 0-80 m at 1 m/s), TCP, 4 users,")
    print(f"   mean normalized utility over 100 steps, {seeds} seeds (ns-3 sample: -1.273)")
    policies: dict[str, list[float] | None] = {
        "system default": None,
        "all Wi-Fi": [1, 0, 0],
        "all LTE": [0, 0, 1],
        "Wi-Fi 3/4": [3, 0, 1],
        "half/half": [1, 0, 1],
    }
    for name, weights in policies.items():
        values, rates, owds = [], [], []
        for seed in range(seeds):
            session = run(paper_config(), seed, weights)
            values += [utility_of(m) for m in session]
            rates += [float(np.mean(m["gma::dl::rate"])) for m in session]
            owds += [float(np.mean(m["gma::dl::owd"])) for m in session]
        print(
            f"   {name:<15} utility {statistics.fmean(values):7.3f}   "
            f"mean rate {statistics.fmean(rates):6.2f} Mbps   "
            f"mean owd {statistics.fmean(owds):7.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    args = parser.parse_args()
    docs_table(args.seeds)
    paper_table(args.seeds)


if __name__ == "__main__":
    main()
