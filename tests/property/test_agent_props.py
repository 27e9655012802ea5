"""Every baseline agent answers every measurement a server can send with a valid action."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_client import NetworkGymEnv
from netgym_client.cli.agents import BASELINES, make_agent
from netgym_client.testing.strategies import network_stats

PAIRS = [(env, agent) for env, agents in BASELINES.items() for agent in agents]


@pytest.mark.parametrize(("env_name", "agent_name"), PAIRS)
@settings(max_examples=10)
@given(data=st.data())
def test_actions_are_members_of_the_action_space(
    env_name: str, agent_name: str, data: st.DataObject
) -> None:
    env = NetworkGymEnv(env_name)
    agent = make_agent(agent_name, env, seed=0)
    adapter = env.adapter
    num_users = len(getattr(adapter, "ids", [])) or None
    if env_name == "network_slicing":
        num_users = int(env.config.env_config["num_users"])
    for _ in range(3):  # several steps: the utility agents keep state
        stats = data.draw(network_stats(env=env_name, num_users=num_users))
        obs = adapter.observation(stats)
        action = agent.act(obs, {"network_stats": stats})
        if action.size == 0:
            continue
        assert np.all(np.isfinite(action.astype(np.float64)))
        assert env.action_space.contains(action.astype(env.action_space.dtype)), action
        adapter.policy(action, stats)  # the adapter takes it without an ActionError
