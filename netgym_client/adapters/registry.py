"""Adapters by environment name; a user's own adapter by class or ``"module:Class"``.

The built-in table maps each environment to ``"module:Class"`` so that an adapter's module is
imported only when it is used. A user's adapter replaces the built-in one per environment
(:func:`register_adapter`) or per environment instance (``rl_config.adapter`` or
``NetworkGymEnv(..., adapter=...)``, both resolved by :func:`adapter_class`).

A ``"module:Class"`` names code to import, as a pytest plugin's name does: a config file that
names an adapter runs that module. So it is resolved only after the whole configuration has
validated (``NetworkGymEnv`` loads the config first), and the module is imported only when
its source (found without running it; its parent packages are imported to find it) binds
``Class`` at its top level: ``"os:system"`` or ``"antigravity:X"`` is refused unrun. Load
config files you trust, as you would a plugin list.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util

from netgym_client._config_schema import EXTRA_REWARD_TYPES
from netgym_client.adapters.base import Adapter
from netgym_client.errors import ConfigError

__all__ = ["ADAPTERS", "adapter_class", "register_adapter"]

ADAPTERS: dict[str, str] = {
    "custom": "netgym_client.adapters.custom:CustomAdapter",
    "nqos_split": "netgym_client.adapters.nqos_split:NqosSplitAdapter",
    "qos_steer": "netgym_client.adapters.qos_steer:QosSteerAdapter",
    "network_slicing": "netgym_client.adapters.network_slicing:NetworkSlicingAdapter",
    "rmcat": "netgym_client.adapters.rmcat:RmcatAdapter",
}

#: Reward types of the built-in adapters beyond the original's (§14), registered through the
#: schema's hook so that the shipped defaults validate (custom's default is one of them).
BUILTIN_EXTRA_REWARD_TYPES: dict[str, tuple[str, ...]] = {"custom": ("measurement_mean",)}
for _env, _types in BUILTIN_EXTRA_REWARD_TYPES.items():
    EXTRA_REWARD_TYPES.setdefault(_env, set()).update(_types)


def register_adapter(env_name: str, target: str | type[Adapter]) -> None:
    """Make ``target`` (a class or ``"module:Class"``) the adapter of ``env_name``.

    Raises:
        ConfigError: ``target`` is a class that is not an :class:`Adapter` subclass.
    """
    if isinstance(target, str):
        ADAPTERS[env_name] = target
    elif isinstance(target, type) and issubclass(target, Adapter):
        ADAPTERS[env_name] = f"{target.__module__}:{target.__qualname__}"
    else:
        raise ConfigError("adapter", f"not an Adapter subclass: {target!r}")


def _binds_at_top_level(module_name: str, name: str, where: str) -> None:
    """Refuse, before running it, a module whose source does not bind ``name`` at top level."""
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError) as exc:
        raise ConfigError(where, f"cannot import {module_name!r}: {exc}") from exc
    if spec is None:
        raise ConfigError(where, f"cannot import {module_name!r}: no such module")
    if spec.loader is None or not isinstance(spec.origin, str) or not spec.origin.endswith(".py"):
        raise ConfigError(where, f"{module_name!r} is not a Python source module")
    try:
        with open(spec.origin, encoding="utf-8") as source:
            tree = ast.parse(source.read(), spec.origin)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ConfigError(where, f"cannot read {spec.origin}: {exc}") from exc
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    if name not in bound:
        raise ConfigError(where, f"{module_name!r} defines no {name!r} (not imported)")


def _load(target: str, where: str) -> type[Adapter]:
    module_name, sep, class_name = target.partition(":")
    if not sep or not module_name or not class_name:
        raise ConfigError(where, f"must be 'package.module:Class', got {target!r}")
    _binds_at_top_level(module_name, class_name.split(".")[0], where)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(where, f"cannot import {module_name!r}: {exc}") from exc
    obj: object = module
    for part in class_name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise ConfigError(where, f"{module_name!r} has no {class_name!r}")
    if not (isinstance(obj, type) and issubclass(obj, Adapter)):
        raise ConfigError(where, f"{target!r} is not an Adapter subclass")
    return obj


def _check_env(cls: type[Adapter], env_name: str, where: str) -> type[Adapter]:
    declared = getattr(cls, "env_name", None)
    if declared is not None and declared != env_name:
        raise ConfigError(
            where,
            f"{cls.__module__}:{cls.__qualname__} serves env {declared!r}, not {env_name!r}",
        )
    return cls


def adapter_class(env_name: str, override: str | type[Adapter] | None = None) -> type[Adapter]:
    """The adapter class for ``env_name``, or ``override`` (a class or ``"module:Class"``).

    An override whose class sets ``env_name`` must name the same environment; a class that
    does not set it serves any environment.

    Raises:
        ConfigError: Unknown environment, an override that is not an importable Adapter
            subclass, or one declared for another environment.
    """
    if override is not None:
        where = "rl_config.adapter"
        if isinstance(override, str):
            return _check_env(_load(override, where), env_name, where)
        if isinstance(override, type) and issubclass(override, Adapter):
            return _check_env(override, env_name, where)
        raise ConfigError(where, f"not an Adapter subclass: {override!r}")
    target = ADAPTERS.get(env_name)
    if target is None:
        raise ConfigError("env", f"no adapter for env {env_name!r}; known: {sorted(ADAPTERS)}")
    where = f"adapter of {env_name}"
    return _check_env(_load(target, where), env_name, where)
