"""The chaos test's downstream system: a PostgreSQL schema that outlives every worker.

Each call is recorded as a delivery; its effect is applied once per idempotency key, as
a real connector that honours idempotency keys does. After delivering, the handler waits
a little before returning: that is the window between "sent" and "recorded in the
outbox", which the test's SIGKILLs must hit now and then (a delivery seen twice).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time

import psycopg

DDL = """
CREATE SCHEMA IF NOT EXISTS downstream;
CREATE TABLE IF NOT EXISTS downstream.deliveries (
    id bigserial PRIMARY KEY, idempotency_key text NOT NULL, params jsonb NOT NULL,
    pid integer NOT NULL, at double precision NOT NULL);
CREATE TABLE IF NOT EXISTS downstream.effects (
    idempotency_key text PRIMARY KEY, params jsonb NOT NULL, pid integer NOT NULL);
"""

_local = threading.local()


def _conn() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(os.environ["CHAOS_DOWNSTREAM_URL"], autocommit=True)
    return conn


def deliver(params: dict, *, idempotency_key: str) -> dict:
    """Deliver one action: record it, apply its effect once per key, then linger."""
    if random.random() < float(os.environ.get("CHAOS_DOWNSTREAM_FAIL_P", "0")):
        raise ConnectionError("the downstream system blinked")  # before anything was sent
    conn = _conn()
    body = json.dumps(params, sort_keys=True)
    with conn.transaction():
        conn.execute("INSERT INTO downstream.deliveries (idempotency_key, params, pid, at) "
                     "VALUES (%s, %s, %s, %s)", (idempotency_key, body, os.getpid(), time.time()))
        # A second delivery of a key changes nothing: the receiver's idempotency.
        applied = conn.execute(
            "INSERT INTO downstream.effects (idempotency_key, params, pid) VALUES (%s, %s, %s) "
            "ON CONFLICT (idempotency_key) DO NOTHING",
            (idempotency_key, body, os.getpid())).rowcount
    time.sleep(float(os.environ.get("CHAOS_DOWNSTREAM_LINGER_S", "0.02")))
    return {"applied": applied == 1}
