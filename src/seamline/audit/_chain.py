"""Layer 6, audit: an append-only, hash-chained log of everything an event did.

Each row's hash covers the previous row's hash, its own columns and the SHA-256 of its
payload (``payload_hash``), so an edited, deleted or reordered row breaks the chain at a
place ``verify`` can name, and a payload purged past retention leaves a row that still
verifies. Rows written before migration 0014 (``payload_hash`` NULL) hash the payload
itself (:func:`row_hash`). The chain is committed to outside the database by signed
checkpoints (``_checkpointer``); ``append`` only tells the checkpointer that rows arrived.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from hashlib import sha256
from os import urandom
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from seamline.errors import AuditError
from seamline.scrub import configured_secrets, scrub
from seamline.store import FastStatement
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
    """The hash of a row written before migration 0014: it covers the payload itself."""
    head = f"{prev_hash}\n{seq}|{event_id}|{integration}|{kind}|{created_at!r}|"
    return hashlib.sha256(head.encode() + payload.encode()).hexdigest()


def payload_digest(salt: str, payload: str) -> str:
    """The salted commitment to a payload: SHA-256 of the salt's 16 bytes and the payload."""
    return hashlib.sha256(bytes.fromhex(salt) + payload.encode()).hexdigest()


def link_hash(prev_hash: str, seq: int, event_id: str, integration: str, kind: str,
              created_at: float, payload_hash: str) -> str:
    """The hash of a row: the one before it, its columns, and its payload's digest.

    ``sha256:`` cannot begin a canonical JSON payload, so no row of one form hashes the
    same bytes as a row of the other."""
    head = f"{prev_hash}\n{seq}|{event_id}|{integration}|{kind}|{created_at!r}|sha256:{payload_hash}"
    return hashlib.sha256(head.encode()).hexdigest()


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


@functools.cache
def _redact() -> Callable[..., Any]:
    # The redactor's detectors are imported by the first entry that is appended, not by
    # importing the chain: reading the trail, or a queue beside it, needs none of them.
    from seamline.ingest import redact

    return redact


def _clean_now(text: str, secrets: tuple[str, ...]) -> str:
    text = scrub(text, secrets=secrets)
    found = _redact()(text, kinds=_SECRET_KIND)
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
# Who wants to hear that rows were appended through an engine (a Checkpointer): called with
# the number of rows, inside the caller's transaction, so it only counts; it never writes.
_WATCHERS: weakref.WeakKeyDictionary[Engine, Callable[[int], None]] = weakref.WeakKeyDictionary()


def watch(engine: Engine, on_rows: Callable[[int], None] | None) -> None:
    """Have ``on_rows(n)`` called after each append through ``engine`` (None: stop)."""
    if on_rows is None:
        _WATCHERS.pop(engine, None)
    else:
        _WATCHERS[engine] = on_rows


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
    watcher = _WATCHERS.get(engine)
    if watcher is not None:
        watcher(len(rows))
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
    salts = urandom(16 * len(entries))  # one system call per append, not one per row
    for i, e in enumerate(entries):
        seq += 1
        payload = canonical_json(_clean(e.payload, secrets))
        salt = salts[16 * i:16 * i + 16]
        digest = sha256(salt + payload.encode()).hexdigest()
        h = link_hash(prev, seq, e.event_id, e.integration, e.kind, created, digest)
        rows.append({"seq": seq, "event_id": e.event_id, "integration": e.integration,
                     "kind": e.kind, "payload": payload, "created_at": created,
                     "prev_hash": prev, "hash": h, "payload_hash": digest,
                     "payload_salt": salt.hex()})
        prev = h
    return rows, (seq, prev)
