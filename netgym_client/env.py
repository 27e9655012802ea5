"""``NetworkGymEnv``: the gymnasium environment of a NetworkGym session.

Rules (PROTOCOL.md §5, §7.3, §14):
- A session holds ``steps_per_episode × episodes_per_session`` measurements. The first
  ``reset()`` sends ``env-start``; a later ``reset()`` inside the session sends the last
  action again (an ``env-action``, not a restart), as the original client does.
- ``step()`` counts from 1 at reset; ``truncated = current_step >= steps_per_episode``. The
  session's last measurement is a time limit, not a terminal state of the network: it gives
  ``truncated=True, terminated=False`` and ``info["session_end"] = True`` (False on every
  other step); ``rl_config.terminate_on_session_end: true`` restores the original's
  ``terminated=True`` there. The next ``reset()`` starts a new session transparently.
- Seeding is gymnasium's: ``reset(seed=s)`` seeds the env's generator (``self.np_random``)
  and always starts a new session whose ``random_seed`` is ``s``; every later session the
  env starts (``reset()`` after a session's end, ``options={"new_session": True}``, a vector
  env's autoreset) draws its ``random_seed`` from that generator, below
  :data:`SESSION_SEED_BOUND`. So the same seed gives the same sequence of sessions, and the
  sessions of one run differ. The config's ``random_seed`` is the seed of the env's first
  session only, when that session starts without ``reset(seed=...)``; an env never seeded
  draws later sessions from gymnasium's unseeded generator (fresh entropy), as any
  gymnasium env does. The seeds are drawn here, in the client, so a session is the same
  in process and over the wire. A session still running is ended first (in process:
  dropped; over the wire: netgym's ``env-end``, see :meth:`NorthboundClient.end_session`),
  so the new ``env-start`` needs no "Mapping Exits" retry against netgym's server.
- ``server.address`` picks the path, and only the path: every observation, reward and info
  value is the same on each.
  ``"embedded"`` (the default) runs the simulated server's session in this process and hands
  its records to :class:`NetworkStats` directly: no socket, no authentication, no JSON. A GMA
  session's records are deferred there (built when something asks for them; the adapter
  reads its per-user metrics as arrays), and nqos_split's and qos_steer's own adapters hand
  their policies over as arrays (:mod:`netgym_client.policy_arrays`).
  ``"embedded+tcp"`` starts an in-process :class:`~netgym_sim.serving.server.FakeServer` on a free
  loopback port and talks to it over ZeroMQ, PLAIN and JSON (for protocol tests).
  ``tcp://host:port`` (or ``ipc://``/``inproc://``) talks to that server, ours or a real one.
- Faults raise typed :class:`~netgym_client.errors.NetGymError` subclasses and end the
  session; the embedded path raises the same types with the same texts as the wire path
  (a simulator error is an :class:`~netgym_client.errors.EnvError`).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import gymnasium as gym
import numpy as np

from netgym_client import protocol
from netgym_client._config_schema import GMA_ENVS, NS3_MAX_USERS
from netgym_client.adapters import Adapter, adapter_class
from netgym_client.adapters._gma import GmaUserAdapter
from netgym_client.adapters.base import PolicyRecords
from netgym_client.client_ids import ClientIdLease, lease_client_id
from netgym_client.config import NetGymConfig, load_config
from netgym_client.errors import (
    ActionError,
    ConfigError,
    EnvError,
    NetGymError,
    ProtocolError,
    ServerUnavailable,
)
from netgym_client.northbound import NorthboundClient
from netgym_client.policy_arrays import SplitPolicy, array_adapter, split_policy
from netgym_client.stats import NetworkStats

if TYPE_CHECKING:
    from gymnasium.envs.registration import EnvSpec

    from netgym_client.recording.record import RecordingWriter
    from netgym_sim.embedded import FakeServer, FaultPlan, InProcessServer

__all__ = ["EMBEDDED", "EMBEDDED_TCP", "SESSION_SEED_BOUND", "ActionError", "NetworkGymEnv"]

logger = logging.getLogger(__name__)

#: ``server.address`` of the in-process path (no sockets).
EMBEDDED = "embedded"
#: ``server.address`` of the embedded server reached over loopback ZeroMQ.
EMBEDDED_TCP = "embedded+tcp"
#: The original client waits this long before re-sending env-start after an env-error on
#: the first reset (its path for a server that still maps a killed client's identity).
START_RETRY_DELAY_S = 1.0
#: env-error texts of the real server after which that retry can succeed.
_RETRYABLE = ("Mapping Exits", "Try Again")
#: Embedded sessions may stay idle this long between steps (agents train between steps).
EMBEDDED_IDLE_TIMEOUT_S = 3600.0
#: A session's ``random_seed`` drawn from the env's generator is below this bound (31 bits),
#: so that a server reading the seed into a signed 32-bit integer takes it as well.
SESSION_SEED_BOUND = 2**31


def _stats(msg: protocol.Message) -> NetworkStats:
    records = protocol.expect_measurement(msg).network_stats
    return NetworkStats.from_records(records, validate=False)  # built or decoded valid


class _Link(Protocol):
    """How the env reaches a server: start a session, answer measurements, end it."""

    def start(self, env_config: Mapping[str, Any], running: bool) -> NetworkStats:
        """Start a session (ending the one still ``running``); its first measurement."""

    def act(self, action_list: PolicyRecords) -> NetworkStats:
        """Send one policy; the next measurement."""

    def end(self, running: bool) -> None:
        """Drop the connection, ending the session first if it is still ``running``."""


class _InProcessLink:
    """The embedded path: the simulated server called in process with message objects.

    The simulator's :class:`~netgym_sim.embedded.InProcessServer` answers as behind the
    server's socket, so limits, error texts and error types are those of the wire. The client's
    messages are checked by the wire's rules (:func:`protocol.check_message`), as encoding
    them would be; the server's records are trusted, as the decoded ones are.
    """

    def __init__(self, identity: str, faults: FaultPlan | None = None) -> None:
        from netgym_sim.embedded import InProcessServer  # noqa: PLC0415 (loads lazily)

        self.server = InProcessServer(identity, faults)

    def _ask(self, msg: protocol.Message) -> NetworkStats:
        return _stats(self.server.ask(msg))

    def start(self, env_config: Mapping[str, Any], running: bool) -> NetworkStats:
        self.server.drop()
        # a deep copy, as the wire gives the server: the session never shares our config
        config = {k: copy.deepcopy(v) for k, v in env_config.items() if k != "type"}
        if not isinstance(config.get("env"), str):
            raise ProtocolError("env_config.env", "env-start needs the environment name")
        msg = protocol.EnvStart(env_config=config)
        protocol.check_message(msg)
        try:
            return self._ask(msg)
        except EnvError as exc:  # the wire path's one retry (no worker to wait for here)
            if not any(text in exc.message for text in _RETRYABLE):
                raise
            logger.info("server asked for a restart (%s); retrying once", exc.message)
            return self._ask(msg)

    def act(self, action_list: PolicyRecords | SplitPolicy) -> NetworkStats:
        """The answer to one policy, asked as the vector env's lock step asks it: a GMA
        session's records are deferred (built when asked for) and its model steps with no
        SimPy clock (:func:`netgym_sim.embedded.ask_together`); a :class:`SplitPolicy` goes
        as its array."""
        from netgym_sim.embedded import DeferredRecords, ask_together  # noqa: PLC0415 (lazily)

        if isinstance(action_list, SplitPolicy):
            msg = action_list.message()
        else:
            msg = self.action_message(action_list)
        reply = ask_together([self.server], [msg], deferred=True, checked=True)[0]
        if isinstance(reply, DeferredRecords):
            return NetworkStats.deferred(reply)
        return _stats(reply)

    @staticmethod
    def action_message(action_list: PolicyRecords) -> protocol.EnvAction:
        """The ``env-action`` of ``action_list``, checked as encoding it would check it."""
        msg = protocol.EnvAction(action_list=action_list)
        protocol.check_message(msg)  # what encoding it for the wire would refuse
        return msg

    def end(self, running: bool) -> None:
        self.server.drop()


class _WireLink:
    """The ZeroMQ path: one :class:`NorthboundClient` per session, as the original client.

    ``users_over_ns3`` (a GMA session with more users than ns-3 takes) is logged as a warning
    once the server's first answer (or its absence) shows a server that did not name itself
    netgym's in its handshake: nothing is sent to ns-3 by a netgym server.
    """

    def __init__(
        self, make_client: Callable[[], NorthboundClient], users_over_ns3: int = 0
    ) -> None:
        self._make_client = make_client
        self._client: NorthboundClient | None = None
        self._last_ts: int | None = None
        self._users_over_ns3 = users_over_ns3

    def _check_server(self) -> None:
        """Warn once of a session too large for ns-3 on a server that is not netgym's."""
        if not self._users_over_ns3 or self._client is None:
            return
        if self._client.server_software is None:
            logger.warning(
                "%d users: ns-3 NetworkGym servers accept at most %d (this server did not "
                "name itself netgym's, whose simulator takes more)",
                self._users_over_ns3,
                NS3_MAX_USERS,
            )
        self._users_over_ns3 = 0

    def _receive(self, first: bool = False) -> NetworkStats:
        """The next measurement of the session, skipping any whose ``ts`` was already seen.

        Within a session every measurement's ``ts`` is larger than the last one's, so a
        measurement with a ``ts`` already received is a duplicate: answering it would send an
        action with a stale ``ts`` and desynchronise the session. It is logged and dropped,
        and the wait for the real one keeps the reply timeout as its one deadline.
        """
        assert self._client is not None
        started = time.monotonic()
        timeout_s = self._client.reply_timeout_s
        skipped = 0
        while True:
            wait_s = timeout_s - (time.monotonic() - started)
            try:
                stats = _stats(self._client.receive(max(0.0, wait_s)))
            except ServerUnavailable as exc:
                if not skipped:
                    raise
                raise ServerUnavailable(exc.address, time.monotonic() - started) from exc
            last = None if first else self._last_ts
            if not (stats.ts and last is not None and stats.ts <= last):
                self._last_ts = stats.ts
                return stats
            skipped += 1
            logger.warning("dropped a duplicate measurement (ts %d already received)", stats.ts)

    def start(self, env_config: Mapping[str, Any], running: bool) -> NetworkStats:
        if self._client is not None and running:
            # netgym's env-end, on the same socket: the server handles it before env-start
            self._client.end_session()
        elif self._client is not None:
            self._client.close()
            self._client = None
        if self._client is None:
            self._client = self._make_client()
        self._client.start(env_config)
        try:
            return self._receive(first=True)
        except EnvError as exc:
            self._check_server()
            if not any(text in exc.message for text in _RETRYABLE):
                raise
            logger.info("server asked for a restart (%s); retrying once", exc.message)
            self._client.close()
            time.sleep(START_RETRY_DELAY_S)
            self._client = self._make_client()
            self._client.start(env_config)
            return self._receive(first=True)
        finally:
            self._check_server()

    def act(self, action_list: PolicyRecords) -> NetworkStats:
        assert self._client is not None
        self._client.send_action(action_list)
        return self._receive()

    def end(self, running: bool) -> None:
        if self._client is not None:
            if running:
                self._client.end_session()  # not waited for: close() only queues it
            self._client.close()
            self._client = None


class NetworkGymEnv(gym.Env[np.ndarray, np.ndarray]):
    """A NetworkGym environment reached over the northbound interface.

    Episodes: ``steps_per_episode`` counts an episode's measurements, as the original
    client does: one from ``reset()`` and ``steps_per_episode - 1`` from ``step()``. So
    ``steps_per_episode = 10`` gives 9 ``step()`` calls per episode, the 9th returning
    ``truncated=True``, and gymnasium's ``spec.max_episode_steps`` (the ``step()`` calls of an
    episode, set by ``gymnasium.make``) is ``steps_per_episode - 1``.

    Args:
        env: Environment name (``"custom"``, ``"nqos_split"``, ``"qos_steer"``,
            ``"network_slicing"``, ``"rmcat"``) or a ready :class:`NetGymConfig`.
        config: Nested overrides deep-merged into the defaults, e.g.
            ``{"env_config": {"steps_per_episode": 5}}``.
        server: ``"embedded"`` (in process, the default), ``"embedded+tcp"`` (the embedded
            server over loopback ZeroMQ) or ``"tcp://host:port"``; shorthand for
            ``config["server"]``.
        config_path: A JSON config file merged between defaults and ``config``.
        adapter: An :class:`~netgym_client.adapters.Adapter` subclass or
            ``"module:Class"`` to use instead of the built-in one.
        render_mode: ``None``: netgym renders nothing (gymnasium's render API).
        record: A file to record every message of the env's sessions into (the
            ``netgym-recording`` JSONL format of :mod:`netgym_client.recording.record`), for
            ``netgym replay``; credentials are never written.
        faults: A fault plan for the embedded server (:mod:`netgym_sim.core.faults`: a list
            of ``"KIND@AT[:PARAM]"`` strings or dicts). ``"embedded+tcp"`` takes every
            kind; ``"embedded"`` has no socket and takes the kinds that need none
            (env-error, worker-restart, no-available-worker, mapping-removed,
            missed-action). A remote server takes its plan from ``netgym serve --fault``.

    Raises:
        ConfigError: A bad configuration or fault plan, or a ``render_mode`` other than
            None.

    Example:
        >>> env = NetworkGymEnv("custom", config={"env_config": {"steps_per_episode": 2,
        ...                                                       "episodes_per_session": 1}})
        >>> obs, info = env.reset(seed=1)
        >>> obs.shape
        (3, 5)
        >>> _, _, terminated, truncated, info = env.step(env.action_space.sample())
        >>> terminated, truncated, info["session_end"]
        (False, True, True)
        >>> env.close()
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (gymnasium's class attribute)
    _spec: EnvSpec | None = None

    def __init__(
        self,
        env: str | NetGymConfig = "custom",
        *,
        config: Mapping[str, Any] | None = None,
        server: str | None = None,
        config_path: str | None = None,
        adapter: str | type[Adapter] | None = None,
        render_mode: str | None = None,
        record: str | os.PathLike[str] | None = None,
        faults: Any = None,
    ) -> None:
        super().__init__()
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(
                "render_mode",
                f"netgym renders nothing: use None, got {render_mode!r:.40}",
            )
        self.render_mode = render_mode
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
        self._link: _Link | None = None
        self._session_config: dict[str, Any] = dict(self.config.env_config)
        self._steps_per_episode = int(self.config.env_config["steps_per_episode"])
        self._terminate_on_end = bool(self.config.rl_config.get("terminate_on_session_end"))
        self._system_default = self.config.rl_config.get("agent") == "system_default"
        #: nqos_split's or qos_steer's own adapter deciding: embedded policies go as arrays.
        self._arrays = array_adapter(self.adapter) and not self._system_default
        self._remaining = 0
        self._sessions_started = 0
        self.current_step = 0
        self.current_ep = 0
        self._last_action: np.ndarray | None = None
        self._stats: NetworkStats | None = None
        self._record_path = record
        self._recorder: RecordingWriter | None = None
        self._faults = self._fault_plan(faults)
        self._lease: ClientIdLease | None = None
        self._client_id = self._resolve_client_id()

    def _resolve_client_id(self) -> int:
        """The client id of this env's identity; ``"auto"`` leases one (kept until close)."""
        server = self.config.server
        if isinstance(server.client_id, int):
            return server.client_id
        if server.address == EMBEDDED:  # sessions in this process: no identity is shared
            return 0
        address = server.address
        if address == EMBEDDED_TCP:
            address = f"{EMBEDDED_TCP}:{os.getpid()}"  # this process's own server
        self._lease = lease_client_id(address, server.session_name)
        logger.info("client_id 'auto': leased %d", self._lease.client_id)
        return self._lease.client_id

    @property
    def identity(self) -> str:
        """The identity of this env's sessions, ``"<session_name>-<client_id>"``."""
        return f"{self.config.server.session_name}-{self._client_id}"

    @property
    def max_episode_steps(self) -> int:
        """``step()`` calls per episode: ``steps_per_episode - 1`` (reset gives the first)."""
        return self._steps_per_episode - 1

    @property  # gymnasium's plain attribute, set by make()
    def spec(self) -> EnvSpec | None:
        """gymnasium's spec (None unless made by ``gymnasium.make``), with this env's
        ``max_episode_steps``."""
        return self._spec

    @spec.setter
    def spec(self, value: EnvSpec | None) -> None:
        if value is not None and value.max_episode_steps != self.max_episode_steps:
            value = dataclasses.replace(value, max_episode_steps=self.max_episode_steps)
        self._spec = value

    @property
    def session_seed(self) -> int | None:
        """The ``random_seed`` of the current (or last) session; None: the server's default."""
        seed = self._session_config.get("random_seed")
        return None if seed is None else int(seed)

    def _fault_plan(self, faults: Any) -> FaultPlan | None:
        if faults is None:
            return None
        from netgym_sim.embedded import fault_plan  # noqa: PLC0415 (the simulator loads lazily)

        plan = fault_plan(faults)
        address = self.config.server.address
        if address == EMBEDDED:
            plan.check_in_process()
        elif address != EMBEDDED_TCP:
            raise ConfigError(
                "faults",
                f"a fault plan runs in netgym's own server, not at {address!r}: use "
                "server='embedded' or 'embedded+tcp', or start 'netgym serve --fault ...'",
            )
        return plan

    # -- session plumbing -------------------------------------------------------------
    def _new_link(self) -> _Link:
        server = self.config.server
        if server.address == EMBEDDED:
            return _InProcessLink(self.identity, self._faults)
        if server.address == EMBEDDED_TCP:
            if self._server is None:
                from netgym_sim.embedded import FakeServer  # noqa: PLC0415 (loaded when embedded)

                self._server = FakeServer(
                    idle_timeout_s=EMBEDDED_IDLE_TIMEOUT_S, faults=self._faults
                ).start()
            address, timeout_s = self._server.address, server.embedded_step_timeout_s
        else:
            address, timeout_s = server.address, server.step_timeout_s

        def make_client() -> NorthboundClient:
            return NorthboundClient(
                address,
                session_name=server.session_name,
                session_key=server.session_key,
                client_id=self._client_id,
                connect_timeout_s=server.connect_timeout_s,
                reply_timeout_s=timeout_s,
                heartbeat_timeout_s=server.heartbeat_timeout_s,
                server_public_key=server.server_public_key or None,
            )

        large = self.config.env in GMA_ENVS and self.config.num_users > NS3_MAX_USERS
        return _WireLink(make_client, self.config.num_users if large else 0)

    def _tap(self, link: _Link) -> _Link:
        """``link``, recording what crosses it when ``record=`` was given."""
        if self._record_path is None:
            return link
        from netgym_client.recording.record import RecordingLink, RecordingWriter  # noqa: PLC0415

        if self._recorder is None:
            self._recorder = RecordingWriter(
                self._record_path, source="env", upstream=self.config.server.address
            )
        return RecordingLink(link, self._recorder, self.identity)

    def _end_session(self) -> None:
        if self._link is not None:
            self._link.end(self._remaining > 0)
        self._remaining = 0

    def _fail(self) -> None:
        """After a fault: end the session and close its socket.

        The server has dropped the session after an error reply; after a reply timeout it
        may still hold it (a late or lost reply), so netgym's ``env-end`` is sent anyway: a
        netgym server drops the session and its late replies at once, a real server answers
        "unknown msg type" to a socket already closed.
        """
        self._remaining = 0
        if self._link is not None:
            self._link.end(True)

    def _start_session(self, seed: int | None) -> NetworkStats:
        if self._link is None:
            self._link = self._tap(self._new_link())
        self._session_config = dict(self.config.env_config)
        if seed is not None:
            self._session_config["random_seed"] = int(seed)
        elif self._sessions_started:  # the config's random_seed holds for the first only
            self._session_config["random_seed"] = int(self.np_random.integers(SESSION_SEED_BOUND))
        running = self._remaining > 0
        self._remaining = 0
        self.current_ep = 0
        try:
            stats = self._link.start(self._session_config, running)
        except BaseException:
            self._fail()
            raise
        self._sessions_started += 1  # a start that failed leaves the first seed unused
        steps, episodes = self._steps_per_episode, int(self.config.episodes_per_session)
        self._remaining = steps * episodes - 1
        return stats

    def _act(self, action_list: PolicyRecords | SplitPolicy) -> NetworkStats:
        link = self._link
        assert link is not None
        if isinstance(action_list, SplitPolicy) and type(link) is _InProcessLink:
            split = action_list
            return self._answered(lambda: link.act(split))
        records = action_list.records() if isinstance(action_list, SplitPolicy) else action_list
        return self._answered(lambda: link.act(records))

    def _answer(self, reply: protocol.Message) -> NetworkStats:
        """The measurement in the embedded server's ``reply`` to the policy :meth:`_act` would
        have sent (a vector env's lock-step path); a fault ends the session, as in ``_act``."""
        return self._answered(lambda: _stats(reply))

    def _embedded_server(self) -> InProcessServer | None:
        """The in-process server a lock-step vector step may ask (embedded, not recorded)."""
        link = self._link
        return link.server if type(link) is _InProcessLink else None

    def _answered(self, ask: Callable[[], NetworkStats]) -> NetworkStats:
        """The measurement ``ask()`` returns for the policy sent; a fault ends the session."""
        try:
            stats = ask()
        except ProtocolError as exc:
            if exc.field.startswith("action_list"):  # refused before it left: session intact
                raise
            self._fail()
            raise
        except BaseException:
            self._fail()
            raise
        self._remaining -= 1
        return stats

    # -- gymnasium API ----------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start the next episode (a new session when needed, or when ``seed`` is given).

        ``seed`` seeds the env's generator and is the new session's ``random_seed``; a later
        session draws its ``random_seed`` from the generator (see the module's rules).

        Options:
            ``{"new_session": True}`` forces a new session even inside one.
        """
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0
        ):
            raise ConfigError("seed", f"must be an integer >= 0, got {seed!r:.40}")
        seed = None if seed is None else int(seed)  # gymnasium takes Python ints only
        super().reset(seed=seed)
        new_session = seed is not None or bool((options or {}).get("new_session"))
        if new_session or self._link is None or self._remaining <= 0:
            stats = self._start_session(seed)
        else:
            assert self._stats is not None
            stats = self._act(self.adapter.policy(self._last_action, self._stats))
        self.current_ep += 1
        self.current_step = 1
        self._stats = stats
        return self.adapter.observation(stats), self._info(stats, False)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Send ``action`` as a policy and return the next measurement's view.

        An empty action (or ``rl_config.agent == "system_default"``) lets the server's
        built-in algorithm decide.

        Raises:
            ActionError: The action's shape does not match the action space.
            NetGymError: ``step()`` without a running session, or a server/transport fault.
        """
        policy = self._policy_for(action)
        return self._outcome(self._act(policy))

    # The two halves of step(), so that a vector env can run every session's interval in
    # one place between them (netgym_client.vector).
    def _policy_for(self, action: np.ndarray) -> PolicyRecords | SplitPolicy:
        """Check ``action`` and turn it into the ``action_list`` to send."""
        stats = self._running_stats()
        policy_action: np.ndarray | None = None
        arr = np.asarray(action)
        if not self._system_default and arr.size > 0:
            shape = self.action_space.shape
            if shape is not None and arr.shape != shape:
                raise ActionError(
                    f"action shape {arr.shape} does not match the action space {shape}"
                )
            policy_action = arr
            self._last_action = arr
            if self._arrays and self._embedded_server() is not None:
                adapter = self.adapter
                assert isinstance(adapter, GmaUserAdapter)
                many = adapter.policy_values_many(arr[None])
                if many is not None:  # (else policy() says what is wrong)
                    adapter.clipped_action_values = int(many[1][0])
                    return split_policy(stats, adapter.POLICY_NAME, many[0][0])
        return self.adapter.policy(policy_action, stats)

    def _running_stats(self) -> NetworkStats:
        """The last measurement of the running session (the one an action answers)."""
        if self._link is None or self._stats is None or self._remaining <= 0:
            raise NetGymError("no running session: call reset() first")
        return self._stats

    def _outcome(
        self, stats: NetworkStats, seen: tuple[np.ndarray, float] | None = None
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """The step's result for the measurement that answered the policy.

        ``seen``: the adapter's observation and reward of ``stats``, when they were computed
        already (a vector env computes many sessions' at once, the same values).
        """
        self.current_step += 1
        self._stats = stats
        truncated = self.current_step >= self._steps_per_episode
        session_end = self._remaining <= 0
        if session_end:
            self._end_session()  # the server has dropped it too: nothing to end there
        terminated = session_end and self._terminate_on_end
        truncated = truncated or (session_end and not terminated)
        if seen is None:
            obs, reward = self.adapter.observation(stats), float(self.adapter.reward(stats))
        else:
            obs, reward = seen
        return obs, reward, terminated, truncated, self._info(stats, session_end)

    def _info(self, stats: NetworkStats, session_end: bool) -> dict[str, Any]:
        return {"network_stats": stats, "session_end": session_end, **self.adapter.info(stats)}

    def render(self) -> None:
        """Nothing to render (``render_mode`` is None)."""
        return None

    def close(self) -> None:
        """End a running session, close its socket and stop an embedded server (idempotent)."""
        self._end_session()
        self._link = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
        if self._lease is not None:
            self._lease.release()
            self._lease = None
        super().close()
