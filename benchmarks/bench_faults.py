"""Each fault kind against netgym's client over loopback: what the client does, how soon.

Prints one row per kind: the plan, what the wire carried at the faulty measurement, the
client's outcome and the seconds from the request that met the fault to the typed error or
the recovery (for a recovery: to the measurement that followed it). The client waits 2 s
per reply (``server.step_timeout_s``), custom environment, 3 steps.

    .venv/bin/python benchmarks/bench_faults.py
"""

from __future__ import annotations

import time
from typing import Any

from netgym_client.env import NetworkGymEnv
from netgym_client.errors import NetGymError
from netgym_sim.serving.server import FakeServer

TIMEOUT_S = 2.0
STEPS = 4

CASES: list[tuple[str, list[str], str]] = [
    ("env-error", ["env-error@2:ns-3 aborted"], "env-error 'ns-3 aborted' instead of M2"),
    (
        "worker-restart (once, at start)",
        ["worker-restart@1x1"],
        "env-error 'Worker Restarted, Try Again.' instead of M1",
    ),
    (
        "worker-restart (mid-session)",
        ["worker-restart@2"],
        "env-error 'Worker Restarted, Try Again.' instead of M2",
    ),
    (
        "no-available-worker",
        ["no-available-worker@1"],
        "no-available-worker (no msg) instead of M1",
    ),
    (
        "mapping-removed",
        ["mapping-removed@2"],
        "route dropped; env-error '…mapping removed.' answers the action",
    ),
    ("delay (500 ms)", ["delay@2:500"], "M2, 500 ms late"),
    ("delay (5 s > timeout)", ["delay@2:5000"], "M2, 5 s late (cancelled by the client's env-end)"),
    ("drop", ["drop@2"], "nothing"),
    ("duplicate", ["duplicate@2"], "M2 twice"),
    ("missed-action", ["missed-action@2"], "M2 with missed_action 1 (action not applied)"),
    ("slow (pace 0.3)", ["slow@2:0.3"], "every Mn (n>=2) 0.3 x 1000 ms after its action"),
    ("slow (pace 3 > timeout)", ["slow@2:3"], "M2 3 s after the action"),
]


def measure(plan: list[str]) -> tuple[str, float]:
    config: dict[str, Any] = {
        "env_config": {"steps_per_episode": STEPS, "episodes_per_session": 1},
        "server": {"step_timeout_s": TIMEOUT_S},
    }
    with FakeServer(faults=plan) as server:
        env = NetworkGymEnv(
            "nqos_split" if "missed" in plan[0] else "custom", config=config, server=server.address
        )
        at = int(plan[0].split("@")[1].split(":")[0].split("x")[0])
        try:
            started = time.perf_counter()
            if at == 1:
                _, info = env.reset(seed=1)
                took_s = time.perf_counter() - started
                outcome = "recovered: the one retry after 1 s got M1"
            else:
                env.reset(seed=1)
                started = time.perf_counter()
                _, _, _, _, info = env.step(env.action_space.sample())
                took_s = time.perf_counter() - started
                outcome = f"M2 received (ts {info['network_stats'].ts})"
                if "missed" in plan[0]:
                    missed = info["network_stats"]["gma::dl::missed_action"].values
                    outcome += f", missed_action {missed.tolist()}"
                for _ in range(STEPS - 2):
                    env.step(env.action_space.sample())
                outcome += "; session completed"
        except NetGymError as exc:
            took_s = time.perf_counter() - started
            outcome = f"{type(exc).__name__}: {exc}"
        finally:
            env.close()
        deadline = time.monotonic() + 2.0
        while server.backend.session_count and time.monotonic() < deadline:
            time.sleep(0.01)
        outcome += f" [server sessions left: {server.backend.session_count}]"
    return outcome, took_s


def main() -> None:
    print("| fault kind | plan | the wire carries | the client does | seconds |")
    print("|---|---|---|---|---|")
    for name, plan, wire in CASES:
        outcome, took_s = measure(plan)
        print(f"| {name} | `{' '.join(plan)}` | {wire} | {outcome} | {took_s:.3f} |")


if __name__ == "__main__":
    main()
