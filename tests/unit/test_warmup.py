"""The compiled model is ready when a server starts: no session compiles it while serving."""

from __future__ import annotations

import subprocess
import sys

import pytest

from netgym_sim.core import warmup
from netgym_sim.model import _kernel

FRESH_SERVER = """
from netgym_sim.model import _kernel
from netgym_sim.serving.server import FakeServer
def compiled():
    kernels = (_kernel.run_sub_steps, _kernel.windows, _kernel.delivery)
    return min(len(k.signatures) for k in kernels)
before = compiled()
with FakeServer(warm_up={warm}):
    print(before, compiled())
"""


@pytest.mark.parametrize("warm", [True, False])
def test_a_started_server_has_compiled_the_kernel_exactly_when_asked(warm: bool) -> None:
    if not _kernel.COMPILED:
        pytest.skip("numba is not installed: there is nothing to compile")
    proc = subprocess.run(
        [sys.executable, "-c", FRESH_SERVER.format(warm=warm)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    before, after = map(int, proc.stdout.split())
    assert before == 0
    assert (after > 0) is warm


def test_warm_up_runs_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warmup, "_done", False)
    calls: list[object] = []
    real = warmup.Session

    def counting(config: object) -> object:
        calls.append(config)
        return real(config)  # type: ignore[arg-type]

    monkeypatch.setattr(warmup, "Session", counting)
    first = warmup.warm_up()
    second = warmup.warm_up()
    assert len(calls) == (1 if _kernel.COMPILED else 0)
    assert second == 0.0 and first >= 0.0
