"""Signing the chain's head every N rows or T seconds, off the path that appends.

``append`` only counts rows (``_chain.watch``); a daemon thread wakes when ``every_rows``
have arrived or ``every_s`` has passed, reads the *committed* head in a transaction of its
own (so a checkpoint never names a row that a rolled-back transaction wrote), checks that
the row the last checkpoint signed still has the hash it signed (a chain rewritten behind
the last checkpoint is refused a signature, and said so in the log), signs, keeps a copy in
``audit_checkpoints`` and publishes to the sink. A sink that is down keeps checkpoints
unpublished; they go out with the next one. At exit the tail is signed once more.

What is in the window between two checkpoints (up to ``every_rows`` rows, ``every_s``
seconds) is not yet committed to: a writer who rewrites those rows before the next
checkpoint gets the rewrite signed. ``docs/audit.md`` says so.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy import insert, select, update

from seamline.audit._chain import watch
from seamline.audit._checkpoint import GENESIS, Checkpoint
from seamline.audit._signing import PublicKey, Signer
from seamline.audit._sinks import Sink
from seamline.errors import AuditError, SeamlineError
from seamline.store import Store
from seamline.store.tables import audit_checkpoints, audit_head, audit_log

log = logging.getLogger("seamline.audit")

EVERY_ROWS = 10_000
EVERY_S = 5.0
MARK_EVERY = 100  # a mark every 100 rows: ~100 marks (1.6 KB) in a 10,000-row checkpoint
MARK_CHARS = 16


@dataclass(frozen=True, slots=True)
class Signed:
    checkpoint: Checkpoint | None  # None: the head had not moved since the last one
    published: int  # checkpoints handed to the sink by this call (earlier unpublished ones too)


def _last(conn) -> Checkpoint | None:
    body = conn.execute(select(audit_checkpoints.c.body)
                        .order_by(audit_checkpoints.c.idx.desc()).limit(1)).scalar()
    return Checkpoint.from_json(body) if body else None


def sign_head(store: Store, signer: Signer, *, next_key: PublicKey | None = None,
              force: bool = False, now: float | None = None,
              mark_every: int = MARK_EVERY) -> Checkpoint | None:
    """Sign the committed head and keep the checkpoint in the store (not yet published).

    None when the head has not moved since the last checkpoint (unless ``force``, or a
    rotation: ``next_key``). Raises AuditError when the row the last checkpoint signed no
    longer has the signed hash: the chain was rewritten, and it is not signed again."""
    with store.write() as conn:
        head_q = select(audit_head.c.seq, audit_head.c.hash)
        if conn.dialect.name != "sqlite":
            head_q = head_q.with_for_update()  # appends wait the few µs this takes
        seq, head = conn.execute(head_q).one()
        last = _last(conn)
        if last is not None:
            if last.seq == seq and last.hash == head and not force and next_key is None:
                return None
            if last.seq > 0:
                still = conn.execute(select(audit_log.c.hash).where(audit_log.c.seq == last.seq)).scalar()
                if still != last.hash:
                    raise AuditError(
                        f"Row {last.seq} no longer has the hash checkpoint {last.idx} signed: the "
                        "audit chain was rewritten in the database; no new checkpoint is signed. "
                        "Run: seamline audit verify")
        since = last.seq if last else 0
        c = audit_log.c
        marks = tuple((int(s_), h[:MARK_CHARS]) for s_, h in conn.execute(
            select(c.seq, c.hash).where(c.seq > since, c.seq < seq, c.seq % mark_every == 0)
            .order_by(c.seq)).all()) if mark_every > 0 else ()
        cp = Checkpoint(idx=(last.idx + 1) if last else 1, seq=int(seq), hash=str(head),
                        at=time.time() if now is None else now, key_id=signer.key_id,
                        prev=last.digest if last else GENESIS,
                        next_key=next_key.text if next_key else "", marks=marks).signed_by(signer)
        conn.execute(insert(audit_checkpoints).values(
            idx=cp.idx, seq=cp.seq, hash=cp.hash, key_id=cp.key_id, at=cp.at, body=cp.to_json(),
            published=False))
    return cp


def publish_pending(store: Store, sink: Sink) -> int:
    """Hand every unpublished checkpoint to the sink, oldest first; returns how many went."""
    with store.read() as conn:
        rows = conn.execute(select(audit_checkpoints.c.idx, audit_checkpoints.c.body)
                            .where(audit_checkpoints.c.published.is_(False))
                            .order_by(audit_checkpoints.c.idx)).all()
    sent = 0
    for idx, body in rows:
        sink.publish(Checkpoint.from_json(body))
        with store.write() as conn:
            conn.execute(update(audit_checkpoints).where(audit_checkpoints.c.idx == idx)
                         .values(published=True))
        sent += 1
    return sent


def checkpoint(store: Store, signer: Signer, sink: Sink | None, *, force: bool = False,
               next_key: PublicKey | None = None, mark_every: int = MARK_EVERY) -> Signed:
    """Sign the head (if it moved) and publish what is pending: one checkpoint, now."""
    cp = sign_head(store, signer, force=force, next_key=next_key, mark_every=mark_every)
    return Signed(cp, publish_pending(store, sink) if sink is not None else 0)


class Checkpointer:
    """The background signer of one store in this process."""

    def __init__(self, store: Store, signer: Signer, sink: Sink | None, *,
                 every_rows: int = EVERY_ROWS, every_s: float = EVERY_S) -> None:
        self.store, self.signer, self.sink = store, signer, sink
        self.every_rows, self.every_s = max(1, every_rows), max(0.05, every_s)
        self._pending = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.last_error = ""
        self.signed = 0

    def rows_appended(self, n: int) -> None:
        """From ``append``, inside a writer's transaction: count, maybe wake; never write."""
        self._pending += n  # a lost increment under a race only delays a checkpoint
        if self._pending >= self.every_rows:
            self._wake.set()
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="seamline-audit-checkpoints",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.every_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            self.run_once()

    def run_once(self) -> Checkpoint | None:
        if self.store.closed:
            return None
        self._pending = 0
        try:
            done = checkpoint(self.store, self.signer, self.sink)
        except SeamlineError as exc:  # AuditError (rewritten chain), a sink that is down
            if str(exc) != self.last_error:
                log.error("audit checkpoint: %s", exc)
            self.last_error = str(exc)
            return None
        except Exception as exc:  # noqa: BLE001 - a background signer must not die silently
            log.error("audit checkpoint failed: %s", exc.__class__.__name__)
            self.last_error = exc.__class__.__name__
            return None
        self.last_error = ""
        if done.checkpoint is not None:
            self.signed += 1
        return done.checkpoint

    def attach(self) -> Checkpointer:
        watch(self.store.engine, self.rows_appended)
        _running.add(self)
        self.store.before_close(self.close)  # the tail is signed before the store goes
        return self

    def close(self, *, final: bool = True) -> None:
        """Stop the thread; with ``final``, sign and publish the tail first."""
        if self._stop.is_set() and self not in _running:
            return
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        watch(self.store.engine, None)
        _running.discard(self)
        if final:
            self.run_once()


_running: set[Checkpointer] = set()


@atexit.register
def _sign_the_tail() -> None:  # pragma: no cover - runs at interpreter exit
    for cp in list(_running):
        try:
            cp.close(final=True)
        except Exception:  # noqa: BLE001, S110 - at exit there is nobody left to tell
            pass
