"""Live collection for ``netgym dataset``: a baseline agent, one session per seed.

Each seed is one session run as one episode of ``steps`` transitions
(``steps_per_episode = steps + 1``, one episode per session), the last one ``truncated``; the
episodes are what :func:`netgym_client.recording.dataset.write_dataset` stores (its Rules say how
actions and infos are kept).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from netgym_client.cli.agents import make_agent
from netgym_client.env import NetworkGymEnv
from netgym_client.recording.dataset import (
    DatasetError,
    Episode,
    adapter_ids,
    adapter_links,
    applied_action,
    flat_info,
)

__all__ = ["collect_episodes"]


def collect_episodes(
    env_name: str,
    agent_name: str,
    seeds: Iterable[int],
    steps: int,
    *,
    server: str | None = None,
    config_path: str | None = None,
    on_step: Callable[[int, float], None] | None = None,
) -> Iterator[Episode]:
    """Run ``agent_name`` for one episode of ``steps`` transitions per seed.

    ``on_step(episode_index, sim_s)`` is called after every step (for a progress bar).

    Raises:
        AgentError: The agent does not fit the environment.
        DatasetError: ``steps < 1``, or ``system_default`` where the applied action is unknown.
        NetGymError: A configuration, transport or server fault.
    """
    if steps < 1:
        raise DatasetError(f"steps: at least 1 transition per episode, got {steps}")
    overrides = {"env_config": {"steps_per_episode": steps + 1, "episodes_per_session": 1}}
    env = NetworkGymEnv(env_name, config=overrides, server=server, config_path=config_path)
    try:
        ids = adapter_ids(env.adapter)
        links = adapter_links(env.adapter)
        for index, seed in enumerate(seeds):
            agent = make_agent(agent_name, env, seed)
            obs, info = env.reset(seed=seed)
            first_info = [flat_info(info["network_stats"], info)]
            spaces = (env.observation_space, env.action_space)
            episode = Episode(seed, [obs], [], [], [], [], first_info, spaces)
            done = False
            while not done:
                action = np.asarray(agent.act(obs, info))
                obs, reward, terminated, truncated, info = env.step(action)
                stats = info["network_stats"]
                if action.size == 0:
                    action = applied_action(env_name, stats, ids, links)
                episode.observations.append(obs)
                episode.actions.append(action.astype(env.action_space.dtype))
                episode.rewards.append(float(reward))
                episode.terminations.append(bool(terminated))
                episode.truncations.append(bool(truncated))
                episode.infos.append(flat_info(stats, info))
                done = terminated or truncated
                if on_step is not None:
                    on_step(index, stats.ts / 1000.0)
            yield episode
    finally:
        env.close()
