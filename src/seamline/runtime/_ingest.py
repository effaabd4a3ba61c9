"""Stage 1, ingest: read the event, validate it, redact it, and ask the rollout flag.

Nothing is written here: a refusal is returned, and the path records it.
"""

from __future__ import annotations

from typing import Any

from seamline.errors import IngestBudgetExceeded, InputInvalid
from seamline.ingest import check_value, decode_event, ingest_event
from seamline.integration import Integration
from seamline.rollout import Flags, StageModes
from seamline.runtime._types import Ingested, Refusal


class Ingest:
    """Layer 1 for one integration, and its rollout flag's decision per event."""

    def __init__(self, integration: Integration, flags: Flags, modes: StageModes) -> None:
        self.integration, self.flags, self.modes = integration, flags, modes

    def run(self, raw: Any) -> Ingested | Refusal:
        spec = self.integration
        try:
            # One decoder for every door: text and bytes are decoded, values that arrived
            # decoded meet the same rules (no lone surrogate, NUL, NaN, 65th level ...).
            if isinstance(raw, str | bytes | bytearray):
                raw = decode_event(raw)
            else:
                check_value(raw)
            ev = ingest_event(raw, schema=spec.input_schema, pii=spec.pii, kinds=spec.pii_kinds,
                              idempotency_key=spec.idempotency_key, tenant_key=spec.tenant_key,
                              sticky_key=spec.rollout.sticky_key, user_key=spec.user_key,
                              cpu_budget_s=spec.ingest_cpu_budget_s)
        except IngestBudgetExceeded as exc:
            return Refusal("ingest", str(exc), unscanned=True)
        except InputInvalid as exc:
            return Refusal("ingest", str(exc))
        flag = self.flags.get(spec.flag_name, spec.rollout.default)
        if self.modes.mode() == "shadow":  # every event: the model watched, never acting
            return Ingested(ev, flag, True, shadow=True)
        return Ingested(ev, flag, flag.admits(ev.sticky or ev.idempotency_key))
