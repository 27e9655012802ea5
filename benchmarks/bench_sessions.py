"""Concurrent sessions against ``python -m netgym_sim serve``: in-process vs ``--workers N``.

Usage:
    python benchmarks/bench_sessions.py [--ks 1,2,4,8,16] [--modes inproc,1,2,4]
        [--steps 100] [--users 16]
    python benchmarks/bench_sessions.py --isolation [--heavy-users 10000] [--steps 40]

For every mode (``inproc``: today's one-thread server; ``N``: ``--workers N`` with enough
slots per worker for the largest K) one server process is started; for every K, K client
processes (one ``NetworkGymEnv`` each, nqos_split, ``--users`` users) run ``--steps`` steps
at once after a barrier. Printed per (mode, K): aggregate steps/s (all steps / wall time),
the per-step latency p50 and p99 over all sessions, and the memory a session costs: the
growth of the resident set of the server and its worker processes while the sessions run,
divided by K (plus the idle total), and the CPU time the server and its workers spent per
step (user + system, from /proc).

``--raw`` replaces the clients by bare DEALER sockets that send pre-encoded actions (only
the ``ts`` is read from each measurement), so that the server's own cost shows.

``--isolation`` runs 4 light sessions beside one ``--heavy-users`` session and prints the
light sessions' step p50/p99 without and with it, in-process and with one worker process
per session (``--workers 5 --slots 1``).

Each client is its own process (forked), like ``make_vec(..., vectorization_mode="async")``
sub-environments; clients, server and workers share the machine's cores with whatever else
runs: the figures are for comparison within one run, not absolutes. The header says how
many cores the run really got (one busy process per core: CPU time over wall time).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from netgym_client import NetworkGymEnv
from netgym_client.config import load_config

READY_S = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def tree_rss_mb(pid: int) -> float:
    """Resident set of ``pid`` and all its descendants, in MB (from /proc)."""
    total_kb = 0
    for current in tree_pids(pid):
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return total_kb / 1024


def _burn(cpu_s: float, results: Any) -> None:
    started = time.perf_counter()
    while time.process_time() < cpu_s:
        pass
    results.put(time.perf_counter() - started)


def free_cores(cpu_s: float = 0.5) -> float:
    """Cores this run actually gets now: one busy process per core, CPU time / wall time."""
    context = multiprocessing.get_context("fork")
    n = os.cpu_count() or 1
    results = context.Queue()
    procs = [context.Process(target=_burn, args=(cpu_s, results)) for _ in range(n)]
    for proc in procs:
        proc.start()
    walls: list[float] = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(10)
    return sum(cpu_s / wall for wall in walls)


def tree_pids(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return found


def tree_cpu_s(pid: int) -> float:
    """CPU time (user + system) used so far by ``pid`` and its live descendants, in s."""
    ticks = 0
    for current in tree_pids(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (stat fields 14, 15)
    return ticks / os.sysconf("SC_CLK_TCK")


class Server:
    """A ``serve`` process whose stderr is drained by a thread (lines kept)."""

    def __init__(self, workers: int | None, slots: int) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "netgym_sim", "serve", "--port", str(self.port)]
        command += ["--idle-timeout", "600", "--log-level", "INFO"]
        if workers is not None:
            command += ["--workers", str(workers), "--slots", str(slots)]
            command += ["--env-port", str(free_port())]
        self.expected = 1 if workers is None else workers * slots
        self.needle = "serving on" if workers is None else "registered offering"
        self.proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + READY_S
        while sum(self.needle in line for line in self.lines) < self.expected:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"server not ready: {self.lines[-5:]}")
            time.sleep(0.05)

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@contextmanager
def serving(workers: int | None, slots: int) -> Iterator[Server]:
    server = Server(workers, slots)
    try:
        yield server
    finally:
        server.stop()


def make_env(address: str, client_id: int, users: int, steps: int) -> NetworkGymEnv:
    half = users // 2
    config = {
        "env_config": {
            "steps_per_episode": steps + 1,
            "episodes_per_session": 1,
            "per_slice_config": {"num_users": [half, users - half]},
        },
        "server": {"client_id": client_id},
    }
    return NetworkGymEnv("nqos_split", config=config, server=address)


def run_session(env: NetworkGymEnv, steps: int, barrier: Any, latencies: list[float]) -> None:
    rng = np.random.default_rng(0)
    shape = env.action_space.shape or ()
    barrier.wait()
    for _ in range(steps):
        started = time.perf_counter()
        env.step(rng.random(shape, dtype=np.float32))
        latencies.append(time.perf_counter() - started)


def client_process(
    address: str, client_id: int, *, users: int, steps: int, barrier: Any, results: Any
) -> None:
    """One client in its own process (no GIL shared with the others)."""
    logging.getLogger("netgym_client").setLevel(logging.ERROR)  # the >50-users notice
    env = make_env(address, client_id, users, steps)
    latencies: list[float] = []
    try:
        env.reset(seed=client_id)
        run_session(env, steps, barrier, latencies)
    finally:
        env.close()
        results.put(latencies)


_TS = re.compile(rb'"ts":\s*(\d+)')


def raw_client_process(
    address: str, client_id: int, *, users: int, steps: int, barrier: Any, results: Any
) -> None:
    """A bare DEALER client: the start and actions as bytes, no decoding but the ts."""
    half = users // 2
    start = load_config(
        "nqos_split",
        {
            "env_config": {
                "steps_per_episode": steps + 1,
                "episodes_per_session": 1,
                "per_slice_config": {"num_users": [half, users - half]},
            }
        },
    ).env_config
    weights = [[1.0, 0.0, 0.0]] * users
    record = {"source": "gma", "name": "dl::split_weight", "ts": 0, "id": list(range(1, users + 1))}
    template = json.dumps({"type": "env-action", "action_list": {**record, "value": weights}})
    head, tail = template.encode().split(b'"ts": 0', 1)
    context: zmq.Context[Any] = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.IDENTITY, f"admin-{client_id}".encode())
    sock.setsockopt(zmq.PLAIN_USERNAME, b"admin")
    sock.setsockopt(zmq.PLAIN_PASSWORD, b"admin")
    sock.connect(address)
    latencies: list[float] = []
    try:
        sock.send(json.dumps(start).encode())
        reply = sock.recv() if sock.poll(60_000) else b""
        barrier.wait()
        for _ in range(steps):
            match = _TS.search(reply)
            if match is None:
                raise RuntimeError(f"no measurement: {reply[:200]!r}")
            started = time.perf_counter()
            sock.send(head + b'"ts": ' + match.group(1) + tail)
            reply = sock.recv() if sock.poll(60_000) else b""
            latencies.append(time.perf_counter() - started)
    finally:
        sock.close(linger=0)
        context.term()
        results.put(latencies)


def measure(
    server: Server, k: int, steps: int, users: int, *, raw: bool = False
) -> dict[str, float]:
    context = multiprocessing.get_context("fork")
    idle_mb = tree_rss_mb(server.proc.pid)
    barrier = context.Barrier(k + 1)
    results = context.Queue()
    procs = [
        context.Process(
            target=raw_client_process if raw else client_process,
            args=(server.address, i),
            kwargs={"users": users, "steps": steps, "barrier": barrier, "results": results},
        )
        for i in range(k)
    ]
    for proc in procs:
        proc.start()
    barrier.wait(READY_S)
    started, cpu_s = time.perf_counter(), tree_cpu_s(server.proc.pid)
    peak_mb, gathered = idle_mb, list[list[float]]()
    while len(gathered) < k:
        peak_mb = max(peak_mb, tree_rss_mb(server.proc.pid))
        try:
            gathered.append(results.get(timeout=0.05))
        except queue.Empty:
            if not any(p.is_alive() for p in procs) and results.empty():
                raise RuntimeError("a client process died") from None
    wall_s = time.perf_counter() - started
    cpu_s = tree_cpu_s(server.proc.pid) - cpu_s
    for proc in procs:
        proc.join(30)
    lat_ms = np.array([x for lat in gathered for x in lat]) * 1000
    return {
        "steps_per_s": lat_ms.size / wall_s,
        "p50_ms": float(np.percentile(lat_ms, 50)),
        "p99_ms": float(np.percentile(lat_ms, 99)),
        "rss_total_mb": peak_mb,
        "rss_per_session_mb": max(0.0, peak_mb - idle_mb) / k,
        "server_cpu_ms_per_step": 1000 * cpu_s / lat_ms.size,
    }


def bench_table(ks: list[int], modes: list[str], steps: int, users: int, *, raw: bool) -> None:
    clients = "bare DEALER clients" if raw else "NetworkGymEnv clients"
    print(
        f"nqos_split, {users} users, {steps} timed steps per session, {clients}; "
        f"cores: {os.cpu_count()}, free now: {free_cores():.2f}"
    )
    print(f"{'mode':>10} {'K':>3} {'steps/s':>9} {'p50 ms':>8} {'p99 ms':>8}", end="")
    print(f" {'RSS MB':>8} {'MB/sess':>8} {'srv CPU ms/step':>16}")
    for mode in modes:
        workers = None if mode == "inproc" else int(mode)
        slots = 1 if workers is None else max(1, -(-max(ks) // workers))
        label = "in-process" if workers is None else f"workers {workers}"
        with serving(workers, slots) as server:
            measure(server, max(ks), 3, users, raw=raw)  # warm-up: every slot's first session
            for k in ks:
                r = measure(server, k, steps, users, raw=raw)
                rss = f"{r['rss_total_mb']:>8.0f} {r['rss_per_session_mb']:>8.1f}"
                rss += f" {r['server_cpu_ms_per_step']:>16.2f}"
                print(
                    f"{label:>10} {k:>3} {r['steps_per_s']:>9.0f} {r['p50_ms']:>8.2f} "
                    f"{r['p99_ms']:>8.2f} {rss}",
                    flush=True,
                )


def light_latencies(server: Server, steps: int, heavy_users: int | None) -> np.ndarray:
    """Step latencies (ms) of 4 light sessions, beside one heavy session if asked."""
    stop = threading.Event()
    heavy_ready = threading.Event()

    def heavy() -> None:
        env = make_env(server.address, 9, heavy_users or 0, 100_000)
        try:
            env.reset(seed=9)
            env.step(np.full(env.action_space.shape or (), 0.5, dtype=np.float32))
            heavy_ready.set()
            while not stop.is_set():
                env.step(np.full(env.action_space.shape or (), 0.5, dtype=np.float32))
        finally:
            heavy_ready.set()
            env.close()

    heavy_thread = threading.Thread(target=heavy, daemon=True) if heavy_users else None
    if heavy_thread is not None:
        heavy_thread.start()
        heavy_ready.wait(600)
    envs = [make_env(server.address, i, 16, steps) for i in range(4)]
    for i, env in enumerate(envs):
        env.reset(seed=i)
    barrier = threading.Barrier(5)
    lats: list[list[float]] = [[] for _ in envs]
    threads = [
        threading.Thread(target=run_session, args=(env, steps, barrier, lat))
        for env, lat in zip(envs, lats, strict=True)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    for thread in threads:
        thread.join()
    stop.set()
    if heavy_thread is not None:
        heavy_thread.join(600)
    for env in envs:
        env.close()
    return np.array([x for lat in lats for x in lat]) * 1000


def bench_isolation(steps: int, heavy_users: int) -> None:
    print(
        f"4 light sessions (16 users) beside one {heavy_users}-user session; {steps} steps "
        f"each; cores: {os.cpu_count()}, free now: {free_cores():.2f}"
    )
    print(f"{'mode':>22} {'heavy':>6} {'p50 ms':>8} {'p99 ms':>9} {'max ms':>9}")
    for label, workers, slots in (("in-process", None, 1), ("workers 5, slots 1", 5, 1)):
        with serving(workers, slots) as server:
            for heavy_users_or_none in (None, heavy_users):
                lat = light_latencies(server, steps, heavy_users_or_none)
                print(
                    f"{label:>22} {'yes' if heavy_users_or_none else 'no':>6} "
                    f"{np.percentile(lat, 50):>8.2f} {np.percentile(lat, 99):>9.2f} "
                    f"{lat.max():>9.2f}",
                    flush=True,
                )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ks", default="1,2,4,8,16", help="concurrent sessions, comma-separated")
    parser.add_argument("--modes", default="inproc,1,2,4", help="inproc and/or worker counts")
    parser.add_argument("--steps", type=int, default=100, help="timed steps per session")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--isolation", action="store_true", help="the heavy-neighbour test")
    parser.add_argument("--heavy-users", type=int, default=10_000)
    parser.add_argument(
        "--raw", action="store_true", help="bare DEALER clients (client cost ~0: the server's)"
    )
    args: Any = parser.parse_args(argv)
    if args.isolation:
        bench_isolation(args.steps, args.heavy_users)
        return
    ks = [int(k) for k in args.ks.split(",")]
    bench_table(ks, args.modes.split(","), args.steps, args.users, raw=args.raw)


if __name__ == "__main__":
    main()
