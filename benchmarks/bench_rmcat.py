"""Cost of one rmcat measurement interval (100 ms of simulated time).

Usage: PYTHONPATH=. python benchmarks/bench_rmcat.py [--intervals 2000]

Prints µs per interval for the numeric model alone (20 fluid sub-steps + one NADA update) in
a few set-ups, then for whole session steps (action → SimPy → records) and session set-up
(which includes the warm-up before the first measurement).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

from netgym_sim.core.session import Session
from netgym_sim.model.rmcat import RmcatModel
from netgym_sim.model.traces import Trace

SUBSTEP_MS = 5.0
BUFFER_BYTES = 37_500.0


def packaged(name: str) -> Trace:
    data = resources.files("netgym_sim").joinpath("data").joinpath(name)
    return Trace.from_csv_text(data.read_text(encoding="utf-8"))


def per_interval_us(build: Callable[[], RmcatModel], intervals: int, rate: float | None) -> float:
    model = build()
    begin = time.perf_counter()
    for _ in range(intervals):
        for _ in range(20):
            model.step(SUBSTEP_MS, rate)
        model.end_interval()
    return (time.perf_counter() - begin) / intervals * 1e6


def session_config(steps: int, start_ms: int = 1000, **extra: Any) -> dict[str, Any]:
    return {
        "env": "rmcat",
        "steps_per_episode": steps,
        "episodes_per_session": 1,
        "measurement_start_time_ms": start_ms,
        "measurement_interval_ms": 100,
        "env_end_time_ms": start_ms + 100 * (steps + 1),
        "bw_trace": packaged("bw_trace.csv").to_columns(),
        **extra,
    }


def session_step_us(steps: int, rate: float | None, **extra: Any) -> float:
    session = Session(session_config(steps, **extra))
    records = session.first_measurement()
    value = [] if rate is None else [rate]
    begin = time.perf_counter()
    while not session.finished:
        action = {"source": "rmcat", "name": "srate", "id": [0], "value": value}
        records = session.step({**action, "ts": records[0]["ts"]})
    return (time.perf_counter() - begin) / (steps - 1) * 1e6


def setup_ms(start_ms: int) -> float:
    begin = time.perf_counter()
    Session(session_config(10, start_ms=start_ms)).first_measurement()
    return (time.perf_counter() - begin) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--intervals", type=int, default=2000)
    n = parser.parse_args().intervals
    default = packaged("bw_trace.csv")
    cases: list[tuple[str, Callable[[], RmcatModel], float | None]] = [
        (
            "model, NADA, bw_trace.csv",
            lambda: RmcatModel(default, seed=1, buffer_bytes=BUFFER_BYTES),
            None,
        ),
        (
            "model, fixed 1.2 Mbit/s",
            lambda: RmcatModel(default, seed=1, buffer_bytes=BUFFER_BYTES),
            1.2e6,
        ),
        (
            "model, NADA, lossy.csv (1 % loss)",
            lambda: RmcatModel(packaged("lossy.csv"), seed=1, buffer_bytes=BUFFER_BYTES),
            None,
        ),
        (
            "model, NADA + 1 UDP + 2 TCP flows",
            lambda: RmcatModel(
                default,
                seed=1,
                buffer_bytes=BUFFER_BYTES,
                udp_starts_ms=(0.0,),
                udp_rate_bps=100_000.0,
                tcp_starts_ms=(0.0, 20_000.0),
            ),
            None,
        ),
    ]
    for label, build, rate in cases:
        print(f"{label:<40} {per_interval_us(build, n, rate):8.1f} µs/interval")
    print(f"{'session step, NADA (value [])':<40} {session_step_us(n, None):8.1f} µs/step")
    print(f"{'session step, action 1.2 Mbit/s':<40} {session_step_us(n, 1.2e6):8.1f} µs/step")
    tcp_us = session_step_us(n, None, tcp_flows=1)
    print(f"{'session step, NADA + 1 TCP flow':<40} {tcp_us:8.1f} µs/step")
    print(f"{'session set-up, start 1 s (warm-up 1 s)':<40} {setup_ms(1000):8.1f} ms")
    print(f"{'session set-up, start 60 s (warm-up 10 s)':<40} {setup_ms(60_000):8.1f} ms")


if __name__ == "__main__":
    main()
