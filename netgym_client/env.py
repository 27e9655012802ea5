"""``NetworkGymEnv``: the gymnasium environment of a NetworkGym session.

Rules (PROTOCOL.md §5, §7.3):
- A session holds ``steps_per_episode × episodes_per_session`` measurements. The first
  ``reset()`` sends ``env-start``; a later ``reset()`` inside the session sends the last
  action again (an ``env-action``, not a restart), as the original client does.
- ``step()`` counts from 1 at reset; ``truncated = current_step >= steps_per_episode``;
  ``terminated`` on the session's last measurement, after which the socket is closed and
  the next ``reset()`` starts a new session transparently.
- ``reset(seed=s)`` always starts a new session whose ``random_seed`` is ``s``, so the same
  seed gives the same session.
- ``server.address == "embedded"`` starts an in-process :class:`~netgym_sim.server.FakeServer`
  on a free loopback port, owned by the env and stopped by ``close()``; any
  ``tcp://host:port`` talks to that server instead, ours or a real one, with no other change.
- Faults raise typed :class:`~netgym_client.errors.NetGymError` subclasses and end the session.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from netgym_client.adapters import Adapter, adapter_class
from netgym_client.config import NetGymConfig, load_config
from netgym_client.errors import EnvError, NetGymError
from netgym_client.northbound import NorthboundClient
from netgym_client.stats import NetworkStats

if TYPE_CHECKING:
    from netgym_sim.server import FakeServer

__all__ = ["ActionError", "NetworkGymEnv"]

logger = logging.getLogger(__name__)

#: The original client waits this long before re-sending env-start after an env-error on
#: the first reset (its path for a server that still maps a killed client's identity).
START_RETRY_DELAY_S = 1.0
#: env-error texts of the real server after which that retry can succeed.
_RETRYABLE = ("Mapping Exits", "Try Again")
#: Embedded sessions may stay idle this long between steps (agents train between steps).
EMBEDDED_IDLE_TIMEOUT_S = 3600.0


class ActionError(NetGymError, ValueError):
    """An action does not fit the action space."""


class NetworkGymEnv(gym.Env[np.ndarray, np.ndarray]):
    """A NetworkGym environment reached over the northbound interface.

    Args:
        env: Environment name (``"custom"``, ``"nqos_split"``, ``"qos_steer"``,
            ``"network_slicing"``, ``"rmcat"``) or a ready :class:`NetGymConfig`.
        config: Nested overrides deep-merged into the defaults, e.g.
            ``{"env_config": {"steps_per_episode": 5}}``.
        server: ``"embedded"`` or ``"tcp://host:port"``; shorthand for ``config["server"]``.
        config_path: A JSON config file merged between defaults and ``config``.
        adapter: An :class:`~netgym_client.adapters.Adapter` subclass or
            ``"module:Class"`` to use instead of the built-in one.

    Example:
        >>> env = NetworkGymEnv("custom", config={"env_config": {"steps_per_episode": 2,
        ...                                                       "episodes_per_session": 1}})
        >>> obs, info = env.reset(seed=1)
        >>> obs.shape
        (3, 5)
        >>> _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        >>> terminated, truncated
        (True, True)
        >>> env.close()
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (gymnasium's class attribute)

    def __init__(
        self,
        env: str | NetGymConfig = "custom",
        *,
        config: Mapping[str, Any] | None = None,
        server: str | None = None,
        config_path: str | None = None,
        adapter: str | type[Adapter] | None = None,
    ) -> None:
        super().__init__()
        if isinstance(env, NetGymConfig):
            if config or server or config_path:
                raise NetGymError("pass either a NetGymConfig or config/server/path, not both")
            self.config = env
        else:
            overrides: dict[str, Any] = dict(config or {})
            if server is not None:
                section = overrides.get("server", {})
                if isinstance(section, str):
                    section = {"address": section}
                overrides["server"] = {**section, "address": server}
            self.config = load_config(env, overrides or None, config_path)
        self.adapter: Adapter = adapter_class(
            self.config.env,
            adapter if adapter is not None else self.config.rl_config.get("adapter"),
        )(self.config)
        self.observation_space = self.adapter.observation_space
        self.action_space = self.adapter.action_space
        self._server: FakeServer | None = None
        self._client: NorthboundClient | None = None
        self._session_config: dict[str, Any] = dict(self.config.env_config)
        self._remaining = 0
        self.current_step = 0
        self.current_ep = 0
        self._last_action: np.ndarray | None = None
        self._stats: NetworkStats | None = None

    # -- session plumbing -------------------------------------------------------------
    def _address(self) -> tuple[str, float]:
        server = self.config.server
        if server.address != "embedded":
            return server.address, server.step_timeout_s
        if self._server is None:
            from netgym_sim.server import FakeServer  # noqa: PLC0415 (loaded only when embedded)

            self._server = FakeServer(idle_timeout_s=EMBEDDED_IDLE_TIMEOUT_S).start()
        return self._server.address, server.embedded_step_timeout_s

    def _end_session(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        self._remaining = 0

    def _receive(self) -> NetworkStats:
        assert self._client is not None
        try:
            msg = self._client.receive()
        except NetGymError:
            self._end_session()
            raise
        self._remaining -= 1
        return NetworkStats.from_records(msg.network_stats, validate=False)  # decode() checked

    def _new_client(self, address: str, reply_timeout_s: float) -> NorthboundClient:
        server = self.config.server
        return NorthboundClient(
            address,
            session_name=server.session_name,
            session_key=server.session_key,
            client_id=server.client_id,
            connect_timeout_s=server.connect_timeout_s,
            reply_timeout_s=reply_timeout_s,
        )

    def _start_session(self, seed: int | None) -> NetworkStats:
        self._end_session()
        address, timeout_s = self._address()
        self._session_config = dict(self.config.env_config)
        if seed is not None:
            self._session_config["random_seed"] = int(seed)
        self._client = self._new_client(address, timeout_s)
        steps = int(self.config.env_config["steps_per_episode"])
        episodes = int(self.config.env_config["episodes_per_session"])
        self._remaining = steps * episodes
        self.current_ep = 0
        try:
            self._client.start(self._session_config)
            try:
                return self._receive()
            except EnvError as exc:
                if not any(text in exc.message for text in _RETRYABLE):
                    raise
                logger.info("server asked for a restart (%s); retrying once", exc.message)
                time.sleep(START_RETRY_DELAY_S)
                self._client = self._new_client(address, timeout_s)
                self._remaining = steps * episodes
                self._client.start(self._session_config)
                return self._receive()
        except BaseException:
            self._end_session()
            raise

    # -- gymnasium API ----------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start the next episode (a new session when needed, or when ``seed`` is given).

        Options:
            ``{"new_session": True}`` forces a new session even inside one.
        """
        super().reset(seed=seed)
        new_session = seed is not None or bool((options or {}).get("new_session"))
        if new_session or self._client is None or self._remaining <= 0:
            stats = self._start_session(seed)
        else:
            assert self._stats is not None
            self._client.send_action(self.adapter.policy(self._last_action, self._stats))
            stats = self._receive()
        self.current_ep += 1
        self.current_step = 1
        self._stats = stats
        return self.adapter.observation(stats), self._info(stats)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Send ``action`` as a policy and return the next measurement's view.

        An empty action (or ``rl_config.agent == "system_default"``) lets the server's
        built-in algorithm decide.

        Raises:
            ActionError: The action's shape does not match the action space.
            NetGymError: ``step()`` without a running session, or a server/transport fault.
        """
        if self._client is None or self._stats is None:
            raise NetGymError("no running session: call reset() first")
        policy_action: np.ndarray | None = None
        arr = np.asarray(action)
        if self.config.rl_config.get("agent") != "system_default" and arr.size > 0:
            shape = self.action_space.shape
            if shape is not None and arr.shape != shape:
                raise ActionError(
                    f"action shape {arr.shape} does not match the action space {shape}"
                )
            policy_action = arr
            self._last_action = arr
        self.current_step += 1
        self._client.send_action(self.adapter.policy(policy_action, self._stats))
        stats = self._receive()
        self._stats = stats
        truncated = self.current_step >= int(self.config.env_config["steps_per_episode"])
        terminated = self._remaining <= 0
        if terminated:
            self._end_session()
        obs = self.adapter.observation(stats)
        return obs, float(self.adapter.reward(stats)), terminated, truncated, self._info(stats)

    def _info(self, stats: NetworkStats) -> dict[str, Any]:
        return {"network_stats": stats, **self.adapter.info(stats)}

    def close(self) -> None:
        """Close the session's socket and stop the embedded server, if any (idempotent)."""
        self._end_session()
        if self._server is not None:
            self._server.stop()
            self._server = None
        super().close()
