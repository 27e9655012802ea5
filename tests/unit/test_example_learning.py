"""``examples/train_ppo.py`` and ``examples/offline_td3bc.py``: the helpers always; short
training runs (the machinery, not the score) where jax and optax are installed (extra ``rl``)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(name: str) -> ModuleType:
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_action_per_user_becomes_wifi_and_lte_weights() -> None:
    weights = example("train_ppo").split_weights(np.array([[-2.0, -1.0, 0.0, 0.5]]))
    assert weights.shape == (1, 4, 2)
    assert weights[0].tolist() == [[0, 1], [0, 1], [0.5, 0.5], [0.75, 0.25]]


def test_the_running_normalizer_matches_the_pooled_moments() -> None:
    norm = example("train_ppo").RunningNorm(2)
    rng = np.random.default_rng(0)
    parts = [rng.normal(5.0, 3.0, size=(50, 2)) for _ in range(4)]
    for part in parts:
        norm.update(part)
    pooled = np.concatenate(parts)
    assert norm.mean.tolist() == pytest.approx(pooled.mean(0).tolist(), rel=1e-4)
    assert norm.var.tolist() == pytest.approx(pooled.var(0).tolist(), rel=1e-3)


@pytest.mark.parametrize(
    ("name", "missing", "extra"),
    [("train_ppo", "jax", "'.[rl]'"), ("offline_td3bc", "minari", "'.[rl,datasets]'")],
)
def test_without_the_extra_the_message_names_it(
    name: str,
    missing: str,
    extra: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    module = example(name)
    monkeypatch.setitem(sys.modules, missing, None)
    assert module.main(["--out", "unused"]) == 1
    assert f"pip install -e {extra}" in capsys.readouterr().err


@pytest.mark.rl
@pytest.mark.slow
def test_a_short_ppo_run_writes_its_curve_plot_and_scores(tmp_path: Path) -> None:
    out = tmp_path / "ppo"
    argv = ["--steps", "512", "--envs", "4", "--rollout", "32", "--episode-steps", "20"]
    argv += ["--eval-seeds", "2", "--eval-steps", "10", "--out", str(out)]
    assert example("train_ppo").main(argv) == 0
    result = json.loads(out.with_suffix(".json").read_text())
    assert result["scenario"] == "netgym/nqos_split-paper-v0"
    assert result["budget"]["env_steps"] == 512
    assert [p["steps"] for p in result["curve"]] == [128, 256, 384, 512]
    assert all(math.isfinite(p["mean_reward_per_step"]) for p in result["curve"])
    scores = result["eval"]["scores"]
    assert set(scores) == {"ppo", "system_default", "random", "all_wifi"}
    assert all(len(s["per_seed"]) == 2 for s in scores.values())
    assert set(result["beats"]) == {"system_default", "random", "all_wifi"}
    png = out.with_suffix(".png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


@pytest.mark.rl
@pytest.mark.slow
def test_ppo_training_is_reproducible_from_its_seed() -> None:
    train = example("train_ppo").train
    first = train(128, envs=2, rollout=32, episode_steps=10, seed=3)[2]
    second = train(128, envs=2, rollout=32, episode_steps=10, seed=3)[2]
    other = train(128, envs=2, rollout=32, episode_steps=10, seed=4)[2]
    assert first == second
    assert first != other


@pytest.mark.rl
@pytest.mark.slow
def test_a_short_td3bc_run_learns_from_netgym_datasets(tmp_path: Path) -> None:
    out = tmp_path / "td3bc"
    argv = ["--agents", "system_default", "random", "--seeds", "100", "--steps", "10"]
    argv += ["--updates", "20", "--eval-seeds", "1", "--eval-steps", "5"]
    argv += ["--datasets", str(tmp_path / "minari"), "--out", str(out)]
    assert example("offline_td3bc").main(argv) == 0
    result = json.loads(out.with_suffix(".json").read_text())
    assert result["datasets"]["ids"] == [
        "netgym/nqos_split-paper/system_default-v0",
        "netgym/nqos_split-paper/random-v0",
    ]
    assert result["datasets"]["transitions"] == 20
    assert (tmp_path / "minari" / "netgym" / "nqos_split-paper" / "random-v0").is_dir()
    assert set(result["eval"]["scores"]) == {"td3bc", "system_default", "random"}
    assert set(result["beats"]) == {"system_default", "random"}
