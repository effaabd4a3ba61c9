"""Durable window state: every message's effect and its "applied" mark in one transaction.

That pairing is the whole exactly-once argument: a message is acked only after the commit,
and a redelivered one (after a crash, or claimed by a second consumer) finds its mark and
changes nothing. Windows, their events and the watermark all live here, not in memory.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, delete, or_, select, update

from seamline.audit import AuditEntry, append
from seamline.ingest import RedactionSession, Vault, redact, redact_fields, storable_text
from seamline.integration import CountWindow, StreamSpec
from seamline.runtime import DEAD_LETTERED, new_event_id
from seamline.store import FastStatement, Store, insert_ignore
from seamline.store.tables import (
    dead_letters,
    events,
    stream_applied,
    stream_events,
    stream_keys,
    stream_progress,
    stream_windows,
)
from seamline.streaming._cipher import PayloadCipher
from seamline.streaming._closing import (
    DECIDED,
    DUE,
    OPEN,
    Closing,
)
from seamline.streaming._closing import fmt as _fmt
from seamline.streaming._source import SourceMessage
from seamline.streaming._windows import WindowBounds, assign, event_time, watermark

STAGE = "stream"

_W = stream_windows.c
_WINDOW_PK = and_(_W.stream == bindparam("s"), _W.key_value == bindparam("k"),
                  _W.window_start == bindparam("ws"), _W.window_end == bindparam("we"))
# The hot path: one of these per window an event lands in (see store/_fast.py for why).
# A window that is no longer open takes an event only when it was closed early (a count
# window flushed by idle_flush) or, closing, a late event to recompute: a new revision.
_ADD_OPEN = FastStatement(update(stream_windows).where(_WINDOW_PK).values(
    events_count=_W.events_count + bindparam("n"),
    revision=case((_W.status == OPEN, _W.revision), else_=_W.revision + 1),
    status=OPEN, updated_at=bindparam("ts")))
_ADD_CLOSING = FastStatement(update(stream_windows).where(_WINDOW_PK).values(
    events_count=_W.events_count + bindparam("n"),
    revision=case((or_(bindparam("bump") == 1, _W.status != OPEN), _W.revision + 1),
                  else_=_W.revision),
    status=DUE, updated_at=bindparam("ts")))
_NEW_WINDOW = FastStatement(stream_windows.insert())
_NEW_APPLIED = FastStatement(stream_applied.insert())
_EVENT_COLUMNS = ("stream", "key_value", "event_time", "seq", "message_id", "payload")
_NEW_EVENT = FastStatement(stream_events.insert().values({c: bindparam(c) for c in _EVENT_COLUMNS}))
_NEXT_SEQ = FastStatement(select(stream_keys.c.next_seq).where(
    stream_keys.c.stream == bindparam("s"), stream_keys.c.key_value == bindparam("k")))
_BUMP_SEQ = FastStatement(update(stream_keys).where(
    stream_keys.c.stream == bindparam("s"), stream_keys.c.key_value == bindparam("k"))
    .values(next_seq=bindparam("n")))


@dataclass
class _BatchEffects:
    """What a batch changes, gathered before anything is written."""

    applied: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    # (key, start, end) -> [events added, revision bump (late, recomputed), closing]
    windows: dict[tuple[str, float, float], list[Any]] = field(default_factory=dict)
    next_seq: dict[str, int] = field(default_factory=dict)
    known_keys: dict[str, bool] = field(default_factory=dict)

    def add(self, key: str, b: WindowBounds, *, closing: bool, bump: bool) -> None:
        entry = self.windows.setdefault((key, b.start, b.end), [0, False, False])
        entry[0] += 1
        entry[1] = entry[1] or bump
        entry[2] = entry[2] or closing


class WindowState(Closing):
    """The window state of one stream in one store."""

    def __init__(self, store: Store, spec: StreamSpec, *, stream: str, integration: str,
                 cipher: PayloadCipher, vault: Vault | None = None) -> None:
        self.store, self.spec, self.stream, self.integration = store, spec, stream, integration
        self._cipher, self._vault = cipher, vault
        self._counting = isinstance(spec.window, CountWindow)
        with store.write() as conn:
            insert_ignore(conn, stream_progress, {
                "stream": stream, "max_event_time": None, "applied": 0, "late_dead_lettered": 0,
                "late_recomputed": 0, "invalid": 0, "updated_at": time.time()})

    # ---- applying messages ------------------------------------------------------------------

    def apply(self, messages: Sequence[SourceMessage]) -> Counter[str]:
        """Apply a batch in one transaction; returns counts by outcome: ``applied``,
        ``redelivered`` (already applied, changed nothing), ``invalid``, ``late_dead_lettered``,
        ``late_recomputed``.

        The batch is worked out in memory first (lateness is judged message by message, as
        the watermark moves) and written with one statement per table or window touched.
        """
        counts: Counter[str] = Counter()
        now = time.time()
        with self.store.write() as conn:
            # Locks the row on PostgreSQL: appliers of one stream take turns, so the watermark
            # each one judges lateness by, and the marks it checks, are the committed ones
            # (SQLite's BEGIN IMMEDIATE already serialises writers).
            max_t = conn.execute(select(stream_progress.c.max_event_time)
                                 .where(stream_progress.c.stream == self.stream)
                                 .with_for_update()).scalar_one()
            seen = self._already_applied(conn, [m.id for m in messages])
            batch = _BatchEffects()
            for message in messages:
                if message.id in seen:
                    counts["redelivered"] += 1  # committed by an earlier delivery
                    continue
                seen.add(message.id)
                batch.applied.append({"stream": self.stream, "message_id": message.id,
                                      "applied_at": now})
                outcome, max_t = self._plan_one(conn, batch, message, max_t, now)
                counts[outcome] += 1
            self._write(conn, batch, now)
            p = stream_progress.c
            conn.execute(update(stream_progress).where(p.stream == self.stream).values(
                max_event_time=max_t, applied=p.applied + counts["applied"],
                late_dead_lettered=p.late_dead_lettered + counts["late_dead_lettered"],
                late_recomputed=p.late_recomputed + counts["late_recomputed"],
                invalid=p.invalid + counts["invalid"], updated_at=now))
        return counts

    def _already_applied(self, conn: Connection, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            found.update(conn.execute(select(stream_applied.c.message_id).where(
                stream_applied.c.stream == self.stream,
                stream_applied.c.message_id.in_(ids[i:i + 500]))).scalars())
        return found

    def _plan_one(self, conn: Connection, batch: _BatchEffects, message: SourceMessage,
                  max_t: float | None, now: float) -> tuple[str, float | None]:
        event = message.event
        if event is None:
            self._dead_letter(conn, message, message.error, now)
            return "invalid", max_t
        key = event.get(self.spec.key_field)
        if key is None or key == "" or isinstance(key, dict | list):
            self._dead_letter(conn, message, f"the event has no usable key field "
                                             f"{self.spec.key_field!r}", now)
            return "invalid", max_t
        key = str(key)
        t = now
        if self.spec.time_field:
            try:
                t = event_time(event.get(self.spec.time_field))
            except ValueError as exc:
                if not self._counting:
                    self._dead_letter(conn, message, f"{self.spec.time_field}: {exc}", now)
                    return "invalid", max_t
        outcome = "applied"
        seq = 0
        if self._counting:
            seq = self._take_seq(conn, batch, key)
            for b in assign(self.spec.window, seq):
                batch.add(key, b, closing=seq + 1 >= b.end, bump=False)
        else:
            bounds = assign(self.spec.window, t)
            wm = watermark(max_t, self.spec.allowed_lateness)
            closed = [b for b in bounds if b.end <= wm]
            if closed:
                behind = (f"its event time {_fmt(t)} is {_fmt(wm - t)} s behind the watermark "
                          f"{_fmt(wm)} (stream time {_fmt(max_t or 0)} minus "
                          f"{_fmt(self.spec.allowed_lateness)} s allowed lateness); window "
                          f"[{_fmt(closed[0].start)}, {_fmt(closed[0].end)}) of key {key!r} "
                          f"had closed")
                detail = {"late_by_s": wm - t, "event_time": t, "watermark": wm}
                if self.spec.late_policy == "dead_letter":
                    self._dead_letter(conn, message, f"late event: {behind}", now, detail=detail)
                    return "late_dead_lettered", max_t
                if closed[0].end <= wm - self.spec.retention:
                    self._dead_letter(conn, message, f"late event beyond the retention of "
                                      f"{_fmt(self.spec.retention)} s, too late to recompute: "
                                      f"{behind}", now, detail=detail)
                    return "late_dead_lettered", max_t
                outcome = "late_recomputed"
            for b in bounds:
                late = b.end <= wm
                batch.add(key, b, closing=late, bump=late)
            max_t = t if max_t is None else max(max_t, t)
        batch.events.append({
            "stream": self.stream, "key_value": key, "event_time": t, "seq": seq,
            "message_id": message.id,
            "payload": self._cipher.seal(json.dumps(event, ensure_ascii=False, default=str))})
        return outcome, max_t

    def _take_seq(self, conn: Connection, batch: _BatchEffects, key: str) -> int:
        if key not in batch.next_seq:
            row = _NEXT_SEQ.first(conn, {"s": self.stream, "k": key})
            batch.next_seq[key] = int(row[0]) if row else 0
            batch.known_keys[key] = row is not None
        seq = batch.next_seq[key]
        batch.next_seq[key] = seq + 1
        return seq

    def _write(self, conn: Connection, batch: _BatchEffects, now: float) -> None:
        _NEW_APPLIED.run_many(conn, batch.applied)
        for (key, start, end), (n, bump, closing) in batch.windows.items():
            pk = {"s": self.stream, "k": key, "ws": start, "we": end, "ts": now, "n": n}
            changed = (_ADD_CLOSING.run(conn, {**pk, "bump": int(bump)}) if closing
                       else _ADD_OPEN.run(conn, pk))
            if changed == 0:  # new: no decision can exist yet, so revision 1 whatever the bump
                _NEW_WINDOW.run(conn, {
                    "stream": self.stream, "key_value": key, "window_start": start,
                    "window_end": end, "events_count": n, "revision": 1,
                    "status": DUE if closing else OPEN, "decided_revision": 0, "event_id": None,
                    "updated_at": now})
        _NEW_EVENT.run_many(conn, batch.events)
        for key, n in batch.next_seq.items():
            if batch.known_keys[key]:
                _BUMP_SEQ.run(conn, {"s": self.stream, "k": key, "n": n})
            else:
                conn.execute(stream_keys.insert().values(stream=self.stream, key_value=key,
                                                         next_seq=n))

    def _dead_letter(self, conn: Connection, message: SourceMessage, reason: str, now: float,
                     detail: dict[str, Any] | None = None) -> None:
        """Never a silent drop: like an event refused at ingest, the message is recorded as a
        dead-lettered event (redacted; real values in the vault) with the reason, and audited."""
        event_id = new_event_id()
        payload: Any
        if message.event is not None:
            payload, secrets = redact_fields(message.event, {})
        elif message.raw is not None:
            # Not decodable: kept as text no store or hash can choke on (escaped, not
            # altered), redacted, the real values in the vault like any other.
            session = RedactionSession()
            shown = storable_text(message.raw, 1_000_000)
            payload, secrets = redact(shown, session=session).text, dict(session.mapping)
        else:
            payload, secrets = None, {}
        info = {"message_id": message.id, "stream": self.stream, **(detail or {})}
        text = json.dumps(payload, ensure_ascii=False, default=str)
        conn.execute(events.insert().values(
            id=event_id, integration=self.integration, idempotency_key="", tenant="",
            state=DEAD_LETTERED, stage=STAGE, reason=reason, path="", input=text,
            created_at=now, updated_at=now))
        if self._vault is not None:
            self._vault.put(conn, event_id, secrets)
        conn.execute(dead_letters.insert().values(
            event_id=event_id, integration=self.integration, stage=STAGE, reason=reason,
            detail=json.dumps(info), payload=text, created_at=now))
        append(conn, [AuditEntry(event_id, self.integration, "dead_letter", {
            "stage": STAGE, "reason": reason, "input": payload, **info})], now=now)

    # ---- forgetting ---------------------------------------------------------------------------

    def prune(self, *, applied_older_than_s: float = 7 * 86400) -> int:
        """Forget what no decision can need again; returns the rows deleted.

        Time windows: decided windows that ended more than ``retention`` behind the
        watermark, and the events only they held. Count windows: decided windows (a full
        window takes no more events) and events older than a key's last N, unless a window
        still to be decided holds them. Everywhere: marks of messages applied long ago.
        """
        deleted = 0
        e, k = stream_events.c, stream_keys.c
        wm = self.progress().watermark
        with self.store.write() as conn:
            if self._counting:
                size = self.spec.window.size
                next_seq = select(k.next_seq).where(
                    k.stream == e.stream, k.key_value == e.key_value).scalar_subquery()
                undecided = select(_W.stream).where(
                    _W.stream == e.stream, _W.key_value == e.key_value, _W.status != DECIDED,
                    _W.window_start <= e.seq, e.seq < _W.window_end).exists()
                # Full ones only: a window flushed unfilled (idle_flush) takes more events.
                deleted += conn.execute(delete(stream_windows).where(
                    _W.stream == self.stream, _W.status == DECIDED,
                    _W.events_count >= _W.window_end - _W.window_start)).rowcount
                deleted += conn.execute(delete(stream_events).where(
                    e.stream == self.stream, e.seq <= next_seq - size, ~undecided)).rowcount
            else:
                horizon = wm - self.spec.retention
                size = self.spec.window.size
                deleted += conn.execute(delete(stream_windows).where(
                    _W.stream == self.stream, _W.status == DECIDED,
                    _W.window_end <= horizon)).rowcount
                deleted += conn.execute(delete(stream_events).where(
                    e.stream == self.stream, e.event_time < horizon - size)).rowcount
            deleted += conn.execute(delete(stream_applied).where(
                stream_applied.c.stream == self.stream,
                stream_applied.c.applied_at < time.time() - applied_older_than_s)).rowcount
        return deleted
