"""``entity_indices`` (the ids of an action's users or cells) takes or refuses ids as its loop.

The common case (distinct ints in range) is checked at C speed; anything else goes through
the loop that names the first bad id. Both must give the same indices and the same refusals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from netgym_sim.errors import InvalidAction
from netgym_sim.scenarios._gma_common import entity_indices


def reference(ids: list[Any], where: str, count: int, what: str) -> np.ndarray:
    out = []
    for i, eid in enumerate(ids):
        if isinstance(eid, bool) or not isinstance(eid, int) or not 1 <= eid <= count:
            raise InvalidAction(f"{where}[{i}]: must be a {what} id in 1..{count}, got {eid!r:.40}")
        out.append(eid - 1)
    if len(set(out)) != len(out):
        raise InvalidAction(f"{where}: {what} ids must not repeat, got {ids!r:.80}")
    return np.array(out, dtype=np.int64)


def outcome(function: Any, ids: list[Any], count: int) -> Any:
    try:
        return function(ids, "action_list[0].id", count, "user").tolist()
    except InvalidAction as exc:
        return exc.message


ids = st.lists(
    st.integers(-3, 12) | st.sampled_from([True, False, 1.0, 2**70, "1", None]), max_size=10
)


@given(ids=ids, count=st.integers(1, 10))
def test_the_ids_are_taken_or_refused_as_by_the_loop(ids: list[Any], count: int) -> None:
    assert outcome(entity_indices, ids, count) == outcome(reference, ids, count)


@given(count=st.integers(1, 50), data=st.data())
def test_distinct_ids_in_range_are_taken(count: int, data: st.DataObject) -> None:
    chosen = data.draw(st.permutations(range(1, count + 1)))
    assert entity_indices(list(chosen), "id", count, "user").tolist() == [c - 1 for c in chosen]
