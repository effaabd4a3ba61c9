"""Contracts at the edges: the shapes of inbound payloads and outbound replies, and drift.

``ContractBook.observe(direction, contract, version, payload, policy)`` learns and
compares; ``on_drift`` registers alert sinks; ``seamline drift`` shows what changed.
"""

from seamline.contracts._book import (
    ADDED,
    MISSING,
    TYPE_CHANGED,
    ContractBook,
    Drift,
    FieldPolicy,
    contract_list,
    drift_report,
    on_drift,
)
from seamline.contracts._shape import json_type, shape_of

__all__ = [
    "ADDED",
    "MISSING",
    "TYPE_CHANGED",
    "ContractBook",
    "Drift",
    "FieldPolicy",
    "contract_list",
    "drift_report",
    "json_type",
    "on_drift",
    "shape_of",
]
