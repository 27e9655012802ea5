"""``netgym_client.cli.bench``: its table has every path with a rate and a ratio to raw."""

from __future__ import annotations

import re

import pytest

from netgym_client.cli import bench
from netgym_client.config import load_config

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("users", [1, 16, 17, 1000])
def test_overrides_spread_the_users_over_the_default_slices(users: int) -> None:
    for env in ("nqos_split", "qos_steer", "network_slicing", "custom"):
        config = load_config(env, bench.overrides(env, users))
        assert config.num_users == users
        assert config.steps_per_episode == bench.LONG_EPISODE_STEPS
    assert bench.env_users("rmcat", users) == 1


def test_a_small_run_prints_every_path(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--env", "custom", "--users", "3", "--runs", "2", "--batch-s", "0.01"]
    assert bench.main([*argv, "--num-envs", "2"]) == 0
    out = capsys.readouterr().out
    rows = {m[0]: m[1:] for m in re.findall(r"^custom +3 (\S+) +([\d,.]+) +([\d.]+) ", out, re.M)}
    assert set(rows) == {"raw", "embedded", "tcp", "vector×2"}
    assert re.search(r"vector×2 .* µs CPU/sub-step", out)
    assert rows["raw"][1] == "1.00"
    for rate, ratio in rows.values():
        assert float(rate.replace(",", "")) > 0 and float(ratio) > 0
    assert "top 5 functions" in out
    assert re.search(r"embedded +reset +[\d.]+ ms +close +[\d.]+ ms", out)
    assert re.search(r"tcp +reset +[\d.]+ ms +close +[\d.]+ ms", out)
