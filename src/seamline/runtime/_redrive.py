"""Taking events out of the dead-letter queue again, and giving up on ones that never finish.

A mixin of :class:`~seamline.runtime.Pipeline`. A redriven event keeps its id and its
story: the audit trail shows the dead letter, the redrive and what came of it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import select, update

from seamline.actions import FAILED, PENDING
from seamline.audit import AuditEntry, append
from seamline.errors import NotFound
from seamline.runtime._results import (
    ACTING,
    DEAD_LETTERED,
    PROCESSING,
    TERMINAL,
    EventResult,
)
from seamline.store.tables import dead_letters, events, outbox


class RedriveMixin:
    def redrive(self, event_id: str, *, defer: frozenset[str] = frozenset(),
                actor: str = "") -> EventResult:
        """Run a dead-lettered event again with the integration as it is now (a fixed prompt,
        schema or handler), without acting twice on actions that already ran.

        Refused at ingest or prompt: its raw event is rebuilt from the redacted input and
        the vault, then admitted afresh. Failed at the model or the output: asked again.
        Failed at an action: its failed actions run again under their idempotency keys.
        """
        row = self._dead_row(event_id)
        if row.stage == "stream":
            raise NotFound(f"Event {event_id} came late to a stream whose window had closed; "
                           "re-publish it to the stream (or use the 'recompute' late policy) "
                           "to count it.")
        now = time.time()
        name = self.integration.name
        entry = AuditEntry(event_id, name, "redrive", {"from_stage": row.stage,
                                                        "reason": row.reason, "actor": actor})
        if row.path == "":  # never admitted: rebuild what was received, admit it again
            raw: Any = json.loads(row.input) if row.input is not None else None
            raw = self.vault.reveal(event_id, raw)
            with self.store.write() as conn:
                append(conn, [entry], now=now)
            admitted = self._admit(raw, event_id, rerun=True)
            if isinstance(admitted, EventResult):
                return admitted
            return self._answer(*admitted, defer=defer)
        state = ACTING if row.stage == "actions" else PROCESSING
        with self.store.write() as conn:
            moved = conn.execute(update(events).where(
                events.c.id == event_id, events.c.state == DEAD_LETTERED).values(
                state=state, stage="", reason="", updated_at=now)).rowcount
            if moved != 1:
                raise NotFound(f"Event {event_id} left the dead-letter queue meanwhile.")
            if state == ACTING:
                conn.execute(update(outbox).where(outbox.c.event_id == event_id,
                                                  outbox.c.status == FAILED)
                             .values(status=PENDING, attempts=0, updated_at=now))
            append(conn, [entry], now=now)
        return self.resume(event_id, defer=defer)

    def _dead_row(self, event_id: str):
        with self.store.read() as conn:
            row = conn.execute(select(events).where(events.c.id == event_id)).first()
        if row is None or row.integration != self.integration.name:
            raise NotFound(f"There is no event {event_id} of {self.integration.name}.")
        if row.state != DEAD_LETTERED:
            raise NotFound(f"Event {event_id} is not in the dead-letter queue (it is {row.state}).")
        return row

    def give_up(self, event_id: str, raw: Any, reason: str, stage: str = "queue") -> EventResult:
        """Dead-letter an event the queue could not finish (its job kept dying): recorded,
        with the reason, and redrivable like any other dead letter."""
        state = self._state_of(event_id)
        if state is None:
            return self._refuse(event_id, raw, stage, reason)
        if state in TERMINAL:
            return self.resume(event_id)
        now = time.time()
        with self.store.write() as conn:
            self._set_state(conn, event_id, DEAD_LETTERED, stage, reason, now)
            conn.execute(dead_letters.insert().values(
                event_id=event_id, integration=self.integration.name, stage=stage,
                reason=reason, detail="", payload=None, created_at=now))
            append(conn, [AuditEntry(event_id, self.integration.name, "dead_letter",
                                     {"stage": stage, "reason": reason})], now=now)
        return EventResult(event_id, DEAD_LETTERED, reason, stage)
