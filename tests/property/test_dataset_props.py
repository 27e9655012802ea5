"""Episodes rebuilt from a recording: the adapter's view of its measurements and actions."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from netgym_client import protocol
from netgym_client.adapters import adapter_class
from netgym_client.config import load_config
from netgym_client.recording.dataset import episodes_from_recording
from netgym_client.stats import NetworkStats
from netgym_client.testing.strategies import actions, measurements

ENVS = ("custom", "nqos_split", "qos_steer", "rmcat")


@st.composite
def sessions(draw: st.DrawFn) -> tuple[str, int, list[tuple[str, dict[str, Any]]]]:
    env = draw(st.sampled_from(ENVS))
    steps = draw(st.integers(2, 4))
    count = draw(st.integers(2, 2 * steps))
    config = load_config(env, {"env_config": {"steps_per_episode": steps}})
    adapter = adapter_class(env)(config)
    start = {"type": "env-start", **config.env_config}
    script: list[tuple[str, dict[str, Any]]] = [("c2s", json.loads(json.dumps(start)))]
    stats = None
    for _ in range(count):
        if stats is not None:
            action = draw(actions(adapter.action_space))
            payload = protocol.EnvAction(action_list=adapter.policy(action, stats))
            script.append(("c2s", json.loads(protocol.encode(payload))))
        msg = draw(measurements(env, complete=True))
        script.append(("s2c", json.loads(protocol.encode(msg))))
        stats = NetworkStats.from_records(msg.network_stats)
    return env, steps, script


@given(sessions())
def test_episodes_hold_the_adapters_view_of_the_recording(
    session: tuple[str, int, list[tuple[str, dict[str, Any]]]],
) -> None:
    env, steps, script = session
    episodes = list(episodes_from_recording(script))
    measured = [p for d, p in script if d == "s2c"]
    sent = [p for d, p in script if d == "c2s"][1:]
    assert len(episodes) == len(measured) // steps + (len(measured) % steps >= 2)
    adapter = adapter_class(env)(load_config(env, {"env_config": {"steps_per_episode": steps}}))
    for e, episode in enumerate(episodes):
        first = e * steps  # index of the episode's first measurement
        assert episode.steps == len(episode.observations) - 1 == len(episode.actions)
        assert episode.truncations[-1] and not any(episode.terminations)
        for t in range(episode.steps + 1):
            stats = NetworkStats.from_records(measured[first + t]["network_stats"])
            np.testing.assert_array_equal(episode.observations[t], adapter.observation(stats))
        for t in range(episode.steps):
            value = sent[first + t]["action_list"]["value"]
            expected = np.asarray(value, dtype=adapter.action_space.dtype)
            np.testing.assert_array_equal(
                episode.actions[t], expected.reshape(adapter.action_space.shape)
            )
            assert np.isfinite(episode.rewards[t])


ALL_ENVS = ("custom", "nqos_split", "qos_steer", "rmcat", "network_slicing")


@st.composite
def recorded_actions(draw: st.DrawFn) -> tuple[str, Any, NetworkStats, np.ndarray]:
    env = draw(st.sampled_from(ALL_ENVS))
    adapter = adapter_class(env)(load_config(env))
    stats = NetworkStats.from_records(draw(measurements(env, complete=True)).network_stats)
    return env, adapter, stats, draw(actions(adapter.action_space))


def wire(records: Any) -> Any:
    """The policy as a recording holds it (through the codec and JSON)."""
    return json.loads(protocol.encode(protocol.EnvAction(action_list=records)))["action_list"]


def close(a: Any, b: Any) -> bool:
    """Equal JSON, numbers within float32 rounding."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return bool(np.isclose(a, b, rtol=1e-5, atol=1e-6))
    return bool(a == b)


@given(recorded_actions())
def test_every_envs_recorded_action_reads_back_to_the_same_policy(
    case: tuple[str, Any, NetworkStats, np.ndarray],
) -> None:
    """Round trip: action → policy (recorded) → dataset action → the same policy again."""
    from netgym_client.recording.dataset import _recorded_action

    env, adapter, stats, action = case
    sent = wire(adapter.policy(action, stats))
    read = _recorded_action(env, adapter, {"type": "env-action", "action_list": sent}, stats)
    assert read.shape == adapter.action_space.shape and read.dtype == adapter.action_space.dtype
    assert adapter.action_space.contains(read), read
    assert close(wire(adapter.policy(read, stats)), sent), (action, read)
