"""``netgym warmup``: pay a fresh install's start-up once, ahead of the first training run.

The first session of a process loads the simulator; the first one after an install also has
numba compile the network's kernel (seconds), which numba then keeps in its cache for every
later process. ``netgym warmup`` starts one short in-process session of each environment so
that the compile happens now, and prints what each first start cost. With ``--measure`` it
instead times a fresh process per environment: importing netgym, the first ``reset()``, the
first ``step()`` and a warm step (the median of later ones), as the cold-start figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from netgym_client.config import ENVIRONMENTS
from netgym_client.env import NetworkGymEnv

__all__ = ["measure_cold_start", "warm_up"]

#: Two measurements per session: the warm-up needs only the start.
_SHORT = {"env_config": {"steps_per_episode": 2, "episodes_per_session": 1}}

#: Steps timed after the first in a fresh process; the warm step is their median.
WARM_STEPS = 50

# Run by ``python -c`` in a fresh process: argv[1] env, argv[2] users. Prints one JSON line.
_COLD_SCRIPT = """
import json, sys, time
started = time.perf_counter()
from netgym_client import NetworkGymEnv
from netgym_client.cli.bench import overrides
imported = time.perf_counter()
env = NetworkGymEnv(sys.argv[1], config=overrides(sys.argv[1], int(sys.argv[2])))
env.action_space.seed(0)
t0 = time.perf_counter()
env.reset(seed=1)
t1 = time.perf_counter()
env.step(env.action_space.sample())
t2 = time.perf_counter()
warm = []
for _ in range(int(sys.argv[3])):
    s = time.perf_counter()
    env.step(env.action_space.sample())
    warm.append(time.perf_counter() - s)
env.close()
warm.sort()
print(json.dumps({"import_s": imported - started, "first_reset_s": t1 - t0,
                  "first_step_s": t2 - t1, "warm_step_s": warm[len(warm) // 2]}))
"""


def warm_up(envs: Sequence[str] = ENVIRONMENTS) -> list[tuple[str, float]]:
    """Start one short in-process session of each of ``envs``; seconds of each start."""
    times: list[tuple[str, float]] = []
    for name in envs:
        env = NetworkGymEnv(name, config=_SHORT)
        try:
            started = time.perf_counter()
            env.reset(seed=0)
            times.append((name, time.perf_counter() - started))
        finally:
            env.close()
    return times


def measure_cold_start(env: str, users: int = 16, timeout_s: float = 300.0) -> dict[str, Any]:
    """The start-up figures of ``env`` with ``users`` in a fresh Python process.

    Raises:
        RuntimeError: The process failed (its stderr is in the message).
    """
    proc = subprocess.run(
        [sys.executable, "-c", _COLD_SCRIPT, env, str(users), str(WARM_STEPS)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"cold-start process for {env} failed: {proc.stderr.strip()[-400:]}")
    figures: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    warm = figures["warm_step_s"]
    figures.update(
        env=env,
        users=users,
        first_step_x_warm=figures["first_step_s"] / warm if warm > 0 else None,
        first_reset_x_warm=figures["first_reset_s"] / warm if warm > 0 else None,
    )
    return figures
