"""Testing your own adapter: the contract check, then a session against the simulated server."""

from __future__ import annotations

import numpy as np
from my_adapter import FourMeasurementsAdapter

from netgym_client.config import load_config
from netgym_client.testing.checks import check_adapter
from netgym_client.testing.plugin import EnvFactory


def test_my_adapter_keeps_the_contract() -> None:
    check_adapter(FourMeasurementsAdapter, load_config("custom"))


def test_my_adapter_in_a_session(netgym_env: EnvFactory) -> None:
    env = netgym_env("custom", adapter=FourMeasurementsAdapter)
    obs, _ = env.reset(seed=1)
    assert obs.shape == (4, 5) and env.observation_space.contains(obs)
    _, reward, _, _, _ = env.step(np.full(5, 0.5, dtype=np.float32))
    assert 0.3 <= reward <= 0.9  # the dummy worker's values are 3 … 9
