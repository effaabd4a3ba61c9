"""The demo's downstream system: a small helpdesk in its own SQLite file.

It stands in for Zendesk or Freshdesk and behaves like a good vendor API: every
write carries an idempotency key, and a key seen before changes nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS writes (
    idempotency_key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    body TEXT NOT NULL
)
"""


def helpdesk_path() -> Path:
    return Path(os.environ.get("SUPPORT_TRIAGE_HELPDESK_DB", ".seamline/helpdesk.db"))


def _connect() -> sqlite3.Connection:
    path = helpdesk_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(_SCHEMA)
    return conn


def _write(kind: str, ticket_id: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    with _connect() as conn:
        cur = conn.execute(
            "INSERT OR IGNORE INTO writes (idempotency_key, kind, ticket_id, body) VALUES (?, ?, ?, ?)",
            (key, kind, ticket_id, json.dumps(body, sort_keys=True)),
        )
        return {"ticket_id": ticket_id, "kind": kind, "replayed": cur.rowcount == 0}


def tag_ticket(params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
    """Put the intent and urgency tags on the ticket."""
    return _write("tags", params["ticket_id"], {"tags": params["tags"]}, idempotency_key)


def escalate(params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
    """Page the on-call lead with the summary and the customer's real contact address."""
    body = {"summary": params["summary"], "urgency": params["urgency"], "contact": params["contact"]}
    return _write("escalation", params["ticket_id"], body, idempotency_key)


def writes() -> list[tuple[str, str, str, dict[str, Any]]]:
    """Every write the helpdesk received: (idempotency_key, kind, ticket_id, body)."""
    with _connect() as conn:
        rows = conn.execute("SELECT idempotency_key, kind, ticket_id, body FROM writes").fetchall()
    return [(k, kind, t, json.loads(b)) for k, kind, t, b in rows]
