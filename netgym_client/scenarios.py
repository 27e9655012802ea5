"""Benchmark scenarios: named configurations in which the baseline agents differ.

Each environment's default configuration stays the original's (parity); in three of the
five defaults every baseline scores the same. A scenario is a set of overrides deep-merged
over its environment's defaults, registered as ``netgym/<env>-<name>-v0``::

    env = gymnasium.make("netgym/nqos_split-congested-v0", server="embedded")

``config=`` given to :func:`make` (or ``gymnasium.make``) is merged over the scenario's own
overrides; ``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")`` gives the
native vector env (:func:`make_vec`). Every scenario names the seeds, episodes and steps
``netgym baselines`` runs it with (:attr:`Scenario.seeds`, ...), so the table can be
reproduced.

The scenarios (what makes each hard, and the best baseline: see each ``doc`` and the
README's benchmark table):

- ``nqos_split-paper``: the NetworkGym paper's layout.
- ``nqos_split-congested``: the same layout with 12 TCP users.
- ``qos_steer-loaded``: 24 users at 3–5 Mbit/s on one Wi-Fi AP.
- ``network_slicing-competing``: 20 Mbit/s per user, the slices compete for RBs.
- ``rmcat-varying``: a bottleneck that changes every 5 s between 0.3 and 3 Mbit/s.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from netgym_client.config import ENVIRONMENTS
from netgym_client.env import NetworkGymEnv
from netgym_client.errors import ConfigError
from netgym_client.vector import NetworkGymVectorEnv

__all__ = ["SCENARIOS", "Scenario", "make", "make_vec", "merge", "scenario_id"]


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` deep-merged over ``base`` (nested mappings merged, anything else replaced)."""
    merged = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@dataclass(frozen=True)
class Scenario:
    """A named configuration of one environment.

    Attributes:
        env: The environment.
        name: The scenario's name (``<env>-<name>`` is its key in :data:`SCENARIOS`).
        overrides: Merged over the environment's default configuration.
        doc: What makes it hard and what the best baseline does.
        best: The baseline a learning agent must beat (the best on the README's table).
        seeds: The seeds ``netgym baselines`` runs (one session per seed).
        episodes: Episodes per session.
        steps_per_episode: Measurements per episode in ``netgym baselines``.
    """

    env: str
    name: str
    overrides: Mapping[str, Any]
    doc: str
    best: str
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    episodes: int = 1
    steps_per_episode: int = 100

    @property
    def key(self) -> str:
        """``<env>-<name>``."""
        return f"{self.env}-{self.name}"

    @property
    def id(self) -> str:
        """The gymnasium id, ``netgym/<env>-<name>-v0``."""
        return scenario_id(self.key)

    def config(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The scenario's overrides with ``extra`` merged over them."""
        return merge(self.overrides, extra or {})


def scenario_id(key: str) -> str:
    """The gymnasium id of scenario ``key``: ``"netgym/<key>-v0"``."""
    return f"netgym/{key}-v0"


#: The paper's layout (hmomin/networkgym): an LTE eNB between two Wi-Fi APs on a line, four
#: users walking it at 1 m/s, TCP, 50 LTE RBs, normalized utility.
PAPER_LAYOUT: Mapping[str, Any] = {
    "rl_config": {"reward_type": "normalized_utility"},
    "env_config": {
        "steps_per_episode": 1000,
        "episodes_per_session": 1,
        "max_wait_time_for_action_ms": -1,
        "lte_enb_locations": {"x": 40, "y": 0, "z": 3},
        "nr_gnb_locations": [],
        "wifi_ap_locations": [{"x": 30, "y": 0, "z": 3}, {"x": 50, "y": 0, "z": 3}],
        "per_slice_config": {
            "num_users": [4],
            "dedicated_rbg": [0],
            "prioritized_rbg": [0],
            "shared_rbg": [25],
            "packet_size_bytes": [1400],
            "transport_protocol": ["tcp"],
            "udp_poisson_arrival": [True],
            "min_udp_rate_per_user_mbps": [6],
            "max_udp_rate_per_user_mbps": [6],
            "qos_test_duration_ms": [500],
            "qos_loss_target": [1.0],
            "qos_delay_violation_target": [0.01],
            "qos_delay_requirement_ms": [1000000],
            "delay_test_1_thresh_ms": [1000000],
            "delay_test_2_thresh_ms": [1000000],
            "downlink_mode": ["split"],
            "uplink_mode": ["auto"],
        },
        "user_random_walk": {
            "min_speed_m/s": 1,
            "max_speed_m/s": 1,
            "min_direction_gradients": 0.0,
            "max_direction_gradients": 0.0,
            "distance_m": 1000000,
        },
        "user_location_range": {"min_x": 0, "max_x": 80, "min_y": 0, "max_y": 0, "z": 1.5},
        "lte": {"resource_block_num": 50},
    },
}

#: rmcat-varying's bottleneck, kbit/s, each held 5 s, repeated.
VARYING_BW_KBPS = (1000, 300, 2000, 600, 3000, 300, 1500, 500)
_TRACE_TIMES = tuple(range(0, 200_000, 5_000))
_VARYING_TRACE = {
    "time_ms": list(_TRACE_TIMES),
    "bw_kbps": [VARYING_BW_KBPS[i % len(VARYING_BW_KBPS)] for i in range(len(_TRACE_TIMES))],
    "delay_ms": [10] * len(_TRACE_TIMES),
    "loss": [0.0] * len(_TRACE_TIMES),
}


def _frozen(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(copy.deepcopy(dict(value)))


_LIST = [
    Scenario(
        "nqos_split",
        "paper",
        _frozen(PAPER_LAYOUT),
        "The paper's layout: LTE at x = 40 m between Wi-Fi APs at 30 m and 50 m, 4 TCP users "
        "walking x in [0, 80] at 1 m/s. Hard because Wi-Fi is much better only near the APs "
        "and LTE's queue grows under TCP: a split that leans on LTE loses delay, one that "
        "leans on Wi-Fi loses rate at the ends of the line, and where users start (the seed) "
        "moves every agent's score by about ±0.3. Best baseline: all_wifi (= throughput_argmax "
        "and paper_throughput_argmax, +1.35 per step over 10 seeds), with "
        "paper_utility_argmax_2023 (+1.34) and system_default (+1.23) within its interval, "
        "far above random (-1.63) and all_lte (-2.45).",
        best="all_wifi",
        seeds=tuple(range(10)),
        steps_per_episode=300,
    ),
    Scenario(
        "nqos_split",
        "congested",
        _frozen(merge(PAPER_LAYOUT, {"env_config": {"per_slice_config": {"num_users": [12]}}})),
        "The paper's layout with 12 TCP users: the two Wi-Fi APs are shared by 6 users each "
        "and LTE's 50 RBs by all; LTE's queue grows under TCP, so every split that leans on "
        "LTE (capacity, the utility rules) pays in delay. Best baseline: all_wifi "
        "(= throughput_argmax, +0.47 per step over 5 seeds), ahead of system_default (+0.34) "
        "and paper_utility_argmax (+0.24), far ahead of random (-2.78) and all_lte (-3.74).",
        best="all_wifi",
        steps_per_episode=200,
    ),
    Scenario(
        "qos_steer",
        "loaded",
        _frozen(
            {
                "env_config": {
                    "steps_per_episode": 20,
                    "per_slice_config": {
                        "num_users": [24],
                        "min_udp_rate_per_user_mbps": [3],
                        "max_udp_rate_per_user_mbps": [5],
                    },
                }
            }
        ),
        "24 users at 3-5 Mbit/s UDP on one Wi-Fi AP: together they need more than the AP "
        "carries, so steering everyone to Wi-Fi (all_wifi, throughput_argmax, the default) "
        "violates the QoS of most of them. Best baseline: wifi_admission (11.4 users with "
        "QoS per step) admits the users that need the least airtime within a budget, "
        "against 4.2 for all_wifi and the default and 1.1 for random.",
        best="wifi_admission",
        steps_per_episode=20,
    ),
    Scenario(
        "network_slicing",
        "competing",
        _frozen(
            {
                "env_config": {
                    "steps_per_episode": 20,
                    "episodes_per_session": 1,
                    "per_slice_config": {
                        "min_udp_rate_per_user_mbps": [20, 20],
                        "max_udp_rate_per_user_mbps": [20, 20],
                    },
                }
            }
        ),
        "2 + 3 users at 20 Mbit/s each: the two slices want more RBs than the cell has, so "
        "the prioritized RBGs decide who is served (at the default 2 Mbit/s no action "
        "matters). The reward pays for slices served whole, so it pays to protect one slice "
        "rather than share evenly. Best baseline: system_default, the configured 13/12 "
        "prioritized RBGs (-0.43 per step; an action gives at most 12 each), against -1.13 "
        "for equal_share, -1.21 for random and -1.71 for user_proportional. The simulation "
        "reward does not vary with the seed for a fixed action: only random's actions do.",
        best="system_default",
        seeds=tuple(range(10)),
        steps_per_episode=20,
    ),
    Scenario(
        "rmcat",
        "varying",
        _frozen({"env_config": {"steps_per_episode": 300, "bw_trace": _VARYING_TRACE}}),
        "A bottleneck that changes every 5 s between 0.3 and 3 Mbit/s (the default trace is "
        "constant after 70 s): a sender must follow it down fast and up again. Best "
        "baseline: nada, the server's NADA sender (-1.08 per step; nada_mirror sends the "
        "same rates), against -4.47 for random rates. Deterministic: the seed changes only "
        "random's actions.",
        best="nada",
        steps_per_episode=300,
    ),
]

#: Every scenario by key, ``<env>-<name>``.
SCENARIOS: dict[str, Scenario] = {s.key: s for s in _LIST}
assert all(s.env in ENVIRONMENTS for s in _LIST)


def _spec(scenario: str) -> Scenario:
    spec = SCENARIOS.get(scenario)
    if spec is None:
        raise ConfigError(
            "scenario", f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}"
        )
    return spec


def make(scenario: str, *, config: Mapping[str, Any] | None = None, **kwargs: Any) -> NetworkGymEnv:
    """A :class:`NetworkGymEnv` of scenario ``scenario`` (``config`` merged over it).

    Raises:
        ConfigError: An unknown scenario.
    """
    spec = _spec(scenario)
    return NetworkGymEnv(spec.env, config=spec.config(config), **kwargs)


def make_vec(
    num_envs: int = 1, *, scenario: str, config: Mapping[str, Any] | None = None, **kwargs: Any
) -> NetworkGymVectorEnv:
    """A :class:`~netgym_client.vector.NetworkGymVectorEnv` of ``num_envs`` scenario envs.

    Raises:
        ConfigError: An unknown scenario.
    """
    spec = _spec(scenario)
    return NetworkGymVectorEnv(num_envs, spec.env, config=spec.config(config), **kwargs)
