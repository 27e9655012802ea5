"""Every ``NetGymError`` crosses processes: it pickles and unpickles as itself, with its fields.

The classes are found by walking the class tree after importing every module of both
packages, so an error class added anywhere is tested without being listed here. Each is
built from its ``__init__``'s typed parameters (hypothesis draws the values).
"""

from __future__ import annotations

import copy
import importlib
import inspect
import pickle
import pkgutil
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import netgym_client
import netgym_sim
from netgym_client.errors import ConfigError, NetGymError, ServerUnavailable


def _import_everything() -> None:
    for package in (netgym_client, netgym_sim):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)


def _tree(cls: type[NetGymError]) -> Iterator[type[NetGymError]]:
    yield cls
    for sub in cls.__subclasses__():
        yield from _tree(sub)


_import_everything()
ERRORS = sorted(set(_tree(NetGymError)), key=lambda c: f"{c.__module__}.{c.__qualname__}")


def test_the_walk_finds_the_errors_of_both_packages() -> None:
    names = {c.__name__ for c in ERRORS}
    assert {"ServerUnavailable", "ConfigError", "AdapterCheckError", "SimError"} <= names
    assert len(ERRORS) >= 20


def instances(cls: type[NetGymError]) -> st.SearchStrategy[NetGymError]:
    """``cls`` built from drawn values of its ``__init__``'s parameters."""
    owner = next(c for c in cls.__mro__ if "__init__" in vars(c))
    if owner.__module__ == "builtins":  # the exception's own: one message
        return st.builds(cls, st.text())
    init = vars(owner)["__init__"]
    hints = typing.get_type_hints(init)
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, param in list(inspect.signature(init).parameters.items())[1:]:
        value = st.from_type(hints[name])
        if hints[name] is float:
            value = st.floats(allow_nan=False)  # NaN != NaN would hide nothing but fail ==
        (required if param.default is inspect.Parameter.empty else optional)[name] = value
    return st.fixed_dictionaries(required, optional=optional).map(lambda kw: cls(**kw))


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
@given(data=st.data())
def test_every_error_pickles_with_its_fields(cls: type[NetGymError], data: st.DataObject) -> None:
    error = data.draw(instances(cls))
    error.add_note("a note travels too")
    for copied in (pickle.loads(pickle.dumps(error)), copy.deepcopy(error)):
        assert type(copied) is cls
        assert copied.args == error.args
        assert str(copied) == str(error)
        assert vars(copied) == vars(error)  # every field, the notes included


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
@given(data=st.data())
def test_an_error_class_called_with_its_instance_gives_it_back(
    cls: type[NetGymError], data: st.DataObject
) -> None:
    # gymnasium's AsyncVectorEnv raises a worker's error as type(error)(error)
    error = data.draw(instances(cls))
    assert cls(error) is error


def test_the_fields_and_message_of_known_errors_survive() -> None:
    error = ServerUnavailable("tcp://127.0.0.1:9", 2.5, reason="the connection was lost")
    back = pickle.loads(pickle.dumps(error))
    assert (back.address, back.waited_s, back.reason) == ("tcp://127.0.0.1:9", 2.5, error.reason)
    assert str(back) == "no reply from tcp://127.0.0.1:9 within 2.5 s: the connection was lost"
    config = pickle.loads(pickle.dumps(ConfigError("env_config.num_users", "must be >= 1")))
    assert (config.path, config.problem) == ("env_config.num_users", "must be >= 1")
    assert isinstance(config, ValueError)
