"""The 50-user warning goes only to sessions on a server that did not name itself netgym's."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from netgym_client import EnvError, NetworkGymEnv, protocol
from netgym_client.northbound import NorthboundClient
from netgym_sim.serving.server import FakeServer

pytestmark = pytest.mark.e2e

BIG = {
    "env_config": {
        "per_slice_config": {"num_users": [1, 50]},
        "steps_per_episode": 2,
        "episodes_per_session": 1,
    }
}
WARNING = "ns-3 NetworkGym servers accept at most 50"


def test_netgym_servers_name_themselves_in_the_handshake() -> None:
    with FakeServer() as server:
        client = NorthboundClient(server.address)
        try:
            client.start({"env": "custom", "no": "such key"})
            with pytest.raises(EnvError):
                client.receive(5.0)
        finally:
            client.close()
    assert client.server_software == "netgym"


def test_no_warning_for_a_large_session_on_netgyms_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with FakeServer() as server:
        env = NetworkGymEnv("nqos_split", server=server.address, config=BIG)
        try:
            with caplog.at_level(logging.WARNING, logger="netgym_client"):
                env.reset(seed=1)
        finally:
            env.close()
    assert WARNING not in caplog.text


class SilentNamelessServer:
    """A ROUTER that answers every env-start with env-error, naming itself not (as ns-3's)."""

    def __init__(self) -> None:
        self.context: zmq.Context[Any] = zmq.Context()
        self.auth = ThreadAuthenticator(self.context)
        self.auth.start()
        self.auth.configure_plain(domain="*", passwords={"admin": "admin"})
        self.sock = self.context.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.PLAIN_SERVER, 1)
        self.sock.setsockopt(zmq.LINGER, 0)
        port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.address = f"tcp://127.0.0.1:{port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        error = protocol.encode(protocol.ErrorReply("too many users"))
        while not self._stop.is_set():
            if self.sock.poll(50):
                identity, _ = self.sock.recv_multipart()
                self.sock.send_multipart([identity, error])

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close(linger=0)
        self.auth.stop()
        self.context.destroy(linger=0)


def test_the_warning_for_a_large_session_on_another_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    other = SilentNamelessServer()
    env = NetworkGymEnv("nqos_split", server=other.address, config=BIG)
    try:
        with caplog.at_level(logging.WARNING, logger="netgym_client"), pytest.raises(EnvError):
            env.reset(seed=1)
    finally:
        env.close()
        other.close()
    assert caplog.text.count(WARNING) == 1
