"""Make the netgym pytest fixtures available when netgym is not pip-installed.

An installed netgym registers its pytest plugin (entry point ``netgym``) by itself; a source
checkout does not, so register the same module under the same name here.
"""

from __future__ import annotations

import importlib

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("netgym"):
        plugin = importlib.import_module("netgym_client.testing.plugin")
        config.pluginmanager.register(plugin, "netgym")
