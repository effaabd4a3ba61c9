"""Layer 1, ingest: validate an event against the input schema and apply the PII policy.

What leaves this module is redacted; the real values travel separately, to the vault.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from seamline.errors import InputInvalid
from seamline.ingest._redact import RedactionSession, mask, redact


@dataclass(frozen=True, slots=True)
class IngestedEvent:
    data: dict[str, Any]  # validated and redacted: all any later layer sees
    secrets: dict[str, str] = field(repr=False)  # placeholder -> real value, for the vault only
    idempotency_key: str = ""
    tenant: str = ""
    sticky: str = ""


def describe_validation(exc: ValidationError) -> str:
    """Pydantic errors as one sentence a person can act on, values left out."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or "the event"
        parts.append(f"{loc}: {err['msg'].rstrip('.')}")
    return "the event does not match the input schema (" + "; ".join(parts) + ")"


def _redact_value(value: Any, policy: str, session: RedactionSession, kinds) -> Any:
    if isinstance(value, str):
        if policy == "mask":
            return mask(value, kinds=kinds)
        return redact(value, kinds=kinds, session=session).text
    if isinstance(value, list):
        return [_redact_value(v, policy, session, kinds) for v in value]
    if isinstance(value, dict):
        return {k: _redact_value(v, policy, session, kinds) for k, v in value.items()}
    return value


def redact_fields(data: dict[str, Any], pii: Mapping[str, str], kinds=None,
                  session: RedactionSession | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """Apply the per-field policy (redact by default) and return (redacted, vault mapping)."""
    session = session or RedactionSession()
    out: dict[str, Any] = {}
    for name, value in data.items():
        policy = pii.get(name, "redact")
        if policy == "drop":
            continue
        out[name] = value if policy == "allow" else _redact_value(value, policy, session, kinds)
    return out, dict(session.mapping)


def content_key(data: Any) -> str:
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def ingest_event(raw: Any, *, schema: type[BaseModel], pii: Mapping[str, str],
                 kinds: tuple[str, ...] = (), idempotency_key: str = "", tenant_key: str = "",
                 sticky_key: str = "") -> IngestedEvent:
    """Validate ``raw`` and redact it; raise :class:`InputInvalid` with a reason otherwise."""
    if not isinstance(raw, dict):
        raise InputInvalid(f"the event must be a JSON object, not {type(raw).__name__}")
    try:
        model = schema.model_validate(raw)
    except ValidationError as exc:
        raise InputInvalid(describe_validation(exc)) from None
    data = model.model_dump(mode="json")
    redacted, secrets = redact_fields(data, pii, kinds or None)

    def key_of(name: str) -> str:
        if not name or data.get(name) is None:
            return ""
        value = str(data[name])
        # A key that is itself personal data is stored only as its hash.
        return value if pii.get(name) == "allow" else content_key(value)

    return IngestedEvent(
        data=redacted, secrets=secrets,
        idempotency_key=key_of(idempotency_key) or content_key(data),
        tenant=key_of(tenant_key), sticky=key_of(sticky_key),
    )
