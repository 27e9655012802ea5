"""The lock-step batches group networks by a layout number that stands for their static layout.

``netgym_sim.model.batch._layout_key`` numbers each network's unchanging layout once: equal
layouts get one number, different layouts different numbers, also after the numbering starts
over (it is bounded), so that a pass never stacks networks of two layouts.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

import netgym_client
from netgym_sim.core.session import Session
from netgym_sim.model import batch
from netgym_sim.model.network import MultiAccessNetwork


def _network(ap_x: float, seed: int) -> MultiAccessNetwork:
    env_config: dict[str, Any] = {
        k: v for k, v in netgym_client.load_config("nqos_split").env_config.items() if k != "type"
    }
    env_config = copy.deepcopy(env_config)
    env_config["random_seed"] = seed
    env_config["wifi_ap_locations"] = [{"x": ap_x, "y": 0, "z": 3}]
    model = Session(env_config).scenario.model  # type: ignore[attr-defined]
    assert isinstance(model, MultiAccessNetwork)
    return model


@pytest.mark.parametrize("bound", [1024, 2])
def test_equal_layouts_share_a_number_and_different_ones_never_do(
    bound: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "_MAX_LAYOUTS", bound)
    for _ in range(3):  # passes: with a bound of 2 the numbering starts over between them
        made = [(x, _network(x, seed)) for x in (10.0, 20.0, 30.0, 40.0) for seed in (1, 2)]
        batch._bound_layout_numbers()
        keys = [batch._layout_key(net) for _, net in made]
        for i, (x_i, _) in enumerate(made):
            for j, (x_j, _) in enumerate(made):
                assert (keys[i] == keys[j]) == (x_i == x_j), (i, j)  # the AP is the layout
