"""Compile the model's numba kernel before serving, so no session waits for it.

Rules:
- numba compiles :func:`netgym_sim.model._kernel.run_sub_steps` (the sub-step kernel and BBR's loops
  with it) on its first call (tens of
  seconds after an install; its on-disk cache then makes later processes load it in a
  fraction of a second). The first call used to come from the first ``nqos_split`` session,
  on the serving thread: every session of the server waited. :func:`warm_up` makes that
  first call at start, from a one-user, one-interval ``nqos_split`` session built from the
  client's own defaults (package data, read as a file), before the server takes messages.
- Without numba there is nothing to compile: it returns at once. It never raises: a warm-up
  that fails is logged and the first session compiles as before.
"""

from __future__ import annotations

import json
import logging
import time
from importlib import resources
from typing import Any

from netgym_sim.core.session import Session
from netgym_sim.model import _kernel

__all__ = ["warm_up"]

logger = logging.getLogger(__name__)

_done = False


def _tiny_config() -> dict[str, Any]:
    text = resources.files("netgym_client").joinpath("configs/nqos_split.json").read_text()
    config: dict[str, Any] = json.loads(text)["env_config"]
    per = config["per_slice_config"]
    for key in per:
        per[key] = per[key][:1]
    per["num_users"] = [1]
    per["transport_protocol"] = ["tcp"]  # BBR: its loops (model._kernel) compile too
    interval_ms = 100
    for section in ("gma", "wifi", "lte"):
        config[section]["measurement_interval_ms"] = interval_ms
    config.update(
        type="env-start",
        env="nqos_split",
        num_users=1,
        steps_per_episode=1,
        episodes_per_session=1,
        measurement_interval_ms=interval_ms,
        measurement_guard_interval_ms=0,
        env_end_time_ms=config["measurement_start_time_ms"] + 2 * interval_ms,
    )
    return config


def warm_up() -> float:
    """Compile the kernel now if numba is there (once per process); the seconds it took."""
    global _done  # noqa: PLW0603 - once per process, as numba's own compiled state
    if _done or not _kernel.COMPILED:
        return 0.0
    started_s = time.monotonic()
    try:
        session = Session(_tiny_config())
        session.first_measurement()
        _bbr_loops_alone(session)
    except Exception:  # an optimisation only: the first session compiles instead
        logger.exception("warming up the compiled model failed (continuing)")
        return 0.0
    _done = True
    took_s = time.monotonic() - started_s
    logger.info("compiled model ready in %.1f s", took_s)
    return took_s


def _bbr_loops_alone(session: Session) -> None:
    """BBR's loops called on their own, as a network_slicing sub-step calls them (in the
    session above they ran inside the compiled run of sub-steps); the session is thrown
    away after."""
    net = getattr(session.scenario, "model", None)
    if net is None:
        return
    d, tcp = net._dir, net.tcp
    paths = (net.queue_bits, net._rate_bits_ms[d], net._usable[d])
    tcp.bbr_windows(net.rtt_ms, *paths, compiled=True)
    served = (net.last_served_bits, net.last_offered_bits, net.rtt_ms)
    tcp.bbr_delivery(net.now_ms + 1.0, 1.0, *served, compiled=True)
