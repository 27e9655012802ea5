"""The paper's heuristics, as its code writes them: each rule on hand-made measurements."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from netgym_client import NetworkGymEnv
from netgym_client.cli.agents import BASELINES, make_agent
from netgym_client.stats import NetworkStats

IDS = [1, 2, 3, 4, 5]


def info_of(**rows: list[float]) -> dict[str, Any]:
    """``gma__wifi__dl__rate=[...]`` → the record of ``gma::wifi::dl::rate`` for users 1–5."""
    records = []
    for name, values in rows.items():
        source, _, rest = name.replace("__", "::").partition("::")
        records.append({"source": source, "name": rest, "ts": 1100, "id": IDS, "value": values})
    return {"network_stats": NetworkStats.from_records(records)}


@pytest.fixture
def nqos() -> Any:
    env = NetworkGymEnv("nqos_split")
    yield env
    env.close()


def wifi_share(action: np.ndarray) -> list[float]:
    assert action[:, 1].tolist() == [0.0] * len(action)  # NR untouched
    assert (action[:, 0] + action[:, 2]).tolist() == pytest.approx([1.0] * len(action))
    return [float(v) for v in action[:, 0]]


def test_the_paper_agents_are_baselines_beside_netgyms() -> None:
    names = BASELINES["nqos_split"]
    for ours, theirs in (
        ("throughput_argmax", "paper_throughput_argmax"),
        ("utility_argmax", "paper_utility_argmax"),
        ("utility_logistic", "paper_utility_logistic"),
    ):
        assert ours in names and theirs in names


def test_paper_utility_argmax_formula_and_ties(nqos: NetworkGymEnv) -> None:
    agent = make_agent("paper_utility_argmax", nqos)
    obs = np.zeros((3, 5), dtype=np.float32)
    # first step: nothing measured, every utility ln(1) - ln(1) = 0: a tie goes to LTE
    assert wifi_share(agent.act(obs, {})) == [0.0] * 5
    info = info_of(
        gma__wifi__dl__rate=[9, 0, 3, 0, 1],
        gma__lte__dl__rate=[0, 9, 3, 0, 1],
        gma__wifi__dl__owd=[4, -1, 1, -1, 1],
        gma__lte__dl__owd=[-1, 4, 4, -1, 1],
    )
    # u = ln(1 + rate) - ln(1 + owd): user 1 Wi-Fi ln 10 - ln 5 > 0; user 2 LTE; user 3
    # Wi-Fi ln 4 - ln 2 > ln 4 - ln 5; user 4 a tie at 0 (LTE); user 5 equal (LTE)
    assert wifi_share(agent.act(obs, info)) == [1.0, 0.0, 1.0, 0.0, 0.0]
    # with no traffic every link counts rate 0 and keeps its last delay: user 1's Wi-Fi
    # scores -ln 5 against LTE's never-measured 0, user 3's Wi-Fi -ln 2 against LTE's -ln 5
    later = info_of(gma__wifi__dl__rate=[0, 0, 0, 0, 0], gma__lte__dl__rate=[0, 0, 0, 0, 0])
    assert wifi_share(agent.act(obs, later)) == [0.0, 1.0, 1.0, 0.0, 0.0]


def test_paper_utility_logistic_has_gain_one(nqos: NetworkGymEnv) -> None:
    agent = make_agent("paper_utility_logistic", nqos)
    info = info_of(
        gma__wifi__dl__rate=[math.e - 1, 0, 0, 0, 0],
        gma__lte__dl__rate=[0, math.e - 1, 0, 0, 0],
    )
    share = wifi_share(agent.act(np.zeros((3, 5), dtype=np.float32), info))
    sigmoid = 1 / (1 + math.exp(-1.0))
    assert share == pytest.approx([sigmoid, 1 - sigmoid, 0.5, 0.5, 0.5], rel=1e-6)


def test_paper_throughput_argmax_remembers_and_breaks_ties_to_lte(nqos: NetworkGymEnv) -> None:
    agent = make_agent("paper_throughput_argmax", nqos)
    obs = np.zeros((3, 5), dtype=np.float32)
    info = info_of(wifi__dl__max_rate=[5, 1, 3, 3, -1], lte__dl__max_rate=[1, 5, 3, -1, -1])
    # user 4: LTE unreported counts 0, Wi-Fi 3 wins; user 5: both 0, a tie → LTE
    assert wifi_share(agent.act(obs, info)) == [1.0, 0.0, 0.0, 1.0, 0.0]
    # a later measurement without the rows keeps the last values
    assert wifi_share(agent.act(obs, {})) == [1.0, 0.0, 0.0, 1.0, 0.0]


def test_the_2023_utility_argmax_never_returns_to_an_idle_link(nqos: NetworkGymEnv) -> None:
    agent = make_agent("paper_utility_argmax_2023", nqos)
    obs = np.zeros((3, 5), dtype=np.float32)
    # nothing measured: both utilities ln 0 - ln 0 = NaN, and a NaN LTE utility means LTE
    assert wifi_share(agent.act(obs, {})) == [0.0] * 5
    info = info_of(
        gma__wifi__dl__rate=[4, 2, 2, 0, 0],
        gma__lte__dl__rate=[2, 4, 0, 2, 2],
        gma__wifi__dl__owd=[2, 2, 2, -1, 2],
        gma__lte__dl__owd=[2, 2, -1, 2, 2],
    )
    # users 1, 2: ln(rate) - ln(owd) decides; user 3: LTE never measured, ln 0 - ln 0 = NaN
    # → LTE; user 4: Wi-Fi NaN → Wi-Fi; user 5: Wi-Fi idle after a delay, -inf → LTE
    assert wifi_share(agent.act(obs, info)) == [1.0, 0.0, 0.0, 1.0, 0.0]
    # from then on the idle link scores -inf: user 1 stays on Wi-Fi, user 2 on LTE,
    # however good the idle link was
    later = info_of(gma__wifi__dl__rate=[9, 0, 0, 9, 0], gma__lte__dl__rate=[0, 9, 9, 0, 9])
    assert wifi_share(agent.act(obs, later)) == [1.0, 0.0, 0.0, 1.0, 0.0]


def test_the_2023_utility_logistic_nan_rules(nqos: NetworkGymEnv) -> None:
    agent = make_agent("paper_utility_logistic_2023", nqos)
    info = info_of(
        gma__wifi__dl__rate=[math.e, 0, 0, 1, 1],
        gma__lte__dl__rate=[1, 0, 1, 0, 1],
        gma__wifi__dl__owd=[1, 1, 1, 1, -1],
        gma__lte__dl__owd=[1, 1, 1, 1, 1],
    )
    # user 1: ln e - ln 1 = 1 against 0; user 2: -inf - -inf = NaN → even; user 3: Wi-Fi
    # -inf; user 4: LTE -inf; user 5: Wi-Fi's +inf (delay never measured) against LTE's 0
    share = wifi_share(agent.act(np.zeros((3, 5), dtype=np.float32), info))
    assert share == pytest.approx([1 / (1 + math.exp(-1.0)), 0.5, 0.0, 1.0, 1.0], rel=1e-6)
