"""The first commit of an event: received, deduped, recorded, its estimate reserved.

One transaction writes the dedupe key, the event row, the vault entries, the ingest /
rollout / retrieval / prompt audit entries and the budget reservation, so an event is
either fully received or not at all. A duplicate or an over-cap event ends here.
"""

from __future__ import annotations

import time
from typing import Any

from seamline.audit import AuditEntry, append
from seamline.inference import BudgetRefusal
from seamline.ingest import Vault
from seamline.integration import Integration
from seamline.runtime._records import EventLog
from seamline.runtime._results import OVER_BUDGET, PROCESSING, EventResult, dumps
from seamline.runtime._spend import Spend
from seamline.runtime._types import Admission, Ingested, Prompted, Received, Timings
from seamline.store import FastStatement, Store, insert_ignore
from seamline.store.tables import dedupe_keys, events
from seamline.telemetry import layer_done


class Receive:
    """Records admitted events of one integration (the first of three commits per event)."""

    def __init__(self, integration: Integration, store: Store, vault: Vault, log: EventLog,
                 spend: Spend) -> None:
        self.integration, self.store, self.vault = integration, store, vault
        self.log, self.spend = log, spend

    def run(self, received: Received, ingested: Ingested, prompted: Prompted | None,
            found: dict[str, Any] | None, timings: Timings) -> Admission | EventResult:
        t = time.perf_counter()
        name, event_id, ev = self.integration.name, received.event_id, ingested.ev
        data = prompted.data if prompted is not None else ev.data
        now = time.time()
        with self.store.write() as conn:
            fresh = insert_ignore(conn, dedupe_keys, {"integration": name,
                                                      "idempotency_key": ev.idempotency_key,
                                                      "event_id": event_id})
            # A redriven event holds its own key already; any other holder makes a duplicate.
            if not fresh and (not received.rerun or self.log.key_owner(conn, ev) != event_id):
                return self.log.duplicate(conn, received, ev, now)
            if received.rerun:
                self.log.forget(conn, event_id)
            rendered = prompted.rendered if prompted is not None else None
            _INSERT_EVENT.run(conn, {
                "id": event_id, "integration": name, "idempotency_key": ev.idempotency_key,
                "tenant": ev.tenant, "state": PROCESSING, "stage": "", "reason": "",
                "path": _path(ingested), "duplicate_of": None,
                "input": dumps(data), "output": None, "fallback_output": None,
                "prompt_version": rendered.version if rendered else "",
                "model": self.integration.model.model if ingested.use_ai else "", "cost_usd": 0.0,
                "timings": None, "created_at": now, "updated_at": now})
            self.vault.put(conn, event_id, ev.secrets)
            flag = ingested.flag
            entries = [
                AuditEntry(event_id, name, "ingest", {
                    "input": data, "idempotency_key": ev.idempotency_key, "tenant": ev.tenant,
                    "pii_redacted": _kinds(ev.secrets),
                    "truncated": prompted is not None and prompted.truncated,
                    **({"submitted_by": received.submitted_by} if received.submitted_by else {})}),
                AuditEntry(event_id, name, "rollout", {
                    "flag": flag.name, "mode": flag.mode, "percent": flag.percent,
                    "path": _path(ingested)}),
            ]
            if found is not None:
                entries.append(AuditEntry(event_id, name, "retrieval", found))
            reservation = None
            if prompted is not None:
                self.log.record_prompt(conn, prompted.rendered, now)
                entries.append(AuditEntry(event_id, name, "prompt", {
                    "version": prompted.rendered.version, "system": prompted.rendered.system,
                    "user": prompted.rendered.user, "sha256": prompted.rendered.sha256,
                    "tokens": prompted.tokens}))
                got = self.spend.reserve_event(conn, prompted.tokens, ev.tenant, now,
                                               user=ev.user)
                if isinstance(got, BudgetRefusal):
                    entries.append(AuditEntry(event_id, name, "budget", {
                        "decision": "refused", "cap": got.cap, "cap_usd": got.cap_usd,
                        "estimate_usd": got.estimate_usd}))
                    self.log.set_state(conn, event_id, OVER_BUDGET, "inference", got.reason, now)
                    append(conn, entries, now=now)
                    timings["store"] = layer_done("store", t)
                    return self.log.observed(EventResult(event_id, OVER_BUDGET, got.reason,
                                                         "inference", "ai", timings_ms=timings))
                entries.append(AuditEntry(event_id, name, "budget", {
                    "decision": "over_soft" if got.over_soft else "reserved",
                    "estimate_usd": got.amount_usd,
                    **self.spend.over_soft(conn, event_id, got, now)}))
                reservation = got
                if got.over_soft is not None and got.over_soft.baseline:
                    rendered, reservation = None, None  # past a soft cap: the baseline answers
            append(conn, entries, now=now)
        timings["store"] = layer_done("store", t)
        return Admission(event_id, ev, data, rendered, reservation, timings,
                         shadow=ingested.shadow and rendered is not None)


def _path(ingested: Ingested) -> str:
    if ingested.shadow:
        return "shadow"
    return "ai" if ingested.use_ai else "baseline"


def _kinds(secrets: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for placeholder in secrets:
        kind = placeholder.strip("<>").rsplit("_", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    return counts


# The hot path's statement, compiled once (see seamline.store.FastStatement for why).
_INSERT_EVENT = FastStatement(events.insert())
