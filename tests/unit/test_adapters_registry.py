"""Adapter lookup: built-ins by env name, a user's class by object or ``"module:Class"``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from netgym_client.adapters import (
    ADAPTERS,
    Adapter,
    PolicyRecords,
    adapter_class,
    register_adapter,
    template_record,
)
from netgym_client.adapters.custom import CustomAdapter
from netgym_client.adapters.network_slicing import NetworkSlicingAdapter
from netgym_client.adapters.nqos_split import NqosSplitAdapter
from netgym_client.adapters.qos_steer import QosSteerAdapter
from netgym_client.adapters.rmcat import RmcatAdapter, RmcatMbpsAdapter
from netgym_client.config import ENVIRONMENTS, load_config
from netgym_client.env import NetworkGymEnv
from netgym_client.errors import ConfigError
from netgym_client.stats import NetworkStats

BUILT_IN = {
    "custom": CustomAdapter,
    "nqos_split": NqosSplitAdapter,
    "qos_steer": QosSteerAdapter,
    "network_slicing": NetworkSlicingAdapter,
    "rmcat": RmcatAdapter,
}
MBPS = "netgym_client.adapters.rmcat:RmcatMbpsAdapter"


class AnyEnvAdapter(Adapter):
    """A user's adapter that does not pin an environment (no ``env_name``)."""

    def observation(self, stats: NetworkStats) -> np.ndarray:
        return np.zeros(1, dtype=np.float32)

    def reward(self, stats: NetworkStats) -> float:
        return 0.0

    def policy(self, action: np.ndarray | None, stats: NetworkStats) -> PolicyRecords:
        return template_record(stats, "gma::dl::rate", "dl::split_weight", [])


@pytest.fixture
def restore_registry() -> Iterator[None]:
    saved = dict(ADAPTERS)
    yield
    ADAPTERS.clear()
    ADAPTERS.update(saved)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_has_its_built_in_adapter(env: str) -> None:
    cls = adapter_class(env)
    assert cls is BUILT_IN[env]
    assert cls.env_name == env
    adapter = cls(load_config(env))
    assert adapter.observation_space.dtype == np.float32


def test_an_override_by_class_or_by_name() -> None:
    assert adapter_class("rmcat", RmcatMbpsAdapter) is RmcatMbpsAdapter
    assert adapter_class("rmcat", MBPS) is RmcatMbpsAdapter


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("no_colon_here", "package.module:Class"),
        ("netgym_client.no_such_module:X", "cannot import"),
        ("netgym_client.adapters.rmcat:NoSuchClass", "defines no 'NoSuchClass'"),
        ("netgym_client.adapters.rmcat:math", "not an Adapter subclass"),
        (int, "not an Adapter subclass"),
        ("netgym_client.adapters.custom:CustomAdapter", "serves env 'custom', not 'rmcat'"),
        (NqosSplitAdapter, "serves env 'nqos_split', not 'rmcat'"),
    ],
)
def test_bad_overrides_are_config_errors(override: object, fragment: str) -> None:
    with pytest.raises(ConfigError, match=r"rl_config\.adapter") as info:
        adapter_class("rmcat", override)  # type: ignore[arg-type]
    assert fragment in str(info.value)


def test_an_adapter_without_env_name_serves_any_environment() -> None:
    assert adapter_class("qos_steer", AnyEnvAdapter) is AnyEnvAdapter


def test_unknown_environment() -> None:
    with pytest.raises(ConfigError, match="no adapter for env 'nope'"):
        adapter_class("nope")


def test_register_adapter_replaces_a_built_in(restore_registry: None) -> None:
    register_adapter("rmcat", RmcatMbpsAdapter)
    assert adapter_class("rmcat") is RmcatMbpsAdapter
    register_adapter("rmcat", "netgym_client.adapters.rmcat:RmcatAdapter")
    assert adapter_class("rmcat") is RmcatAdapter
    with pytest.raises(ConfigError):
        register_adapter("rmcat", int)  # type: ignore[arg-type]


def test_rl_config_accepts_an_adapter_target() -> None:
    config = load_config("rmcat", {"rl_config": {"adapter": MBPS}})
    assert config.rl_config["adapter"] == MBPS
    assert load_config("rmcat", config.to_dict()) == config
    assert "adapter" not in load_config("rmcat").rl_config


@pytest.mark.parametrize("bad", ["", "module", "a b:C", "mod:", ":Cls", 3, None])
def test_rl_config_refuses_a_malformed_adapter_target(bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        load_config("rmcat", {"rl_config": {"adapter": bad}})
    assert info.value.path == "rl_config.adapter"


def test_the_env_uses_rl_config_adapter_and_the_argument_wins() -> None:
    env = NetworkGymEnv("rmcat", config={"rl_config": {"adapter": MBPS}})
    try:
        assert type(env.adapter) is RmcatMbpsAdapter
        assert env.observation_space is env.adapter.observation_space
    finally:
        env.close()
    env = NetworkGymEnv("rmcat", config={"rl_config": {"adapter": MBPS}}, adapter=RmcatAdapter)
    try:
        assert type(env.adapter) is RmcatAdapter
    finally:
        env.close()


def test_the_env_reports_a_bad_rl_config_adapter() -> None:
    with pytest.raises(ConfigError, match=r"rl_config\.adapter"):
        NetworkGymEnv("rmcat", config={"rl_config": {"adapter": "netgym_client.nothing:X"}})


def test_adapter_is_the_public_base() -> None:
    assert all(issubclass(cls, Adapter) for cls in BUILT_IN.values())


def test_a_module_that_does_not_define_the_class_is_never_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config naming ``module:Class`` runs the module only if its source binds Class."""
    marker = tmp_path / "ran"
    (tmp_path / "sideeffect_mod.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nclass Other: pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match="defines no 'X'"):
        adapter_class("custom", "sideeffect_mod:X")
    assert not marker.exists()
    with pytest.raises(ConfigError, match="not an Adapter subclass"):
        adapter_class("custom", "sideeffect_mod:Other")  # named: imported, then refused
    assert marker.exists()


def test_a_config_file_naming_an_unrun_module_is_refused_before_import(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a Python source module"):
        adapter_class("custom", "sys:path")
