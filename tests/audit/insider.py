"""What a database writer does to the audit trail: the attacker of tests/audit/test_tamper.py.

They can run any SQL: drop the append-only triggers, rewrite rows, recompute every salt,
digest and hash the way the runtime does, move the head. They cannot read the signing key
(it is not in the database) nor write the checkpoint sink (it is somewhere else).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

from sqlalchemy import delete, insert, select, update

from seamline.audit._chain import link_hash
from seamline.store.tables import audit_head, audit_log

GENESIS = "0" * 64


def drop_triggers(store) -> None:
    with store.write() as conn:
        if store.dialect == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_delete")
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")


def rows(store) -> list[dict]:
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(audit_log).order_by(audit_log.c.seq))]


def rewrite(store, change: Callable[[list[dict]], list[dict]]) -> None:
    """Replace the whole log by ``change(rows)``, renumbered and rehashed, with a head to match."""
    drop_triggers(store)
    before = rows(store)
    new = change([dict(r) for r in before])
    prev = GENESIS
    for i, r in enumerate(new, start=1):
        if i <= len(before) and r == before[i - 1] and r["prev_hash"] == prev:
            prev = r["hash"]  # the untouched prefix keeps its hashes: a careful writer
            continue
        salt = os.urandom(16)
        digest = hashlib.sha256(salt + r["payload"].encode()).hexdigest()
        r.update(seq=i, prev_hash=prev, payload_salt=salt.hex(), payload_hash=digest,
                 hash=link_hash(prev, i, r["event_id"], r["integration"], r["kind"],
                                r["created_at"], digest))
        prev = r["hash"]
    with store.write() as conn:
        conn.execute(delete(audit_log))
        if new:
            conn.execute(insert(audit_log), new)
        conn.execute(update(audit_head).values(seq=len(new), hash=prev))


def edit_payload(seq: int, payload: str) -> Callable[[list[dict]], list[dict]]:
    def change(rs: list[dict]) -> list[dict]:
        for r in rs:
            if r["seq"] == seq:
                r["payload"] = payload
        return rs
    return change


def truncate_after(seq: int) -> Callable[[list[dict]], list[dict]]:
    return lambda rs: [r for r in rs if r["seq"] <= seq]


def delete_row(seq: int) -> Callable[[list[dict]], list[dict]]:
    return lambda rs: [r for r in rs if r["seq"] != seq]


def swap(a: int, b: int) -> Callable[[list[dict]], list[dict]]:
    def change(rs: list[dict]) -> list[dict]:
        i, j = a - 1, b - 1
        rs[i], rs[j] = rs[j], rs[i]
        return rs
    return change
