"""The ``nqos_split`` environment: split each user's traffic over Wi-Fi, NR and LTE.

Rules (PROTOCOL.md §9, §13, §14; MODEL.md L1–L14, L21–L24):
- Config: the current layout (see :mod:`netgym_sim.scenarios._gma_common`); users 1 … N
  placed uniformly in ``user_location_range`` and walking as ``user_random_walk`` says.
- Action ``gma::dl::split_weight`` (and ``gma::ul::split_weight``): ``value`` holds one row
  of non-negative weights per ``id``, one per link the config has, in ns-3's link order
  Wi-Fi, NR, LTE (``[Wi-Fi, LTE]`` without gNBs, as ns-3 takes it; another length is an
  env-error naming the expected count, where ns-3 aborts). Each row becomes
  integer bursts of 32 packets (``split_ratio``); the applied split follows with a 25 ms lag.
  ``value: []`` hands the split back to the built-in policy, GMA's delay-based traffic
  splitting control: an equal split to start, then one 1/32 step every 2 s from the
  slower link to the faster one when their delays differ by more than 10 ms
  (:func:`netgym_sim.model.gma.delay_based_step`).
- ``gma::{wifi,nr,lte}::{dl,ul}::priority`` (0/1 per id) set the reported DFP marks only.
- Measurements: every subscribed metric of PROTOCOL.md §13 that applies to GMA users and
  LTE cells of the technologies the config has, in ns-3's row order (see
  :mod:`netgym_sim.scenarios._gma_records`).
"""

from __future__ import annotations

from typing import ClassVar

from netgym_sim.scenarios._gma_common import GmaScenario

__all__ = ["NqosSplitScenario"]


class NqosSplitScenario(GmaScenario):
    """Multi-access traffic splitting: an agent chooses per-user split weights."""

    name = "nqos_split"
    builtin_steer: ClassVar[bool] = False
