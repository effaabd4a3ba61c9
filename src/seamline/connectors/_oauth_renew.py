"""Renewing an OAuth credential when no action asks for it: the worker's and the CLI's refresh.

An action refreshes its credential when it needs a token. If every action is already
waiting (the token endpoint was down past the budget, the credential failed), nothing
asks again until new traffic arrives — the 3 am outage that ends at 3:10 would hold the
actions until Monday's first event. :func:`renew` is what ``seamline worker`` calls
periodically (with a backoff) and ``seamline connectors refresh`` calls by hand: one
refresh through :class:`OAuthCredential`, under its lease and compare-and-set, so a
worker's renewal and an action's refresh never spend the same refresh token twice.
Releasing the actions that waited is the caller's (``seamline.actions.resume_waiting``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from seamline.connectors._errors import VendorUnavailable
from seamline.connectors._oauth import CredentialsNeeded, OAuthCredential, OAuthSettings, margin_s
from seamline.connectors._oauth_store import FAILED, OK, CredentialRow, CredentialStore
from seamline.store import Store

# What a renewal found the credential to be afterwards:
WORKS = "ok"  # refreshed now, or not due (its token works)
EXPIRING = "expiring"  # a refresh failed but the access token still works: try again soon
BROKEN = "failed"  # no usable token; ``retry``: the endpoint was down, else a person must act
UNAUTHORIZED = "not_authorized"


@dataclass(frozen=True, slots=True)
class Renewal:
    """The outcome of one :func:`renew`: the credential's state after it, and why."""

    credential: str
    state: str
    refreshed: bool  # this call refreshed it (another worker's refresh is not counted)
    reason: str = ""
    retry: bool = True  # for BROKEN: whether trying again later can help

    def sentence(self) -> str:
        if self.state == WORKS:
            return (f"{self.credential}: refreshed." if self.refreshed else
                    f"{self.credential}: works, not due for a refresh.")
        if self.state == EXPIRING:
            return (f"{self.credential}: the refresh failed ({self.reason}), but the access "
                    "token still works; it is tried again.")
        if self.state == UNAUTHORIZED:
            return (f"{self.credential}: never authorized; run `seamline connectors auth "
                    f"{self.credential}`.")
        then = ("it is tried again later" if self.retry else
                f"run `seamline connectors auth {self.credential}` to authorize again")
        return f"{self.credential}: failed ({self.reason}); {then}."


def needs_renewal(row: CredentialRow | None, settings: OAuthSettings, now: float) -> bool:
    """Whether a worker should refresh it now: failed while the token endpoint was down
    (``retry``), or working but within the refresh margin of its expiry. A refresh the
    server refused waits for a person (``seamline connectors auth``): trying the same
    refresh token again cannot succeed, and each try would be one more failed grant."""
    if row is None or row.tokens is None:
        return False
    if row.state == FAILED:
        return row.retry
    return row.state == OK and row.expires_at is not None and \
        now >= row.expires_at - margin_s(settings, row.lifetime_s)


def renew(store: Store, settings: OAuthSettings, connector: str, *, force: bool = False,
          sleep: Callable[[float], None] = time.sleep,
          clock: Callable[[], float] = time.time) -> Renewal:
    """Refresh the credential if it needs it (``force``: whatever its expiry or failure)
    and say what it is now. Never raises for the token endpoint's failures: a failed
    refresh marks the credential (and alerts once) as an action's refresh would."""
    credential = OAuthCredential(store, settings, connector=connector, clock=clock, sleep=sleep)
    name = credential.name
    rows = CredentialStore(store)
    before = rows.get(name)
    if before is None or before.tokens is None:
        return Renewal(name, UNAUTHORIZED, False, "it was never authorized", retry=False)
    if force or needs_renewal(before, settings, clock()):
        try:
            credential.refresh_now()
        except (CredentialsNeeded, VendorUnavailable):
            pass  # the row says why, read below
    after = rows.get(name)
    assert after is not None  # rows are never deleted
    refreshed = credential.saved > 0
    if after.state == FAILED:
        return Renewal(name, BROKEN, refreshed, after.reason, retry=after.retry)
    if after.state != OK or after.tokens is None:
        return Renewal(name, UNAUTHORIZED, False, after.reason or "it was never authorized",
                       retry=False)
    if after.reason and not refreshed:
        return Renewal(name, EXPIRING, False, after.reason)
    return Renewal(name, WORKS, refreshed)


__all__ = ["BROKEN", "EXPIRING", "UNAUTHORIZED", "WORKS", "Renewal", "needs_renewal", "renew"]
