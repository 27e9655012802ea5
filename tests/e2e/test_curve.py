"""CURVE: `netgym keys`, a server serving CURVE, a client with the server's public key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zmq.utils import z85

from netgym_client.errors import AuthenticationFailed, TransportError
from netgym_client.keys import client_keypair, load_public_key, write_keypair
from netgym_client.northbound import NorthboundClient
from netgym_sim.serving.auth import account_public_key
from netgym_sim.serving.broker_server import BrokerServer
from netgym_sim.serving.server import FakeServer
from netgym_sim.serving.worker import Worker
from tests.e2e.test_server_raw import custom_start

pytestmark = pytest.mark.e2e

SERVER_KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"


@settings(max_examples=20, deadline=None)
@given(
    account=st.text("abcdefghij_", min_size=1, max_size=12),
    password=st.text(min_size=1, max_size=20).filter(lambda p: "\x00" not in p),
)
def test_client_and_server_derive_the_same_account_key(account: str, password: str) -> None:
    public, _ = client_keypair(SERVER_KEY, account, password)
    assert z85.decode(public) == account_public_key(SERVER_KEY, account, password)
    other, _ = client_keypair(SERVER_KEY, account, password + "x")
    assert other != public


def test_netgym_keys_writes_a_pair(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "netgym_client", "keys", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    public = load_public_key(str(tmp_path / "server.key"))
    assert public in done.stdout
    assert (tmp_path / "server.key_secret").stat().st_mode & 0o077 == 0


def test_a_curve_session_and_refused_keys(tmp_path: Path) -> None:
    public_file, secret_file = write_keypair(tmp_path)
    with FakeServer(curve_secret_key_file=secret_file) as server:
        with NorthboundClient(server.address, server_public_key=str(public_file)) as client:
            client.start({k: v for k, v in custom_start().items() if k != "type"})
            reply = client.receive()
            assert reply.network_stats[0]["ts"] == 2000
        with (
            NorthboundClient(
                server.address, session_key="wrong", server_public_key=str(public_file)
            ) as client,
            pytest.raises(AuthenticationFailed),
        ):
            client.connect()
        # a PLAIN client cannot talk to a CURVE server
        with (
            NorthboundClient(server.address, connect_timeout_s=1.0) as client,
            pytest.raises(TransportError),
        ):
            client.connect()


def test_a_curve_client_through_the_broker_to_a_plain_worker(tmp_path: Path) -> None:
    public_file, secret_file = write_keypair(tmp_path)
    with BrokerServer(curve_secret_key_file=secret_file) as broker:
        worker = Worker(broker.env_address, worker_id=0, hostname="t", hello_interval_s=0.2)
        worker.start()
        try:
            start = {k: v for k, v in custom_start().items() if k != "type"}
            with NorthboundClient(broker.address, server_public_key=str(public_file)) as client:
                client.start(start)
                reply = client.receive(timeout_s=10.0)
                assert reply.network_stats[0]["ts"] == 2000
            # the clients' port takes no PLAIN login
            with (
                NorthboundClient(broker.address, connect_timeout_s=1.0) as client,
                pytest.raises(TransportError),
            ):
                client.connect()
        finally:
            worker.stop()
