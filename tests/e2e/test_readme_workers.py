"""The README's workers section stays true: its commands parse, its snippet runs."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from netgym_sim.__main__ import build_parser
from tests.e2e.test_serve_process import free_port
from tests.e2e.test_worker import StderrLines

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"


def section() -> str:
    text = README.read_text()
    start = text.index("## Workers on several cores and machines")
    return text[start : text.index("\n## ", start + 1)]


def test_the_sections_commands_parse_with_the_documented_flags() -> None:
    (block,) = re.findall(r"```bash\n(.*?)```", section(), flags=re.S)
    lines = [shlex.split(ln) for ln in block.splitlines() if "python -m netgym_sim" in ln]
    assert len(lines) == 2
    # an environment assignment (NAME=value) may lead a command
    args = [words[[w.startswith("python") for w in words].index(True) + 3 :] for words in lines]
    serve, worker = (build_parser().parse_args(a) for a in args)
    assert (serve.command, serve.workers, serve.env_port) == ("serve", 2, 8087)
    assert (worker.command, worker.server, worker.slots) == ("worker", "tcp://A:8087", 4)
    assert "--session-key" not in lines[1]  # the documented command keeps the password off argv
    assert lines[1][0] == "NETGYM_SESSION_KEY=admin"


def test_the_async_vector_snippet_runs_against_serve_workers() -> None:
    (block,) = re.findall(r"```python\n(.*?)```", section(), flags=re.S)
    port = free_port()
    code = block.replace('"tcp://127.0.0.1:8088"', f'"tcp://127.0.0.1:{port}"')
    assert code != block
    assert "envs.close()" in code
    code = code.replace(
        "envs.close()", "print('ids', sorted(envs.get_attr('identity')))\nenvs.close()"
    )
    code += "\nprint('shape', obs.shape)\n"
    command = [sys.executable, "-m", "netgym_sim", "serve", "--port", str(port)]
    # a fresh `serve --workers 2` (32 slots a process): each process loads its first sessions
    # while the hellos of its other slots fall due (issue 24: taken for restarts before)
    command += ["--workers", "2", "--env-port", str(free_port())]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    lines = StderrLines(server)
    try:
        lines.wait_for("registered offering", count=64, timeout_s=60.0)  # one hello per slot
        run = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=90, check=False
        )
        assert run.returncode == 0, run.stderr[-2000:]
        assert not any("restarted" in line for line in lines.lines), lines.lines[-5:]
        assert "shape (4, 3, 5)" in run.stdout
        # "auto": four processes built from one config lease four identities
        assert "ids ['admin-0', 'admin-1', 'admin-2', 'admin-3']" in run.stdout
    finally:
        server.terminate()
        server.wait(20)
        lines.close(server)
