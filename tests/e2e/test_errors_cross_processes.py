"""Errors cross processes: a sub-env's error in gymnasium's AsyncVectorEnv reaches the caller.

A worker process sends its error to the main process pickled, where gymnasium raises it as
``type(error)(error)``; the error must arrive as itself, with its fields, and ``close()``
must still work afterwards.
"""

from __future__ import annotations

import warnings

import gymnasium
import pytest

import netgym_client
from netgym_client.errors import ServerUnavailable
from tests.e2e.test_serve_process import free_port

pytestmark = pytest.mark.e2e

CONNECT_TIMEOUT_S = 1.0


def test_async_vector_env_against_a_dead_address_raises_server_unavailable() -> None:
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    config = {
        "server": {
            "address": address,
            "connect_timeout_s": CONNECT_TIMEOUT_S,
            "step_timeout_s": CONNECT_TIMEOUT_S,
            "heartbeat_timeout_s": CONNECT_TIMEOUT_S,
        },
        "env_config": {"steps_per_episode": 2, "episodes_per_session": 1},
    }
    envs = gymnasium.make_vec(
        netgym_client.env_id("custom"),
        num_envs=2,
        vectorization_mode="async",
        vector_kwargs={"context": "spawn"},
        config=config,
    )
    # gymnasium logs a worker's error as a warning; close() must not find a call pending
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with pytest.raises(ServerUnavailable) as info:
                envs.reset(seed=0)
        finally:
            envs.close(timeout=30.0)
    assert envs.closed
    assert info.value.address == address
    assert 0 < info.value.waited_s < 30.0
    assert address in str(info.value)
    texts = [str(w.message) for w in caught]
    assert any("Received the following error" in text for text in texts), texts
    assert not any("pending call" in text for text in texts), texts
