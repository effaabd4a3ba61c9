"""The authorization-code bootstrap of an OAuth credential (RFC 6749 §4.1 with PKCE, RFC 7636).

``seamline connectors auth NAME`` calls :func:`start_authorization` (the authorize URL,
with a fresh ``state`` and an S256 code challenge; the verifier is kept sealed in the
store, so the paste can come from another shell), then either :func:`listen_for_redirect`
for the browser's redirect on 127.0.0.1 or takes the pasted redirect URL (or bare code),
and :func:`finish_authorization` exchanges the code at the token endpoint. Authlib builds
the URL and makes the token request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from seamline.connectors._oauth import (
    OAuthSettings,
    TokenEndpointError,
    call_token_endpoint,
    token_client,
    tokens_from,
)
from seamline.connectors._oauth_store import CredentialStore, Tokens
from seamline.errors import SeamlineError
from seamline.store import Store

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class AuthorizationFailed(SeamlineError):
    """The authorization did not complete; the sentence says why and what to do."""


@dataclass(frozen=True, slots=True)
class Authorized:
    credential: str
    expires_at: float | None
    has_refresh_token: bool
    version: int


def start_authorization(store: Store, settings: OAuthSettings, connector: str) -> str:
    """The URL to open in a browser; its state and PKCE verifier are kept (sealed)."""
    from authlib.common.security import generate_token

    verifier = generate_token(64)  # RFC 7636 §4.1: 43 to 128 unreserved characters
    client = token_client(settings, connector)
    try:
        url, state = client.create_authorization_url(
            settings.authorize_url, code_verifier=verifier, **settings.authorize_params)
    finally:
        client.close()
    CredentialStore(store).begin(settings.name_for(connector), connector, {
        "state": state, "code_verifier": verifier, "redirect_uri": settings.redirect_uri})
    return str(url)


def finish_authorization(store: Store, settings: OAuthSettings, connector: str, pasted: str, *,
           now: Callable[[], float] = time.time) -> Authorized:
    """Exchange the code of the redirect (a URL, or the bare code) for tokens, and keep them."""
    name = settings.name_for(connector)
    rows = CredentialStore(store)
    pending = rows.pending(name)
    if pending is None:
        raise AuthorizationFailed(f"No authorization of {name!r} is in progress; run "
                                  f"`seamline connectors auth {name}` first to get the URL.")
    code = _code(pasted.strip(), pending["state"], name)
    client = token_client(settings, connector)
    try:
        granted = call_token_endpoint(lambda: dict(client.fetch_token(
            settings.token_url, grant_type="authorization_code", code=code,
            code_verifier=pending["code_verifier"], redirect_uri=pending["redirect_uri"])))
        tokens: Tokens = tokens_from(granted)
    except TokenEndpointError as exc:
        raise AuthorizationFailed(f"The code for {name!r} was not exchanged: {exc.reason}; run "
                                  f"`seamline connectors auth {name}` again.") from None
    finally:
        client.close()
    version = rows.authorized(name, connector, tokens, now())
    return Authorized(name, tokens.expires_at, bool(tokens.refresh_token), version)


def _code(pasted: str, state: str, name: str) -> str:
    """The code from a pasted redirect URL (its state checked) or a bare code."""
    if not any(mark in pasted for mark in ("://", "code=", "error=", "state=")):
        if not pasted:
            raise AuthorizationFailed("The pasted code is empty; paste the whole redirect URL.")
        return pasted  # a bare code: PKCE still binds it to this authorization's verifier
    query = parse_qs(urlsplit(pasted).query or pasted.lstrip("?"))
    if "error" in query:
        said = query.get("error_description", [""])[0]
        raise AuthorizationFailed(f"The authorization server refused to authorize {name!r}: "
                                  f"{query['error'][0]}{': ' + said if said else ''}.")
    if query.get("state", [""])[0] != state:
        raise AuthorizationFailed(f"The redirect's state does not match the authorization of "
                                  f"{name!r} in progress (a stale or forged redirect); run "
                                  f"`seamline connectors auth {name}` again.")
    codes = query.get("code") or [""]
    if not codes[0]:
        raise AuthorizationFailed("The redirect URL carries no code; paste the URL the browser "
                                  "was sent to after approving.")
    return codes[0]


def listen_for_redirect(redirect_uri: str, *, timeout_s: float = 300.0,
           ready: Callable[[], None] | None = None) -> str:
    """Wait for one browser redirect to ``redirect_uri`` (a loopback address, RFC 8252 §7.3)
    and return it as a URL. Hand-written on http.server: Authlib has no redirect listener,
    and one GET on 127.0.0.1 needs nothing more."""
    split = urlsplit(redirect_uri)
    if split.scheme != "http" or split.hostname not in LOOPBACK or not split.port:
        raise AuthorizationFailed(f"The redirect_uri {redirect_uri} is not a loopback address "
                                  "with a port (http://127.0.0.1:PORT/…); paste the redirect "
                                  "URL with --code instead.")
    got: dict[str, str] = {}
    done = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # the query holds the code: never logged
            pass

        def do_GET(self) -> None:
            if urlsplit(self.path).path != (split.path or "/"):
                self.send_error(404)
                return
            got["url"] = f"{split.scheme}://{split.netloc}{self.path}"
            body = b"Seamline received the authorization; you can close this window.\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            done.set()

    try:
        server = HTTPServer((split.hostname, split.port), Handler)
    except OSError as exc:
        raise AuthorizationFailed(f"Cannot listen on {split.hostname}:{split.port} for the "
                                  f"redirect ({exc.strerror}); free the port or paste the "
                                  "redirect URL with --code.") from None
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True,
                              name="seamline-oauth-redirect")
    thread.start()
    try:
        if ready is not None:
            ready()
        if not done.wait(timeout_s):
            raise AuthorizationFailed(f"No redirect arrived at {redirect_uri} within "
                                      f"{timeout_s:g} s; run the command again, or paste the "
                                      "redirect URL with --code.")
    finally:
        server.shutdown()
        server.server_close()
    return got["url"]
