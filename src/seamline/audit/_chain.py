"""Layer 6, audit: an append-only, hash-chained log of everything an event did.

Each row's hash covers the previous row's hash and its own content, so an edited,
deleted or reordered row breaks the chain at a place ``verify`` can name.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from seamline.errors import AuditError
from seamline.ingest import redact
from seamline.scrub import configured_secrets, scrub
from seamline.store import FastStatement, Store
from seamline.store.tables import audit_head, audit_log

GENESIS = "0" * 64


def canonical_json(payload: Any) -> str:
    """The one serialisation that is hashed: sorted keys, no spaces, UTF-8 kept.

    A lone surrogate (which UTF-8 cannot encode, so neither the hash nor the store could
    take it) is written as its JSON escape instead: it reads back as the same string."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    if not text.isascii() and re.search("[\ud800-\udfff]", text):
        text = re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def row_hash(prev_hash: str, seq: int, event_id: str, integration: str, kind: str,
             created_at: float, payload: str) -> str:
    head = f"{prev_hash}\n{seq}|{event_id}|{integration}|{kind}|{created_at!r}|"
    return hashlib.sha256(head.encode() + payload.encode()).hexdigest()


_DETECTED = "<SECRET>"  # a secret found by its shape; by value it is <SECRET_FROM_ENV>
_SECRET_KIND = ("SECRET",)
# A key's fingerprint (access.key_label, "api-key:3f2a…") names who acted; it is no secret.
_FINGERPRINT = re.compile(r"(?:api-key:)?[0-9a-f]{10}")


_MEMO_CHARS = 200  # ids, names, labels: the same few recur in every entry of every event


def _clean_text(text: str, secrets: tuple[str, ...]) -> str:
    """A string the trail keeps: configured secrets out by value, then any secret by shape.

    A last guard: whatever the layers above did, a secret held in the environment or
    shaped like one (a vendor token, ``password: …``) never lands in the trail verbatim.
    """
    if len(text) <= _MEMO_CHARS:
        return _clean_short(text, secrets)
    return _clean_now(text, secrets)


@functools.lru_cache(maxsize=4096)
def _clean_short(text: str, secrets: tuple[str, ...]) -> str:
    # ``secrets`` is half the key: a changed environment is another entry.
    return _clean_now(text, secrets)


def _clean_now(text: str, secrets: tuple[str, ...]) -> str:
    text = scrub(text, secrets=secrets)
    found = redact(text, kinds=_SECRET_KIND)
    if not found.entities:
        return text
    out, pos = [], 0
    for e in found.entities:
        if _FINGERPRINT.fullmatch(e.value) and (
                e.value.startswith("api-key:") or text[:e.start].endswith("api-key:")):
            continue
        out += [text[pos:e.start], _DETECTED]
        pos = e.end
    out.append(text[pos:])
    return "".join(out)


def _clean(value: Any, secrets: tuple[str, ...]) -> Any:
    """``value`` with :func:`_clean_text` applied to every string, keys included, before it
    is serialised and hashed (so the hash covers what is kept, and escapes hide nothing)."""
    if isinstance(value, str):
        return _clean_text(value, secrets)
    if isinstance(value, dict):
        return {_clean_text(k, secrets) if isinstance(k, str) else k: _clean(v, secrets)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v, secrets) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return _clean_text(str(value), secrets)  # what canonical_json writes for it (default=str)


# Built once: constructing statements per call costs more than executing them.
_HEAD = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
_HEAD_FOR_UPDATE = _HEAD.with_for_update()
_INSERT = FastStatement(insert(audit_log))
_MOVE_HEAD = FastStatement(
    update(audit_head)
    .where(audit_head.c.id == 1, audit_head.c.seq == bindparam("old_seq"),
           audit_head.c.hash == bindparam("old_hash"))
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash")))
# The head each engine (each store in this process) last wrote.
_HEADS: weakref.WeakKeyDictionary[Engine, tuple[int, str]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    event_id: str
    integration: str
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)


def append(conn: Connection, entries: Iterable[AuditEntry], *, now: float | None = None) -> int:
    """Append entries inside the caller's transaction; returns the new head's seq.

    The head row is moved with a compare-and-set on the head this process last
    saw; if another writer (process, machine) moved it meanwhile, the head is
    re-read under a lock and the hashes recomputed. Writers thus extend one chain.
    """
    entries = list(entries)
    if not entries:
        return -1
    engine = conn.engine
    cached = _HEADS.get(engine)
    if cached is None:
        cached = _read_head(conn)
    created = time.time() if now is None else now
    rows, head = _chain_rows(entries, cached, created)
    if _MOVE_HEAD.run(conn, {"old_seq": cached[0], "old_hash": cached[1],
                             "new_seq": head[0], "new_hash": head[1]}) != 1:
        cached = _read_head(conn)
        rows, head = _chain_rows(entries, cached, created)
        if _MOVE_HEAD.run(conn, {"old_seq": cached[0], "old_hash": cached[1],
                                 "new_seq": head[0], "new_hash": head[1]}) != 1:
            raise AuditError("The audit chain head moved while it was locked; the store is inconsistent.")
    _INSERT.run_many(conn, rows)
    # If the caller's transaction rolls back, the compare-and-set above fails next time
    # and the head is re-read: the cache can be stale but never wrong in effect.
    _HEADS[engine] = head
    return head[0]


def _read_head(conn: Connection) -> tuple[int, str]:
    # SQLite's BEGIN IMMEDIATE already serialises writers; elsewhere lock the head row.
    row = conn.execute(_HEAD if conn.dialect.name == "sqlite" else _HEAD_FOR_UPDATE).one()
    return row[0], row[1]


def _chain_rows(entries: list[AuditEntry], head: tuple[int, str],
                created: float) -> tuple[list[dict[str, Any]], tuple[int, str]]:
    seq, prev = head
    secrets = configured_secrets()  # once per append: the environment is the same throughout
    rows = []
    for e in entries:
        seq += 1
        payload = canonical_json(_clean(e.payload, secrets))
        h = row_hash(prev, seq, e.event_id, e.integration, e.kind, created, payload)
        rows.append({"seq": seq, "event_id": e.event_id, "integration": e.integration,
                     "kind": e.kind, "payload": payload, "created_at": created,
                     "prev_hash": prev, "hash": h})
        prev = h
    return rows, (seq, prev)


@dataclass(frozen=True, slots=True)
class ChainProblem:
    seq: int
    what: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    rows: int
    problems: tuple[ChainProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(store: Store, *, batch: int = 5000) -> VerifyReport:
    """Recompute the chain from the first row and name every row that breaks it."""
    problems: list[ChainProblem] = []
    prev_hash, prev_seq, count = GENESIS, 0, 0
    cols = audit_log.c
    with store.read() as conn:
        last = -(2**63)  # forged rows with seq <= 0 must be read too
        while True:
            chunk = conn.execute(
                select(cols.seq, cols.event_id, cols.integration, cols.kind, cols.payload,
                       cols.created_at, cols.prev_hash, cols.hash)
                .where(cols.seq > last).order_by(cols.seq).limit(batch)
            ).all()
            if not chunk:
                break
            for r in chunk:
                count += 1
                if r.seq != prev_seq + 1:
                    problems.append(ChainProblem(
                        r.seq, f"row {r.seq} follows row {prev_seq}: rows "
                        f"{prev_seq + 1}..{r.seq - 1} were deleted" if r.seq > prev_seq + 1
                        else f"row {r.seq} is out of order"))
                if r.prev_hash != prev_hash:
                    problems.append(ChainProblem(
                        r.seq, f"row {r.seq} does not link to the row before it "
                        "(a row was deleted, inserted or reordered)"))
                expected = row_hash(r.prev_hash, r.seq, r.event_id, r.integration, r.kind,
                                    r.created_at, r.payload)
                if expected != r.hash:
                    problems.append(ChainProblem(
                        r.seq, f"row {r.seq} ({r.kind} of event {r.event_id}) was edited: "
                        "its content no longer matches its hash"))
                prev_hash, prev_seq = r.hash, r.seq
            last = chunk[-1].seq
        head_seq, head_hash = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).one()
    if head_seq != prev_seq or head_hash != prev_hash:
        problems.append(ChainProblem(
            head_seq, f"the chain head says row {head_seq} is last but the log ends at row "
            f"{prev_seq}: rows at the end were deleted or the head was edited"))
    return VerifyReport(rows=count, problems=tuple(problems))


def story(store: Store, event_id: str) -> list[dict[str, Any]]:
    """Every audit row of one event, oldest first, payloads decoded."""
    cols = audit_log.c
    with store.read() as conn:
        rows = conn.execute(
            select(cols.seq, cols.kind, cols.payload, cols.created_at)
            .where(cols.event_id == event_id).order_by(cols.seq)
        ).all()
    return [{"seq": r.seq, "kind": r.kind, "at": r.created_at, "payload": json.loads(r.payload)}
            for r in rows]
