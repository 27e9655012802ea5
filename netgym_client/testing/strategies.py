"""Public hypothesis strategies for NetworkGym measurements, configs, actions and messages.

Use them to property-test your own adapter (or anything else that reads ``network_stats``)
without a server::

    from hypothesis import given
    from netgym_client.testing.strategies import actions, network_stats

    @given(stats=network_stats(env="nqos_split", num_users=5))
    def test_my_observation(stats):
        obs = my_adapter.observation(stats)
        assert my_adapter.observation_space.contains(obs)

What each family draws:

- Measurements — :func:`network_stats`, :func:`measurements`, :func:`metric_names`: what a
  server of one environment sends, including missing records and users, extra users,
  zeros and huge values (``complete=True``: only healthy measurements).
- Configurations — :func:`env_configs`, :func:`config_overrides`,
  :func:`invalid_overrides`: valid :class:`~netgym_client.config.NetGymConfig` objects of an
  environment, and overrides that ``load_config`` must reject.
- Actions — :func:`actions` (members of a gymnasium space), :func:`out_of_range_actions`
  (a Box action beyond its bounds), :func:`default_actions` (``None`` or empty: "let the
  server decide").
- Wire messages — :func:`messages` and one strategy per message type, and
  :func:`hostile_payloads` (bytes a peer must survive).
"""

from __future__ import annotations

from netgym_client.testing._adapter_strategies import (
    actions,
    default_actions,
    out_of_range_actions,
)
from netgym_client.testing._config_strategies import (
    config_overrides,
    env_configs,
    invalid_overrides,
)
from netgym_client.testing._measurement_strategies import (
    edge_cases,
    measurement_ts,
    measurements,
    metric_names,
    network_stats,
)
from netgym_client.testing._message_strategies import (
    action_lists,
    action_records,
    env_actions,
    env_ends,
    env_hellos,
    env_measurements,
    env_starts,
    error_replies,
    hostile_payloads,
    measurement_records,
    messages,
    no_worker_replies,
    sliced_values,
)

__all__ = [
    "action_lists",
    "action_records",
    "actions",
    "config_overrides",
    "default_actions",
    "edge_cases",
    "env_actions",
    "env_configs",
    "env_ends",
    "env_hellos",
    "env_measurements",
    "env_starts",
    "error_replies",
    "hostile_payloads",
    "invalid_overrides",
    "measurement_records",
    "measurement_ts",
    "measurements",
    "messages",
    "metric_names",
    "network_stats",
    "no_worker_replies",
    "out_of_range_actions",
    "sliced_values",
]
