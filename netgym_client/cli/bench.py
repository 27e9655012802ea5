"""``netgym bench``: steps per second of every path, as ratios to the raw transport limit.

For each environment and user count the benchmark measures, in the same run:

- ``raw``: a bare ZeroMQ DEALER/ROUTER round trip on 127.0.0.1 with stdlib ``json`` on
  both sides (the client encodes an action, the server decodes it and encodes a
  measurement, the client decodes it), with the payloads of that environment and user
  count; the server is a separate process. This is the transport's limit: no simulation.
- ``embedded``: ``gymnasium.make("netgym/<env>-v0")`` with the default in-process server.
- ``tcp``: the same env with ``server="tcp://127.0.0.1:<port>"`` talking to a
  ``python -m netgym_sim serve`` process.
- ``vector×N``: ``gymnasium.make_vec(..., vectorization_mode="vector_entry_point",
  num_envs=N)`` for each ``--num-envs`` (8 and 64 by default), up to ``--vector-users``
  users (256): the embedded sub-environments step in lock step (one model call per
  sub-step for all of them); the rate counts sub-environment steps, and the note gives the
  CPU time per sub-environment step (µs, this process). Where the environment has no
  vector entry point, gymnasium's ``SyncVectorEnv`` (labelled so).

Each figure is the median of ``--runs`` timed batches after one warm-up batch; a batch
steps for at least ``--batch-s`` seconds (and at least 3 steps) inside one long episode.
Every rate is shown with its ratio to the raw rate of the same row, since absolute times
drift on a shared machine. The cost per user-step (µs) makes the scaling with users
visible. A cProfile of one embedded batch lists the five functions with the most own
time. A last table times ``reset(seed=…)`` inside a running session and ``close()``.

This module is a command: :func:`main` writes its tables to ``sys.stdout``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import logging
import os
import pstats
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import gymnasium as gym
import numpy as np

import netgym_client
from netgym_client.config import ENVIRONMENTS, default_config_dict
from netgym_client.errors import NetGymError

__all__ = ["main"]

logger = logging.getLogger(__name__)

#: Users per run when ``--users`` is not given (``--quick``: the first and the last).
DEFAULT_USERS = (16, 64, 256, 1000)
#: Sub-environments of the vector env rows (one row each).
DEFAULT_NUM_ENVS = (8, 64)
#: Largest user count measured with the vector env.
DEFAULT_VECTOR_USERS = 256
#: Longest wait for a reply of the raw server or the serve process, seconds.
REPLY_TIMEOUT_S = 60.0
#: How long a `netgym serve` subprocess may take to listen before the tcp rows are measured.
SERVE_START_S = 60.0
#: A batch is long enough to time when it lasts this long (and has at least MIN_STEPS).
MIN_STEPS = 3
#: Steps per episode: long enough that no batch meets an episode end.
LONG_EPISODE_STEPS = 1_000_000


@dataclass(frozen=True)
class Plan:
    """How long and how often to measure."""

    runs: int
    batch_s: float
    deadline: float  # time.monotonic() after which no more batches start
    num_envs: tuple[int, ...]
    vector_users: int
    paths: frozenset[str]
    profile: bool
    port: int


@dataclass
class Row:
    """One line of the main table."""

    env: str
    users: int
    path: str
    rate: float | None = None  # steps/s (vector: aggregate sub-env steps/s)
    note: str = ""
    profile: list[tuple[str, float]] = field(default_factory=list)


# --------------------------------------------------------------------------- configuration


def env_users(env: str, users: int) -> int:
    """The users ``env`` really simulates when asked for ``users`` (rmcat: its one flow)."""
    return 1 if env == "rmcat" else users


def overrides(env: str, users: int) -> dict[str, Any]:
    """Config overrides: ``users`` spread over the default slices, one very long episode."""
    env_config: dict[str, Any] = {
        "steps_per_episode": LONG_EPISODE_STEPS,
        "episodes_per_session": 1,
        "random_seed": 1,
    }
    if env == "custom":
        env_config["num_users"] = users
    elif env != "rmcat":
        slices = len(default_config_dict(env)["env_config"]["per_slice_config"]["num_users"])
        share, rest = divmod(users, slices)
        counts = [share + (1 if i < rest else 0) for i in range(slices)]
        env_config["per_slice_config"] = {"num_users": counts}
    return {"env_config": env_config}


# --------------------------------------------------------------------------- timing


def _batches(step: Callable[[], int], plan: Plan) -> tuple[float | None, str]:
    """Median rate of ``runs`` batches after one warm-up batch; ``step()`` returns steps done."""
    rates: list[float] = []
    runs, batch_s = plan.runs, plan.batch_s
    for i in range(runs + 1):
        count, started = 0, time.perf_counter()
        while True:
            count += step()
            elapsed = time.perf_counter() - started
            if count >= MIN_STEPS and elapsed >= batch_s:
                break
        if i > 0:
            rates.append(count / elapsed)
        if time.monotonic() > plan.deadline:
            break
    if not rates:
        return None, "out of time after warm-up"
    note = "" if len(rates) == runs else f"{len(rates)} runs (time limit)"
    return statistics.median(rates), note


def _profile(step: Callable[[], int], batch_s: float) -> list[tuple[str, float]]:
    """The five functions with the most own time over one batch, with their share in %."""
    profiler = cProfile.Profile()
    count, started = 0, time.perf_counter()
    profiler.enable()
    while count < MIN_STEPS or time.perf_counter() - started < batch_s:
        count += step()
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in entries.values()) or 1.0
    top = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:5]
    out = []
    for (filename, line, func), entry in top:
        where = os.path.basename(filename) if filename != "~" else ""
        label = f"{where}:{line}:{func}" if where else func
        out.append((label, 100.0 * entry[2] / total))
    return out


def _stepper(env: gym.Env[Any, Any]) -> Callable[[], int]:
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(16)]
    index = [0]

    def step() -> int:
        index[0] = (index[0] + 1) % len(actions)
        _, _, terminated, truncated, _ = env.step(actions[index[0]])
        if terminated or truncated:
            env.reset()
        return 1

    return step


def _vector_stepper(envs: gym.vector.VectorEnv[Any, Any, Any]) -> Callable[[], int]:
    envs.action_space.seed(0)
    actions = [envs.action_space.sample() for _ in range(4)]
    index = [0]

    def step() -> int:
        index[0] = (index[0] + 1) % len(actions)
        envs.step(actions[index[0]])
        return int(envs.num_envs)

    return step


# --------------------------------------------------------------------------- raw limit


def _serve_raw(reply_file: str) -> int:
    """The raw limit's server: ROUTER, ``json.loads`` each request, ``json.dumps`` the reply."""
    import zmq  # noqa: PLC0415 (only the raw-server subprocess needs zmq here)

    with open(reply_file, encoding="utf-8") as handle:
        reply = json.load(handle)
    context: zmq.Context[Any] = zmq.Context()
    sock = context.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    try:
        while True:
            identity, payload = sock.recv_multipart()
            request = json.loads(payload)
            if request.get("type") == "quit":
                return 0
            sock.send_multipart([identity, json.dumps(reply).encode()])
    finally:
        sock.close(linger=0)
        context.term()


@contextlib.contextmanager
def _subprocess(args: list[str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


@contextlib.contextmanager
def _serving(args: list[str], port: int) -> Iterator[None]:
    """A ``netgym serve`` subprocess on ``port``, measured only once it listens (its start,
    imports included, takes seconds on a loaded machine; up to :data:`SERVE_START_S`)."""
    with _subprocess(args) as proc:
        deadline = time.monotonic() + SERVE_START_S
        while proc.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1.0):
                break
            time.sleep(0.05)
        yield


def _raw_rate(action: Any, measurement: Any, plan: Plan) -> tuple[float | None, str]:
    import zmq  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        reply_file = os.path.join(tmp, "reply.json")
        with open(reply_file, "w", encoding="utf-8") as handle:
            json.dump(measurement, handle)
        with _subprocess(["-m", "netgym_client.cli.bench", "--raw-server", reply_file]) as proc:
            assert proc.stdout is not None
            port = int(proc.stdout.readline())
            context: zmq.Context[Any] = zmq.Context()
            sock = context.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(f"tcp://127.0.0.1:{port}")

            def step() -> int:
                sock.send(json.dumps(action, indent=None).encode())
                if not sock.poll(int(REPLY_TIMEOUT_S * 1000)):
                    raise TimeoutError("the raw server did not answer")
                json.loads(sock.recv())
                return 1

            try:
                return _batches(step, plan)
            finally:
                sock.send(b'{"type": "quit"}')
                sock.close(linger=100)
                context.term()


# --------------------------------------------------------------------------- paths


def _payloads(env_name: str, users: int) -> tuple[Any, Any]:
    """An action and a measurement of ``env_name`` with ``users``, as JSON objects."""
    env = gym.make(netgym_client.env_id(env_name), config=overrides(env_name, users))
    try:
        _, info = env.reset(seed=1)
        stats = info["network_stats"]
        action = env.action_space.sample()
        adapter = env.unwrapped.adapter  # type: ignore[attr-defined]
        policy = adapter.policy(np.asarray(action), stats)
        return (
            {"type": "env-action", "action_list": policy},
            {"type": "env-measurement", "network_stats": stats.to_records()},
        )
    finally:
        env.close()


def _env_rate(
    env_name: str, users: int, server: str | None, plan: Plan
) -> tuple[float | None, str, list[tuple[str, float]]]:
    kwargs: dict[str, Any] = {"config": overrides(env_name, users)}
    if server is not None:
        kwargs["server"] = server
    env = gym.make(netgym_client.env_id(env_name), **kwargs)
    try:
        env.reset(seed=1)
        step = _stepper(env)
        rate, note = _batches(step, plan)
        top = _profile(step, plan.batch_s) if plan.profile and server is None else []
        return rate, note, top
    finally:
        env.close()


def _vector_rate(env_name: str, users: int, num_envs: int, plan: Plan) -> tuple[float | None, str]:
    env_id = netgym_client.env_id(env_name)
    mode, note = "vector_entry_point", ""
    if gym.spec(env_id).vector_entry_point is None:
        mode, note = "sync", "SyncVectorEnv (no vector entry point)"
    envs = gym.make_vec(
        env_id, num_envs=num_envs, vectorization_mode=mode, config=overrides(env_name, users)
    )
    try:
        envs.reset(seed=1)
        step = _vector_stepper(envs)
        rate, more = _batches(step, plan)
        cpu = f"{_cpu_us_per_step(step, plan.batch_s):,.0f} µs CPU/sub-step"
        return rate, "; ".join(n for n in (note, cpu, more) if n)
    finally:
        envs.close()


def _cpu_us_per_step(step: Callable[[], int], batch_s: float) -> float:
    """This process's CPU time per (sub-environment) step over one more batch, µs."""
    count, started, cpu = 0, time.perf_counter(), time.process_time()
    while count < MIN_STEPS or time.perf_counter() - started < batch_s:
        count += step()
    return 1e6 * (time.process_time() - cpu) / count


def _lifecycle(env_name: str, server: str | None, repeats: int) -> tuple[float, float]:
    """Median ms of ``reset(seed=…)`` inside a running session, and of ``close()``."""
    resets, closes = [], []
    for i in range(repeats):
        kwargs: dict[str, Any] = {"config": overrides(env_name, 16)}
        if server is not None:
            kwargs["server"] = server
        env = gym.make(netgym_client.env_id(env_name), **kwargs)
        env.reset(seed=i)
        env.step(env.action_space.sample())
        started = time.perf_counter()
        env.reset(seed=i + 1)
        resets.append(time.perf_counter() - started)
        env.step(env.action_space.sample())
        started = time.perf_counter()
        env.close()
        closes.append(time.perf_counter() - started)
    return 1000 * statistics.median(resets), 1000 * statistics.median(closes)


# --------------------------------------------------------------------------- output


def _fmt_rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:,.0f}" if rate >= 100 else f"{rate:.1f}"


def _write_table(out: TextIO, rows: list[Row], raw: dict[tuple[str, int], float | None]) -> None:
    header = (
        f"{'env':<16} {'users':>5} {'path':<9} {'steps/s':>10} {'× raw':>7} "
        f"{'µs/user-step':>12}  note"
    )
    out.write(header + "\n" + "-" * len(header) + "\n")
    for row in rows:
        raw_rate = raw.get((row.env, row.users))
        ratio = f"{row.rate / raw_rate:.2f}" if row.rate is not None and raw_rate else "-"
        per_user = f"{1e6 / (row.rate * env_users(row.env, row.users)):.1f}" if row.rate else "-"
        out.write(
            f"{row.env:<16} {row.users:>5} {row.path:<9} {_fmt_rate(row.rate):>10} "
            f"{ratio:>7} {per_user:>12}  {row.note}\n"
        )


def _write_profiles(out: TextIO, rows: list[Row]) -> None:
    profiled = [row for row in rows if row.profile]
    if not profiled:
        return
    out.write("\nprofile of one embedded batch: top 5 functions by own time\n")
    for row in profiled:
        out.write(f"  {row.env} {row.users} users\n")
        for label, share in row.profile:
            out.write(f"    {share:5.1f} %  {label}\n")


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``netgym bench``."""
    parser = argparse.ArgumentParser(
        prog="netgym bench",
        description="Steps per second of the embedded, tcp and vector paths, as ratios to a "
        "raw ZeroMQ+JSON round trip measured in the same run.",
    )
    parser.add_argument(
        "--env", action="append", choices=ENVIRONMENTS, help="environment (repeatable; all)"
    )
    parser.add_argument("--users", type=int, action="append", help="users (repeatable)")
    parser.add_argument("--quick", action="store_true", help="fewer users, runs and envs")
    parser.add_argument("--runs", type=int, default=None, help="timed batches (default 5)")
    parser.add_argument("--batch-s", type=float, default=None, help="seconds per batch")
    parser.add_argument(
        "--num-envs",
        type=int,
        action="append",
        help="sub-environments of a vector row (repeatable; default "
        + " and ".join(map(str, DEFAULT_NUM_ENVS))
        + ")",
    )
    parser.add_argument(
        "--vector-users",
        type=int,
        default=DEFAULT_VECTOR_USERS,
        help="largest user count measured with the vector env (default %(default)s)",
    )
    parser.add_argument(
        "--paths",
        default="raw,embedded,tcp,vector",
        help="comma-separated paths to measure (default %(default)s)",
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile top 5")
    parser.add_argument(
        "--time-limit-s", type=float, default=1800.0, help="stop measuring new rows after this"
    )
    parser.add_argument("--raw-server", metavar="FILE", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write its tables to stdout; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.raw_server:
        return _serve_raw(args.raw_server)
    out = sys.stdout
    envs: list[str] = args.env or (["nqos_split", "custom"] if args.quick else list(ENVIRONMENTS))
    users: list[int] = args.users or ([16, 256] if args.quick else list(DEFAULT_USERS))
    plan = Plan(
        runs=args.runs or 5,
        batch_s=args.batch_s or (0.2 if args.quick else 0.5),
        deadline=time.monotonic() + args.time_limit_s,
        num_envs=tuple(args.num_envs or DEFAULT_NUM_ENVS),
        vector_users=args.vector_users,
        paths=frozenset(p.strip() for p in args.paths.split(",") if p.strip()),
        profile=not args.no_profile,
        port=_free_port(),
    )
    out.write(
        f"netgym bench: {os.cpu_count()} cores, python {sys.version.split()[0]}, "
        f"numpy {np.__version__}, gymnasium {gym.__version__}; median of {plan.runs} batches "
        f"of >= {plan.batch_s} s after a warm-up\n\n"
    )
    out.flush()
    rows: list[Row] = []
    raw: dict[tuple[str, int], float | None] = {}
    serve_args = ["-m", "netgym_sim", "serve", "--port", str(plan.port), "--log-level", "ERROR"]
    with _serving(serve_args, plan.port) if "tcp" in plan.paths else contextlib.nullcontext():
        for env_name in envs:
            seen: set[int] = set()
            for n in users:
                u = env_users(env_name, n)
                if u not in seen:
                    seen.add(u)
                    rows.extend(_measure_row(env_name, u, plan, raw))
    _write_table(out, rows, raw)
    _write_profiles(out, rows)
    if {"embedded", "tcp"} & plan.paths:
        out.write("\nreset(seed=…) inside a running session and close(), nqos_split, 16 users\n")
        for path in ("embedded", "tcp"):
            if path not in plan.paths:
                continue
            server = None if path == "embedded" else f"tcp://127.0.0.1:{plan.port}"
            with _serving(serve_args, plan.port) if path == "tcp" else contextlib.nullcontext():
                try:
                    reset_ms, close_ms = _lifecycle("nqos_split", server, 5)
                    out.write(f"  {path:<9} reset {reset_ms:8.1f} ms   close {close_ms:7.1f} ms\n")
                except NetGymError as exc:
                    out.write(f"  {path:<9} failed: {exc}\n")
    out.flush()
    return 0


def _measure_row(
    env_name: str, users: int, plan: Plan, raw: dict[tuple[str, int], float | None]
) -> list[Row]:
    rows: list[Row] = []
    if time.monotonic() > plan.deadline:
        return [Row(env_name, users, "all", note="skipped: time limit")]
    try:
        action, measurement = _payloads(env_name, users)
    except NetGymError as exc:
        return [Row(env_name, users, "all", note=f"refused: {str(exc)[:70]}")]
    if "raw" in plan.paths:
        rate, note = _raw_rate(action, measurement, plan)
        size = len(json.dumps(measurement).encode())
        raw[(env_name, users)] = rate
        rows.append(Row(env_name, users, "raw", rate, f"{size:,} B measurement; {note}".strip()))
    for path in ("embedded", "tcp"):
        if path not in plan.paths:
            continue
        server = None if path == "embedded" else f"tcp://127.0.0.1:{plan.port}"
        try:
            rate, note, top = _env_rate(env_name, users, server, plan)
            rows.append(Row(env_name, users, path, rate, note, top))
        except NetGymError as exc:
            rows.append(Row(env_name, users, path, note=f"failed: {str(exc)[:70]}"))
    if "vector" in plan.paths and users <= plan.vector_users:
        for num_envs in plan.num_envs:
            path = f"vector×{num_envs}"
            if time.monotonic() > plan.deadline:
                rows.append(Row(env_name, users, path, note="skipped: time limit"))
                continue
            try:
                rate, note = _vector_rate(env_name, users, num_envs, plan)
                rows.append(Row(env_name, users, path, rate, note))
            except (NetGymError, gym.error.Error) as exc:
                rows.append(Row(env_name, users, path, note=f"failed: {str(exc)[:70]}"))
    return rows


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


if __name__ == "__main__":  # the raw-limit server runs as `python -m netgym_client.cli.bench`
    raise SystemExit(main())
