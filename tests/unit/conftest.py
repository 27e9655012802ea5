"""Collection rules of the unit tests: ``rl`` and ``ray`` tests only where their extra is.

The learning examples (``examples/train_ppo.py``, ``examples/offline_td3bc.py``) need jax
and optax, the optional extra ``rl`` (~90 MB of wheels, ~390 MB installed) that CI does not
install. Their tests are deselected (reported as such by pytest, not skipped as passed)
unless both can be imported; run them with ``pip install -e '.[rl]'`` then
``python -m pytest -m rl``.

The Ray tests (``tests/unit/test_ray.py``: a local Ray cluster of 2 CPUs, an RLlib PPO
iteration and ``netgym baselines --ray``) need the extra ``ray`` (Ray with RLlib and CPU
torch, ~1.5 GB installed), which CI does not install either; they are deselected the same
way unless ray can be imported: ``pip install -e '.[dev,ray]'`` then
``python -m pytest -m ray``.
"""

from __future__ import annotations

import importlib.util

import pytest

#: Marker -> the modules its tests need.
NEEDS = {"rl": ("jax", "optax"), "ray": ("ray",)}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the ``rl`` and ``ray`` tests whose modules are not importable."""
    missing = {
        marker
        for marker, modules in NEEDS.items()
        if not all(importlib.util.find_spec(name) is not None for name in modules)
    }
    kept = [i for i in items if not any(i.get_closest_marker(m) for m in missing)]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept
