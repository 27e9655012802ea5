"""Conformance: the original NetworkGym client scripts, unchanged, against netgym.

Every script the original ships (``start_client.py``, ``start_client_demo.py``,
``start_client_sequential_training.py``) for every environment it ships, with netgym's
current-layout configs, on two paths: ``netgym serve`` (``python -m netgym_sim serve``) and
the original server (``start_server.py`` of the checkout) with a netgym env worker on its env
port. A run conforms when the script exits 0 and its client printed no env-error.

Run locally against a checkout of the original (never in CI)::

    NETGYM_ORIGINAL=/path/to/networkgym NETGYM_ORIGINAL_PYTHON=/path/to/venv/bin/python \\
        .venv/bin/python -m pytest -m original tests/e2e/test_original_conformance.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import original
from tests.e2e.test_serve_process import START_TIMEOUT_S, free_port, wait_for_line

pytestmark = [pytest.mark.e2e, pytest.mark.upstream, pytest.mark.original, pytest.mark.slow]

#: How long the original server and a netgym worker get to find each other.
REGISTER_TIMEOUT_S = 60.0


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="module")
def netgym_serve() -> Iterator[int]:
    """``python -m netgym_sim serve`` on a free port: the client port."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "netgym_sim", "serve", "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_line(proc, f"serving on tcp://127.0.0.1:{port}", START_TIMEOUT_S)
        yield port
    finally:
        stop(proc)
        assert proc.stderr is not None
        proc.stderr.close()


@pytest.fixture(scope="module")
def original_with_netgym_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The original server with one netgym worker (two slots) on its env port."""
    workdir = tmp_path_factory.mktemp("original-server")
    port, env_port = free_port(), free_port()
    tree = original.server_tree(workdir, port, env_port)
    log = workdir / "server.log"
    server = original.start_original_server(tree, log)
    worker = subprocess.Popen(
        [sys.executable, "-m", "netgym_sim", "worker", "--server", f"tcp://127.0.0.1:{env_port}",
         "--id", "1", "--slots", "2", "--hostname", "conformance"],
        env={**os.environ, "NETGYM_SESSION_KEY": "admin"},
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + REGISTER_TIMEOUT_S
        while b"env-hello" not in log.read_bytes():
            assert server.poll() is None, log.read_text(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "the original server saw no hello"
            time.sleep(0.2)
        yield port
    finally:
        stop(worker)
        stop(server)


@pytest.fixture(params=["netgym-serve", "original-server+netgym-worker"])
def port(request: pytest.FixtureRequest) -> int:
    name = "netgym_serve" if request.param == "netgym-serve" else "original_with_netgym_worker"
    value: int = request.getfixturevalue(name)
    return value


@pytest.mark.parametrize("env", original.ENVS)
@pytest.mark.parametrize("script", original.SCRIPTS)
def test_the_original_client_script_runs_unchanged(
    script: str, env: str, port: int, tmp_path: Path
) -> None:
    tree = original.client_tree(tmp_path, port)
    run = original.run_script(tree, script, env)
    assert run.returncode == 0 and not run.env_errors, run.output[-3000:]
