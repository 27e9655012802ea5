"""On a local Ray cluster (2 CPUs): ``netgym baselines --ray`` and one RLlib PPO iteration.

Marked ``ray``: collected only where Ray is installed (the extra ``ray``; CI does not
install it, see ``tests/unit/conftest.py``). Run them with ``python -m pytest -m ray``.
The module's fixture starts the cluster once and shuts it down after the last test.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest

from netgym_client import cli
from netgym_client.cli.ray_sweep import gather, plan, ray_executor
from netgym_client.scenarios import SCENARIOS

pytestmark = [pytest.mark.ray, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()
    assert not ray.is_initialized()


TINY = ["--scenario", "rmcat-varying", "--seeds", "0-2", "--steps-per-episode", "4", "--json"]


def test_baselines_on_ray_give_the_serial_table(
    ray_cluster: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["baselines", *TINY]) == 0
    serial = json.loads(capsys.readouterr().out)
    assert cli.main(["baselines", *TINY, "--ray"]) == 0
    on_ray = json.loads(capsys.readouterr().out)
    assert [r["agent"] for r in on_ray] == ["nada", "nada_mirror", "random"]
    assert all(r["seeds"] == "0-2" and r["episodes"] == 3 for r in on_ray)
    assert on_ray == serial
    assert ray_cluster.is_initialized()  # a Ray it did not start is left running


def test_a_session_failing_on_ray_is_retried_once_then_reported(ray_cluster: Any) -> None:
    good = plan([SCENARIOS["rmcat-varying"]], seeds=[0], steps_per_episode=3)[:1]
    bad = [type(good[0])("rmcat-varying", "no_such_agent", 0, steps_per_episode=3)]
    with ray_executor() as executor:
        results, failures, interrupted = gather(good + bad, executor)
    assert not interrupted and list(results) == good
    (failure,) = failures
    assert failure.session == bad[0] and failure.attempts == 2
    assert "no_such_agent" in failure.error


def test_one_rllib_ppo_iteration_on_two_env_runners(ray_cluster: Any) -> None:
    from ray.tune.registry import register_env

    from netgym_client.integrations.rllib import rllib_env
    from tests.unit.test_example_learning import example

    register_env("netgym", rllib_env)
    config = example("train_rllib").ppo_config(env_runners=2, episode_steps=20, batch=200)
    algo = config.env_runners(num_cpus_per_env_runner=0.5).build_algo()
    try:
        result = algo.train()
    finally:
        algo.stop()
    runners = result["env_runners"]
    assert runners["num_env_steps_sampled_lifetime"] >= 200
    assert runners["num_episodes"] >= 2  # episodes of 19 steps ended on both runners
    assert math.isfinite(runners["episode_return_mean"])
    learner = result["learners"]["default_policy"]
    assert math.isfinite(learner["total_loss"])


def test_a_dataset_on_ray_holds_the_serial_episodes(
    ray_cluster: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    minari = pytest.importorskip("minari")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    argv = ["dataset", "--env", "rmcat", "--agent", "random", "--seeds", "0-2", "--steps", "4"]
    assert cli.main([*argv, "--out", "netgym/rmcat/serial-v0", "--json"]) == 0
    assert cli.main([*argv, "--out", "netgym/rmcat/ray-v0", "--json", "--ray"]) == 0
    serial = list(minari.load_dataset("netgym/rmcat/serial-v0").iterate_episodes())
    on_ray = list(minari.load_dataset("netgym/rmcat/ray-v0").iterate_episodes())
    assert len(on_ray) == len(serial) == 3
    for one, other in zip(serial, on_ray, strict=True):
        assert (one.observations == other.observations).all()
        assert (one.actions == other.actions).all()
        assert (one.rewards == other.rewards).all()
