"""pytest plugin: a simulated NetworkGym server and environments connected to it.

Installed with the package, pytest loads this plugin through the ``pytest11`` entry point
named ``netgym``. From a source checkout that is not installed, load it explicitly with
``-p netgym_client.testing.plugin`` (not together with the installed entry point: pytest
refuses one module registered under two names), or import the fixtures into a test module::

    from netgym_client.testing.plugin import netgym_env, netgym_server  # noqa: F401

Fixtures:
    ``netgym_server``: a :class:`~netgym_sim.embedded.FakeServer` on a free loopback port,
    stopped after the test. Parametrise it indirectly with a fault plan (see
    :mod:`netgym_sim.core.faults`) to make it fail on cue::

        @pytest.mark.parametrize("netgym_server", [["drop@3"], ["env-error@2:boom"]],
                                 indirect=True)
        def test_my_loop_survives(netgym_env): ...

    ``netgym_faulty_server``: a factory ``netgym_faulty_server(faults)`` of more servers, each
    with its own plan, all stopped after the test.
    ``netgym_env``: a factory ``netgym_env(env="custom", config=None, **kwargs)`` returning a
    :class:`~netgym_client.env.NetworkGymEnv` connected to ``netgym_server``; every env it
    made is closed after the test.

Example::

    def test_my_agent(netgym_env):
        env = netgym_env("nqos_split", config={"env_config": {"steps_per_episode": 3}})
        obs, info = env.reset(seed=1)
        assert env.observation_space.contains(obs)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from netgym_client.env import NetworkGymEnv
    from netgym_sim.embedded import FakeServer

__all__ = ["EnvFactory", "ServerFactory", "netgym_env", "netgym_faulty_server", "netgym_server"]

#: Sessions of the test server may stay idle this long between steps, seconds: a test may
#: pause in a debugger, and the server is stopped with the test anyway.
TEST_IDLE_TIMEOUT_S = 600.0


class EnvFactory(Protocol):
    """The ``netgym_env`` fixture: builds an environment connected to ``netgym_server``."""

    def __call__(
        self, env: str = "custom", config: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> NetworkGymEnv:
        """An environment of ``env`` with ``config`` overrides (see ``NetworkGymEnv``)."""
        ...


class ServerFactory(Protocol):
    """The ``netgym_faulty_server`` fixture: starts a server with a fault plan."""

    def __call__(self, faults: Any) -> FakeServer:
        """A started server failing as ``faults`` says (a list of ``"KIND@AT[:PARAM]"``)."""
        ...


@pytest.fixture
def netgym_server(request: pytest.FixtureRequest) -> Iterator[FakeServer]:
    """A simulated NetworkGym server on a free loopback port, stopped after the test.

    An indirect parameter is its fault plan (None or a list: no faults).
    """
    from netgym_sim.embedded import FakeServer  # noqa: PLC0415 (loaded only when used)

    faults = getattr(request, "param", None)
    with FakeServer(idle_timeout_s=TEST_IDLE_TIMEOUT_S, faults=faults) as server:
        yield server


@pytest.fixture
def netgym_faulty_server() -> Iterator[ServerFactory]:
    """A factory of servers with fault plans, each stopped after the test."""
    from netgym_sim.embedded import FakeServer  # noqa: PLC0415 (loaded only when used)

    started: list[FakeServer] = []

    def make(faults: Any) -> FakeServer:
        server = FakeServer(idle_timeout_s=TEST_IDLE_TIMEOUT_S, faults=faults)
        started.append(server.start())
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def netgym_env(netgym_server: FakeServer) -> Iterator[EnvFactory]:
    """A factory of environments connected to ``netgym_server``, closed after the test."""
    from netgym_client.env import NetworkGymEnv  # noqa: PLC0415 (loaded only when used)

    made: list[NetworkGymEnv] = []

    def make(
        env: str = "custom", config: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> NetworkGymEnv:
        instance = NetworkGymEnv(env, config=config, server=netgym_server.address, **kwargs)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.close()
