"""A local OAuth 2.0 authorization server for tests, on 127.0.0.1 (real HTTP).

It follows the RFCs, not any one vendor, in what a client can observe:

- authorization endpoint, RFC 6749 §4.1.1-4.1.2
  (https://datatracker.ietf.org/doc/html/rfc6749#section-4.1): ``response_type=code``,
  ``client_id``, ``redirect_uri``, ``state`` echoed on the 302 back;
- PKCE, RFC 7636 §4.3 and §4.6 (https://datatracker.ietf.org/doc/html/rfc7636#section-4.6):
  ``code_challenge_method=S256`` required, the verifier checked at the token endpoint;
- token endpoint, RFC 6749 §5.1 / §5.2
  (https://datatracker.ietf.org/doc/html/rfc6749#section-5): a JSON token response with
  ``Cache-Control: no-store``, errors as ``{"error", "error_description"}`` with 400
  (401 for ``invalid_client``); client authentication by form body or HTTP Basic (§2.3.1);
- refresh, RFC 6749 §6, with rotation and reuse detection as the OAuth 2.0 Security BCP
  §4.14.2 describes (https://datatracker.ietf.org/doc/html/draft-ietf-oauth-security-topics):
  each refresh issues a new refresh token and invalidates the old one; presenting an old
  one is ``invalid_grant`` *and revokes the whole family*, so a client that spends one
  refresh token twice (two workers refreshing at once) is caught.

Paths are HubSpot's (https://developers.hubspot.com/docs/api/oauth/tokens: POST
``/oauth/v1/token`` with the client credentials in the form body). ``salesforce()`` makes
it answer as Salesforce's token endpoint does
(https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm and
sf.remoteaccess_oauth_refresh_token_flow.htm): no ``expires_in`` (the session's lifetime is
the org's setting), and ``instance_url``, ``id``, ``issued_at`` (ms) and ``signature`` on every
token response; a refresh does not rotate the refresh token.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from typing import Any, Self
from urllib.parse import urlencode

import httpx

from seamline.connectors.testing import RecordedRequest, Reply, VendorServer

CLIENT_ID, CLIENT_SECRET = "seamline-test-client", "client-secret-4f9a2c7e"
TOKEN_PATH, AUTHORIZE_PATH = "/oauth/v1/token", "/oauth/authorize"


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(verifier)) without padding (written out here so the
    server does not trust the client library's own computation)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class OAuthServer:
    """Issues codes and tokens; ``revoke()`` is a user revoking the app, ``down`` an outage."""

    def __init__(self, *, expires_in: int | None = 3600, rotate: bool = True) -> None:
        self.http = VendorServer()
        self.expires_in, self.rotate = expires_in, rotate
        self.instance_url: str | None = None  # set: Salesforce's response fields (salesforce())
        self.refresh_delay_s = 0.0
        self.down = False
        self._lock = threading.Lock()
        self._codes: dict[str, dict[str, str]] = {}
        self._refresh: dict[str, str] = {}  # live refresh token -> family
        self._spent: dict[str, str] = {}  # rotated-away refresh token -> family
        self._access: dict[str, float] = {}  # live access token -> expires at
        self.http.route("GET", AUTHORIZE_PATH, self._authorize)
        self.http.route("POST", TOKEN_PATH, self._token)

    # -- what a test drives ------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.http.url

    def settings(self, redirect_uri: str = "http://127.0.0.1:8765/callback",
                 **more: Any) -> dict[str, Any]:
        """The ``oauth:`` options pointing at this server."""
        return {"authorize_url": self.url + AUTHORIZE_PATH, "token_url": self.url + TOKEN_PATH,
                "client_id_env": "TEST_OAUTH_CLIENT_ID",
                "client_secret_env": "TEST_OAUTH_CLIENT_SECRET",
                "scopes": ["crm.objects.contacts.write"], "redirect_uri": redirect_uri, **more}

    def approve(self, authorize_url: str) -> str:
        """Be the person in the browser: open the URL, approve, return where it redirects."""
        response = httpx.get(authorize_url, follow_redirects=False)
        assert response.status_code == 302, response.text
        return response.headers["location"]

    def salesforce(self, instance_url: str) -> Self:
        """Answer as Salesforce's token endpoint: the org's ``instance_url`` (change it to
        move the org), no ``expires_in``, no rotation."""
        self.instance_url, self.expires_in, self.rotate = instance_url, None, False
        return self

    def revoke(self) -> None:
        """The user revoked the app: every refresh and access token stops working."""
        with self._lock:
            self._spent.update(self._refresh)
            self._refresh.clear()
            self._access.clear()

    def revoke_access_tokens(self) -> None:
        """Access tokens stop working early (the refresh token still does)."""
        with self._lock:
            self._access.clear()

    def valid(self, access_token: str) -> bool:
        with self._lock:
            return self._access.get(access_token, 0) > time.time()

    def live_refresh_tokens(self) -> set[str]:
        with self._lock:
            return set(self._refresh)

    def requests(self, grant_type: str) -> list[RecordedRequest]:
        return [r for r in self.http.sent("POST", TOKEN_PATH)
                if r.form().get("grant_type") == grant_type]

    def __enter__(self) -> Self:
        self.http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.stop()

    # -- the endpoints -----------------------------------------------------------------

    def _authorize(self, request: RecordedRequest) -> Reply:
        q = {k: v[-1] for k, v in request.query.items()}
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
            return Reply(400, {"error": "invalid_request", "error_description": "bad client"})
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return Reply(400, {"error": "invalid_request",
                               "error_description": "PKCE with S256 is required"})
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = {"challenge": q["code_challenge"], "redirect_uri": q["redirect_uri"]}
        location = q["redirect_uri"] + "?" + urlencode({"code": code, "state": q.get("state", "")})
        return Reply(302, headers={"Location": location})

    def _token(self, request: RecordedRequest) -> Reply:
        if self.down:
            return Reply(503, text="Service Unavailable", headers={"Content-Type": "text/plain"})
        form = request.form()
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        if client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
            return _error("invalid_client", "client authentication failed", 401)
        grant = form.get("grant_type")
        with self._lock:
            if grant == "authorization_code":
                issued = self._code_grant(form)
            elif grant == "refresh_token":
                issued = self._refresh_grant(form.get("refresh_token", ""))
            else:
                issued = _error("unsupported_grant_type", f"grant_type {grant!r}")
        if self.refresh_delay_s and grant == "refresh_token":
            return Reply(issued.status, issued.json, headers=issued.headers,
                         delay_s=self.refresh_delay_s)
        return issued

    def _code_grant(self, form: dict[str, str]) -> Reply:
        entry = self._codes.pop(form.get("code", ""), None)  # single use (RFC 6749 §4.1.2)
        if entry is None:
            return _error("invalid_grant", "unknown or used authorization code")
        if form.get("redirect_uri") != entry["redirect_uri"]:
            return _error("invalid_grant", "redirect_uri does not match")
        if s256(form.get("code_verifier", "")) != entry["challenge"]:
            return _error("invalid_grant", "PKCE verification failed")
        return self._issue(secrets.token_hex(8))

    def _refresh_grant(self, token: str) -> Reply:
        family = self._refresh.get(token)
        if family is None:
            reused = self._spent.get(token)
            if reused is not None:  # a rotated token presented again: revoke its family
                for live, fam in list(self._refresh.items()):
                    if fam == reused:
                        self._spent[live] = self._refresh.pop(live)
            return _error("invalid_grant", "refresh token is invalid, expired or revoked")
        if not self.rotate:
            return self._issue(family, refresh=token)
        self._spent[token] = self._refresh.pop(token)
        return self._issue(family)

    def _issue(self, family: str, refresh: str | None = None) -> Reply:
        access = "at-" + secrets.token_urlsafe(24)
        refresh = refresh or "rt-" + secrets.token_urlsafe(24)
        self._access[access] = time.time() + (self.expires_in or 7200)
        self._refresh[refresh] = family
        body: dict[str, Any] = {"access_token": access, "token_type": "Bearer",
                                "refresh_token": refresh, "scope": "crm.objects.contacts.write"}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        if self.instance_url is not None:  # Salesforce's token response
            body.update(instance_url=self.instance_url, issued_at=str(int(time.time() * 1000)),
                        id="https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS",
                        signature=base64.b64encode(secrets.token_bytes(32)).decode(),
                        scope="refresh_token api")
        return Reply(200, body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _error(code: str, description: str, status: int = 400) -> Reply:
    return Reply(status, {"error": code, "error_description": description},
                 headers={"Cache-Control": "no-store"})
