"""OAuth 2.0 for connectors: a fresh bearer token per call, refreshed before it expires.

A connector whose options say ``auth: oauth`` gets its access token from an
:class:`OAuthCredential` rather than from an environment variable. The protocol itself
(token requests, client authentication, PKCE, RFC 6749 error bodies) is Authlib's
``OAuth2Client``; this module decides *when* to refresh and keeps the result:

- refreshed a margin before expiry (``refresh_margin_s``, at most a tenth of the token's
  lifetime), under a lease so one worker refreshes and the others wait for its row;
- the rotated refresh token saved in the same compare-and-set as the access token;
- a refresh the server refuses (``invalid_grant``, a 400/401) or a token endpoint down
  past ``refresh_budget_s`` marks the credential failed and raises one CRITICAL alert
  (the worker that made the change raises it, not every action): actions then raise
  :class:`CredentialsNeeded`, and the outbox holds them as ``waiting_credentials`` until a
  re-authorization (``seamline connectors auth``) or a successful refresh (an action's, or
  one with no action asking: the worker's renewal and ``connectors refresh``, _oauth_renew).

Secrets: the client id and secret come from environment variables the options name; tokens
live only sealed in the store and in memory, never in a log line, error or alert.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from seamline.alerts import Alert, raise_alert
from seamline.backoff import Backoff
from seamline.connectors._errors import ConnectorError, VendorUnavailable
from seamline.connectors._oauth_store import FAILED, OK, CredentialRow, CredentialStore, Tokens
from seamline.errors import ConfigError
from seamline.scrub import register
from seamline.store import Store

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import OAuth2Client

log = logging.getLogger("seamline.connectors.oauth")

ALERT_KIND = "oauth_credential_failed"
# RFC 6749 §5.2 error codes (invalid_grant, invalid_client, …) say the server refused the
# grant or the client: the same request cannot succeed later, a person must authorize again
# or fix the client id/secret. Only these (RFC 6749 §4.1.2.1, and what servers send in
# practice) say "later".
TRANSIENT_ERRORS = frozenset({"temporarily_unavailable", "server_error"})


class OAuthSettings(BaseModel):
    """The ``oauth:`` mapping of a connector's options (``auth: oauth``); typos are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    authorize_url: str = Field(min_length=1, description="The authorization endpoint.")
    token_url: str = Field(min_length=1, description="The token endpoint.")
    client_id_env: str = Field(min_length=1, description="Variable holding the client id.")
    client_secret_env: str | None = Field(None, description="Variable holding the secret "
                                          "(none for a public client, which relies on PKCE).")
    scopes: tuple[str, ...] = ()
    redirect_uri: str = "http://127.0.0.1:8765/callback"
    # HubSpot and Salesforce read the client credentials from the form body.
    token_auth: Literal["client_secret_post", "client_secret_basic", "none"] = "client_secret_post"
    credential: str | None = Field(None, description="The name the tokens are stored under "
                                   "(default: the connector's name); two accounts, two names.")
    authorize_params: dict[str, str] = Field(default_factory=dict)
    refresh_margin_s: float = Field(300.0, ge=0)
    refresh_budget_s: float = Field(30.0, ge=0, description="How long the token endpoint may "
                                    "be unreachable before the credential counts as failed.")
    retry_failed_after_s: float = Field(60.0, ge=0, description="After the token endpoint was "
                                        "down, how soon an action may try a refresh again.")
    timeout_s: float = Field(10.0, gt=0)

    def name_for(self, connector: str) -> str:
        return self.credential or connector


class CredentialsNeeded(ConnectorError):
    """The connector has no usable access token; nothing was sent.

    The outbox holds the action as ``waiting_credentials`` (never failed, never
    dead-lettered) until the credential named ``credential`` is fixed.
    """

    retryable = True

    def __init__(self, message: str, *, credential: str, connector: str = "") -> None:
        super().__init__(message, connector=connector, sent=False)
        self.credential = credential


def margin_s(settings: OAuthSettings | None, lifetime_s: float | None) -> float:
    """How long before expiry a token is refreshed: the margin, at most a tenth of its life
    (a 60-second token is not refreshed on every call)."""
    margin = settings.refresh_margin_s if settings is not None else 300.0
    return margin if lifetime_s is None else min(margin, lifetime_s / 10)


def env_value(var: str | None, what: str, connector: str, *, required: bool = True) -> str | None:
    """An OAuth client setting from the environment (its value a registered secret)."""
    if not var:
        return None
    register([var])
    value = os.environ.get(var)
    if not value and required:
        raise ConfigError(f"The {connector} connector's OAuth {what} is read from the environment "
                          f"variable {var}, which is not set.")
    return value or None


def token_client(settings: OAuthSettings, connector: str) -> OAuth2Client:
    """Authlib's httpx OAuth 2.0 client for these settings (PKCE S256 on)."""
    from authlib.integrations.httpx_client import OAuth2Client

    return OAuth2Client(
        client_id=env_value(settings.client_id_env, "client id", connector),
        client_secret=env_value(settings.client_secret_env, "client secret", connector),
        token_endpoint_auth_method=settings.token_auth, scope=" ".join(settings.scopes) or None,
        redirect_uri=settings.redirect_uri, code_challenge_method="S256",
        timeout=settings.timeout_s, follow_redirects=False)


def tokens_from(granted: dict[str, Any], *, previous: Tokens | None = None) -> Tokens:
    """A token response (RFC 6749 §5.1) as :class:`Tokens`; a refresh response without a
    refresh token keeps the previous one (the server did not rotate it), and one without
    an ``instance_url`` (Salesforce's API host for the org) keeps the previous host."""
    access = granted.get("access_token")
    if not isinstance(access, str) or not access:
        raise TokenEndpointError("the token endpoint answered without an access_token",
                                 refused=False)
    expires_at = granted.get("expires_at")
    if expires_at is None and isinstance(granted.get("expires_in"), int | float):
        expires_at = time.time() + float(granted["expires_in"])
    instance = granted.get("instance_url")
    refresh = granted.get("refresh_token") or (previous.refresh_token if previous else None)
    return Tokens(access, refresh,
                  str(granted.get("token_type") or "Bearer"), str(granted.get("scope") or ""),
                  float(expires_at) if expires_at is not None else None,
                  instance if isinstance(instance, str) and instance else
                  (previous.instance_url if previous is not None else None))


class TokenEndpointError(Exception):
    """A token request failed: ``refused`` by the server (a person must act) or not answered."""

    def __init__(self, reason: str, *, refused: bool) -> None:
        super().__init__(reason)
        self.reason, self.refused = reason, refused


def call_token_endpoint(request: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """One token request through Authlib, its failure as a :class:`TokenEndpointError`
    whose reason quotes the server's ``error`` code and description, never a token."""
    from authlib.integrations.base_client import OAuthError

    wire = _wire()
    try:
        return request()
    except OAuthError as exc:  # an RFC 6749 §5.2 error body
        code = str(exc.error or "error")
        said = f"{code}: {exc.description}" if exc.description else code
        return _raise(f"the token endpoint refused it ({said})",
                      refused=code not in TRANSIENT_ERRORS)
    except wire.HTTPStatusError as exc:
        status = exc.response.status_code
        return _raise(f"the token endpoint answered HTTP {status}",
                      refused=400 <= status < 500 and status not in (408, 429))
    except wire.TransportError as exc:
        return _raise(f"the token endpoint could not be reached ({type(exc).__name__})",
                      refused=False)
    except ValueError as exc:  # a 2xx whose body is not a JSON object
        return _raise(f"the token endpoint's answer could not be read ({exc})", refused=False)


def _raise(reason: str, *, refused: bool) -> dict[str, Any]:
    raise TokenEndpointError(reason, refused=refused)


def _wire() -> Any:
    """The HTTP library under Authlib's client (httpx2 where installed, as Authlib picks)."""
    try:
        import httpx2
    except ImportError:  # pragma: no cover - Authlib falls back to httpx the same way
        return httpx
    return httpx2


class OAuthCredential:
    """The access token of one stored credential, refreshed when due (see the module doc).

    ``clock`` and ``sleep`` are seams for tests of expiry; the token server is real HTTP.
    """

    def __init__(self, store: Store, settings: OAuthSettings, *, connector: str,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings, self.connector = settings, connector
        self.name = settings.name_for(connector)
        self.rows = CredentialStore(store)
        self.store = store
        self._clock, self._sleep = clock, sleep
        self.recovered = False  # set when this object's refresh fixed a failed credential
        self.saved = 0  # refreshes this object made and saved

    @property
    def lease_s(self) -> float:
        return self.settings.refresh_budget_s + self.settings.timeout_s + 5.0

    def access_token(self, *, replacing: str | None = None) -> str:
        """A token to send now; ``replacing``: the vendor refused that one (401), so a
        new one is fetched unless another worker already did."""
        for _ in range(5):  # a row that moved under us is read again, a bounded number of times
            now = self._clock()
            row = self.rows.get(self.name)
            if row is None:
                self.rows.ensure(self.name, self.connector)
                continue
            if row.tokens is None:  # never authorized: as loud as a failed refresh, once
                if row.state == FAILED:
                    raise self._needed(row, now)
                self._failed(row, now, "it was never authorized", retry=False)
                continue  # another worker changed the row first: read it again
            elif row.state != OK:
                if not (row.retry and now >= (row.failed_at or 0)
                        + self.settings.retry_failed_after_s):
                    raise self._needed(row, now)
                got = self._refresh(row, now)  # the endpoint was down: worth one more try
            elif replacing is not None and row.tokens.access_token == replacing:
                got = self._refresh(row, now)
            elif not self._due(row, now):
                return row.tokens.access_token
            else:
                got = self._refresh(row, now)
            if got is not None:
                return got
        raise VendorUnavailable(f"The OAuth credential {self.name!r} kept changing while this "
                                "action read it (other workers refreshing); it will be tried "
                                "again.", connector=self.connector, sent=False)

    def refresh_now(self) -> None:
        """Refresh whatever the expiry (the worker's renewal, ``seamline connectors
        refresh``), under the same lease and compare-and-set as a due refresh.

        Returns when a refresh was saved (by this call, or by another worker meanwhile) or
        failed while the access token still works (the row's ``reason`` says so); raises
        :class:`CredentialsNeeded` when the credential is (now) failed or never authorized.
        """
        for _ in range(5):
            now = self._clock()
            row = self.rows.get(self.name)
            if row is None or row.tokens is None:
                raise CredentialsNeeded(f"The OAuth credential {self.name!r} was never "
                                        f"authorized; run `seamline connectors auth "
                                        f"{self.name}`.", credential=self.name,
                                        connector=self.connector)
            before = row.version
            got = self._refresh(row, now)
            after = self.rows.get(self.name)
            if got is not None or (after is not None and after.version != before
                                   and after.state == OK):
                return
        raise VendorUnavailable(f"The OAuth credential {self.name!r} kept changing while it "
                                "was refreshed (other workers refreshing); try again.",
                                connector=self.connector, sent=False)

    def instance_url(self) -> str | None:
        """The API host the token endpoint named for these tokens (Salesforce's
        ``instance_url``), or None; read after :meth:`access_token`, which may refresh."""
        row = self.rows.get(self.name)
        return row.tokens.instance_url if row is not None and row.tokens is not None else None

    def auth(self) -> httpx.Auth:
        """An httpx auth that puts a fresh bearer token on every request."""
        return BearerAuth(self)

    # -- refreshing --------------------------------------------------------------------

    def _due(self, row: CredentialRow, now: float) -> bool:
        return row.expires_at is not None and now >= row.expires_at - margin_s(
            self.settings, row.lifetime_s)

    def _refresh(self, row: CredentialRow, now: float) -> str | None:
        """A refreshed access token, the current one (still valid, someone else refreshes),
        or None: read the row again."""
        tokens = row.tokens
        assert tokens is not None
        still_valid = row.state == OK and not tokens.expired(now, skew_s=1.0)
        if not tokens.refresh_token:
            if still_valid:
                return tokens.access_token
            self._failed(row, now, "the access token expired and the server gave no refresh "
                         "token", retry=False)
            return None
        if not self.rows.take_lease(self.name, row.version, now, self.lease_s):
            if still_valid:
                return tokens.access_token
            self._wait_for_other(row)
            return None
        try:
            granted = self._refresh_within_budget(tokens.refresh_token)
            fresh = tokens_from(granted, previous=tokens)
        except TokenEndpointError as exc:
            if still_valid and not exc.refused:
                # The endpoint is down but the token works a while longer: try again later.
                self.rows.warn(self.name, row.version, f"refresh failed: {exc.reason}", now)
                return tokens.access_token
            self._failed(row, self._clock(), exc.reason, retry=not exc.refused)
            return None
        except BaseException:  # stopped half-way (a worker shutting down): free the lease
            self.rows.release_lease(self.name, row.version)
            raise
        if not self.rows.refreshed(self.name, row.version, fresh, self._clock()):
            return None  # re-authorized meanwhile: its tokens win
        self.saved += 1
        if row.state == FAILED:
            self.recovered = True
            log.info("the OAuth credential %s works again after a successful refresh", self.name)
        return fresh.access_token

    def _refresh_within_budget(self, refresh_token: str) -> dict[str, Any]:
        """Refresh, trying again while the endpoint is unreachable, within the budget."""
        started, backoff = self._clock(), Backoff(0.5, 8.0)
        client = token_client(self.settings, self.connector)
        try:
            for attempt in range(100):
                try:
                    return call_token_endpoint(lambda: dict(client.refresh_token(
                        self.settings.token_url, refresh_token=refresh_token)))
                except TokenEndpointError as exc:
                    wait = backoff.delay(attempt)
                    if exc.refused or self._clock() - started + wait > self.settings.refresh_budget_s:
                        raise
                    self._sleep(wait)
        finally:
            client.close()
        raise TokenEndpointError("the token endpoint kept failing", refused=False)

    def _wait_for_other(self, row: CredentialRow) -> None:
        """Another worker holds the lease: wait until its refresh is saved (or the lease ends)."""
        deadline = (row.refreshing_until or self._clock()) + self.lease_s
        while self._clock() < deadline:
            self._sleep(0.05)
            now_row = self.rows.get(self.name)
            if now_row is None or now_row.version != row.version:
                return
            if now_row.refreshing_until is None or now_row.refreshing_until < self._clock():
                return

    def _failed(self, row: CredentialRow, now: float, reason: str, *, retry: bool) -> None:
        """Mark the credential failed and raise :class:`CredentialsNeeded`; the one worker
        that made the change raises the alert. Returns only when the row had moved on."""
        if row.state == FAILED:
            self.rows.failed_again(self.name, row.version, reason, now)
            raise self._needed(row, now, reason)
        if self.rows.fail(self.name, row.version, reason, retry=retry, now=now):
            self._alert(reason)
            raise self._needed(row, now, reason)
        # else the row moved on (another worker refreshed or failed it): the caller reads it again

    def _alert(self, reason: str) -> None:
        raise_alert(self.store, Alert(
            ALERT_KIND, f"The OAuth credential {self.name!r} of the {self.connector} connector "
            f"stopped working: {reason}. Its actions wait (nothing is dead-lettered) until it is "
            f"fixed: run `seamline connectors auth {self.name}` to authorize again.", "critical",
            {"credential": self.name, "connector": self.connector}))

    def _needed(self, row: CredentialRow, now: float, reason: str | None = None) -> CredentialsNeeded:
        why = reason or row.reason or "it was never authorized"
        return CredentialsNeeded(
            f"The OAuth credential {self.name!r} of the {self.connector} connector cannot give "
            f"an access token ({why}); the action waits for it and runs once it is fixed "
            f"(`seamline connectors auth {self.name}`).", credential=self.name,
            connector=self.connector)


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer …`` from the credential on each request; on a 401 the token
    is replaced once (revoked early, or the vendor's clock runs ahead) and the request sent
    again. A request refused for a missing token never left, so resending is safe."""

    def __init__(self, credential: OAuthCredential) -> None:
        self.credential = credential

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.credential.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = (
                f"Bearer {self.credential.access_token(replacing=token)}")
            yield request


def credential_report(store: Store, *, now: float | None = None) -> list[dict[str, Any]]:
    """Each stored credential for ``seamline connectors status``: its state (``ok``,
    ``expiring``, ``failed``, ``not_authorized``) with the reason, expiry and last refresh.

    ``expiring``: within the refresh margin (the default 5 minutes, at most a tenth of the
    token's life) or expired, so the next call refreshes it; or a refresh attempt failed
    while the token still works (the reason says so)."""
    now = time.time() if now is None else now
    report = []
    for row in CredentialStore(store).all():
        if row.tokens is None:
            state = FAILED if row.state == FAILED else "not_authorized"
        elif row.state != OK:
            state = FAILED
        elif row.reason or (row.expires_at is not None and now >= row.expires_at - margin_s(
                None, row.lifetime_s)):
            state = "expiring"
        else:
            state = OK
        report.append({
            "name": row.name, "connector": row.connector, "state": state,
            "reason": row.reason, "expires_at": row.expires_at,
            "expires_in_s": None if row.expires_at is None else round(row.expires_at - now, 1),
            "refreshed_at": row.refreshed_at, "authorized_at": row.authorized_at,
            "failed_at": row.failed_at if row.state == FAILED else None,
            "has_refresh_token": bool(row.tokens and row.tokens.refresh_token)})
    return report
