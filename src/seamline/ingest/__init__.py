"""Layer 1, ingest: validate, redact PII, fit the context window, dedupe.

Nothing invalid reaches the model; it goes to the dead-letter queue with a reason.
"""

from seamline.ingest._event import (
    IngestedEvent,
    content_key,
    describe_validation,
    ingest_event,
    redact_fields,
)
from seamline.ingest._fit import TRUNCATION_MARKER, fit_context
from seamline.ingest._redact import PII_KINDS, Entity, Redaction, RedactionSession, mask, redact
from seamline.ingest._tokens import ApproxTokenCounter, TokenCounter, default_counter
from seamline.ingest._vault import Vault, vault_key

__all__ = [
    "PII_KINDS",
    "TRUNCATION_MARKER",
    "ApproxTokenCounter",
    "Entity",
    "IngestedEvent",
    "Redaction",
    "RedactionSession",
    "TokenCounter",
    "Vault",
    "content_key",
    "default_counter",
    "describe_validation",
    "fit_context",
    "ingest_event",
    "mask",
    "redact",
    "redact_fields",
    "vault_key",
]
