"""``examples/train_sb3.py``: the wrappers always; a short PPO run where stable-baselines3 is."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_sb3.py"


def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("train_sb3", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_wrapped_env_is_flat_and_scaled() -> None:
    ex = example()
    env = ex.make_env(steps_per_episode=3)
    try:
        assert env.observation_space.shape == (15,)
        assert env.action_space.shape == (5,)
        obs, _ = env.reset(seed=2)
        assert env.observation_space.contains(obs)
        raw = env.unwrapped.adapter.observation(env.unwrapped._stats)
        assert obs.tolist() == pytest.approx((raw.reshape(-1) / ex.OBS_SCALE_MBPS).tolist())
        split = env.action(np.array([-1.0, -0.5, 0.0, 0.5, 1.0], dtype=np.float32))
        assert split.tolist() == [
            [0, 0, 1],
            [0.25, 0, 0.75],
            [0.5, 0, 0.5],
            [0.75, 0, 0.25],
            [1, 0, 0],
        ]
        env.step(env.action_space.sample())
    finally:
        env.close()


def test_without_stable_baselines3_the_message_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)
    assert example().main(["--steps", "10"]) == 1
    assert "pip install -e '.[sb3]'" in capsys.readouterr().err


@pytest.mark.sb3
@pytest.mark.slow
def test_ppo_trains_for_a_few_rollouts() -> None:
    figures = example().train(steps=600, seed=0)
    assert figures["steps"] >= 600
    assert figures["rollouts"] == math.ceil(600 / 256)
    assert all(math.isfinite(m) for m in figures["rollout_mean_rewards"])
    assert -10.0 <= figures["last_rollout_mean_reward"] <= 10.0  # the utility reward's bounds
