"""PPO from RLlib (new API stack) on ``netgym/nqos_split-paper-v0`` with N ``EnvRunner``s.

Needs the optional extra ``ray`` (``pip install -e '.[ray]'``: Ray with RLlib and CPU torch).
Each EnvRunner is a Ray actor holding its own environments, each with the embedded simulator
in that actor's process: no server anywhere. ``--server tcp://HOST:PORT`` plays on a
NetworkGym server instead (netgym's or the original), every env with its own ``client_id``
(:mod:`netgym_client.integrations.rllib`)::

    python examples/train_rllib.py --env-runners 2 --iterations 10    # a local Ray
    ray start --head --port=6379                                      # on the head node
    ray start --address=HEAD:6379                                     # on every other node
    python examples/train_rllib.py --address HEAD:6379 --env-runners 32

Prints one line per training iteration: the mean return of the episodes that ended in it
(episodes of ``--episode-steps`` steps, the scenario's ``normalized_utility`` per step
summed), the env steps sampled so far and the seconds it took; ``--json`` prints JSON lines.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from typing import Any

import ray
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.connectors.env_to_module import MeanStdFilter
from ray.tune.registry import register_env

from netgym_client.integrations.rllib import rllib_env

SCENARIO = "nqos_split-paper"


def ppo_config(
    *,
    env_runners: int,
    envs_per_runner: int = 1,
    episode_steps: int = 100,
    batch: int = 1000,
    server: str | None = None,
    seed: int = 0,
) -> PPOConfig:
    """PPO on the scenario: observations normalized by a running mean and std per runner."""
    env_config: dict[str, Any] = {
        "scenario": SCENARIO,
        "config": {"env_config": {"steps_per_episode": episode_steps}},
        "envs_per_runner": envs_per_runner,
    }
    if server is not None:
        env_config["server"] = server
    return (
        PPOConfig()
        .environment("netgym", env_config=env_config)
        .env_runners(
            num_env_runners=env_runners,
            num_envs_per_env_runner=envs_per_runner,
            num_cpus_per_env_runner=1,
            env_to_module_connector=lambda env, spaces, device: MeanStdFilter(),
        )
        .training(
            train_batch_size_per_learner=batch,
            minibatch_size=min(batch, 250),
            num_epochs=4,
            lr=3e-4,
        )
        .learners(num_learners=0)
        .debugging(seed=seed)
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", help="a running Ray cluster, HOST:6379 (default: local)")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the local Ray (default: all)")
    parser.add_argument("--env-runners", type=int, default=2, help="default: %(default)s")
    parser.add_argument("--envs-per-runner", type=int, default=1, help="default: %(default)s")
    parser.add_argument("--iterations", type=int, default=10, help="default: %(default)s")
    parser.add_argument("--episode-steps", type=int, default=100, help="default: %(default)s")
    parser.add_argument("--batch", type=int, default=1000, help="env steps per iteration")
    parser.add_argument("--server", help="tcp://HOST:PORT of a NetworkGym server")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="one JSON line per iteration")
    args = parser.parse_args(argv)

    if args.address:
        ray.init(address=args.address)
    else:
        ray.init(num_cpus=args.num_cpus, include_dashboard=False)
    register_env("netgym", rllib_env)
    algo = ppo_config(
        env_runners=args.env_runners,
        envs_per_runner=args.envs_per_runner,
        episode_steps=args.episode_steps,
        batch=args.batch,
        server=args.server,
        seed=args.seed,
    ).build_algo()
    try:
        for iteration in range(1, args.iterations + 1):
            began = time.perf_counter()
            result = algo.train()
            runners = result.get("env_runners", {})
            line = {
                "iteration": iteration,
                "episode_return_mean": float(runners.get("episode_return_mean", math.nan)),
                "episodes": int(runners.get("num_episodes", 0)),
                "env_steps": int(runners.get("num_env_steps_sampled_lifetime", 0)),
                "seconds": round(time.perf_counter() - began, 1),
            }
            if args.json:
                print(json.dumps(line))
            else:
                print(
                    f"iteration {iteration:3d}  return {line['episode_return_mean']:9.3f}  "
                    f"episodes {line['episodes']:4d}  env steps {line['env_steps']:7d}  "
                    f"{line['seconds']:.1f} s",
                    flush=True,
                )
    finally:
        algo.stop()
        ray.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
