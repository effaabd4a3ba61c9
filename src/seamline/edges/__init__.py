"""The edges: events arriving from vendors (signed webhooks, pollers) into the queue.

The declarations (``SourceSpec``, ``HmacScheme``, ``PollSpec``) and the signature schemes
load eagerly; the receiver and the poller load on first use, because
``seamline.integration`` imports the declaration and they import ``seamline.integration``
(an eager import here would be a cycle).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seamline.edges._signatures import Verified, WebhookRefused, verify
from seamline.edges._source import WEBHOOK_KINDS, HmacScheme, PollSpec, SourceKind, SourceSpec

if TYPE_CHECKING:
    from seamline.edges._intake import Intake
    from seamline.edges._poll import Poller, PollOutcome
    from seamline.edges._receive import WebhookAnswer, WebhookReceiver

_LAZY = {
    "Intake": "_intake", "Poller": "_poll", "PollOutcome": "_poll",
    "WebhookAnswer": "_receive", "WebhookReceiver": "_receive",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'seamline.edges' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"seamline.edges.{module}"), name)


__all__ = ["WEBHOOK_KINDS", "HmacScheme", "Intake", "PollOutcome", "PollSpec", "Poller",
           "SourceKind", "SourceSpec", "Verified", "WebhookAnswer", "WebhookReceiver",
           "WebhookRefused", "verify"]
