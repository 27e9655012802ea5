"""The request walk of ``netgym_sim.limits`` names the same first problem as its plain form.

``_walk`` writes a node's path only when it needs it; ``reference_walk`` below is the plain
form it replaced (a path written for every node). For any JSON-like value, with tight caps so
that every kind of refusal happens, both accept the same values and refuse the others with
the same text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from netgym_client.testing._message_strategies import json_values
from netgym_sim.errors import InvalidAction, SimError
from netgym_sim.limits import MAX_EXACT_INT, Limits, _walk, echo


def _join(path: str, key: Any) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"


def reference_walk(value: Any, path: str, limits: Limits, error: type[SimError]) -> None:
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    seen = 0
    while stack:
        item, where, depth = stack.pop()
        seen += 1
        if seen > limits.max_values:
            raise error(f"{path}: more than {limits.max_values} values in one request")
        if isinstance(item, bool) or item is None:
            continue
        if isinstance(item, int):
            if not -MAX_EXACT_INT <= item <= MAX_EXACT_INT:
                raise error(f"{where}: integer beyond ±2**53, got {echo(item)}")
        elif isinstance(item, float):
            if not (math.isfinite(item) and abs(item) <= limits.max_abs_number):
                raise error(
                    f"{where}: must be finite with magnitude <= {limits.max_abs_number:g}, "
                    f"got {echo(item)}"
                )
        elif isinstance(item, str):
            if len(item) > limits.max_string_chars:
                raise error(
                    f"{where}: string of {len(item)} characters; at most "
                    f"{limits.max_string_chars}: {echo(item)}"
                )
        elif isinstance(item, list | Mapping):
            if depth >= limits.max_depth:
                raise error(f"{where}: nested deeper than {limits.max_depth} levels")
            if len(item) > limits.max_list_len:
                raise error(f"{where}: {len(item)} entries; at most {limits.max_list_len}")
            if isinstance(item, list):
                stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(item))
            else:
                for key, v in item.items():
                    if len(key) > limits.max_string_chars:
                        raise error(f"{where}: a key of {len(key)} characters: {echo(key)}")
                    stack.append((v, _join(where, key), depth + 1))
        else:
            raise error(f"{where}: not a JSON value: {type(item).__name__}")


def outcome(walk: Any, value: Any, limits: Limits) -> str | None:
    try:
        walk(value, "action_list", limits, InvalidAction)
    except InvalidAction as exc:
        return exc.message
    return None


odd_leaves = st.sampled_from(
    [math.nan, math.inf, 1e16, 2**60, -(2**60), np.float64(2.5), np.float64(math.nan), (1,)]
)
values = st.recursive(
    json_values() | odd_leaves,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=20,
)
tight = st.builds(
    Limits,
    max_list_len=st.integers(1, 6),
    max_string_chars=st.integers(1, 8),
    max_values=st.integers(1, 40),
    max_depth=st.integers(1, 5),
    max_abs_number=st.sampled_from([1.0, 1e3, 1e15]),
)


@given(value=values, limits=tight | st.just(Limits()))
def test_the_walk_refuses_as_its_plain_form(value: Any, limits: Limits) -> None:
    assert outcome(_walk, value, limits) == outcome(reference_walk, value, limits)


float_rows = st.lists(
    st.lists(
        st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([1e308, -0.0, 2.0]),
        max_size=6,
    ),
    max_size=5,
)


@given(value=float_rows | st.dictionaries(st.just("value"), float_rows), limits=tight)
def test_rows_of_floats_are_refused_as_by_the_plain_form(value: Any, limits: Limits) -> None:
    # the walk counts a row of good floats at once: the same first refusal, the same count
    assert outcome(_walk, value, limits) == outcome(reference_walk, value, limits)
