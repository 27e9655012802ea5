"""``python -m netgym_sim serve`` as a separate process, driven by our client."""

from __future__ import annotations

import selectors
import signal
import socket
import subprocess
import sys
import time

import pytest

from netgym_client.northbound import NorthboundClient

pytestmark = pytest.mark.e2e

START_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_line(proc: subprocess.Popen[str], needle: str, timeout_s: float) -> str:
    assert proc.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout_s
    seen = []
    try:
        while time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                break
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            if needle in line:
                return line
    finally:
        selector.close()
    raise AssertionError(f"no {needle!r} within {timeout_s} s; stderr so far: {seen}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_session_against_a_server_process_then_clean_shutdown(
    served: tuple[subprocess.Popen[str], int], sig: signal.Signals
) -> None:
    proc, port = served
    with NorthboundClient(f"tcp://127.0.0.1:{port}", reply_timeout_s=10) as client:
        client.start(
            {
                "env": "custom",
                "num_users": 2,
                "measurement_start_time_ms": 1000,
                "measurement_interval_ms": 100,
                "measurement_guard_interval_ms": 0,
                "env_end_time_ms": 1400,
            }
        )
        first = client.receive()
        record = first.network_stats[0]
        client.send_action(
            {
                "name": "srate",
                "ts": record["ts"],
                "source": "test",
                "id": [0, 1],
                "value": [0.5, 0.5],
            }
        )
        second = client.receive()
        assert second.network_stats[0]["ts"] == record["ts"] + 100
    proc.send_signal(sig)
    assert proc.wait(15) == 0


def test_help_lists_the_options() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "netgym_sim", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    for option in ("--host", "--port", "--accounts"):
        assert option in out
