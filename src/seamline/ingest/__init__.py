"""Layer 1, ingest: validate, redact PII, fit the context window, dedupe.

Nothing invalid reaches the model; it goes to the dead-letter queue with a reason. Each
name loads with its own module on first use (``seamline.lazy``): the audit trail's secret
scrub needs the detectors, not the event validation or the vault's encryption.
"""

from typing import TYPE_CHECKING

from seamline.lazy import surface

_MODULES = {
    "_decode": ("MAX_INT_DIGITS", "MAX_NESTING", "check_value", "decode_event", "storable_text"),
    "_event": ("IngestedEvent", "content_key", "describe_validation", "ingest_event",
               "redact_fields", "schema_kinds"),
    "_fields": ("field_kind",),
    "_fit": ("TRUNCATION_MARKER", "fit_context"),
    "_ner": ("NerStatus", ("ner_installed", "installed"), ("ner_status", "status")),
    "_pii": ("PATTERN_KINDS",),
    "_redact": ("DEFAULT_CPU_BUDGET_S", "PII_KINDS", "CpuBudget", "Entity", "Redaction",
                "RedactionSession", "mask", "redact"),
    "_tokens": ("ApproxTokenCounter", "TokenCounter", "default_counter"),
    "_vault": ("Vault", "vault_key"),
}

if TYPE_CHECKING:
    from seamline.ingest._decode import (
        MAX_INT_DIGITS,
        MAX_NESTING,
        check_value,
        decode_event,
        storable_text,
    )
    from seamline.ingest._event import (
        IngestedEvent,
        content_key,
        describe_validation,
        ingest_event,
        redact_fields,
        schema_kinds,
    )
    from seamline.ingest._fields import field_kind
    from seamline.ingest._fit import TRUNCATION_MARKER, fit_context
    from seamline.ingest._ner import NerStatus
    from seamline.ingest._ner import installed as ner_installed
    from seamline.ingest._ner import status as ner_status
    from seamline.ingest._pii import PATTERN_KINDS
    from seamline.ingest._redact import (
        DEFAULT_CPU_BUDGET_S,
        PII_KINDS,
        CpuBudget,
        Entity,
        Redaction,
        RedactionSession,
        mask,
        redact,
    )
    from seamline.ingest._tokens import ApproxTokenCounter, TokenCounter, default_counter
    from seamline.ingest._vault import Vault, vault_key
else:
    __getattr__, __dir__ = surface(__name__, _MODULES)

__all__ = [
    "DEFAULT_CPU_BUDGET_S",
    "MAX_INT_DIGITS",
    "MAX_NESTING",
    "PATTERN_KINDS",
    "PII_KINDS",
    "TRUNCATION_MARKER",
    "ApproxTokenCounter",
    "CpuBudget",
    "Entity",
    "IngestedEvent",
    "NerStatus",
    "Redaction",
    "RedactionSession",
    "TokenCounter",
    "Vault",
    "check_value",
    "content_key",
    "decode_event",
    "default_counter",
    "describe_validation",
    "field_kind",
    "fit_context",
    "ingest_event",
    "mask",
    "ner_installed",
    "ner_status",
    "redact",
    "redact_fields",
    "schema_kinds",
    "storable_text",
    "vault_key",
]
