"""Server-side sessions: the cookie holds a random token, the store its SHA-256 only.

A session ends at its absolute expiry or after an idle timeout, whichever comes first;
the user's role and disabled flag are read with every lookup, so a change holds at once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update

from seamline.access._roles import Role
from seamline.store import Store
from seamline.store.tables import sessions, users

# Writing last_seen_at on every request would make each page view a write; a minute of
# slack on the idle timeout is the price.
_TOUCH_EVERY_S = 60.0


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ActiveSession:
    """A live session and the user behind it (role as stored now)."""

    username: str
    role: Role
    csrf_token: str
    expires_at: float


class Sessions:
    """Create, look up and end sessions; ``clock`` is replaceable so tests can move time."""

    def __init__(self, store: Store, *, lifetime_s: float, idle_timeout_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.store, self.lifetime_s, self.idle_timeout_s = store, lifetime_s, idle_timeout_s
        self.clock = clock

    def create(self, conn: Connection, username: str) -> tuple[str, ActiveSession]:
        """Insert a new session inside the caller's transaction; returns (cookie token, session)."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self.clock()
        expires = now + self.lifetime_s
        conn.execute(insert(sessions).values(token_hash=token_digest(token), username=username,
                                             csrf_token=csrf, created_at=now, last_seen_at=now,
                                             expires_at=expires))
        role = conn.execute(select(users.c.role).where(users.c.username == username)).scalar_one()
        return token, ActiveSession(username, Role(role), csrf, expires)

    def lookup(self, token: str | None) -> ActiveSession | None:
        """The session behind a cookie token, or None (unknown, expired, idle, user disabled)."""
        if not token or len(token) > 200:
            return None
        digest = token_digest(token)
        with self.store.read() as conn:
            row = conn.execute(
                select(sessions, users.c.role, users.c.disabled)
                .join(users, users.c.username == sessions.c.username)
                .where(sessions.c.token_hash == digest)).first()
        if row is None:
            return None
        now = self.clock()
        if row.disabled or now >= row.expires_at or now - row.last_seen_at >= self.idle_timeout_s:
            with self.store.write() as conn:
                conn.execute(delete(sessions).where(sessions.c.token_hash == digest))
            return None
        if now - row.last_seen_at >= _TOUCH_EVERY_S:
            with self.store.write() as conn:
                conn.execute(update(sessions).where(sessions.c.token_hash == digest)
                             .values(last_seen_at=now))
        return ActiveSession(row.username, Role(row.role), row.csrf_token, row.expires_at)

    def end(self, conn: Connection, token: str | None) -> None:
        if token:
            conn.execute(delete(sessions).where(sessions.c.token_hash == token_digest(token)))

    def purge_expired(self, conn: Connection) -> int:
        """Delete sessions past their expiry (housekeeping; lookups refuse them anyway)."""
        return conn.execute(delete(sessions).where(sessions.c.expires_at <= self.clock())).rowcount
