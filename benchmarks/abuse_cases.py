"""One account's abuse of ``python -m netgym_sim serve``, case by case: does the server live,
what does it cost in memory, does another account get anything?

Usage: python benchmarks/abuse_cases.py [--cases pairs,listen,multipart,slow,first-nqos]
(also run by ``python benchmarks/fuzz_server.py --cases``).

Each case starts its own server process and prints one row: the server alive afterwards, its
peak RSS (VmHWM) and RSS after the case, bytes another account received of a session that is
not its own, and a note (timings, counts). Nothing here is asserted: the tests guard the
behaviour (tests/e2e/test_isolation.py and others), this prints the figures.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zmq

from netgym_client.config import load_config

MIB = 1 << 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def status_mib(pid: int, key: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class Served:
    """``python -m netgym_sim serve`` on a free port, its stderr read by a thread."""

    def __init__(self, *flags: str) -> None:
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "netgym_sim", "serve", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            [*command, "--log-level", "WARNING", *flags], stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.started_s = time.monotonic()
        self._wait_ready(120.0)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def _wait_ready(self, timeout_s: float) -> None:
        context: zmq.Context[Any] = zmq.Context()
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline and self.proc.poll() is None:
                sock = dealer(context, self.address, "admin-31")
                sock.send(b'{"type": "env-end"}')
                answered = sock.poll(500)
                sock.close(linger=0)
                if answered:
                    self.ready_s = time.monotonic() - self.started_s
                    return
        finally:
            context.destroy(linger=0)
        raise RuntimeError("the server did not come up")

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(10)
        self._reader.join(10)


def dealer(
    context: zmq.Context[Any], address: str, identity: str, account: str = "admin"
) -> zmq.Socket[bytes]:
    sock: zmq.Socket[bytes] = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.IDENTITY, identity.encode())
    sock.setsockopt(zmq.PLAIN_USERNAME, account.encode())
    sock.setsockopt(zmq.PLAIN_PASSWORD, account.encode())
    sock.connect(address)
    return sock


def start_payload(env: str, users: int, steps: int = 50) -> bytes:
    config = {k: v for k, v in load_config(env).env_config.items() if k != "type"}
    config["num_users"] = users
    if "per_slice_config" in config:
        config["per_slice_config"]["num_users"] = [users] + [0] * (
            len(config["per_slice_config"]["num_users"]) - 1
        )
    config["steps_per_episode"] = steps
    config["episodes_per_session"] = 1
    step_ms = config["measurement_interval_ms"] + config["measurement_guard_interval_ms"]
    config["env_end_time_ms"] = config["measurement_start_time_ms"] + step_ms * (steps + 1)
    return json.dumps({"type": "env-start", **config}).encode()


# -- the cases: each returns (leaked bytes, note) -----------------------------------------------
def case_pairs(server: Served, context: zmq.Context[Any]) -> tuple[int, str]:
    """One account opens two sockets with one identity and closes them, 1000 times."""
    rounds = 0
    while rounds < 1000 and server.alive:
        pair = [dealer(context, server.address, "test-0", "test") for _ in range(2)]
        for sock in pair:
            sock.send(b'{"type": "env-end"}')
        time.sleep(0.005)
        for sock in pair:
            sock.close(linger=0)
        rounds += 1
    time.sleep(0.5)
    return 0, f"{rounds} rounds"


def case_listen(server: Served, context: zmq.Context[Any]) -> tuple[int, str]:
    """While admin-4 steps, account test connects with identity admin-4 and only listens."""
    victim = dealer(context, server.address, "admin-4")
    victim.send(start_payload("custom", 3))
    if not victim.poll(30_000):
        return 0, "the victim's start got no answer"
    first = json.loads(victim.recv())
    row = {k: v for k, v in first["network_stats"][0].items() if k != ""}
    row.update(first["network_stats"][0].get("", {}))  # the record's nested id/value pair
    row.update(name="srate", value=[0.5] * len(row["id"]))
    victim.send(json.dumps({"type": "env-action", "action_list": row}).encode())
    thief = dealer(context, server.address, "admin-4", "test")  # while the step runs (1 s)
    leaked = sum(len(thief.recv()) for _ in range(8) if thief.poll(1000))
    victim_got = victim.poll(2000)
    victim.close(linger=0)
    thief.close(linger=0)
    return leaked, f"victim answered: {bool(victim_got)}"


def case_multipart(server: Served, context: zmq.Context[Any]) -> tuple[int, str]:
    """One message of 300 frames of 1 MiB each."""
    sock = dealer(context, server.address, "admin-5")
    sock.send_multipart([b"x" * MIB] * 300)
    answered = sock.poll(30_000)
    reply = json.loads(sock.recv()) if answered else {}
    sock.close(linger=0)
    return 0, f"reply: {reply.get('error_msg', 'none')[:50]}"


def case_slow(server: Served, context: zmq.Context[Any]) -> tuple[int, str]:
    """A peer sends 60 env-starts of a 1000-user session and never reads a reply.

    Every other start begins a session (a ~0.5 MB measurement), the others get "Mapping
    Exits": about 30 large replies wait for a reader that never comes.
    """
    hog = dealer(context, server.address, "admin-6")
    hog.setsockopt(zmq.RCVHWM, 1)
    hog.setsockopt(zmq.RCVBUF, 4096)
    payload = start_payload("nqos_split", 1000)
    for _ in range(60):
        hog.send(payload)
    peak = 0.0
    for _ in range(75):  # 15 s: the server builds and answers every start meanwhile
        time.sleep(0.2)
        peak = max(peak, status_mib(server.proc.pid, "VmRSS"))
    hog.close(linger=0)
    time.sleep(1.0)
    return 0, f"RSS while it did not read, at most {peak:.0f} MiB"


def case_first_nqos(server: Served, context: zmq.Context[Any]) -> tuple[int, str]:
    """Seconds until the server answers, and the first nqos_split session's first measurement."""
    sock = dealer(context, server.address, "admin-7")
    started = time.monotonic()
    sock.send(start_payload("nqos_split", 4))
    answered = sock.poll(120_000)
    took_s = time.monotonic() - started
    kind = json.loads(sock.recv()).get("type") if answered else "no answer"
    sock.close(linger=0)
    return 0, f"up in {server.ready_s:.1f} s; first nqos_split reply ({kind}) {took_s:.2f} s"


CASES: dict[str, tuple[Callable[[Served, zmq.Context[Any]], tuple[int, str]], tuple[str, ...]]] = {
    "pairs": (case_pairs, ()),
    # the step's measurement is held 1 s (a long step), so the thief connects while it runs
    "listen": (case_listen, ("--fault", "delay@2:1000")),
    "listen --no-handover": (case_listen, ("--fault", "delay@2:1000", "--no-handover")),
    "multipart": (case_multipart, ()),
    "slow": (case_slow, ()),
    "first-nqos": (case_first_nqos, ()),
}


def run_case(name: str) -> None:
    function, flags = CASES[name]
    server = Served(*flags)
    context: zmq.Context[Any] = zmq.Context()
    try:
        leaked, note = function(server, context)
        alive = server.alive
        peak = status_mib(server.proc.pid, "VmHWM")
        after = status_mib(server.proc.pid, "VmRSS")
    finally:
        context.destroy(linger=0)
        server.close()
    aborts = sum("Assertion" in line or "Traceback" in line for line in server.lines)
    print(
        f"{name:22} {'yes' if alive else 'NO':5} {peak:9.0f} {after:9.0f} {leaked:9d}  "
        f"{note} (aborts/tracebacks: {aborts})"
    )


def main(names: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    args = parser.parse_args(None if names is None else ["--cases", ",".join(names)])
    print(f"{'case':22} {'alive':5} {'peak MiB':>9} {'after MiB':>9} {'leaked B':>9}  note")
    for name in args.cases.split(","):
        run_case(name.strip())


if __name__ == "__main__":
    main()
