"""The ``netgym`` command as a process: pipes, a terminal, Ctrl-C and ``serve``."""

from __future__ import annotations

import json
import os
import pty
import queue
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import IO

import pytest

from netgym_client import NetworkGymEnv

pytestmark = pytest.mark.e2e

NETGYM = [sys.executable, "-m", "netgym_client"]
#: Longest wait for any one event of a child process, seconds (never asserted as speed).
WAIT_S = 60.0


def lines_of(stream: IO[str]) -> tuple[queue.Queue[str], threading.Thread]:
    """Lines of ``stream`` as they come, read by a daemon thread (ends at EOF)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    return lines, reader


def wait_for(lines: queue.Queue[str], text: str) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            break
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"{text!r} never came; got {seen[-5:]}")


def test_piped_output_has_no_progress_frames() -> None:
    argv = [*NETGYM, "run", "custom", "--episodes", "2", "--steps-per-episode", "3"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=WAIT_S, check=False)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr + done.stdout
    assert "steps/s" not in done.stderr
    assert "mean_episode_return" in done.stdout


def test_a_terminal_gets_the_progress_bar() -> None:
    master, slave = pty.openpty()
    argv = [*NETGYM, "run", "custom", "--episodes", "3", "--steps-per-episode", "5"]
    env = {**os.environ, "COLUMNS": "160", "TERM": "xterm"}
    with subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env
    ) as proc:
        os.close(slave)
        chunks = read_terminal(master, proc)
    shown = b"".join(chunks).decode(errors="replace")
    assert "steps/s" in shown and "ETA" in shown and "sim" in shown
    assert "mean_episode_return" in shown


def read_terminal(master: int, proc: subprocess.Popen[bytes]) -> list[bytes]:
    chunks: list[bytes] = []
    deadline = time.monotonic() + WAIT_S
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        assert proc.wait(timeout=WAIT_S) == 0
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return chunks


def test_ctrl_c_ends_with_the_summary_and_130_without_a_traceback() -> None:
    argv = [*NETGYM, "run", "custom", "--episodes", "100000", "--steps-per-episode", "5", "-v"]
    with subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stderr is not None and proc.stdout is not None
            errors, reader = lines_of(proc.stderr)
            seen = wait_for(errors, "episode 2/100000 done")
            proc.send_signal(signal.SIGINT)
            out = proc.stdout.read()
            assert proc.wait(timeout=WAIT_S) == 130
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=WAIT_S)
        reader.join(timeout=WAIT_S)  # EOF: the process has exited
        rest: list[str] = []
        while not errors.empty():
            rest.append(errors.get())
    err = "".join(seen + rest)
    assert "Traceback" not in err
    assert "interrupted" in err
    assert "interrupted" in out and "True" in out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_netgym_serve_takes_the_simulators_flags() -> None:
    port = free_port()
    argv = [*NETGYM, "serve", "--port", str(port), "--host", "127.0.0.1", "--log-level", "INFO"]
    with subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stderr is not None
            errors, _ = lines_of(proc.stderr)
            env = NetworkGymEnv(
                "custom",
                config={"env_config": {"steps_per_episode": 2, "episodes_per_session": 1}},
                server=f"tcp://127.0.0.1:{port}",
            )
            try:
                obs, _ = env.reset(seed=3)
                assert obs.shape == (3, 5)
            finally:
                env.close()
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=WAIT_S) == 0
            wait_for(errors, "stopped")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=WAIT_S)


def test_json_of_the_process_is_clean() -> None:
    argv = [*NETGYM, "run", "rmcat", "--agent", "nada_mirror", "--episodes", "1", "--json"]
    done = subprocess.run(
        [*argv, "--steps-per-episode", "5"],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["agent"] == "nada_mirror"
