"""Waking idle workers when jobs arrive, instead of letting them sleep out a poll interval.

In one process (``seamline serve`` with its in-process workers) an enqueue sets the
waiting workers' events directly. Across processes and machines on PostgreSQL, the
enqueue transaction sends ``NOTIFY seamline_jobs`` (delivered only if it commits) and
each worker keeps one connection that ``LISTEN``s. Polling stays as the safety net:
a missed wake-up costs at most one poll interval, never a job.
"""

from __future__ import annotations

import logging
import threading
import weakref

from sqlalchemy import Connection, text

from seamline.store import Store

CHANNEL = "seamline_jobs"
log = logging.getLogger("seamline.worker")

_waiters: weakref.WeakSet[threading.Event] = weakref.WeakSet()
_lock = threading.Lock()


def register(event: threading.Event) -> None:
    with _lock:
        _waiters.add(event)


def announce(conn: Connection) -> None:
    """Inside the enqueue transaction: wake workers here now, and elsewhere on commit."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    with _lock:
        waiters = list(_waiters)
    for event in waiters:
        event.set()


def listen(store: Store, wake: threading.Event, stop: threading.Event) -> threading.Thread | None:
    """On PostgreSQL, a thread that sets ``wake`` on every NOTIFY until ``stop`` is set."""
    if store.dialect != "postgresql":
        return None
    import psycopg

    conninfo = store.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def run() -> None:
        while not stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            wake.set()
            except Exception:
                log.warning("the job-notification listener lost its connection; retrying",
                            exc_info=True)
                stop.wait(5.0)

    thread = threading.Thread(target=run, name="seamline-listen", daemon=True)
    thread.start()
    return thread
