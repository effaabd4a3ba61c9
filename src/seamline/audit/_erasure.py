"""Erasure: forgetting a person while the chain still verifies.

``erase(store, subject, reason=…)`` removes, in one transaction:

- the vault values of every event in which the subject appears (all of that event's
  placeholders: the person's e-mail, name, phone … become unrecoverable, in this store);
- queued raw events that mention the subject (their sealed payload is dropped and the job
  is marked dead with the reason: it cannot run without it);
- the subject's text wherever it is stored in the clear (a handler's result, a dead
  letter, ground truth, an idempotency key …): replaced by ``<ERASED_…>``, the same token
  everywhere so that what referred to it still joins;
- the payloads of audit rows that contain it: payload and salt emptied, the salted
  digest, the links and the hash kept, so the chain and its checkpoints still verify.

The erasure is itself an audit row (``audit_erasure``) naming the subject by a keyed hash
only (HMAC-SHA256 under a key derived from the vault key, so the subject cannot be
confirmed by hashing guesses without that key), with the reason and the erased rows. On
SQLite freed bytes are overwritten and the WAL is emptied; on PostgreSQL run VACUUM.
Backups taken before the erasure still hold what they held: see docs/audit.md.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field

from sqlalchemy import Connection, String, Table, Text, func, select, update

from seamline.audit._chain import AuditEntry, append
from seamline.audit._retention import flush_sqlite, shred_sqlite
from seamline.audit._verify import ERASURE_KIND
from seamline.errors import ConfigError
from seamline.ingest import Vault, vault_key
from seamline.store import Store
from seamline.store.tables import audit_checkpoints, audit_log, jobs, metadata, vault

_SKIP = {audit_log.name, audit_checkpoints.name, vault.name, "alembic_version"}
_BATCH = 2000


@dataclass(frozen=True, slots=True)
class Erased:
    subject: str  # the keyed hash that names the subject in the audit row
    events: int  # events whose vault values were destroyed
    vault_values: int
    jobs: int
    audit_rows: tuple[int, ...]  # seqs whose payload was emptied
    legacy_rows: tuple[int, ...]  # rows before migration 0014 that mention it: kept, named
    replaced: dict[str, int] = field(default_factory=dict)  # "table.column" -> rows rewritten


def normalised(subject: str) -> str:
    return " ".join(subject.split()).casefold()


def subject_hash(store: Store, subject: str) -> str:
    key = hashlib.sha256(b"seamline-erasure-subject\0" + vault_key(store)).digest()
    return hmac.new(key, normalised(subject).encode(), hashlib.sha256).hexdigest()


def _like(norm: str) -> str:
    return "%" + norm.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _erase_vault(conn: Connection, v: Vault, norm: str) -> tuple[set[str], int]:
    events: set[str] = set()
    last = ("", "")
    while True:
        rows = conn.execute(select(vault.c.event_id, vault.c.placeholder, vault.c.ciphertext)
                            .where((vault.c.event_id > last[0]) | ((vault.c.event_id == last[0])
                                                                   & (vault.c.placeholder > last[1])))
                            .order_by(vault.c.event_id, vault.c.placeholder).limit(_BATCH)).all()
        if not rows:
            break
        for event_id, _ph, token in rows:
            try:
                plain = v.unseal(token)
            except ConfigError:
                continue  # another key's value: not readable here, so not matchable
            if norm in normalised(plain):
                events.add(event_id)
        last = (rows[-1][0], rows[-1][1])
    values = 0
    for event_id in events:
        values += conn.execute(vault.delete().where(vault.c.event_id == event_id)).rowcount
    return events, values


def _erase_jobs(conn: Connection, v: Vault, norm: str, reason: str) -> int:
    n = 0
    rows = conn.execute(select(jobs.c.id, jobs.c.payload).where(jobs.c.payload.is_not(None))).all()
    for job_id, token in rows:
        try:
            raw = v.unseal_bytes(token).decode("utf-8", "replace")
        except ConfigError:
            continue
        if norm in normalised(raw):
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(
                payload=None, status="dead", last_error=f"erased before it ran: {reason}"))
            n += 1
    return n


def _text_columns(table: Table) -> list:
    return [c for c in table.columns if isinstance(c.type, String | Text)]


def _erase_text(conn: Connection, norm: str, token: str) -> dict[str, int]:
    """Replace the subject wherever a table keeps it in the clear."""
    pattern = re.compile(re.escape(norm), re.IGNORECASE)
    replaced: dict[str, int] = {}
    for table in metadata.sorted_tables:
        if table.name in _SKIP:
            continue
        pk = list(table.primary_key.columns)
        for col in _text_columns(table):
            hits = conn.execute(select(*pk, col).where(func.lower(col).like(_like(norm), escape="\\"))).all()
            for hit in hits:
                text = hit[-1]
                new = pattern.sub(token, text)
                length = getattr(col.type, "length", None)
                if new == text or (length is not None and len(new) > length):
                    continue
                keys = dict(zip([c.name for c in pk], hit[:-1], strict=True))
                conn.execute(update(table).where(*[c == keys[c.name] for c in pk]).values({col.name: new}))
                replaced[f"{table.name}.{col.name}"] = replaced.get(f"{table.name}.{col.name}", 0) + 1
    return replaced


def _erase_audit(conn: Connection, norm: str) -> tuple[list[int], list[int]]:
    c = audit_log.c
    hits = conn.execute(select(c.seq, c.payload_hash).where(
        func.lower(c.payload).like(_like(norm), escape="\\"), c.kind != ERASURE_KIND)).all()
    erased = [int(s) for s, h in hits if h is not None]
    legacy = [int(s) for s, h in hits if h is None]
    for i in range(0, len(erased), 500):
        conn.execute(update(audit_log).where(c.seq.in_(erased[i:i + 500]))
                     .values(payload="", payload_salt=""))
    return erased, legacy


def erase(store: Store, subject: str, *, reason: str, actor: str = "") -> Erased:
    """Forget ``subject`` (an e-mail, a customer id, a name) everywhere in this store."""
    norm = normalised(subject)
    if len(norm) < 3:
        raise ConfigError("A subject to erase needs at least 3 characters (an e-mail, a "
                          "customer id, a name): a shorter one would match everywhere.")
    if not reason.strip():
        raise ConfigError("An erasure needs a reason (--reason), kept in the audit trail.")
    if norm in normalised(reason) or norm in normalised(actor):
        raise ConfigError("The reason and the actor must not name the subject: they are kept "
                          "in the audit trail, which the subject is being erased from.")
    who = subject_hash(store, subject)
    token = f"<ERASED_{who[:12]}>"
    v = Vault(store)
    with store.write() as conn:
        shred_sqlite(conn)
        events, values = _erase_vault(conn, v, norm)
        n_jobs = _erase_jobs(conn, v, norm, reason)
        replaced = _erase_text(conn, norm, token)
        rows, legacy = _erase_audit(conn, norm)
        append(conn, [AuditEntry("", "", ERASURE_KIND, {
            "subject": who, "reason": reason, "actor": actor, "events": len(events),
            "vault_values": values, "jobs": n_jobs, "rows": rows, "legacy_rows": legacy,
            "replaced": replaced})])
    flush_sqlite(store)
    return Erased(subject=who, events=len(events), vault_values=values, jobs=n_jobs,
                  audit_rows=tuple(rows), legacy_rows=tuple(legacy), replaced=replaced)
