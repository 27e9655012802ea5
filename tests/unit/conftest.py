"""Collection rules of the unit tests: ``rl`` tests only where jax and optax are installed.

The learning examples (``examples/train_ppo.py``, ``examples/offline_td3bc.py``) need jax
and optax, the optional extra ``rl`` (~90 MB of wheels, ~390 MB installed) that CI does not
install. Their tests are deselected (reported as such by pytest, not skipped as passed)
unless both can be imported; run them with ``pip install -e '.[rl]'`` then
``python -m pytest -m rl``.
"""

from __future__ import annotations

import importlib.util

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the ``rl`` tests unless jax and optax are importable."""
    if all(importlib.util.find_spec(name) is not None for name in ("jax", "optax")):
        return
    kept = [item for item in items if item.get_closest_marker("rl") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept
