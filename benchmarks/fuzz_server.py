"""Hostile traffic against a ``python -m netgym_sim serve`` process while 4 good sessions step.

Usage: python benchmarks/fuzz_server.py [--messages 100000] [--steps 300] [--peers 8] [--cases]

First the 4 good sessions (nqos_split, admin-0 … admin-3, netgym's own client) run alone, then
again while fuzz peers of several accounts send generated hostile messages: random bytes,
broken and non-object JSON, unknown types, env-starts with mutated numbers (10**400, -0.0,
±1e308, 2**63…), unknown keys, long strings, deep nesting, over-size payloads, actions with
stale ts, multi-frame messages, identities of other accounts and outside the identity grammar
(``admin--3``, ``test-a-0``…), plus logins with wrong passwords. Prints messages sent, server
crashes (process gone or a traceback on its stderr), typed replies, InternalError replies,
good steps done/wanted with their p50/p99 latency beside the no-fuzz run, and the server's
RSS before and after.

``--cases`` then runs the abuse cases of ``benchmarks/abuse_cases.py``, one fresh server
each: same-identity connect/close pairs, a listener on a live session (with and without
``--no-handover``), a 300-frame message, a peer that never reads, the first nqos_split
session; each prints the server's survival, peak and final RSS, and bytes leaked to another
account.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import queue
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import zmq

from netgym_client.config import load_config
from netgym_client.errors import NetGymError
from netgym_client.northbound import NorthboundClient

HOSTILE_NUMBERS = ["1" + "0" * 400, "-0.0", "1e308", "-1e308", "1e-308", str(2**63), "-1", "0"]
IDENTITIES = [
    ("admin", "admin-{n}"),
    ("test", "test-0"),
    ("test", "admin-{n}"),  # another account's identity
    ("test", "test-a-0"),
    ("admin", "admin--3"),
    ("admin", "admin-a-b-28"),
    ("admin", "admin-+1"),
    ("admin", "admin-007"),
    ("admin", "ghost-0"),
    ("admin", "admin"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def env_config(env: str) -> dict[str, Any]:
    return {k: v for k, v in load_config(env).env_config.items() if k != "type"}


def good_session(address: str, client_id: int, steps: int, out: dict[str, Any]) -> None:
    """One nqos_split session of ``steps`` steps with the built-in policy; latencies in out."""
    latencies: list[float] = []
    config = env_config("nqos_split")
    config["steps_per_episode"] = steps + 1
    config["episodes_per_session"] = 1
    config["env_end_time_ms"] = config["measurement_start_time_ms"] + 100 * (steps + 2)
    try:
        with NorthboundClient(address, client_id=client_id, reply_timeout_s=60.0) as client:
            client.start(config)
            ts = client.receive().network_stats[0]["ts"]
            for _ in range(steps):
                started = time.perf_counter()
                client.send_action(
                    {"source": "gma", "name": "dl::split_weight", "ts": ts, "id": [], "value": []}
                )
                ts = client.receive().network_stats[0]["ts"]
                latencies.append(time.perf_counter() - started)
    except NetGymError as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    out["latencies"] = latencies


def run_good(address: str, steps: int) -> tuple[int, list[float], list[str]]:
    outs: list[dict[str, Any]] = [{} for _ in range(4)]
    threads = [
        threading.Thread(target=good_session, args=(address, i, steps, outs[i])) for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    latencies = [x for out in outs for x in out.get("latencies", [])]
    errors = [out["error"] for out in outs if "error" in out]
    return len(latencies), latencies, errors


def percentile_ms(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def hostile_payload(rng: random.Random, templates: dict[str, dict[str, Any]]) -> list[bytes]:
    """One generated hostile message (its frames)."""
    kind = rng.randrange(12)
    if kind == 0:
        return [rng.randbytes(rng.randrange(0, 200))]
    if kind == 1:
        return [rng.choice([b"{", b"[1,2]", b'"x"', b"null", b'{"type": 5}', b'{"a":NaN}'])]
    if kind == 2:
        return [
            json.dumps({"type": rng.choice(["env-hello", "x", "", "env-measurement"])}).encode()
        ]
    if kind == 3:
        return [b'{"type":"env-start"}', b"extra frame"]
    env = rng.choice(sorted(templates))
    config = json.loads(json.dumps(templates[env]))
    if kind <= 7:  # a hostile number somewhere in a valid env-start
        paths = _number_paths(config)
        node, key = rng.choice(paths)
        node[key] = "@@n@@"
        text = json.dumps({"type": "env-start", **config})
        return [text.replace('"@@n@@"', rng.choice(HOSTILE_NUMBERS)).encode()]
    if kind == 8:
        config[rng.choice(["pad", "GMA", "bw_trace2"])] = [0.5] * rng.randrange(1, 5000)
        return [json.dumps({"type": "env-start", **config}).encode()]
    if kind == 9:
        config["env"] = rng.choice(["w" * rng.randrange(300, 100_000), "warp", ""])
        return [json.dumps({"type": "env-start", **config}).encode()]
    if kind == 10:
        deep: Any = 0
        for _ in range(rng.randrange(9, 60)):
            deep = [deep]
        return [
            json.dumps({"type": "env-start", **config, "subscribed_network_stats": deep}).encode()
        ]
    action = {"source": "gma", "name": "dl::split_weight", "ts": rng.randrange(-5, 10**6)}
    action["id"] = [1, 2]
    action["value"] = [[rng.choice([1e308, -1.0, 0.5, 10**30]), 0, 0], [1, 0, 0]]
    return [json.dumps({"type": "env-action", "action_list": action}).encode()]


def _number_paths(obj: Any) -> list[tuple[Any, Any]]:
    out: list[tuple[Any, Any]] = []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj[:2])
    for key, value in items:
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            out.append((obj, key))
        elif isinstance(value, dict | list):
            out.extend(_number_paths(value))
    return out


class Fuzzer:
    """Fuzz peers on one thread: send hostile messages, count what comes back."""

    def __init__(self, address: str, peers: int, seed: int) -> None:
        self.address = address
        self.rng = random.Random(seed)
        self.context: zmq.Context[Any] = zmq.Context()
        self.templates = {env: env_config(env) for env in ("custom", "nqos_split", "rmcat")}
        self.sockets = [self._socket(i) for i in range(peers)]
        self.sent = 0
        self.replies: dict[str, int] = {}
        self.internal_errors = 0
        self.oversize = 0

    def _socket(self, i: int) -> zmq.Socket[bytes]:
        user, pattern = IDENTITIES[i % len(IDENTITIES)]
        identity = pattern.format(n=4 + i)
        sock: zmq.Socket[bytes] = self.context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.IDENTITY, identity.encode())
        sock.setsockopt(zmq.PLAIN_USERNAME, user.encode())
        sock.setsockopt(zmq.PLAIN_PASSWORD, user.encode())
        sock.setsockopt(zmq.SNDHWM, 200)
        sock.connect(self.address)
        return sock

    def drain(self, timeout_ms: int = 0) -> None:
        poller = zmq.Poller()
        for sock in self.sockets:
            poller.register(sock, zmq.POLLIN)
        while True:
            ready = dict(poller.poll(timeout_ms))
            if not ready:
                return
            timeout_ms = 0
            for sock in ready:
                while True:
                    try:
                        frames = sock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    try:
                        reply = json.loads(frames[-1])
                        kind = str(reply.get("type"))
                    except (ValueError, AttributeError):
                        kind = "untyped"
                    self.replies[kind] = self.replies.get(kind, 0) + 1
                    if "InternalError" in str(reply.get("error_msg", "")):
                        self.internal_errors += 1

    def run(self, messages: int, stop: threading.Event) -> None:
        while self.sent < messages and not stop.is_set():
            for sock in self.sockets:
                for _ in range(20):
                    frames = hostile_payload(self.rng, self.templates)
                    if self.rng.random() < 0.0005:  # an over-size payload now and then
                        frames = [b'{"type":"env-start","x":"' + b"x" * 1_500_000 + b'"}']
                        self.oversize += 1
                    try:
                        sock.send_multipart(frames, zmq.NOBLOCK)
                        self.sent += 1
                    except zmq.Again:
                        break
            self.drain(timeout_ms=5)
        # the server may still be working through the backlog: read until it is quiet
        deadline = time.monotonic() + 120.0
        answered = -1
        while answered != sum(self.replies.values()) and time.monotonic() < deadline:
            answered = sum(self.replies.values())
            self.drain(timeout_ms=2000)

    def wrong_passwords(self, attempts: int) -> None:
        """Logins with wrong passwords (each a new connection)."""
        for i in range(attempts):
            sock = self.context.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.PLAIN_USERNAME, b"admin")
            sock.setsockopt(zmq.PLAIN_PASSWORD, f"guess-{i}".encode())
            sock.connect(self.address)
            with contextlib.suppress(zmq.Again):  # not connected (yet): nothing queued
                sock.send(b'{"type":"env-start"}', zmq.NOBLOCK)
            time.sleep(0.002)
            sock.close(linger=0)

    def close(self) -> None:
        for sock in self.sockets:
            sock.close(linger=0)
        self.context.term()


def fuzz_process(address: str, messages: int, peers: int, seed: int, results: Any) -> None:
    """The fuzz peers (in a process of their own); puts their counts on ``results``."""
    fuzzer = Fuzzer(address, peers, seed)
    fuzzer.run(messages, threading.Event())
    fuzzer.wrong_passwords(200)
    results.put(
        {
            "sent": fuzzer.sent,
            "oversize": fuzzer.oversize,
            "replies": fuzzer.replies,
            "internal_errors": fuzzer.internal_errors,
        }
    )
    fuzzer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=300, help="steps per good session")
    parser.add_argument("--peers", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cases", action="store_true", help="then run abuse_cases.py")
    args = parser.parse_args()

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "netgym_sim",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "WARNING",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr_lines: list[str] = []
    reader = threading.Thread(
        target=lambda: stderr_lines.extend(iter(server.stderr.readline, "")),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    try:
        time.sleep(1.5)
        rss_before = rss_mib(server.pid)
        wanted = 4 * args.steps
        done_alone, alone, errors_alone = run_good(address, args.steps)
        rss_warm = rss_mib(server.pid)

        # the fuzz peers run in their own process: their JSON work must not slow the good
        # clients through this process's GIL
        results: Any = multiprocessing.get_context("spawn").Queue()
        fuzz = multiprocessing.get_context("spawn").Process(
            target=fuzz_process, args=(address, args.messages, args.peers, args.seed, results)
        )
        started = time.monotonic()
        fuzz.start()
        done_fuzzed, fuzzed, errors_fuzzed = run_good(address, args.steps)
        report = None
        while report is None:
            try:
                report = results.get(timeout=1.0)
            except queue.Empty:
                if not fuzz.is_alive():
                    raise RuntimeError("the fuzz process died; see its traceback") from None
        fuzz.join(60)
        elapsed_s = time.monotonic() - started
        rss_after = rss_mib(server.pid)
        time.sleep(0.5)
        alive = server.poll() is None
    finally:
        server.terminate()
        server.wait(10)
        reader.join(10)  # every line of the server's stderr is read before it is counted
    tracebacks = sum("Traceback" in line or "Assertion" in line for line in stderr_lines)
    warnings = [line.strip() for line in stderr_lines if "WARNING" in line]
    replies = report["replies"]
    typed = sum(replies.get(k, 0) for k in ("env-error", "no-available-worker", "env-end"))
    print(
        f"hostile messages sent      {report['sent']} from {args.peers} peers in {elapsed_s:.1f} s"
    )
    print(f"  over-size payloads       {report['oversize']}; wrong-password logins 200")
    print(
        f"server crashes             {0 if alive and not tracebacks else 1} "
        f"(alive: {alive}, tracebacks on stderr: {tracebacks})"
    )
    print(f"typed replies              {typed} {dict(sorted(replies.items()))}")
    print(f"InternalError replies      {report['internal_errors']}")
    print(f"good steps done/wanted     alone {done_alone}/{wanted}, fuzzed {done_fuzzed}/{wanted}")
    if errors_alone or errors_fuzzed:
        print(f"good session errors        {errors_alone + errors_fuzzed}")
    print(
        f"good step p50/p99 ms       alone {percentile_ms(alone, 0.5):.2f}/"
        f"{percentile_ms(alone, 0.99):.2f}, fuzzed {percentile_ms(fuzzed, 0.5):.2f}/"
        f"{percentile_ms(fuzzed, 0.99):.2f}"
    )
    print(
        f"server RSS MiB             idle {rss_before:.1f}, after the no-fuzz run "
        f"{rss_warm:.1f}, after the fuzz {rss_after:.1f}"
    )
    if not alive:
        print(f"server exit code           {server.returncode}")
        for line in stderr_lines[-10:]:
            print(f"  {line.rstrip()[:200]}")
    print(f"server WARNING lines       {len(warnings)}")
    for line in warnings[:5]:
        print(f"  {line[:160]}")
    if args.cases:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import abuse_cases  # noqa: PLC0415 (beside this script)

        print()
        abuse_cases.main(list(abuse_cases.CASES))


if __name__ == "__main__":
    main()
