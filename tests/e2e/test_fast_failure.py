"""A client learns in seconds that its server is gone; a slow live server keeps its time."""

from __future__ import annotations

import subprocess
import time

import pytest

from netgym_client.errors import ConfigError, ServerUnavailable
from netgym_client.northbound import NorthboundClient
from netgym_sim.serving.server import FakeServer
from tests.e2e.test_server_raw import custom_start

pytestmark = pytest.mark.e2e

HEARTBEAT_TIMEOUT_S = 1.0
REPLY_TIMEOUT_S = 60.0


def action_for(measurement: object, ts: int) -> dict[str, object]:
    return {"source": "test", "name": "srate", "ts": ts, "id": [0, 1, 2], "value": [0, 0, 0]}


def test_a_killed_server_is_told_within_the_heartbeat_timeout(
    served: tuple[subprocess.Popen[str], int],
) -> None:
    """Defect 7: kill -9 the server mid-episode: ServerUnavailable long before 60 s."""
    proc, port = served
    with NorthboundClient(
        f"tcp://127.0.0.1:{port}",
        reply_timeout_s=REPLY_TIMEOUT_S,
        heartbeat_timeout_s=HEARTBEAT_TIMEOUT_S,
    ) as client:
        client.start({k: v for k, v in custom_start(steps=50).items() if k != "type"})
        first = client.receive()
        ts = first.network_stats[0]["ts"]
        proc.kill()
        proc.wait(10)
        client.send_action(action_for(first, ts))
        started = time.monotonic()
        with pytest.raises(ServerUnavailable) as info:
            client.receive()
        waited_s = time.monotonic() - started
    assert "connection was lost" in str(info.value)
    assert "no reply from" in str(info.value)
    # the configured bound (heartbeat timeout) with generous slack, far below the reply timeout
    assert waited_s < HEARTBEAT_TIMEOUT_S + 10.0 < REPLY_TIMEOUT_S


def test_a_slow_live_server_gets_its_whole_reply_timeout() -> None:
    """A reply 3 s late over a live connection is waited for despite a 1 s heartbeat timeout."""
    with (
        FakeServer(faults=["delay@2:3000"]) as server,
        NorthboundClient(
            server.address, reply_timeout_s=REPLY_TIMEOUT_S, heartbeat_timeout_s=1.0
        ) as client,
    ):
        client.start({k: v for k, v in custom_start(steps=5).items() if k != "type"})
        first = client.receive()
        client.send_action(action_for(first, first.network_stats[0]["ts"]))
        started = time.monotonic()
        second = client.receive()
        assert time.monotonic() - started >= 2.5
        assert second.network_stats[0]["ts"] > first.network_stats[0]["ts"]


@pytest.mark.parametrize(("name", "key"), [("", "admin"), ("admin", "")])
def test_empty_credentials_are_a_config_error(name: str, key: str) -> None:
    """Defect 8: an empty account or password is a ConfigError, not a raw ZMQError."""
    with pytest.raises(ConfigError):
        NorthboundClient("tcp://127.0.0.1:1", session_name=name, session_key=key)
