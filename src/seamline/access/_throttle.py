"""Login rate limiting: failures counted per username and per client address, in the store.

The store, not process memory: ``seamline serve --workers 4`` (or four machines) would
otherwise each allow ``max_failures`` guesses. Each failure is a row; a check counts the
rows of the window (an index on key and time serves it), and rows past the window are
deleted as failures come in, so the table stays the size of one window's failures.

``admit`` counts an attempt *before* its password is checked, in the same transaction
as the count it is checked against, with the keys locked (SQLite: the write lock that
BEGIN IMMEDIATE takes; PostgreSQL: a transaction-scoped advisory lock per key), so
parallel guesses are counted one after another and at most ``max_failures`` of them
reach the password hash. A sign-in that succeeds takes its own attempt back.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, insert, select, text

from seamline.store import Store
from seamline.store.tables import login_failures

_KEY_CHARS = 200  # the column's width; an address or a username longer than this is cut


@dataclass(frozen=True)
class Attempt:
    """An admitted attempt (``wait`` 0, its counted rows in ``ids``) or a refusal (``wait`` s)."""

    wait: int
    ids: tuple[int, ...] = ()


class LoginThrottle:
    """At most ``max_failures`` failed logins per ``window_s`` for a username or an address."""

    def __init__(self, store: Store, max_failures: int = 5, window_s: float = 300.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.store, self.max_failures, self.window_s, self.clock = (
            store, max_failures, window_s, clock)

    def retry_after(self, *keys: str) -> int:
        """Seconds until a login for these keys may be tried again; 0 if it may be now."""
        now = self.clock()
        since = now - self.window_s
        wait = 0.0
        with self.store.read() as conn:
            for key in keys:
                times = conn.execute(
                    select(login_failures.c.at).where(login_failures.c.key == key[:_KEY_CHARS],
                                                      login_failures.c.at > since)
                    .order_by(login_failures.c.at.desc()).limit(self.max_failures)).scalars().all()
                if len(times) >= self.max_failures:
                    # blocked until the oldest of the last max_failures leaves the window
                    wait = max(wait, times[-1] + self.window_s - now)
        return math.ceil(wait) if wait > 0 else 0

    def admit(self, *keys: str) -> Attempt:
        """Count one attempt against every key at once, unless a key is at its limit already.

        Refused (``wait`` > 0): nothing is counted. Admitted: the attempt is a failure until
        ``succeeded`` takes it back, so a crash between here and the password check still
        counts against the guesser.
        """
        now = self.clock()
        cut = sorted({k[:_KEY_CHARS] for k in keys})
        with self.store.write() as conn:
            self._lock(conn, cut)
            wait = 0.0
            for key in cut:
                query = (select(login_failures.c.at)
                         .where(login_failures.c.key == key, login_failures.c.at > now - self.window_s)
                         .order_by(login_failures.c.at.desc()).limit(self.max_failures))
                if conn.dialect.name not in ("sqlite", "postgresql"):
                    query = query.with_for_update()  # elsewhere: lock the rows counted
                times = conn.execute(query).scalars().all()
                if len(times) >= self.max_failures:
                    wait = max(wait, times[-1] + self.window_s - now)
            if wait > 0:
                return Attempt(max(1, math.ceil(wait)))
            ids = tuple(conn.execute(insert(login_failures).values(key=key, at=now)
                                     .returning(login_failures.c.id)).scalar_one()
                        for key in cut)
            conn.execute(delete(login_failures).where(login_failures.c.at <= now - self.window_s))
        return Attempt(0, ids)

    @staticmethod
    def _lock(conn: Connection, keys: Sequence[str]) -> None:
        # Sorted keys, so two attempts sharing two keys cannot each hold one and wait.
        if conn.dialect.name == "postgresql":
            for key in keys:
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self.store.write() as conn:
            conn.execute(insert(login_failures), [{"key": k[:_KEY_CHARS], "at": now}
                                                  for k in keys])
            conn.execute(delete(login_failures).where(login_failures.c.at <= now - self.window_s))

    def succeeded(self, key: str, attempt: Attempt | None = None) -> None:
        """Forget ``key``'s failures, and take back the rows ``attempt`` counted."""
        with self.store.write() as conn:
            conn.execute(delete(login_failures).where(login_failures.c.key == key[:_KEY_CHARS]))
            if attempt is not None and attempt.ids:
                conn.execute(delete(login_failures).where(login_failures.c.id.in_(attempt.ids)))

    def count(self, key: str) -> int:
        """Failures of ``key`` within the window (for tests and the console)."""
        with self.store.read() as conn:
            return conn.execute(select(func.count()).select_from(login_failures).where(
                login_failures.c.key == key[:_KEY_CHARS],
                login_failures.c.at > self.clock() - self.window_s)).scalar_one()
