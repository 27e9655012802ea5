"""Reference agents and the baselines a researcher compares against.

An agent maps an observation and the step's ``info`` (whose ``"network_stats"`` is the raw
:class:`~netgym_client.stats.NetworkStats`) to an action. Each agent declares the
environments it fits; :func:`make_agent` refuses the others with an :class:`AgentError`.

Every environment:

- ``random``: uniform samples of the action space (seeded).
- ``system_default``: the empty action, so the server's built-in algorithm decides
  (nqos_split: GMA's own split; network_slicing: the RBGs of ``per_slice_config``;
  rmcat: NADA).

``nqos_split`` (per user, one weight per link the config has — Wi-Fi, NR, LTE with gNBs,
Wi-Fi, LTE without; the heuristics use Wi-Fi and LTE, the two links the observation
describes, and leave NR at 0):

- ``all_wifi``: all weight on Wi-Fi; ``all_lte``: all weight on LTE.
- ``capacity``: weights proportional to the observed capacities (``max_rate``).
- ``throughput_argmax``: all traffic on the link with the higher observed ``max_rate``
  (Wi-Fi on a tie).
- ``utility_argmax``: all traffic on the link with the higher estimated utility
  ``u_L = ln(rate_L) − ln(delay_L)``, where ``rate_L`` is the link's observed
  ``max_rate`` (Mbps, at least :data:`RATE_FLOOR_MBPS`) and ``delay_L`` the link's last
  measured one-way delay ``gma::L::dl::owd`` of that user (ms, at least
  :data:`DELAY_FLOOR_MS`; a link never measured yet counts as :data:`DELAY_FLOOR_MS`, so it
  gets tried). Wi-Fi on a tie.
- ``utility_logistic``: the Wi-Fi weight ``w = 1 / (1 + exp(−k · (u_wifi − u_lte)))`` with
  ``k =`` :data:`LOGISTIC_GAIN`, and ``1 − w`` on LTE: equal utilities split evenly, a
  utility lead of 1 (a factor ``e`` in rate/delay) sends 88 % to the better link.

The paper's heuristics, as its authors' code (``NetworkAgent/heuristic_policies.py`` of
hmomin/networkgym) writes them, beside netgym's variants above (``nqos_split``):

- ``paper_throughput_argmax``: all traffic on the link with the higher last reported
  ``max_rate`` (``argmax`` over LTE, Wi-Fi: LTE on a tie; a link never reported counts 0).
- ``paper_utility_argmax``: Wi-Fi where ``u_wifi > u_lte`` (LTE on a tie), with
  ``u_L = ln(1 + rate_L) − ln(1 + owd_L)``: ``rate_L`` the rate *delivered* on the link in
  the last interval (``gma::L::dl::rate``, Mbps; 0 when the link carried nothing) and
  ``owd_L`` the link's last measured one-way delay (ms; 0 before any). An unused link thus
  scores ``−ln(1 + its last delay)`` and is seldom tried again: the agent keeps to the link
  it started on.
- ``paper_utility_logistic``: the Wi-Fi weight ``1 / (1 + exp(−(u_wifi − u_lte)))`` (gain 1)
  with the same utilities.
- ``paper_utility_argmax_2023``, ``paper_utility_logistic_2023``: the same as that code
  wrote them until February 2024, with ``u_L = ln(rate_L) − ln(owd_L)``: a link that carried
  nothing scores ``−∞`` (its rate is 0) and is never chosen again; a link neither used nor
  measured yet scores NaN (``ln 0 − ln 0``), and a NaN utility sends the user to LTE if it is
  LTE's, else to Wi-Fi (the logistic one splits evenly when the difference is NaN).

``qos_steer`` (per user 1 = Wi-Fi, 0 = cellular; the reward counts users served with QoS
over Wi-Fi):

- ``all_wifi``; ``throughput_argmax`` (Wi-Fi where its ``max_rate`` is at least LTE's).
- ``wifi_admission``: admits users to Wi-Fi in order of decreasing Wi-Fi capacity while
  their summed airtime ``Σ demand / wifi_max_rate`` stays within
  :data:`WIFI_AIRTIME_BUDGET`, the demand being the configured
  ``max_udp_rate_per_user_mbps``; the rest go to LTE. Taking the users that need the
  least airtime first admits the most users within the budget.

``network_slicing`` (per slice, the share of prioritized RBGs):

- ``equal_share``: every slice its full share (``rbg_num / S`` prioritized RBGs each).
- ``user_proportional``: shares proportional to the slices' user counts, the largest
  slice getting its full share.

``rmcat``:

- ``nada``: the empty action, so the server's NADA sender decides (same as
  ``system_default``).
- ``nada_mirror``: sends the rate NADA computed (``rmcat::nada_srate``) as the action,
  clipped into the action space; before NADA has reported, the lowest rate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from netgym_client.errors import NetGymError
from netgym_client.stats import NetworkStats

__all__ = [
    "AGENTS",
    "BASELINES",
    "DELAY_FLOOR_MS",
    "LOGISTIC_GAIN",
    "RATE_FLOOR_MBPS",
    "WIFI_AIRTIME_BUDGET",
    "Agent",
    "AgentError",
    "AgentSpec",
    "agents_for",
    "link_utilities",
    "logistic_wifi_share",
    "make_agent",
]

#: Floor of a link's rate estimate in the utility, Mbps (keeps ``ln`` finite).
RATE_FLOOR_MBPS = 0.01
#: Floor of a link's delay estimate in the utility, ms (ns-3 reports whole milliseconds).
DELAY_FLOOR_MS = 1.0
#: Gain ``k`` of ``utility_logistic``, per unit of log-utility.
LOGISTIC_GAIN = 2.0
#: Share of Wi-Fi airtime ``wifi_admission`` fills (contention and headers take the rest).
WIFI_AIRTIME_BUDGET = 0.7

#: Observation rows of the GMA environments (nqos_split, qos_steer).
_LTE_ROW, _WIFI_ROW = 0, 1
#: Split-weight columns by action width when the adapter does not name its links.
_DEFAULT_LINKS = {3: ("wifi", "nr", "lte"), 2: ("wifi", "lte")}

Info = Mapping[str, Any]


class AgentError(NetGymError, ValueError):
    """An unknown agent, or one that does not fit the environment."""


class Agent(Protocol):
    """Anything that maps an observation (and the step's ``info``) to an action."""

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """The action for ``observation``; ``info["network_stats"]`` is the measurement."""
        ...


def _stats(info: Info) -> NetworkStats | None:
    stats = info.get("network_stats")
    return stats if isinstance(stats, NetworkStats) else None


def _user_ids(env: gym.Env[Any, Any]) -> np.ndarray:
    ids = getattr(getattr(env.unwrapped, "adapter", None), "ids", None)
    if ids is None:
        raise AgentError(f"{type(env.unwrapped).__name__} has no adapter with user ids")
    return np.asarray(ids)


# -- every environment ------------------------------------------------------------------
class RandomAgent:
    """Uniform samples of the action space."""

    def __init__(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        self.space = env.action_space
        self.space.seed(seed)

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """A random action."""
        return np.asarray(self.space.sample())


class SystemDefaultAgent:
    """Always the empty action: the server's own algorithm decides."""

    def __init__(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        del env, seed

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """An empty action."""
        return np.zeros(0, dtype=np.float32)


# -- nqos_split -------------------------------------------------------------------------
class _SplitAgent:
    """Knows the action's columns: the config's links (Wi-Fi, NR with gNBs, LTE)."""

    def __init__(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        del seed
        shape = env.action_space.shape
        if shape is None or len(shape) != 2:
            raise AgentError(f"needs an (N, L) split-weight action space, got {shape}")
        links = getattr(getattr(env.unwrapped, "adapter", None), "links", None)
        links = tuple(links) if links is not None else _DEFAULT_LINKS.get(shape[1], ())
        if len(links) != shape[1] or "wifi" not in links or "lte" not in links:
            raise AgentError(
                f"needs split weights over Wi-Fi and LTE, got an action space {shape} "
                f"over links {links}"
            )
        self.num_users = shape[0]
        self.width = shape[1]
        self.wifi_col, self.lte_col = links.index("wifi"), links.index("lte")

    def _split(self, wifi: np.ndarray, lte: np.ndarray) -> np.ndarray:
        weights = np.zeros((len(wifi), self.width), dtype=np.float32)
        weights[:, self.wifi_col] = wifi
        weights[:, self.lte_col] = lte
        return weights


class AllWifiAgent(_SplitAgent):
    """``nqos_split``: every user's traffic on Wi-Fi."""

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """All weight on Wi-Fi, per user."""
        return self._split(np.ones(self.num_users), np.zeros(self.num_users))


class AllLteAgent(_SplitAgent):
    """``nqos_split``: every user's traffic on LTE."""

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """All weight on LTE, per user."""
        return self._split(np.zeros(self.num_users), np.ones(self.num_users))


class CapacityProportionalAgent(_SplitAgent):
    """``nqos_split``: weights proportional to the observed Wi-Fi and LTE capacities."""

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """``wifi_cap`` and ``lte_cap`` over ``wifi_cap + lte_cap`` per user; no capacity: Wi-Fi.

        The weights are normalised here because the action Box is [0, 1]: raw capacities
        in Mbps would be clipped to 1 and split every user evenly.
        """
        wifi = np.asarray(observation[_WIFI_ROW], dtype=np.float64)
        lte = np.asarray(observation[_LTE_ROW], dtype=np.float64)
        total = wifi + lte
        none = total <= 0
        share = np.where(none, 1.0, wifi / np.where(none, 1.0, total))
        return self._split(share, 1.0 - share)


class ThroughputArgmaxAgent(_SplitAgent):
    """``nqos_split``: all of a user's traffic on its link with the higher ``max_rate``."""

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """Wi-Fi where its capacity is at least LTE's, else LTE."""
        wifi = observation[_WIFI_ROW] >= observation[_LTE_ROW]
        return self._split(wifi.astype(np.float32), (~wifi).astype(np.float32))


def link_utilities(rate_mbps: np.ndarray, delay_ms: np.ndarray) -> np.ndarray:
    """``ln(max(rate, RATE_FLOOR_MBPS)) − ln(max(delay, DELAY_FLOOR_MS))``, elementwise."""
    rate = np.maximum(np.nan_to_num(np.asarray(rate_mbps, dtype=np.float64)), RATE_FLOOR_MBPS)
    delay = np.nan_to_num(np.asarray(delay_ms, dtype=np.float64), nan=DELAY_FLOOR_MS)
    result: np.ndarray = np.log(rate) - np.log(np.maximum(delay, DELAY_FLOOR_MS))
    return result


def logistic_wifi_share(utility_gap: np.ndarray, gain: float = LOGISTIC_GAIN) -> np.ndarray:
    """``1 / (1 + exp(−gain · gap))``: the Wi-Fi weight for ``gap = u_wifi − u_lte``."""
    gap = np.clip(np.asarray(utility_gap, dtype=np.float64) * gain, -500.0, 500.0)
    share: np.ndarray = 1.0 / (1.0 + np.exp(-gap))
    return share


class _UtilityAgent(_SplitAgent):
    """Keeps each user's last measured one-way delay per link (ms)."""

    def __init__(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        super().__init__(env, seed)
        self.ids = _user_ids(env)
        self.delay_ms = {
            "wifi": np.full(self.num_users, DELAY_FLOOR_MS),
            "lte": np.full(self.num_users, DELAY_FLOOR_MS),
        }

    def utilities(self, observation: np.ndarray, info: Info) -> tuple[np.ndarray, np.ndarray]:
        stats = _stats(info)
        if stats is not None:
            for link, memory in self.delay_ms.items():
                key = f"gma::{link}::dl::owd"
                if key in stats:
                    owd = stats.get(key, ids=self.ids, fill=-1.0)
                    measured = owd >= 0  # −1: no packet on that link in the interval
                    memory[measured] = owd[measured]
        return (
            link_utilities(observation[_WIFI_ROW], self.delay_ms["wifi"]),
            link_utilities(observation[_LTE_ROW], self.delay_ms["lte"]),
        )


class UtilityArgmaxAgent(_UtilityAgent):
    """``nqos_split``: all of a user's traffic on its link of higher estimated utility."""

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """Wi-Fi where ``u_wifi >= u_lte``, else LTE."""
        u_wifi, u_lte = self.utilities(observation, info)
        wifi = u_wifi >= u_lte
        return self._split(wifi.astype(np.float32), (~wifi).astype(np.float32))


class UtilityLogisticAgent(_UtilityAgent):
    """``nqos_split``: a logistic split of the utility difference between Wi-Fi and LTE."""

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """``w`` on Wi-Fi, ``1 − w`` on LTE, ``w = logistic_wifi_share(u_wifi − u_lte)``."""
        u_wifi, u_lte = self.utilities(observation, info)
        share = logistic_wifi_share(u_wifi - u_lte)
        return self._split(share, 1.0 - share)


class _PaperAgent(_SplitAgent):
    """The paper code's observation memory: last non-negative value per user and metric."""

    def __init__(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        super().__init__(env, seed)
        self.ids = _user_ids(env)
        self.last = {
            key: np.zeros(self.num_users)
            for key in (
                "wifi::dl::max_rate",
                "lte::dl::max_rate",
                "gma::wifi::dl::owd",
                "gma::lte::dl::owd",
            )
        }

    def remember(self, info: Info) -> None:
        stats = _stats(info)
        if stats is None:
            return
        for key, memory in self.last.items():
            if key in stats:
                values = stats.get(key, ids=self.ids, fill=-1.0)
                memory[values >= 0] = values[values >= 0]

    @staticmethod
    def utility(rate: np.ndarray, owd: np.ndarray) -> np.ndarray:
        """``ln(1 + rate) − ln(1 + owd)``."""
        result: np.ndarray = np.log1p(rate) - np.log1p(owd)
        return result

    def paper_utilities(self, info: Info) -> tuple[np.ndarray, np.ndarray]:
        """``(u_wifi, u_lte)`` of the delivered rate (0 if none) and the last delay."""
        self.remember(info)
        stats = _stats(info)
        utilities = []
        for link in ("wifi", "lte"):
            rate = np.zeros(self.num_users)
            key = f"gma::{link}::dl::rate"
            if stats is not None and key in stats:
                rate = np.maximum(stats.get(key, ids=self.ids, fill=0.0), 0.0)
            utilities.append(self.utility(rate, self.last[f"gma::{link}::dl::owd"]))
        return utilities[0], utilities[1]


class PaperThroughputArgmaxAgent(_PaperAgent):
    """``nqos_split``: the paper's ``argmax_action`` (LTE on a tie)."""

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """Wi-Fi where its last ``max_rate`` is strictly above LTE's."""
        self.remember(info)
        wifi = self.last["wifi::dl::max_rate"] > self.last["lte::dl::max_rate"]
        return self._split(wifi.astype(np.float32), (~wifi).astype(np.float32))


class PaperUtilityArgmaxAgent(_PaperAgent):
    """``nqos_split``: the paper's ``utility_argmax_action``."""

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """Wi-Fi where ``u_wifi > u_lte`` (LTE on a tie)."""
        u_wifi, u_lte = self.paper_utilities(info)
        wifi = u_wifi > u_lte
        return self._split(wifi.astype(np.float32), (~wifi).astype(np.float32))


class PaperUtilityLogisticAgent(_PaperAgent):
    """``nqos_split``: the paper's ``utility_logistic_action`` (gain 1)."""

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """``sigmoid(u_wifi − u_lte)`` on Wi-Fi, the rest on LTE."""
        u_wifi, u_lte = self.paper_utilities(info)
        share = logistic_wifi_share(u_wifi - u_lte, gain=1.0)
        return self._split(share, 1.0 - share)


class PaperUtilityArgmax2023Agent(_PaperAgent):
    """``nqos_split``: the paper's ``utility_argmax_action`` with ``ln(rate) − ln(owd)``."""

    @staticmethod
    def utility(rate: np.ndarray, owd: np.ndarray) -> np.ndarray:
        """``ln(rate) − ln(owd)``: −∞ for rate 0, +∞ for owd 0, NaN for both."""
        with np.errstate(divide="ignore", invalid="ignore"):
            result: np.ndarray = np.log(rate) - np.log(owd)
        return result

    def choose(self, u_wifi: np.ndarray, u_lte: np.ndarray) -> np.ndarray:
        """Wi-Fi share: LTE where ``u_lte`` is NaN, else Wi-Fi where ``u_wifi`` is NaN."""
        with np.errstate(invalid="ignore"):
            share = (u_wifi > u_lte).astype(np.float64)
        share[np.isnan(u_wifi)] = 1.0
        share[np.isnan(u_lte)] = 0.0
        return share

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """Wi-Fi where ``u_wifi > u_lte`` (LTE on a tie), with the old code's NaN rules."""
        u_wifi, u_lte = self.paper_utilities(info)
        share = self.choose(u_wifi, u_lte)
        return self._split(share, 1.0 - share)


class PaperUtilityLogistic2023Agent(PaperUtilityArgmax2023Agent):
    """``nqos_split``: the paper's ``utility_logistic_action`` with ``ln(rate) − ln(owd)``."""

    def choose(self, u_wifi: np.ndarray, u_lte: np.ndarray) -> np.ndarray:
        """``sigmoid(u_wifi − u_lte)``, 0.5 where that is NaN; the argmax's NaN rules first."""
        with np.errstate(invalid="ignore"):
            gap = u_wifi - u_lte
        share = np.where(np.isnan(gap), 0.5, logistic_wifi_share(np.nan_to_num(gap), gain=1.0))
        share[np.isnan(u_wifi)] = 1.0
        share[np.isnan(u_lte)] = 0.0
        return share


# -- qos_steer --------------------------------------------------------------------------
class _SteerAgent:
    def __init__(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        del seed
        space = env.action_space
        if not isinstance(space, gym.spaces.MultiDiscrete) or np.any(space.nvec != 2):
            raise AgentError(f"needs a MultiDiscrete([2] * N) steering action space, got {space}")
        self.num_users = len(space.nvec)
        config = getattr(env.unwrapped, "config", None)
        demands = [2.0]
        if config is not None:
            demands = list(config.env_config["per_slice_config"]["max_udp_rate_per_user_mbps"])
        self.demand_mbps = float(max(demands))


class SteerAllWifiAgent(_SteerAgent):
    """``qos_steer``: every user on Wi-Fi."""

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """All ones."""
        return np.ones(self.num_users, dtype=np.int64)


class SteerThroughputArgmaxAgent(_SteerAgent):
    """``qos_steer``: Wi-Fi where its ``max_rate`` is at least LTE's."""

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """1 where Wi-Fi's capacity is at least LTE's."""
        wifi = np.asarray(observation[_WIFI_ROW]) >= np.asarray(observation[_LTE_ROW])
        return np.asarray(wifi, dtype=np.int64)


class WifiAdmissionAgent(_SteerAgent):
    """``qos_steer``: users that need the least Wi-Fi airtime first, within a budget."""

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """1 for the admitted users (see the module documentation)."""
        capacity = np.asarray(observation[_WIFI_ROW], dtype=np.float64)
        with np.errstate(divide="ignore"):
            airtime = np.where(capacity > 0, self.demand_mbps / capacity, np.inf)
        order = np.argsort(airtime, kind="stable")
        admitted = np.zeros(self.num_users, dtype=np.int64)
        used = 0.0
        for user in order:
            if used + airtime[user] > WIFI_AIRTIME_BUDGET:
                break
            used += airtime[user]
            admitted[user] = 1
        return admitted


# -- network_slicing --------------------------------------------------------------------
class _SliceAgent:
    def __init__(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        del seed
        shape = env.action_space.shape
        if shape is None or len(shape) != 1 or not isinstance(env.action_space, gym.spaces.Box):
            raise AgentError(f"needs a Box (S,) slice-share action space, got {env.action_space}")
        self.num_slices = shape[0]
        config = getattr(env.unwrapped, "config", None)
        users = [1] * self.num_slices
        if config is not None:
            users = list(config.env_config["per_slice_config"]["num_users"])
        self.slice_users = np.asarray(users, dtype=np.float64)


class EqualShareAgent(_SliceAgent):
    """``network_slicing``: every slice its full share of prioritized RBGs."""

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """All ones."""
        return np.ones(self.num_slices, dtype=np.float32)


class UserProportionalAgent(_SliceAgent):
    """``network_slicing``: shares proportional to the slices' user counts."""

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """``users_s / max(users)`` per slice."""
        top = float(self.slice_users.max()) if self.slice_users.size else 0.0
        if top <= 0:
            return np.ones(self.num_slices, dtype=np.float32)
        return (self.slice_users / top).astype(np.float32)


# -- rmcat ------------------------------------------------------------------------------
class NadaMirrorAgent:
    """``rmcat``: the rate NADA computed (``rmcat::nada_srate``), as the agent's action."""

    def __init__(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        del seed
        space = env.action_space
        if not isinstance(space, gym.spaces.Box) or space.shape is None or len(space.shape) != 1:
            raise AgentError(f"needs a Box (F,) sending-rate action space, got {space}")
        self.low, self.high = space.low.astype(np.float64), space.high.astype(np.float64)
        self.ids = _user_ids(env)

    def act(self, observation: np.ndarray, info: Info) -> np.ndarray:
        """NADA's rates (bit/s) clipped into the action space; the lowest rate before any."""
        stats = _stats(info)
        rate = self.low.copy()
        if stats is not None and "rmcat::nada_srate" in stats:
            rate = stats.get("rmcat::nada_srate", ids=self.ids, fill=float("nan"))
            rate = np.where(np.isfinite(rate), rate, self.low)
        return np.asarray(np.clip(rate, self.low, self.high), dtype=np.float32)


# -- the table --------------------------------------------------------------------------
@dataclass(frozen=True)
class AgentSpec:
    """One agent: how to build it, what it does and where it fits.

    Attributes:
        factory: ``factory(env, seed)`` builds the agent.
        summary: One line for ``netgym envs`` and ``--help``.
        envs: The environments it fits; ``None``: every one.
    """

    factory: Callable[[gym.Env[Any, Any], int | None], Agent]
    summary: str
    envs: frozenset[str] | None = None

    def fits(self, env_name: str) -> bool:
        """Whether the agent fits ``env_name``."""
        return self.envs is None or env_name in self.envs


def _by_space(
    steer: Callable[[gym.Env[Any, Any], int | None], Agent],
    split: Callable[[gym.Env[Any, Any], int | None], Agent],
) -> Callable[[gym.Env[Any, Any], int | None], Agent]:
    """A factory choosing the qos_steer (MultiDiscrete) or the nqos_split (Box) variant."""

    def build(env: gym.Env[Any, Any], seed: int | None) -> Agent:
        if isinstance(env.action_space, gym.spaces.MultiDiscrete):
            return steer(env, seed)
        return split(env, seed)

    return build


_NQOS = frozenset({"nqos_split"})
_STEER = frozenset({"qos_steer"})
_SLICE = frozenset({"network_slicing"})
_RMCAT = frozenset({"rmcat"})

AGENTS: dict[str, AgentSpec] = {
    "random": AgentSpec(RandomAgent, "uniform samples of the action space"),
    "system_default": AgentSpec(SystemDefaultAgent, "empty actions: the server's algorithm"),
    "all_wifi": AgentSpec(
        _by_space(SteerAllWifiAgent, AllWifiAgent), "every user on Wi-Fi", _NQOS | _STEER
    ),
    "all_lte": AgentSpec(AllLteAgent, "every user on LTE", _NQOS),
    "capacity": AgentSpec(CapacityProportionalAgent, "split in proportion to capacities", _NQOS),
    "throughput_argmax": AgentSpec(
        _by_space(SteerThroughputArgmaxAgent, ThroughputArgmaxAgent),
        "each user on its link of higher max_rate",
        _NQOS | _STEER,
    ),
    "utility_argmax": AgentSpec(
        UtilityArgmaxAgent, "each user on its link of higher ln(rate) - ln(delay)", _NQOS
    ),
    "utility_logistic": AgentSpec(
        UtilityLogisticAgent, "logistic split of the Wi-Fi/LTE utility difference", _NQOS
    ),
    "paper_throughput_argmax": AgentSpec(
        PaperThroughputArgmaxAgent, "the paper's code: argmax of max_rate, LTE on a tie", _NQOS
    ),
    "paper_utility_argmax": AgentSpec(
        PaperUtilityArgmaxAgent, "the paper's code: argmax of ln(1+rate) - ln(1+owd)", _NQOS
    ),
    "paper_utility_logistic": AgentSpec(
        PaperUtilityLogisticAgent, "the paper's code: sigmoid of the utility difference", _NQOS
    ),
    "paper_utility_argmax_2023": AgentSpec(
        PaperUtilityArgmax2023Agent, "the paper's 2023 code: argmax of ln(rate) - ln(owd)", _NQOS
    ),
    "paper_utility_logistic_2023": AgentSpec(
        PaperUtilityLogistic2023Agent, "the paper's 2023 code: sigmoid, ln(rate) - ln(owd)", _NQOS
    ),
    "wifi_admission": AgentSpec(
        WifiAdmissionAgent, "admit users to Wi-Fi within an airtime budget", _STEER
    ),
    "equal_share": AgentSpec(EqualShareAgent, "every slice its full RBG share", _SLICE),
    "user_proportional": AgentSpec(
        UserProportionalAgent, "RBG shares proportional to slice users", _SLICE
    ),
    "nada": AgentSpec(SystemDefaultAgent, "empty actions: the server's NADA decides", _RMCAT),
    "nada_mirror": AgentSpec(NadaMirrorAgent, "send NADA's own rate (nada_srate)", _RMCAT),
}

#: The baselines ``netgym baselines`` runs, per environment, in table order.
BASELINES: dict[str, tuple[str, ...]] = {
    "nqos_split": (
        "system_default",
        "all_wifi",
        "all_lte",
        "throughput_argmax",
        "utility_argmax",
        "utility_logistic",
        "capacity",
        "paper_throughput_argmax",
        "paper_utility_argmax",
        "paper_utility_logistic",
        "paper_utility_argmax_2023",
        "paper_utility_logistic_2023",
        "random",
    ),
    "qos_steer": ("system_default", "all_wifi", "throughput_argmax", "wifi_admission", "random"),
    "network_slicing": ("system_default", "equal_share", "user_proportional", "random"),
    "rmcat": ("nada", "nada_mirror", "random"),
    "custom": ("system_default", "random"),
}


def agents_for(env_name: str) -> list[str]:
    """The names of the agents that fit ``env_name``, sorted."""
    return sorted(name for name, spec in AGENTS.items() if spec.fits(env_name))


def make_agent(name: str, env: gym.Env[Any, Any], seed: int | None = None) -> Agent:
    """Build the agent called ``name`` for ``env``.

    Raises:
        AgentError: ``name`` is unknown, or does not fit the environment.
    """
    spec = AGENTS.get(name)
    if spec is None:
        raise AgentError(f"unknown agent {name!r}; known: {', '.join(sorted(AGENTS))}")
    env_name = str(getattr(getattr(env.unwrapped, "config", None), "env", ""))
    if env_name and not spec.fits(env_name):
        raise AgentError(
            f"agent {name!r} does not fit env {env_name!r} (it fits "
            f"{', '.join(sorted(spec.envs or ()))}); agents for {env_name}: "
            f"{', '.join(agents_for(env_name))}"
        )
    return spec.factory(env, seed)
