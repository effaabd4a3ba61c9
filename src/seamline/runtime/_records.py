"""How the pipeline writes the rows that are not its hot path's main line: prompt versions,
state changes, duplicates, refusals, and clearing a redriven event's row.

A mixin of :class:`~seamline.runtime.Pipeline`.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import bindparam, delete, select, update

from seamline.audit import AuditEntry, append
from seamline.ingest import IngestedEvent, RedactionSession, redact, redact_fields
from seamline.prompt import RenderedPrompt
from seamline.runtime._results import DEAD_LETTERED, DUPLICATE, EventResult
from seamline.runtime._results import dumps as _dumps
from seamline.store import FastStatement, insert_ignore
from seamline.store.tables import dead_letters, dedupe_keys, events, prompt_versions
from seamline.store.tables import vault as vault_table
from seamline.telemetry import observe_event


class RecordsMixin:
    def _observed(self, result: EventResult) -> EventResult:
        """Count an event that ended before the model (metrics; see seamline.telemetry)."""
        observe_event(self.integration.name, result)
        return result


    def _record_prompt(self, conn, rendered: RenderedPrompt, now: float) -> None:
        # Every time, not once per process: a rolled-back first write must not be remembered.
        insert_ignore(conn, prompt_versions, {
            "version": rendered.version, "integration": self.integration.name,
            "system": self.template.system_source, "user": self.template.user_source,
            "params": self._params_json, "created_at": now})


    @staticmethod
    def _set_state(conn, event_id: str, state: str, stage: str, reason: str, now: float) -> None:
        _SET_STATE.run(conn, {"eid": event_id, "new_state": state, "new_stage": stage,
                                  "new_reason": reason, "ts": now})

    def _key_owner(self, conn, ev: IngestedEvent) -> str:
        return conn.execute(select(dedupe_keys.c.event_id).where(
            dedupe_keys.c.integration == self.integration.name,
            dedupe_keys.c.idempotency_key == ev.idempotency_key)).scalar_one()

    @staticmethod
    def _forget(conn, event_id: str) -> None:
        """Clear a redriven event's row and vault entries before it is written afresh."""
        conn.execute(delete(events).where(events.c.id == event_id))
        conn.execute(delete(vault_table).where(vault_table.c.event_id == event_id))

    def _duplicate(self, conn, event_id: str, ev: IngestedEvent, now: float, *,
                   rerun: bool = False, by: str = "") -> EventResult:
        first = self._key_owner(conn, ev)
        reason = f"same idempotency key as event {first}"
        if rerun:
            self._forget(conn, event_id)
        conn.execute(events.insert().values(
            id=event_id, integration=self.integration.name, idempotency_key=ev.idempotency_key,
            tenant=ev.tenant, state=DUPLICATE, stage="ingest", reason=reason, path="",
            duplicate_of=first, input=None, created_at=now, updated_at=now))
        append(conn, [AuditEntry(event_id, self.integration.name, "duplicate",
                                 {"duplicate_of": first, "idempotency_key": ev.idempotency_key,
                                  **({"submitted_by": by} if by else {})})], now=now)
        return self._observed(EventResult(event_id, DUPLICATE, reason, "ingest",
                                          duplicate_of=first))

    def _refuse(self, event_id: str, raw: Any, stage: str, reason: str,
                ev: IngestedEvent | None = None, *, rerun: bool = False,
                by: str = "") -> EventResult:
        """Dead-letter an event that must not reach the model, keeping it (redacted) for redrive."""
        if ev is not None:
            payload, secrets = ev.data, ev.secrets
        elif isinstance(raw, dict):
            payload, secrets = redact_fields(raw, self.integration.pii)
        else:
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            session = RedactionSession()
            payload = redact(text[:1_000_000], session=session).text
            secrets = dict(session.mapping)
        now = time.time()
        name = self.integration.name
        with self.store.write() as conn:
            if rerun:
                self._forget(conn, event_id)
            conn.execute(events.insert().values(
                id=event_id, integration=name, idempotency_key=ev.idempotency_key if ev else "",
                tenant=ev.tenant if ev else "", state=DEAD_LETTERED, stage=stage, reason=reason,
                path="", input=_dumps(payload), created_at=now, updated_at=now))
            self.vault.put(conn, event_id, secrets)
            conn.execute(dead_letters.insert().values(
                event_id=event_id, integration=name, stage=stage, reason=reason, detail="",
                payload=_dumps(payload), created_at=now))
            append(conn, [AuditEntry(event_id, name, "dead_letter", {
                "stage": stage, "reason": reason, "input": payload,
                **({"submitted_by": by} if by else {})})], now=now)
        return self._observed(EventResult(event_id, DEAD_LETTERED, reason, stage))


_SET_STATE = FastStatement(update(events).where(events.c.id == bindparam("eid")).values(
    state=bindparam("new_state"), stage=bindparam("new_stage"), reason=bindparam("new_reason"),
    updated_at=bindparam("ts")))
