"""Seeding over the wire as in process: the same seed gives the same sessions on both paths.

The seeds of a run's later sessions are drawn in the client, so the server over loopback
ZeroMQ (``embedded+tcp``) runs exactly the sessions the in-process path runs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_client import NetworkGymEnv
from netgym_client.env import EMBEDDED, EMBEDDED_TCP, SESSION_SEED_BOUND
from tests.property.test_seeding_props import SHORT, run_sessions

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[NetworkGymEnv, NetworkGymEnv]]:
    """One env in process and one over loopback ZeroMQ, kept across examples."""
    in_process = NetworkGymEnv("nqos_split", config=SHORT, server=EMBEDDED)
    over_wire = NetworkGymEnv("nqos_split", config=SHORT, server=EMBEDDED_TCP)
    yield in_process, over_wire
    in_process.close()
    over_wire.close()


@settings(max_examples=8)
@given(seed=st.integers(0, SESSION_SEED_BOUND - 1))
def test_the_same_seed_gives_the_same_sessions_over_the_wire(
    pair: tuple[NetworkGymEnv, NetworkGymEnv], seed: int
) -> None:
    in_process, over_wire = pair
    a, b = run_sessions(in_process, 3, seed), run_sessions(over_wire, 3, seed)
    assert a == b
    session_seeds = [trace[0] for trace in b]
    assert session_seeds[0] == seed and len(set(session_seeds)) == 3
