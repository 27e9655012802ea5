"""Train PPO (stable-baselines3) on ``nqos_split`` against the embedded simulator.

Needs the optional extra ``sb3`` (``pip install -e '.[sb3]'``; install a CPU build of torch
first if you do not want the CUDA one)::

    python examples/train_sb3.py --steps 3000

What the agent sees and does:

- observation: the ``(3, N)`` Box of Mbps (LTE capacity, Wi-Fi capacity, delivered rate per
  user) flattened to ``3·N`` values and divided by :data:`OBS_SCALE_MBPS`, so that the
  network's inputs are of order 1;
- action: one value per user in ``[-1, 1]`` (PPO's Gaussian policy is centred on 0),
  rescaled to the user's Wi-Fi share ``w ∈ [0, 1]`` and sent as the split weights
  ``[w, 0, 1 − w]`` (Wi-Fi, NR, LTE): the two links the observation describes, as in the
  NetworkGym paper's nqos_split action (the Wi-Fi ratio per user).

It prints one JSON line: steps, wall time, and the mean reward per step of the first and the
last rollout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from netgym_client import NetworkGymEnv

#: Divisor of the observation (Mbps), so that typical rates are of order 1.
OBS_SCALE_MBPS = 100.0
#: PPO's rollout length and minibatch size (one rollout = N_STEPS environment steps).
N_STEPS, BATCH_SIZE = 256, 64


class WifiShareActions(gym.ActionWrapper[np.ndarray, np.ndarray, np.ndarray]):
    """One value per user in ``[-1, 1]`` becomes ``w`` on Wi-Fi and ``1 − w`` on LTE.

    The ``(N, L)`` split weights have one column per link the config has (the adapter's
    ``links``: Wi-Fi, NR, LTE with gNBs; Wi-Fi, LTE without); NR gets 0.
    """

    def __init__(self, env: gym.Env[np.ndarray, np.ndarray]) -> None:
        super().__init__(env)
        shape = env.action_space.shape
        links = tuple(getattr(getattr(env.unwrapped, "adapter", None), "links", ()))
        if shape is None or len(shape) != 2 or "wifi" not in links or "lte" not in links:
            raise TypeError(f"needs an (N, L) Wi-Fi/LTE split-weight Box, got {env.action_space}")
        self.width = shape[1]
        self.wifi_col, self.lte_col = links.index("wifi"), links.index("lte")
        self.action_space = gym.spaces.Box(-1.0, 1.0, (shape[0],), np.float32)

    def action(self, action: np.ndarray) -> np.ndarray:
        """``w = (a + 1) / 2`` per user: ``w`` on Wi-Fi, ``1 − w`` on LTE."""
        share = (np.clip(np.asarray(action, dtype=np.float32), -1.0, 1.0) + 1.0) / 2.0
        weights = np.zeros((share.shape[0], self.width), dtype=np.float32)
        weights[:, self.wifi_col] = share
        weights[:, self.lte_col] = 1.0 - share
        return weights


def make_env(steps_per_episode: int = 10) -> gym.Env[Any, Any]:
    """``nqos_split`` with a flat, scaled observation and a Wi-Fi share action per user."""
    env: gym.Env[Any, Any] = NetworkGymEnv(
        "nqos_split", config={"env_config": {"steps_per_episode": steps_per_episode}}
    )
    env = gym.wrappers.FlattenObservation(env)
    low = np.zeros(env.observation_space.shape, dtype=np.float32)
    high = np.full(env.observation_space.shape, 1000.0 / OBS_SCALE_MBPS, dtype=np.float32)
    env = gym.wrappers.TransformObservation(
        env,
        lambda obs: np.asarray(obs, dtype=np.float32) / OBS_SCALE_MBPS,
        gym.spaces.Box(low, high, dtype=np.float32),
    )
    return WifiShareActions(env)


def train(steps: int, seed: int = 0) -> dict[str, Any]:
    """Train PPO for ``steps`` environment steps; returns the run's figures.

    Raises:
        ImportError: stable-baselines3 is not installed (the extra ``sb3``).
    """
    try:
        from stable_baselines3 import PPO  # noqa: PLC0415 (optional extra)
        from stable_baselines3.common.callbacks import BaseCallback  # noqa: PLC0415
    except ImportError as exc:
        raise ImportError(
            "this example needs stable-baselines3, the optional extra 'sb3': "
            "in a clone of netgym, pip install -e '.[sb3]'"
        ) from exc

    class RolloutRewards(BaseCallback):
        """The mean reward per step of every rollout."""

        def __init__(self) -> None:
            super().__init__()
            self.means: list[float] = []

        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            rewards = self.model.rollout_buffer.rewards
            self.means.append(float(np.mean(rewards)))

    env = make_env()
    try:
        model = PPO(
            "MlpPolicy",
            env,
            n_steps=N_STEPS,
            batch_size=BATCH_SIZE,
            seed=seed,
            device="cpu",
            verbose=0,
        )
        rollouts = RolloutRewards()
        started = time.perf_counter()
        model.learn(total_timesteps=steps, callback=rollouts)
        wall_s = time.perf_counter() - started
    finally:
        env.close()
    return {
        "steps": int(model.num_timesteps),
        "rollouts": len(rollouts.means),
        "wall_s": round(wall_s, 1),
        "steps_per_s": round(model.num_timesteps / wall_s, 1),
        "first_rollout_mean_reward": rollouts.means[0],
        "last_rollout_mean_reward": rollouts.means[-1],
        "rollout_mean_rewards": [round(m, 4) for m in rollouts.means],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--steps``, ``--seed``; prints the figures as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000, help="environment steps to train")
    parser.add_argument("--seed", type=int, default=0, help="PPO's and the session's seed")
    args = parser.parse_args(argv)
    try:
        figures = train(args.steps, args.seed)
    except ImportError as exc:
        print(f"train_sb3: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
