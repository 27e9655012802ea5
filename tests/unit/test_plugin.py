"""The pytest plugin: ``netgym_server`` and ``netgym_env`` fixtures, loaded every supported way.

This module imports the fixtures, which works whether or not the installed ``netgym`` entry
point has registered the plugin too (a module-level fixture simply shadows the plugin's).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from netgym_client.errors import NetGymError
from netgym_client.testing.plugin import EnvFactory, netgym_env, netgym_server  # noqa: F401
from netgym_sim.serving.server import FakeServer

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
SHORT = {"env_config": {"steps_per_episode": 2, "episodes_per_session": 1, "num_users": 2}}


def test_the_server_fixture_runs_on_loopback(netgym_server: FakeServer) -> None:  # noqa: F811
    assert netgym_server.running
    assert netgym_server.address.startswith("tcp://127.0.0.1:")
    assert int(netgym_server.address.rsplit(":", 1)[1]) > 0


def test_the_env_factory_connects_to_the_fixture_server(
    netgym_env: EnvFactory,  # noqa: F811
    netgym_server: FakeServer,  # noqa: F811
) -> None:
    env = netgym_env("custom", config=SHORT)
    assert env.config.server.address == netgym_server.address
    obs, _ = env.reset(seed=4)
    assert obs.shape == (3, 2) and env.observation_space.contains(obs)
    obs, reward, terminated, truncated, info = env.step(np.full(2, 0.5, dtype=np.float32))
    assert (terminated, truncated) == (False, True)
    assert reward == pytest.approx(float(np.mean(obs)))  # custom's default: measurement_mean
    assert info["session_end"] is True and info["filled_values"] == 0


INNER = """
import pytest
from netgym_client.errors import NetGymError

SEEN = []

def test_uses_the_fixtures(netgym_env, netgym_server):
    env = netgym_env("custom", config={"env_config": {"steps_per_episode": 2,
                                                      "episodes_per_session": 1}})
    obs, _ = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    SEEN.append((netgym_server, env))

def test_everything_was_stopped_and_closed():
    server, env = SEEN[0]
    assert not server.running
    with pytest.raises(NetGymError, match="reset"):
        env.step(env.action_space.sample())
"""


def test_the_plugin_loads_by_module_name_and_cleans_up(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=INNER)
    # "no:netgym" keeps an installed entry point from registering the same module twice.
    result = pytester.runpytest_inprocess("-p", "no:netgym", "-p", "netgym_client.testing.plugin")
    result.assert_outcomes(passed=2)


def test_a_test_module_may_name_the_plugin_too(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner='pytest_plugins = ["netgym_client.testing.plugin"]\n' + INNER)
    result = pytester.runpytest_inprocess("-p", "no:netgym", "-p", "netgym_client.testing.plugin")
    result.assert_outcomes(passed=2)


def test_the_installed_entry_point_provides_the_fixtures(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A dist-info on the path stands for `pip install -e .`: pytest loads its pytest11 entry
    # point under the name "netgym", as it will in CI.
    dist = pytester.path / "site" / "netgym_fake-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: netgym-fake\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text("[pytest11]\nnetgym = netgym_client.testing.plugin\n")
    monkeypatch.setenv("PYTHONPATH", f"{dist.parent}:{ROOT}")
    pytester.makepyfile(
        test_plain=INNER,
        test_importing="from netgym_client.testing.plugin import netgym_env, netgym_server\n"
        + INNER,
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_step_without_reset_is_refused(netgym_env: EnvFactory) -> None:  # noqa: F811
    env = netgym_env("custom", config=SHORT)
    with pytest.raises(NetGymError):
        env.step(np.zeros(2, dtype=np.float32))
