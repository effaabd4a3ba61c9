"""Taking events out of the dead-letter queue again, and giving up on ones that never finish.

A redriven event keeps its id and its story: the audit trail shows the dead letter, the
redrive and what came of it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import select, update

from seamline.actions import FAILED, PENDING
from seamline.audit import AuditEntry, append
from seamline.errors import NotFound
from seamline.runtime._path import Stages, admit, answer
from seamline.runtime._results import ACTING, DEAD_LETTERED, PROCESSING, TERMINAL, EventResult
from seamline.runtime._resume import resume
from seamline.runtime._types import Received, Refusal
from seamline.store.tables import events, outbox


def redrive(s: Stages, event_id: str, *, defer: frozenset[str] = frozenset(),
            actor: str = "") -> EventResult:
    """Run a dead-lettered event again with the integration as it is now (a fixed prompt,
    schema or handler), without acting twice on actions that already ran.

    Refused at ingest or prompt: its raw event is rebuilt from the redacted input and the
    vault, then admitted afresh. Failed at the model or the output: asked again. Failed at
    an action: its failed actions run again under their idempotency keys.
    """
    with s.log.store.read() as conn:
        row = conn.execute(select(events).where(events.c.id == event_id)).first()
    if row is None or row.integration != s.log.name:
        raise NotFound(f"There is no event {event_id} of {s.log.name}.")
    if row.state != DEAD_LETTERED:
        raise NotFound(f"Event {event_id} is not in the dead-letter queue (it is {row.state}).")
    if row.stage == "stream":
        raise NotFound(f"Event {event_id} came late to a stream whose window had closed; "
                       "re-publish it to the stream (or use the 'recompute' late policy) "
                       "to count it.")
    now = time.time()
    entry = AuditEntry(event_id, s.log.name, "redrive", {"from_stage": row.stage,
                                                        "reason": row.reason, "actor": actor})
    if row.path == "":  # never admitted: rebuild what was received, admit it again
        raw: Any = json.loads(row.input) if row.input is not None else None
        raw = s.log.vault.reveal(event_id, raw)
        with s.log.store.write() as conn:
            append(conn, [entry], now=now)
        admitted = admit(s, Received(event_id, raw, rerun=True))
        if isinstance(admitted, EventResult):
            return admitted
        return answer(s, admitted, defer)
    state = ACTING if row.stage == "actions" else PROCESSING
    with s.log.store.write() as conn:
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
    return resume(s, event_id, defer=defer)


def give_up(s: Stages, event_id: str, raw: Any, reason: str, stage: str = "queue") -> EventResult:
    """Dead-letter an event the queue could not finish (its job kept dying): recorded, with
    the reason, and redrivable like any other dead letter."""
    state = s.log.state_of(event_id)
    if state is None:
        return s.log.refuse(Received(event_id, raw), Refusal(stage, reason))
    if state in TERMINAL:
        return resume(s, event_id)
    now = time.time()
    with s.log.store.write() as conn:
        append(conn, [s.log.dead_letter(conn, event_id, stage, reason, now)], now=now)
    return EventResult(event_id, DEAD_LETTERED, reason, stage)
