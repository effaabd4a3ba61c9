"""``seamline check``: raw values bound for a provider whose data policy does not allow them.

A value reaches the model raw when the PII policy lets it through (``allow``) and it is a
known kind of personal data: by the schema (``pii_kind``), by the field's name (a name,
an address, a date of birth, an identity number) or by a name that says e-mail, phone,
card, IBAN, SSN or IP. Every route the event may be sent to is looked at (the model,
each fallback, the judge's route, the over_soft route): one that is ``redacted_only``, or
that has no ``dpa_reviewed`` date, may not receive it. In-process models (local,
scripted) send nothing anywhere and are not looked at.

``reveal_pii`` is not among the ways in: it hands real values to action handlers, after
the model has answered, never to the model.
"""

from __future__ import annotations

import re
from typing import Literal

from seamline.inference import IN_PROCESS, receiving_routes
from seamline.ingest import field_kind, schema_kinds
from seamline.integration import Integration

Finding = tuple[Literal["error", "warning"], str, str]

_NAMED_KINDS = (
    (re.compile(r"(?i)(?:^|_)e?-?mail(?:_?address)?$|email"), "EMAIL"),
    (re.compile(r"(?i)(?:^|_)(?:phone|mobile|cell|tel|telephone)(?:_?(?:number|no))?$"), "PHONE"),
    (re.compile(r"(?i)(?:^|_)(?:card|card_?number|pan|credit_?card)$"), "CARD"),
    (re.compile(r"(?i)(?:^|_)iban$"), "IBAN"),
    (re.compile(r"(?i)(?:^|_)ssn$|social_?security"), "SSN"),
    (re.compile(r"(?i)(?:^|_)ip(?:_?address)?$"), "IP"),
)


def raw_fields(integration: Integration) -> dict[str, str]:
    """Input field -> the kind of personal data it sends to the model unredacted."""
    declared = schema_kinds(integration.input_schema)
    out = {}
    for name in integration.input_schema.model_fields:
        if integration.pii.get(name, "redact") != "allow":
            continue
        kind = declared.get(name) or field_kind(name) or next(
            (k for pattern, k in _NAMED_KINDS if pattern.search(name)), None)
        if kind is not None:
            out[name] = kind
    return out


def data_policy_problems(integration: Integration) -> list[Finding]:
    """One error per raw field and route that may not receive it, naming both."""
    raw = raw_fields(integration)
    if not raw:
        return []
    out: list[Finding] = []
    for part, route in receiving_routes(integration):
        if route.provider in IN_PROCESS:
            continue
        why = []
        if route.data != "raw_allowed":
            why.append(f"its data policy is {route.data}")
        if route.dpa_reviewed is None:
            why.append("no review of its data-processing terms is recorded (dpa_reviewed)")
        if not why:
            continue
        for name, kind in raw.items():
            out.append(("error", "data", (
                f"Input field {name!r} holds {kind} and its PII policy is allow, so it reaches "
                f"the {part} ({route.provider}:{route.model}) raw, but {' and '.join(why)}; "
                f"redact the field (pii: {{{name}: redact}}), or, once the provider's terms "
                f"are reviewed, set data: raw_allowed and dpa_reviewed: YYYY-MM-DD on that "
                "route.")))
    return out
