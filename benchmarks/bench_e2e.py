"""End-to-end steps/s of NetworkGymEnv: in process, embedded over loopback, a server process.

Usage: python benchmarks/bench_e2e.py [--env nqos_split] [--users 16] [--steps 200]

Prints one line per mode. A "step" is one env.step(): policy → the session's interval →
NetworkStats → observation and reward; over ZeroMQ with env-action/env-measurement JSON in
between. ``benchmarks/bench_all.py`` (``netgym bench``) measures every path and env at once.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from typing import Any

import numpy as np

from netgym_client import NetworkGymEnv


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def overrides(env_name: str, users: int, steps: int) -> dict[str, Any]:
    env_config: dict[str, Any] = {"steps_per_episode": steps, "episodes_per_session": 1}
    if env_name in ("nqos_split", "qos_steer"):
        env_config["per_slice_config"] = {"num_users": [users // 2, users - users // 2]}
    elif env_name == "custom":
        env_config["num_users"] = users
    return {"env_config": env_config}


def measure(env_name: str, users: int, steps: int, server: str) -> float:
    env = NetworkGymEnv(env_name, config=overrides(env_name, users, steps), server=server)
    rng = np.random.default_rng(0)
    try:
        env.reset(seed=1)
        shape = env.action_space.shape or ()
        started = time.perf_counter()
        done, count = False, 0
        while not done:
            _, _, terminated, truncated, _ = env.step(rng.random(shape, dtype=np.float32))
            count += 1
            done = terminated or truncated
        return count / (time.perf_counter() - started)
    finally:
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="nqos_split")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    rate = measure(args.env, args.users, args.steps, "embedded")
    print(f"{args.env} users={args.users} embedded:        {rate:8.1f} steps/s")
    rate = measure(args.env, args.users, args.steps, "embedded+tcp")
    print(f"{args.env} users={args.users} embedded+tcp:    {rate:8.1f} steps/s")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "netgym_sim", "serve", "--port", str(port), "--log-level", "WARNING"]
    )
    try:
        # no wait needed: the client retries the connection until its connect timeout
        rate = measure(args.env, args.users, args.steps, f"tcp://127.0.0.1:{port}")
        print(f"{args.env} users={args.users} tcp (process): {rate:8.1f} steps/s")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
