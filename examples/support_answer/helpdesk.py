"""The example's downstream system: replies posted to a ticket, in their own SQLite file.

Like a good vendor API, every write carries an idempotency key and a key seen before
changes nothing (Seamline's outbox already makes each action run once; this shows it).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any


def _connect() -> sqlite3.Connection:
    path = Path(os.environ.get("SUPPORT_ANSWER_HELPDESK_DB", ".seamline/answers.db"))
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("CREATE TABLE IF NOT EXISTS replies (idempotency_key TEXT PRIMARY KEY, "
                 "kind TEXT NOT NULL, ticket_id TEXT NOT NULL, body TEXT NOT NULL)")
    return conn


def _write(kind: str, ticket_id: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    with _connect() as conn:
        cur = conn.execute("INSERT OR IGNORE INTO replies VALUES (?, ?, ?, ?)",
                           (key, kind, ticket_id, json.dumps(body, sort_keys=True)))
    return {"ticket_id": ticket_id, "kind": kind, "replayed": cur.rowcount == 0}


def post_reply(params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
    """Post the cited answer on the ticket."""
    return _write("reply", params["ticket_id"], {"answer": params["answer"],
                                                 "sources": params["sources"]}, idempotency_key)


def hand_over(params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
    """Nothing in the documentation answers it: hand the ticket to a person."""
    return _write("handover", params["ticket_id"], {"question": params["question"]},
                  idempotency_key)
