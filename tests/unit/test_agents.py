"""The reference agents and baselines: each heuristic's rule on hand-made inputs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from netgym_client import NetworkGymEnv
from netgym_client.cli.agents import (
    AGENTS,
    BASELINES,
    LOGISTIC_GAIN,
    WIFI_AIRTIME_BUDGET,
    AgentError,
    agents_for,
    link_utilities,
    logistic_wifi_share,
    make_agent,
)
from netgym_client.config import ENVIRONMENTS
from netgym_client.stats import NetworkStats


def env_of(name: str, **env_config: Any) -> NetworkGymEnv:
    return NetworkGymEnv(name, config={"env_config": env_config} if env_config else None)


def gma_obs(lte: list[float], wifi: list[float]) -> np.ndarray:
    return np.array([lte, wifi, [0.0] * len(lte)], dtype=np.float32)


def owd_stats(wifi: list[float], lte: list[float]) -> dict[str, Any]:
    ids = list(range(1, len(wifi) + 1))
    records = [
        {"source": "gma", "name": f"{link}::dl::owd", "ts": 1100, "id": ids, "value": values}
        for link, values in (("wifi", wifi), ("lte", lte))
    ]
    return {"network_stats": NetworkStats.from_records(records)}


@pytest.fixture
def nqos() -> Any:
    env = env_of("nqos_split")
    yield env
    env.close()


def test_every_baseline_is_an_agent_that_fits() -> None:
    assert set(BASELINES) == set(ENVIRONMENTS)
    for env_name, names in BASELINES.items():
        for name in names:
            assert AGENTS[name].fits(env_name), (env_name, name)
    assert {"all_wifi", "all_lte", "throughput_argmax", "utility_argmax", "utility_logistic"} <= (
        set(BASELINES["nqos_split"])
    )


def test_unknown_agent() -> None:
    with pytest.raises(AgentError, match="unknown agent 'nope'"):
        make_agent("nope", env_of("custom"))


@pytest.mark.parametrize(("agent", "env"), [("capacity", "rmcat"), ("nada", "nqos_split")])
def test_an_agent_that_does_not_fit(agent: str, env: str) -> None:
    with pytest.raises(AgentError, match=f"does not fit env '{env}'") as error:
        make_agent(agent, env_of(env))
    for name in agents_for(env):
        assert name in str(error.value)


def test_all_wifi_and_all_lte(nqos: NetworkGymEnv) -> None:
    obs = gma_obs([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])
    assert make_agent("all_wifi", nqos).act(obs, {}).tolist() == [[1, 0, 0]] * 5
    assert make_agent("all_lte", nqos).act(obs, {}).tolist() == [[0, 0, 1]] * 5


def test_throughput_argmax_takes_the_higher_max_rate(nqos: NetworkGymEnv) -> None:
    obs = gma_obs([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])
    action = make_agent("throughput_argmax", nqos).act(obs, {})
    assert action.tolist() == [[1, 0, 0], [1, 0, 0], [1, 0, 0], [0, 0, 1], [0, 0, 1]]


def test_link_utilities_floor_and_formula() -> None:
    got = link_utilities(np.array([10.0, 0.0, 10.0]), np.array([5.0, 5.0, -1.0]))
    assert got.tolist() == pytest.approx([math.log(2), math.log(0.01 / 5), math.log(10)])


def test_utility_argmax_reads_the_per_link_delays(nqos: NetworkGymEnv) -> None:
    agent = make_agent("utility_argmax", nqos)
    obs = gma_obs([10] * 5, [10] * 5)  # equal capacities: the delays decide
    info = owd_stats(wifi=[50, 1, 50, -1, 5], lte=[1, 50, -1, 50, 5])
    # user 3: LTE unmeasured (-1) keeps its floor (1 ms) → LTE; user 4: Wi-Fi likewise.
    assert agent.act(obs, info)[:, [0, 2]].tolist() == [[0, 1], [1, 0], [0, 1], [1, 0], [1, 0]]
    # Later steps without a measurement remember the last delay per link.
    later = owd_stats(wifi=[-1] * 5, lte=[-1] * 5)
    assert agent.act(obs, later)[:, [0, 2]].tolist() == [[0, 1], [1, 0], [0, 1], [1, 0], [1, 0]]


def test_utility_logistic_split(nqos: NetworkGymEnv) -> None:
    agent = make_agent("utility_logistic", nqos)
    obs = gma_obs([10, 10, 10, 10, 10], [10, 10 * math.e, 10 / math.e, 10, 10])
    info = owd_stats(wifi=[1] * 5, lte=[1] * 5)
    action = agent.act(obs, info)
    expected = [
        0.5,
        1 / (1 + math.exp(-LOGISTIC_GAIN)),
        1 / (1 + math.exp(LOGISTIC_GAIN)),
        0.5,
        0.5,
    ]
    assert action[:, 0].tolist() == pytest.approx(expected, rel=1e-6)
    assert (action[:, 0] + action[:, 2]).tolist() == pytest.approx([1.0] * 5)
    assert action[:, 1].tolist() == [0.0] * 5
    assert logistic_wifi_share(np.array([1e9, -1e9])).tolist() == pytest.approx([1.0, 0.0])


def test_wifi_admission_fills_the_airtime_budget() -> None:
    env = env_of("qos_steer")
    agent = make_agent("wifi_admission", env)
    demand = max(env.config.env_config["per_slice_config"]["max_udp_rate_per_user_mbps"])
    capacity = [20.0, 0.0, 10.0, 40.0, 15.0, 30.0, 12.0, 60.0]
    action = agent.act(gma_obs([5.0] * 8, capacity), {})
    airtime = {u: demand / c for u, c in enumerate(capacity) if c > 0}
    used, admitted = 0.0, set()
    for user in sorted(airtime, key=airtime.__getitem__):
        if used + airtime[user] > WIFI_AIRTIME_BUDGET:
            break
        used += airtime[user]
        admitted.add(user)
    assert {int(u) for u in np.flatnonzero(action)} == admitted
    assert 0 < len(admitted) < 8 and action[1] == 0  # no capacity: never admitted
    assert env.action_space.contains(action)


def test_qos_steer_throughput_argmax() -> None:
    agent = make_agent("throughput_argmax", env_of("qos_steer"))
    action = agent.act(gma_obs([1, 5, 3, 3, 0, 9, 2, 2], [2, 4, 3, 1, 0, 8, 9, 1]), {})
    assert action.tolist() == [1, 0, 1, 0, 1, 0, 1, 0]


def test_slicing_shares() -> None:
    env = env_of("network_slicing")
    assert make_agent("equal_share", env).act(np.zeros((3, 2)), {}).tolist() == [1.0, 1.0]
    users = env.config.env_config["per_slice_config"]["num_users"]  # [2, 3]
    got = make_agent("user_proportional", env).act(np.zeros((3, 2)), {})
    assert got.tolist() == pytest.approx([u / max(users) for u in users])


def test_nada_mirror_sends_nadas_rate_clipped() -> None:
    env = env_of("rmcat")
    agent = make_agent("nada_mirror", env)
    low = float(env.action_space.low[0])
    assert agent.act(np.zeros((3, 1)), {}).tolist() == [low]
    for nada, expected in ((400_000.0, 400_000.0), (9e9, 1_500_000.0), (10.0, low)):
        stats = NetworkStats.from_records(
            [{"source": "rmcat", "name": "nada_srate", "ts": 1100, "id": [0], "value": [nada]}]
        )
        assert agent.act(np.zeros((3, 1)), {"network_stats": stats}).tolist() == [expected]


def test_system_default_and_nada_send_empty_actions() -> None:
    for env_name, name in (("nqos_split", "system_default"), ("rmcat", "nada")):
        assert make_agent(name, env_of(env_name)).act(np.zeros(1), {}).size == 0


def test_random_is_seeded(nqos: NetworkGymEnv) -> None:
    first = make_agent("random", nqos, 4).act(np.zeros(1), {})
    again = make_agent("random", nqos, 4).act(np.zeros(1), {})
    assert np.array_equal(first, again)


def test_capacity_weights_are_shares_inside_the_box(nqos: NetworkGymEnv) -> None:
    action = make_agent("capacity", nqos).act(gma_obs([10, 0, 30, 0, 5], [30, 0, 10, 8, 5]), {})
    assert action[:, 0].tolist() == [0.75, 1.0, 0.25, 1.0, 0.5]
    assert nqos.action_space.contains(action)
