"""The event log: the rows an event leaves in the store besides its main line.

A collaborator of every stage that ends an event early (a refusal, a duplicate) or moves
its state: it writes the ``events`` row, the dead letter and the audit entries together,
so an event is never recorded without its story.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Connection

from seamline.audit import AuditEntry, append
from seamline.errors import InputInvalid
from seamline.ingest import (
    IngestedEvent,
    RedactionSession,
    Vault,
    check_value,
    redact,
    redact_fields,
    storable_text,
)
from seamline.integration import Integration
from seamline.prompt import PromptTemplate, RenderedPrompt
from seamline.runtime._results import DEAD_LETTERED, DUPLICATE, EventResult, dumps
from seamline.runtime._types import Received, Refusal
from seamline.store import FastStatement, Store, insert_ignore
from seamline.store.tables import dead_letters, dedupe_keys, events, prompt_versions
from seamline.store.tables import vault as vault_table
from seamline.telemetry import observe_event


class EventLog:
    """Writes what becomes of one integration's events, with their audit entries."""

    def __init__(self, integration: Integration, store: Store, vault: Vault,
                 template: PromptTemplate) -> None:
        self.integration, self.store, self.vault = integration, store, vault
        self.name = integration.name
        self._template = template
        self._params_json = dumps(template.params)

    def observed(self, result: EventResult, calls: tuple[dict[str, Any], ...] = ()) -> EventResult:
        """Count an event's outcome (metrics; see seamline.telemetry) and pass it on."""
        observe_event(self.name, result, calls)
        return result

    def state_of(self, event_id: str) -> str | None:
        with self.store.read() as conn:
            return conn.execute(select(events.c.state).where(events.c.id == event_id)).scalar()

    def record_prompt(self, conn: Connection, rendered: RenderedPrompt, now: float) -> None:
        # Every time, not once per process: a rolled-back first write must not be remembered.
        insert_ignore(conn, prompt_versions, {
            "version": rendered.version, "integration": self.name,
            "system": self._template.system_source, "user": self._template.user_source,
            "params": self._params_json, "created_at": now})

    @staticmethod
    def set_state(conn: Connection, event_id: str, state: str, stage: str, reason: str,
                  now: float) -> None:
        _SET_STATE.run(conn, {"eid": event_id, "new_state": state, "new_stage": stage,
                              "new_reason": reason, "ts": now})

    def key_owner(self, conn: Connection, ev: IngestedEvent) -> str:
        """The event that holds this event's idempotency key."""
        return conn.execute(select(dedupe_keys.c.event_id).where(
            dedupe_keys.c.integration == self.name,
            dedupe_keys.c.idempotency_key == ev.idempotency_key)).scalar_one()

    @staticmethod
    def forget(conn: Connection, event_id: str) -> None:
        """Clear a redriven event's row and vault entries before it is written afresh."""
        conn.execute(delete(events).where(events.c.id == event_id))
        conn.execute(delete(vault_table).where(vault_table.c.event_id == event_id))

    def duplicate(self, conn: Connection, received: Received, ev: IngestedEvent,
                  now: float) -> EventResult:
        """Record an event whose idempotency key another event holds (inside ``conn``)."""
        first = self.key_owner(conn, ev)
        reason = f"same idempotency key as event {first}"
        if received.rerun:
            self.forget(conn, received.event_id)
        conn.execute(events.insert().values(
            id=received.event_id, integration=self.name, idempotency_key=ev.idempotency_key,
            tenant=ev.tenant, state=DUPLICATE, stage="ingest", reason=reason, path="",
            duplicate_of=first, input=None, created_at=now, updated_at=now))
        append(conn, [AuditEntry(received.event_id, self.name, "duplicate", {
            "duplicate_of": first, "idempotency_key": ev.idempotency_key,
            **_by(received.submitted_by)})], now=now)
        return self.observed(EventResult(received.event_id, DUPLICATE, reason, "ingest",
                                         duplicate_of=first))

    def refuse(self, received: Received, refusal: Refusal,
               ev: IngestedEvent | None = None) -> EventResult:
        """Dead-letter an event that must not reach the model, keeping it (redacted) for
        redrive: the real values of what was redacted go to the vault. ``ev``: the event as
        ingest redacted it, when it got that far."""
        raw = received.raw
        payload: Any
        if ev is not None:
            payload, secrets = ev.data, ev.secrets
        elif refusal.unscanned:
            # Not fully scanned for personal data: the whole event goes to the vault, and
            # the row keeps a placeholder for it, which a redrive reveals and admits again.
            text = raw if isinstance(raw, str) else (
                storable_text(raw, None) if isinstance(raw, bytes | bytearray) else dumps(raw))
            payload, secrets = UNSCANNED, {UNSCANNED: text}
        elif raw is None:  # nothing could be read (a queued job whose payload did not open)
            payload, secrets = None, {}
        elif isinstance(raw, dict) and _decodable(raw):
            payload, secrets = redact_fields(raw, self.integration.pii)
        else:
            # Text, bytes, or a value the decoder refused (too deep, a lone surrogate, NaN):
            # kept as text no store or hash can choke on, escaped rather than altered.
            session = RedactionSession()
            payload = redact(storable_text(raw, 1_000_000), session=session).text
            secrets = dict(session.mapping)
        now = time.time()
        event_id, stage = received.event_id, refusal.stage
        reason = storable_text(refusal.reason, 10_000)
        with self.store.write() as conn:
            if received.rerun:
                self.forget(conn, event_id)
            conn.execute(events.insert().values(
                id=event_id, integration=self.name,
                idempotency_key=ev.idempotency_key if ev else "", tenant=ev.tenant if ev else "",
                state=DEAD_LETTERED, stage=stage, reason=reason, path="", input=dumps(payload),
                created_at=now, updated_at=now))
            self.vault.put(conn, event_id, secrets)
            conn.execute(dead_letters.insert().values(
                event_id=event_id, integration=self.name, stage=stage, reason=reason, detail="",
                payload=dumps(payload), created_at=now))
            append(conn, [AuditEntry(event_id, self.name, "dead_letter", {
                "stage": stage, "reason": reason, "input": payload,
                **_by(received.submitted_by)})], now=now)
        return self.observed(EventResult(event_id, DEAD_LETTERED, reason, stage))

    def dead_letter(self, conn: Connection, event_id: str, stage: str, reason: str, now: float,
                    *, detail: str = "", payload: str | None = None,
                    set_state: bool = True) -> AuditEntry:
        """Put a recorded event in the dead-letter queue (inside ``conn``); its audit entry.

        ``set_state=False`` when the caller writes the event's row itself in ``conn``.
        """
        if set_state:
            self.set_state(conn, event_id, DEAD_LETTERED, stage, reason, now)
        conn.execute(dead_letters.insert(), {
            "event_id": event_id, "integration": self.name, "stage": stage, "reason": reason,
            "detail": detail, "payload": payload, "created_at": now})
        return AuditEntry(event_id, self.name, "dead_letter", {"stage": stage, "reason": reason})


def _decodable(raw: dict[str, Any]) -> bool:
    try:
        check_value(raw)
    except InputInvalid:
        return False
    return True


UNSCANNED = "<UNSCANNED_1>"  # the placeholder of an event sealed whole in the vault


def _by(submitted_by: str) -> dict[str, str]:
    return {"submitted_by": submitted_by} if submitted_by else {}


_SET_STATE = FastStatement(update(events).where(events.c.id == bindparam("eid")).values(
    state=bindparam("new_state"), stage=bindparam("new_stage"), reason=bindparam("new_reason"),
    updated_at=bindparam("ts")))
