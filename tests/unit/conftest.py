"""Collection rules of the unit tests: ``sb3`` tests only where stable-baselines3 is installed.

stable-baselines3 needs torch, whose default wheel pulls gigabytes of CUDA libraries, so it is
an optional extra (``sb3``) that CI does not install. Its tests are deselected (reported as
such by pytest, not skipped as passed) unless the package can be imported; run them with
``pip install torch -e '.[sb3]'`` then ``python -m pytest -m sb3``.
"""

from __future__ import annotations

import importlib.util

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the ``sb3`` tests unless stable-baselines3 is importable."""
    if importlib.util.find_spec("stable_baselines3") is not None:
        return
    kept = [item for item in items if item.get_closest_marker("sb3") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept
