"""Retention: payloads past their time are dropped, the hash skeleton stays.

A purged row keeps its seq, event, kind, time, links and salted payload digest; its payload
and salt become ''. The row's hash never covered the payload itself, so the chain and every
checkpoint still verify, and the purge is itself an audit row (``audit_purge``: the cutoff,
the count) that ``verify`` holds every emptied payload against. Rows written before
migration 0014 hash their payload directly; they are kept whole and counted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, select, update

from seamline.audit._chain import AuditEntry, append
from seamline.audit._verify import ERASURE_KIND, PURGE_KIND
from seamline.store import Store
from seamline.store.tables import audit_log

# Records that verification reads: never purged.
KEPT_KINDS = (PURGE_KIND, ERASURE_KIND, "audit_key_rotated", "audit_key_replaced")


@dataclass(frozen=True, slots=True)
class Purged:
    rows: int
    older_than: float  # the cutoff (Unix seconds)
    kept_legacy: int  # rows before migration 0014 past the cutoff, kept whole


def shred_sqlite(conn: Connection) -> None:
    """On SQLite, overwrite freed bytes as this transaction frees them (not left in free pages)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA secure_delete=ON")


def flush_sqlite(store: Store) -> None:
    """Write the WAL into the database file and empty it: old page images go too."""
    if store.dialect == "sqlite":
        with store.read() as conn:
            conn.exec_driver_sql("PRAGMA secure_delete=OFF")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def purge(store: Store, *, older_than_s: float, actor: str = "", now: float | None = None) -> Purged:
    """Drop the payloads of rows older than ``older_than_s`` seconds; one audited transaction."""
    if older_than_s <= 0:
        raise ValueError("older_than_s must be positive")
    now = time.time() if now is None else now
    cutoff = now - older_than_s
    c = audit_log.c
    due = and_(c.created_at < cutoff, c.kind.not_in(KEPT_KINDS))
    with store.write() as conn:
        shred_sqlite(conn)
        legacy = conn.execute(select(func.count()).select_from(audit_log)
                              .where(due, c.payload_hash.is_(None))).scalar_one()
        n = conn.execute(update(audit_log).where(due, c.payload_hash.is_not(None), c.payload != "")
                         .values(payload="", payload_salt="")).rowcount
        append(conn, [AuditEntry("", "", PURGE_KIND, {
            "older_than": cutoff, "rows": n, "kept_legacy": legacy, "actor": actor})], now=now)
    flush_sqlite(store)
    return Purged(rows=n, older_than=cutoff, kept_legacy=legacy)
