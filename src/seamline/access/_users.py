"""Users in the store: add, list, change role, disable; each change audited with its actor.

The audit entries use event id "-" and integration "-" (they belong to no event), and
never hold a password or a hash.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from seamline.access._passwords import check_password_policy, hash_password
from seamline.access._roles import Role
from seamline.audit import AuditEntry, append
from seamline.errors import ConfigError, NotFound
from seamline.store import Store
from seamline.store.tables import sessions, users

_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


@dataclass(frozen=True)
class UserRecord:
    """A stored user, without the hash: what listings and the console show."""

    username: str
    role: Role
    disabled: bool
    created_at: float
    updated_at: float


def record_access(conn: Connection, kind: str, payload: dict[str, Any],
                  now: float | None = None) -> None:
    """Append one access entry (login, role change, ...) to the audit trail."""
    append(conn, [AuditEntry("-", "-", kind, payload)], now=now)


def check_username(username: str) -> str:
    if not _USERNAME.fullmatch(username or ""):
        raise ConfigError(f"The username {username!r} is not allowed: use 1 to 64 letters, "
                          "digits, '.', '_', '@' or '-', starting with a letter or digit.")
    return username


def add_user(store: Store, username: str, password: str, role: Role | str, *,
             actor: str) -> UserRecord:
    """Create a user; the password is checked against the policy and stored as argon2id."""
    check_username(username)
    role = Role.parse(role) if isinstance(role, str) else role
    check_password_policy(password)
    digest = hash_password(password)
    now = time.time()
    with store.write() as conn:
        if conn.execute(select(users.c.username).where(users.c.username == username)).first():
            raise ConfigError(f"There is already a user named {username!r}.")
        conn.execute(insert(users).values(username=username, password_hash=digest,
                                          role=role.value, disabled=False, created_at=now,
                                          updated_at=now))
        record_access(conn, "user_added", {"username": username, "role": role.value,
                                           "actor": actor}, now)
    return UserRecord(username, role, False, now, now)


def get_user(store: Store, username: str) -> UserRecord:
    with store.read() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).first()
    if row is None:
        raise NotFound(f"There is no user named {username!r}.")
    return _record(row)


def list_users(store: Store) -> list[UserRecord]:
    with store.read() as conn:
        rows = conn.execute(select(users).order_by(users.c.username)).all()
    return [_record(r) for r in rows]


def set_role(store: Store, username: str, role: Role | str, *, actor: str) -> UserRecord:
    """Change a user's role; it holds from the user's next request (roles are read per request)."""
    role = Role.parse(role) if isinstance(role, str) else role
    before = get_user(store, username)
    now = time.time()
    with store.write() as conn:
        conn.execute(update(users).where(users.c.username == username)
                     .values(role=role.value, updated_at=now))
        record_access(conn, "role_changed", {"username": username, "from": before.role.value,
                                             "to": role.value, "actor": actor}, now)
    return get_user(store, username)


def set_disabled(store: Store, username: str, disabled: bool, *, actor: str) -> UserRecord:
    """Disable (or enable again) a user; disabling also ends every session they have."""
    get_user(store, username)
    now = time.time()
    with store.write() as conn:
        conn.execute(update(users).where(users.c.username == username)
                     .values(disabled=disabled, updated_at=now))
        if disabled:
            conn.execute(delete(sessions).where(sessions.c.username == username))
        record_access(conn, "user_disabled" if disabled else "user_enabled",
                      {"username": username, "actor": actor}, now)
    return get_user(store, username)


def set_password(store: Store, username: str, password: str, *, actor: str) -> None:
    """Replace a user's password and end their sessions (a stolen one stops working)."""
    get_user(store, username)
    check_password_policy(password)
    digest = hash_password(password)
    now = time.time()
    with store.write() as conn:
        conn.execute(update(users).where(users.c.username == username)
                     .values(password_hash=digest, updated_at=now))
        conn.execute(delete(sessions).where(sessions.c.username == username))
        record_access(conn, "password_changed", {"username": username, "actor": actor}, now)


def _record(row: Any) -> UserRecord:
    return UserRecord(row.username, Role(row.role), bool(row.disabled), row.created_at,
                      row.updated_at)
