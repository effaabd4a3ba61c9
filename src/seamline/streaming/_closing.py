"""Closing windows and claiming their decisions.

A window closes when the watermark passes its end (a count window: at its Nth event). On a
quiet stream the watermark would stop with the last event, so once nothing has arrived for
``idle_timeout`` the stream time follows the wall clock (``advance_idle_clock``), and a
count window may be flushed unfilled (``flush_idle_counts``). Whoever decides a due window
first claims it with a compare-and-set on its row, so one consumer of a group decides it and
the others pass it by; a claim left by a crashed consumer is taken back when that consumer
restarts under the same name, or by anyone after the claim lease.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, case, or_, select, update

from seamline.store.tables import stream_events, stream_keys, stream_progress, stream_windows
from seamline.streaming._windows import watermark

if TYPE_CHECKING:
    from seamline.integration import StreamSpec
    from seamline.store import Store
    from seamline.streaming._cipher import PayloadCipher

# stream_windows.status: open; due (closed, revision undecided); decided; being decided by
# the consumer named in event_id since updated_at (a claim).
OPEN, DUE, DECIDED, DECIDING = 0, 1, 2, 3
_W = stream_windows.c


@dataclass(frozen=True, slots=True)
class DueWindow:
    """A closed window whose current revision has no decision yet."""

    key: str
    start: float
    end: float
    revision: int
    count: int


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a stream stands, as committed. ``max_event_time`` is the stream time: the
    latest event time, or past it by the wall-clock time the stream has been idle."""

    max_event_time: float | None
    watermark: float
    applied: int
    late_dead_lettered: int
    late_recomputed: int
    invalid: int


def fmt(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def claim_token(consumer: str) -> str:
    """What a claim records in ``event_id`` (40 characters): the consumer's name."""
    token = f"claim:{consumer}"
    return token if len(token) <= 40 else f"claim:{hashlib.sha256(consumer.encode()).hexdigest()[:34]}"


def _this_window(stream: str, window: DueWindow):
    return and_(_W.stream == stream, _W.key_value == window.key,
                _W.window_start == window.start, _W.window_end == window.end)


class Closing:
    """The closing half of :class:`WindowState` (it provides the attributes used here)."""

    store: Store
    spec: StreamSpec
    stream: str
    _counting: bool
    _cipher: PayloadCipher
    _clock_mark: float | None = None  # the updated_at this process wrote advancing the clock

    def progress(self) -> Progress:
        with self.store.read() as conn:
            r = conn.execute(select(stream_progress).where(
                stream_progress.c.stream == self.stream)).one()
        return Progress(r.max_event_time, watermark(r.max_event_time, self.spec.allowed_lateness),
                        r.applied, r.late_dead_lettered, r.late_recomputed, r.invalid)

    # ---- quiet streams ------------------------------------------------------------------------

    def advance_idle_clock(self, quiet_s: float) -> bool:
        """Move a quiet stream's time on by the wall-clock time since its last message.

        ``quiet_s``: how long this consumer has fetched nothing. The stream time moves only
        when that and the store's last applied batch (any consumer's) are ``idle_timeout``
        old, then keeps following the wall clock while this consumer alone moves it. It is
        stored, so the watermark never goes back and a later event for a window closed
        this way is late. Returns whether it moved.
        """
        idle = self.spec.idle_timeout
        if self._counting or not idle or quiet_s < idle:
            return False
        p = stream_progress.c
        now = time.time()
        with self.store.read() as conn:
            row = conn.execute(select(p.max_event_time, p.updated_at)
                               .where(p.stream == self.stream)).one()
        if row.max_event_time is None or not self._clock_due(row.updated_at, now):
            return False
        with self.store.write() as conn:
            row = conn.execute(select(p.max_event_time, p.updated_at)
                               .where(p.stream == self.stream).with_for_update()).one()
            if not self._clock_due(row.updated_at, now):
                return False  # another consumer applied or moved it meanwhile
            conn.execute(update(stream_progress).where(p.stream == self.stream).values(
                max_event_time=row.max_event_time + (now - row.updated_at), updated_at=now))
        self._clock_mark = now
        return True

    def _clock_due(self, updated_at: float, now: float) -> bool:
        return now > updated_at and (updated_at == self._clock_mark
                                     or now - updated_at >= self.spec.idle_timeout)

    def flush_idle_counts(self) -> int:
        """Close, unfilled, each key's oldest open count window whose key has had no event
        for ``idle_timeout``, unless the key's latest event is already in a closed window.
        Returns how many closed."""
        if not (self._counting and self.spec.idle_flush):
            return 0
        w2, k = stream_windows.alias("w2"), stream_keys.c
        same_key = and_(w2.c.stream == _W.stream, w2.c.key_value == _W.key_value)
        next_seq = select(k.next_seq).where(k.stream == _W.stream,
                                            k.key_value == _W.key_value).scalar_subquery()
        older_open = select(w2.c.stream).where(same_key, w2.c.status == OPEN,
                                               w2.c.window_start < _W.window_start).exists()
        latest_closed = select(w2.c.stream).where(
            same_key, w2.c.status != OPEN, w2.c.window_start < next_seq,
            w2.c.window_end >= next_seq).exists()
        now = time.time()
        with self.store.write() as conn:
            return conn.execute(update(stream_windows).where(
                _W.stream == self.stream, _W.status == OPEN,
                _W.updated_at <= now - self.spec.idle_timeout, ~older_open, ~latest_closed)
                .values(status=DUE, updated_at=now)).rowcount

    # ---- closing, claiming, deciding ----------------------------------------------------------

    def close_due(self, limit: int = 500, *, lease_s: float = 120.0) -> list[DueWindow]:
        """Close the windows the watermark has passed; the windows due for a decision (and
        those whose claim is older than ``lease_s``: its consumer is presumed dead)."""
        if not self._counting:
            wm = self.progress().watermark
            with self.store.write() as conn:
                conn.execute(update(stream_windows).where(
                    _W.stream == self.stream, _W.status == OPEN, _W.window_end <= wm)
                    .values(status=DUE, updated_at=time.time()))
        stale = time.time() - lease_s
        with self.store.read() as conn:
            rows = conn.execute(
                select(_W.key_value, _W.window_start, _W.window_end, _W.revision, _W.events_count)
                .where(_W.stream == self.stream, or_(
                    _W.status == DUE, and_(_W.status == DECIDING, _W.updated_at <= stale)))
                .order_by(_W.window_end, _W.key_value).limit(limit)).all()
        return [DueWindow(*r) for r in rows]

    def claim(self, window: DueWindow, token: str, *, lease_s: float = 120.0) -> bool:
        """Take this revision's decision (compare-and-set); False when another consumer has
        it, has made it, or the revision moved on."""
        now = time.time()
        with self.store.write() as conn:
            return conn.execute(update(stream_windows).where(
                _this_window(self.stream, window), _W.revision == window.revision,
                or_(_W.status == DUE, and_(_W.status == DECIDING, _W.updated_at <= now - lease_s)))
                .values(status=DECIDING, event_id=token, updated_at=now)).rowcount == 1

    def release(self, window: DueWindow, token: str) -> None:
        """Give a claim back undecided (the decision raised), due for anyone."""
        with self.store.write() as conn:
            conn.execute(update(stream_windows).where(
                _this_window(self.stream, window), _W.status == DECIDING, _W.event_id == token)
                .values(status=DUE, updated_at=time.time()))

    def release_claims(self, token: str) -> int:
        """Claims this consumer's name left behind when it last stopped (a crash between a
        claim and its bookkeeping): due again at once, not after the lease."""
        with self.store.write() as conn:
            return conn.execute(update(stream_windows).where(
                _W.stream == self.stream, _W.status == DECIDING, _W.event_id == token)
                .values(status=DUE, updated_at=time.time())).rowcount

    def events_of(self, window: DueWindow) -> list[dict[str, Any]]:
        """The newest ``decision_events`` events of a window, oldest first, decrypted."""
        e = stream_events.c
        where = [e.stream == self.stream, e.key_value == window.key]
        if self._counting:
            where += [e.seq >= window.start, e.seq < window.end]
            order = [e.seq.desc()]
        else:
            where += [e.event_time >= window.start, e.event_time < window.end]
            order = [e.event_time.desc(), e.id.desc()]
        with self.store.read() as conn:
            payloads = conn.execute(select(e.payload).where(*where).order_by(*order)
                                    .limit(self.spec.decision_events)).scalars().all()
        return [json.loads(self._cipher.open(p)) for p in reversed(payloads)]

    def window_input(self, window: DueWindow) -> dict[str, Any]:
        """The decision's input: its ``window_id`` names (stream, key, bounds, revision), so
        the pipeline's idempotency key makes one decision per window revision."""
        window_id = (f"{self.stream}|{window.key}|{fmt(window.start)}|{fmt(window.end)}"
                     f"|r{window.revision}")
        return {"window_id": window_id, "stream": self.stream, "key": window.key,
                "window_start": window.start, "window_end": window.end,
                "revision": window.revision, "count": window.count,
                "events": self.events_of(window)}

    def mark_decided(self, window: DueWindow, event_id: str) -> None:
        """Record the decision of this revision; a revision bumped meanwhile stays due (or
        open, or claimed by whoever decides it)."""
        current = _W.revision == window.revision
        with self.store.write() as conn:
            conn.execute(update(stream_windows).where(
                _this_window(self.stream, window),
                _W.decided_revision < window.revision).values(
                decided_revision=window.revision,
                event_id=case((and_(~current, _W.status == DECIDING), _W.event_id),
                              else_=bindparam("decision", event_id)),
                status=case((current, DECIDED), else_=_W.status),
                updated_at=time.time()))
