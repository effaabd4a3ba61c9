"""The edges: events arriving from vendors (signed webhooks, pollers) into the queue.

The declarations (``SourceSpec``, ``HmacScheme``, ``PollSpec``) live in
``seamline.integration`` and are re-exported here.
"""

from __future__ import annotations

from seamline.edges._intake import Intake, purge_receipts
from seamline.edges._poll import Poller, PollOutcome
from seamline.edges._receive import WebhookAnswer, WebhookReceiver
from seamline.edges._signatures import Verified, WebhookRefused, verify
from seamline.integration import WEBHOOK_KINDS, HmacScheme, PollSpec, SourceKind, SourceSpec

__all__ = [
    "WEBHOOK_KINDS",
    "HmacScheme",
    "Intake",
    "PollOutcome",
    "PollSpec",
    "Poller",
    "SourceKind",
    "SourceSpec",
    "Verified",
    "WebhookAnswer",
    "WebhookReceiver",
    "WebhookRefused",
    "purge_receipts",
    "verify",
]
