"""Our client against a real NetworkGym server (``NETGYM_UPSTREAM=tcp://host:port``).

The original server with its custom-environment worker must serve our client's sessions
unchanged (PROTOCOL.md §4, §5). These tests run only when ``NETGYM_UPSTREAM`` is set; the
same checks run against our own server in test_env_e2e.py.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from netgym_client import NetworkGymEnv

pytestmark = [pytest.mark.e2e, pytest.mark.upstream]


def test_multi_episode_custom_session_against_the_upstream_server() -> None:
    address = os.environ["NETGYM_UPSTREAM"]
    config = {"env_config": {"steps_per_episode": 3, "episodes_per_session": 2}}
    env = NetworkGymEnv("custom", server=address, config=config)
    flags = []
    try:
        for episode in range(2):
            obs, info = env.reset(seed=1 if episode == 0 else None)
            assert obs.shape == (3, 5) and np.all(np.isfinite(obs))
            done = False
            while not done:
                obs, _, terminated, truncated, info = env.step(env.action_space.sample())
                flags.append((terminated, truncated))
                done = terminated or truncated
    finally:
        env.close()
    assert flags == [(False, False), (False, True), (False, False), (True, True)]
    assert info["network_stats"].names()[:3] == [
        "test::measurement_1",
        "test::measurement_2",
        "test::measurement_3",
    ]
