"""The embedded path checks a policy's form once, in the client, and its limits still.

The embedded env (single or vector) builds every policy from its own action space and checks
the message as the encoder would (``protocol.check_message``, the decoder's rules); the
simulator then skips the repeat of ``validate_action_list`` on that very object. A policy from
the wire is checked by the scenario as ever, and the server's limits walk runs on every JSON
policy — nqos_split's own policies on the embedded path are not JSON at all
(:class:`netgym_sim.embedded.SplitWeights`: the rows an array of numbers, the limits counted,
``tests/property/test_array_policy_props.py``).
"""

from __future__ import annotations

from typing import Any

import gymnasium
import pytest

import netgym_client
from netgym_client import protocol
from netgym_sim import limits
from netgym_sim.scenarios import base as scenarios_base
from tests.property.test_array_policy_props import _policy_path

OVERRIDES = {"env_config": {"steps_per_episode": 4, "episodes_per_session": 1}}


def _spy(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    calls: list[int] = []
    original = getattr(module, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


@pytest.mark.parametrize("env_name", ["nqos_split", "qos_steer"])
@pytest.mark.parametrize("json_policies", [False, True])
def test_the_embedded_path_checks_the_form_once_and_the_limits_always(
    env_name: str, json_policies: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_id = netgym_client.env_id(env_name)
    adapter = _policy_path(env_name) if json_policies else None
    walked = 1 if json_policies else 0  # the array path's policies are not JSON
    vec = gymnasium.make_vec(
        env_id,
        num_envs=3,
        vectorization_mode="vector_entry_point",
        config=OVERRIDES,
        adapter=adapter,
    )
    single = gymnasium.make(env_id, config=OVERRIDES, adapter=adapter)
    try:
        vec.reset(seed=1)
        single.reset(seed=1)
        form = _spy(monkeypatch, scenarios_base, "validate_action_list")
        walks = _spy(monkeypatch, limits, "_walk")
        vec.action_space.seed(1)
        vec.step(vec.action_space.sample())
        assert (len(form), len(walks)) == (0, 3 * walked)
        single.step(single.action_space.sample())
        assert (len(form), len(walks)) == (0, 4 * walked)
        # the same server asked as the wire asks it: the form is checked there
        server = single.unwrapped._embedded_server()
        assert server is not None
        stats = single.unwrapped._stats
        policy = {
            "name": "dl::split_weight",
            "ts": stats.ts,
            "source": "gma",
            "id": [],
            "value": [],
        }
        reply = server.ask(protocol.EnvAction(action_list=[policy]))
        assert isinstance(reply, protocol.EnvMeasurement)
        assert (len(form), len(walks)) == (1, 4 * walked + 1)
    finally:
        vec.close()
        single.close()
