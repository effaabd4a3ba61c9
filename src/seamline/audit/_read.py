"""Reading the trail out of the store: rows in seq order, an event's story, an export.

An export is the whole chain as JSON lines (a header with the head, then one array per
row): what an auditor verifies with the public key and the checkpoints, without the
database and without trusting whoever runs it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import select

from seamline.audit._verify import EXPORT_FORMAT, Row
from seamline.store import Store
from seamline.store.tables import audit_head, audit_log

_COLS = audit_log.c
_ROW = (_COLS.seq, _COLS.event_id, _COLS.integration, _COLS.kind, _COLS.payload,
        _COLS.created_at, _COLS.prev_hash, _COLS.hash, _COLS.payload_hash, _COLS.payload_salt)


def stored_rows(store: Store, *, batch: int = 5000) -> Iterator[Row]:
    """Every row, oldest first, read in batches by seq (forged rows with seq <= 0 too)."""
    last = -(2**63)
    while True:
        with store.read() as conn:
            chunk = conn.execute(select(*_ROW).where(_COLS.seq > last)
                                 .order_by(_COLS.seq).limit(batch)).all()
        if not chunk:
            return
        for r in chunk:
            yield Row._make(r)
        last = chunk[-1][0]


def stored_head(store: Store) -> tuple[int, str]:
    with store.read() as conn:
        seq, h = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).one()
    return int(seq), str(h)


def export(store: Store, out: IO[str], *, batch: int = 5000) -> int:
    """Write the chain to ``out`` as an export; returns the number of rows.

    The head is read first: rows appended while the export runs are included only up to
    it, so the export is one consistent prefix of the chain."""
    head = stored_head(store)
    out.write(json.dumps({"format": EXPORT_FORMAT, "head": {"seq": head[0], "hash": head[1]},
                          "exported_at": time.time()}) + "\n")
    n = 0
    for r in stored_rows(store, batch=batch):
        if r.seq > head[0]:
            break
        out.write(json.dumps([r.seq, r.event_id, r.integration, r.kind, r.created_at, r.payload,
                              r.payload_hash, r.payload_salt, r.prev_hash, r.hash],
                             ensure_ascii=False) + "\n")
        n += 1
    return n


def story(store: Store, event_id: str) -> list[dict[str, Any]]:
    """Every audit row of one event, oldest first, payloads decoded (None once purged)."""
    with store.read() as conn:
        rows = conn.execute(
            select(_COLS.seq, _COLS.kind, _COLS.payload, _COLS.created_at)
            .where(_COLS.event_id == event_id).order_by(_COLS.seq)
        ).all()
    return [{"seq": r.seq, "kind": r.kind, "at": r.created_at,
             "payload": json.loads(r.payload) if r.payload else None}
            for r in rows]
