"""Where OAuth credentials live: one ``oauth_credentials`` row each, tokens sealed.

Every change is a compare-and-set on the row's ``version``: a refresh is saved only over
the row it started from, and only one worker holds the lease to refresh at a time. That is
what keeps a rotated refresh token from being lost when two workers (threads, processes or
hosts on one PostgreSQL) find the access token expiring at the same moment: the loser of the
lease waits for the winner's row instead of spending the old refresh token a second time.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update

from seamline.store import Store, insert_ignore
from seamline.store.tables import oauth_credentials as table

OK, FAILED, PENDING = "ok", "failed", "pending"


@dataclass(frozen=True, slots=True)
class Tokens:
    """What the token endpoint granted (never logged, never put in an error)."""

    access_token: str
    refresh_token: str | None
    token_type: str
    scope: str
    expires_at: float | None  # epoch seconds; None when the server did not say
    # Where the API of the account these tokens are for lives, when the token endpoint says
    # (Salesforce's ``instance_url``: each org has its own host, and it can move).
    instance_url: str | None = None

    def expired(self, now: float, skew_s: float = 0.0) -> bool:
        return self.expires_at is not None and now + skew_s >= self.expires_at


@dataclass(frozen=True, slots=True)
class CredentialRow:
    """One credential's row; ``tokens`` unsealed (None before the first authorization)."""

    name: str
    connector: str
    version: int
    state: str
    tokens: Tokens | None
    expires_at: float | None
    issued_at: float | None
    authorized_at: float | None
    refreshed_at: float | None
    refreshing_until: float | None
    reason: str
    retry: bool
    failed_at: float | None
    updated_at: float

    @property
    def lifetime_s(self) -> float | None:
        if self.expires_at is None or self.issued_at is None:
            return None
        return max(0.0, self.expires_at - self.issued_at)


class CredentialStore:
    """The rows of ``oauth_credentials``, sealed with the vault key (``seamline.ingest``)."""

    def __init__(self, store: Store) -> None:
        from seamline.ingest import Vault  # the redaction stack loads only when OAuth is used

        self.store = store
        self._vault = Vault(store)

    # -- reading -----------------------------------------------------------------------

    def get(self, name: str) -> CredentialRow | None:
        with self.store.read() as conn:
            row = conn.execute(select(table).where(table.c.name == name)).first()
        return self._row(row) if row is not None else None

    def all(self) -> list[CredentialRow]:
        with self.store.read() as conn:
            rows = conn.execute(select(table).order_by(table.c.name)).all()
        return [self._row(r) for r in rows]

    def pending(self, name: str) -> dict[str, str] | None:
        """The state and PKCE verifier of the authorization ``auth`` started, if any."""
        with self.store.read() as conn:
            sealed = conn.execute(select(table.c.pending).where(table.c.name == name)).scalar()
        return json.loads(self._vault.unseal(sealed)) if sealed else None

    # -- writing -----------------------------------------------------------------------

    def ensure(self, name: str, connector: str) -> None:
        """The row exists (``pending``: never authorized), so that failing it is one CAS."""
        with self.store.write() as conn:
            insert_ignore(conn, table, {c.name: None for c in table.c} | {
                "name": name, "connector": connector, "version": 0, "state": PENDING,
                "reason": "never authorized", "retry": False, "updated_at": time.time()})

    def begin(self, name: str, connector: str, pending: dict[str, str]) -> None:
        """Remember an authorization in progress (its state and verifier, sealed)."""
        self.ensure(name, connector)
        with self.store.write() as conn:
            conn.execute(update(table).where(table.c.name == name).values(
                pending=self._vault.seal(json.dumps(pending)), updated_at=time.time()))

    def authorized(self, name: str, connector: str, tokens: Tokens, now: float) -> int:
        """Tokens from an authorization-code exchange replace whatever the row held (a
        re-authorization fixes a failed credential); returns the new version."""
        self.ensure(name, connector)
        with self.store.write() as conn:
            conn.execute(update(table).where(table.c.name == name).values(
                **self._token_values(tokens, now), version=table.c.version + 1, state=OK,
                authorized_at=now, reason="", retry=False, failed_at=None, pending=None,
                refreshing_until=None, connector=connector))
            return int(conn.execute(select(table.c.version).where(table.c.name == name))
                       .scalar_one())

    def take_lease(self, name: str, version: int, now: float, lease_s: float) -> bool:
        """Whether this caller may refresh now: the row is still ``version`` and nobody
        else holds an unexpired lease (one UPDATE: one winner among concurrent callers)."""
        with self.store.write() as conn:
            return conn.execute(update(table).where(
                table.c.name == name, table.c.version == version,
                or_(table.c.refreshing_until.is_(None), table.c.refreshing_until < now),
            ).values(refreshing_until=now + lease_s, updated_at=now)).rowcount == 1

    def release_lease(self, name: str, version: int) -> None:
        """A refresh given up half-way (its worker stopping): others need not wait out the lease."""
        with self.store.write() as conn:
            conn.execute(update(table).where(table.c.name == name, table.c.version == version)
                         .values(refreshing_until=None))

    def refreshed(self, name: str, version: int, tokens: Tokens, now: float) -> bool:
        """Save a refresh's tokens (the rotated refresh token with them) over ``version``;
        False when the row moved on meanwhile (a re-authorization): its tokens stand."""
        with self.store.write() as conn:
            return conn.execute(update(table).where(
                table.c.name == name, table.c.version == version).values(
                **self._token_values(tokens, now), version=version + 1, state=OK,
                refreshed_at=now, reason="", retry=False, failed_at=None,
                refreshing_until=None)).rowcount == 1

    def warn(self, name: str, version: int, reason: str, now: float) -> None:
        """A refresh that failed while the access token still works: noted, lease freed."""
        with self.store.write() as conn:
            conn.execute(update(table).where(table.c.name == name, table.c.version == version)
                         .values(reason=reason, refreshing_until=None, updated_at=now))

    def fail(self, name: str, version: int, reason: str, *, retry: bool, now: float) -> bool:
        """Mark the credential failed over ``version``; True for the one caller that made
        the change (it raises the alert: once per failure, not once per action)."""
        with self.store.write() as conn:
            return conn.execute(update(table).where(
                table.c.name == name, table.c.version == version).values(
                version=version + 1, state=FAILED, reason=reason[:2000], retry=retry,
                failed_at=now, refreshing_until=None, updated_at=now)).rowcount == 1

    def failed_again(self, name: str, version: int, reason: str, now: float) -> None:
        """A retry of a failed credential failed too: the same failure, no new alert."""
        with self.store.write() as conn:
            conn.execute(update(table).where(table.c.name == name, table.c.version == version)
                         .values(reason=reason[:2000], failed_at=now, refreshing_until=None,
                                 updated_at=now))

    # -- sealing -----------------------------------------------------------------------

    def _token_values(self, tokens: Tokens, now: float) -> dict[str, Any]:
        body = {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
                "token_type": tokens.token_type, "scope": tokens.scope,
                "instance_url": tokens.instance_url}
        return {"sealed": self._vault.seal(json.dumps(body)), "expires_at": tokens.expires_at,
                "issued_at": now, "updated_at": now}

    def _row(self, r: Any) -> CredentialRow:
        tokens = None
        if r.sealed:
            body = json.loads(self._vault.unseal(r.sealed))
            tokens = Tokens(body["access_token"], body.get("refresh_token"),
                            body.get("token_type") or "Bearer", body.get("scope") or "",
                            r.expires_at, body.get("instance_url"))
        return CredentialRow(r.name, r.connector, r.version, r.state, tokens, r.expires_at,
                             r.issued_at, r.authorized_at, r.refreshed_at, r.refreshing_until,
                             r.reason, bool(r.retry), r.failed_at, r.updated_at)
