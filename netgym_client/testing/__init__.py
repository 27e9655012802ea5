"""Testing tools for NetworkGym agents and adapters.

- :mod:`netgym_client.testing.strategies`: hypothesis strategies (measurements, configs,
  actions, wire messages).
- :mod:`netgym_client.testing.plugin`: pytest fixtures ``netgym_server`` and ``netgym_env``.
- :func:`netgym_client.testing.checks.check_adapter`: does an adapter keep the contract?
"""
