"""Cost of one measurement interval of the multi-access model behind the GMA environments.

Usage: PYTHONPATH=. python benchmarks/bench_model.py [--intervals 30]

For 16, 256 and 1000 users (the nqos_split default config with its slices scaled, 100 ms
interval = 10 sub-steps; qos_steer's 1 s interval = 50 sub-steps; network_slicing's 100 ms with
the users over 8 slices on one congested LTE carrier) prints the median
wall time of one interval: the numeric model alone, and the whole scenario step (SimPy
run + records of every subscribed metric + one action).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import simpy

from netgym_sim.scenarios import scenario_class

CONFIGS = Path(__file__).resolve().parents[1] / "netgym_client" / "configs"


def config_for(env: str, users: int) -> dict[str, Any]:
    """The default config of ``env`` with ``users`` UDP users (network_slicing: over 8 slices)."""
    config: dict[str, Any] = json.loads((CONFIGS / f"{env}.json").read_text())["env_config"]
    per = config["per_slice_config"]
    slices = 8 if env == "network_slicing" else 1
    for key in per:
        per[key] = (per[key][:1]) * slices
    per["num_users"] = [users // slices + (1 if s < users % slices else 0) for s in range(slices)]
    per["transport_protocol"] = ["udp"] * slices
    if env == "network_slicing":
        per["prioritized_rbg"] = [3] * slices  # 24 of the carrier's 25 RBGs
        per["min_udp_rate_per_user_mbps"] = per["max_udp_rate_per_user_mbps"] = [10] * slices
    config.update(
        env=env,
        num_users=users,
        measurement_interval_ms=config["gma"]["measurement_interval_ms"],
        measurement_guard_interval_ms=0,
    )
    return config


def action(env: str, users: int, ts: int) -> Any:
    """A policy of ``env`` (network_slicing: prioritized RBGs moved to slice 0)."""
    if env == "network_slicing":
        value = [{"slice": list(range(8)), "value": [10] + [2] * 7}]
        return {"source": "lte", "name": "prb_allocation", "ts": ts, "id": [1], "value": value}
    row = [1, 0, 1] if env == "nqos_split" else [1, 0, 0]
    ids = list(range(1, users + 1))
    return {
        "source": "gma",
        "name": "dl::split_weight",
        "ts": ts,
        "id": ids,
        "value": [row] * users,
    }


def bench(env: str, users: int, intervals: int) -> tuple[float, float]:
    config = config_for(env, users)
    scenario: Any = scenario_class(env)(config, 1)
    step = config["measurement_interval_ms"]
    t = config["measurement_start_time_ms"]
    model_ms = []
    for _ in range(intervals):
        t += step
        begin = time.perf_counter()
        scenario.model.advance_to(float(t))
        scenario.model.end_interval()
        model_ms.append((time.perf_counter() - begin) * 1e3)
    scenario = scenario_class(env)(config, 1)
    t = config["measurement_start_time_ms"]
    sim = simpy.Environment(initial_time=t)
    scenario.start(sim)
    step_ms = []
    for _ in range(intervals):
        t += step
        begin = time.perf_counter()
        sim.run(until=t)
        records = scenario.measure(t)
        json.dumps(records)
        scenario.apply(action(env, users, t))
        step_ms.append((time.perf_counter() - begin) * 1e3)
    return statistics.median(model_ms), statistics.median(step_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", type=int, default=30)
    args = parser.parse_args()
    print(f"{'env':<15} {'users':>5} {'model ms/interval':>18} {'step ms (sim+records+json)':>27}")
    for env in ("nqos_split", "qos_steer", "network_slicing"):
        for users in (16, 256, 1000):
            model_ms, step_ms = bench(env, users, args.intervals)
            print(f"{env:<15} {users:>5} {model_ms:>18.2f} {step_ms:>27.2f}")


if __name__ == "__main__":
    main()
