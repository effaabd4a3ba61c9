"""Stage 1, ingest: read the event, validate it, redact it, and ask the rollout flag.

Nothing is written here: a refusal is returned, and the path records it.
"""

from __future__ import annotations

import json
from typing import Any

from seamline.errors import InputInvalid
from seamline.ingest import ingest_event
from seamline.integration import Integration
from seamline.rollout import Flags
from seamline.runtime._types import Ingested, Refusal


class Ingest:
    """Layer 1 for one integration, and its rollout flag's decision per event."""

    def __init__(self, integration: Integration, flags: Flags) -> None:
        self.integration, self.flags = integration, flags

    def run(self, raw: Any) -> Ingested | Refusal:
        spec = self.integration
        if isinstance(raw, str | bytes):
            try:
                raw = json.loads(raw)
            except ValueError as exc:
                return Refusal("ingest", f"the event is not valid JSON: {exc}")
        try:
            ev = ingest_event(raw, schema=spec.input_schema, pii=spec.pii, kinds=spec.pii_kinds,
                              idempotency_key=spec.idempotency_key, tenant_key=spec.tenant_key,
                              sticky_key=spec.rollout.sticky_key)
        except InputInvalid as exc:
            return Refusal("ingest", str(exc))
        flag = self.flags.get(spec.flag_name, spec.rollout.default)
        return Ingested(ev, flag, flag.admits(ev.sticky or ev.idempotency_key))
