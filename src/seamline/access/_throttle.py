"""Login rate limiting: failures counted per username and per client address, in the store.

The store, not process memory: ``seamline serve --workers 4`` (or four machines) would
otherwise each allow ``max_failures`` guesses. Each failure is a row; a check counts the
rows of the window (an index on key and time serves it), and rows past the window are
deleted as failures come in, so the table stays the size of one window's failures.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from sqlalchemy import delete, func, insert, select

from seamline.store import Store
from seamline.store.tables import login_failures

_KEY_CHARS = 200  # the column's width; an address or a username longer than this is cut


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

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self.store.write() as conn:
            conn.execute(insert(login_failures), [{"key": k[:_KEY_CHARS], "at": now}
                                                  for k in keys])
            conn.execute(delete(login_failures).where(login_failures.c.at <= now - self.window_s))

    def succeeded(self, key: str) -> None:
        with self.store.write() as conn:
            conn.execute(delete(login_failures).where(login_failures.c.key == key[:_KEY_CHARS]))

    def count(self, key: str) -> int:
        """Failures of ``key`` within the window (for tests and the console)."""
        with self.store.read() as conn:
            return conn.execute(select(func.count()).select_from(login_failures).where(
                login_failures.c.key == key[:_KEY_CHARS],
                login_failures.c.at > self.clock() - self.window_s)).scalar_one()
