"""Adapters: one per environment, plus the base class for users' own."""

from __future__ import annotations

from netgym_client.adapters.base import Adapter, PolicyRecords, template_record
from netgym_client.adapters.registry import ADAPTERS, adapter_class, register_adapter

__all__ = [
    "ADAPTERS",
    "Adapter",
    "PolicyRecords",
    "adapter_class",
    "register_adapter",
    "template_record",
]
