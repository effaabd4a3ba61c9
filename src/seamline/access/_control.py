"""AccessControl: who a request acts as, and whether that role may do what it asks.

One object per app: ``install(app)`` adds sign-in, sign-out and the refusal handler;
``page(role)`` and ``api(role)`` are the dependencies routes declare; ``check_csrf`` guards
every form post. Sessions live in the store; API keys come from configuration.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, update
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders

from seamline.access._keys import as_key_roles, key_label, match_key
from seamline.access._pages import login_page, refusal_page
from seamline.access._passwords import verify_password
from seamline.access._roles import Role, User
from seamline.access._sessions import ActiveSession, Sessions
from seamline.access._throttle import LoginThrottle
from seamline.access._users import check_username, record_access
from seamline.errors import ConfigError
from seamline.store import Store
from seamline.store.tables import users

log = logging.getLogger("seamline.access")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD, CSRF_HEADER = "csrf_token", "X-CSRF-Token"
MAX_FORM_BYTES = 64 * 1024
# argon2id verifies with 64 MiB of memory: a sign-in storm must not run 60 of them at once.
MAX_HASH_CHECKS = 4
_NO_SESSION = object()
_SCOPE_COOKIES = "seamline.access.set_cookies"
_SCOPE_SESSION = "seamline.access.session"


class AccessRefused(Exception):
    """Raised by the access dependencies; carries the ready response (401, 403, 303, 429)."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"access refused ({response.status_code})")
        self.response = response


def _json_refusal(status: int, sentence: str, headers: dict[str, str] | None = None) -> AccessRefused:
    return AccessRefused(JSONResponse({"error": sentence}, status_code=status, headers=headers))


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


class AccessControl:
    """Users, sessions, API keys and CSRF for one app; see the module docstring."""

    def __init__(self, store: Store, *,
                 api_keys: Mapping[str, Role | str] | Iterable[str] | None = None,
                 allow_anonymous: bool = False, secure_cookies: bool = True,
                 session_lifetime_s: float = 12 * 3600, idle_timeout_s: float = 30 * 60,
                 max_login_failures: int = 5, login_window_s: float = 300.0,
                 home: str = "/", clock: Callable[[], float] = time.time,
                 trusted_proxies: Iterable[str] = (),
                 max_hash_checks: int = MAX_HASH_CHECKS) -> None:
        """``api_keys``: key -> role, a set of (admin) keys, or None to read SEAMLINE_API_KEYS.

        ``allow_anonymous`` lets routes declared with ``api(role, anonymous_ok=True)`` (the
        service endpoints) answer without a key when no key is configured at all; console
        pages and other API routes always need a user. ``trusted_proxies`` (addresses or
        CIDRs): only a request from one of these has its client taken from X-Forwarded-For.
        """
        if not session_lifetime_s > 0 or not idle_timeout_s > 0:
            raise ConfigError("Session lifetimes must be positive numbers of seconds.")
        self.trusted_proxies = _networks(trusted_proxies)
        # Password checks (and the sign-in's store writes) run here, a few at a time; the
        # rest wait in this executor's queue, holding no thread.
        self._hashing = ThreadPoolExecutor(max(1, max_hash_checks),
                                           thread_name_prefix="seamline-sign-in")
        self.store = store
        self.keys = as_key_roles(api_keys)
        self.allow_anonymous, self.secure_cookies, self.home = allow_anonymous, secure_cookies, home
        self.clock = clock
        self.sessions = Sessions(store, lifetime_s=session_lifetime_s,
                                 idle_timeout_s=idle_timeout_s, clock=clock)
        self.throttle = LoginThrottle(store, max_login_failures, login_window_s, clock)
        # The __Host- prefix makes browsers refuse the cookie from a sibling subdomain or
        # over http; it needs Secure, so plain-http test setups use the bare names.
        prefix = "__Host-" if secure_cookies else ""
        self.session_cookie, self.csrf_cookie = prefix + "seamline_session", prefix + "seamline_csrf"
        self._bearer = HTTPBearer(auto_error=False, description="An API key from SEAMLINE_API_KEYS.")
        self._header_key = APIKeyHeader(name="X-API-Key", auto_error=False,
                                        description="An API key from SEAMLINE_API_KEYS.")

    # ------------------------------------------------------------------ installing

    def install(self, app: FastAPI) -> None:
        """Add the refusal handler, the cookie middleware and GET/POST /login, POST /logout."""

        async def refused(_request: Request, exc: AccessRefused) -> Response:
            return exc.response

        app.add_exception_handler(AccessRefused, refused)  # type: ignore[arg-type]
        app.add_middleware(_PendingCookies, secure=self.secure_cookies)
        app.add_api_route("/login", self._login_form, methods=["GET"], include_in_schema=False)
        app.add_api_route("/login", self._login_submit, methods=["POST"], include_in_schema=False)
        app.add_api_route("/logout", self._logout, methods=["POST"], include_in_schema=False,
                          dependencies=[Depends(self.check_csrf)])
        app.state.access = self

    # ------------------------------------------------------------------ dependencies

    def page(self, role: Role) -> Callable[..., Awaitable[User]]:
        """A dependency for HTML pages: the signed-in user, else a redirect to /login or a 403."""

        async def require_page(request: Request) -> User:
            session = await self._session(request)
            if session is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                raise AccessRefused(RedirectResponse(f"/login?next={quote(target, safe='')}",
                                                     status_code=303))
            if session.role < role:
                raise AccessRefused(refusal_page(403, _under_privileged(session.username,
                                                                        session.role, role)))
            return User(session.username, session.role, "session")

        require_page.seamline_access = ("page", role)  # type: ignore[attr-defined]
        return require_page

    def api(self, role: Role, *, anonymous_ok: bool = False) -> Callable[..., Awaitable[User]]:
        """A dependency for JSON routes: an API key (Bearer or X-API-Key) or a session.

        A session's unsafe requests (POST, ...) must also send the X-CSRF-Token header.
        ``anonymous_ok``: without any key configured and with allow_anonymous, anyone passes.
        """

        async def require_api(
            request: Request,
            credentials: HTTPAuthorizationCredentials | None = Depends(self._bearer),  # noqa: B008
            x_api_key: str | None = Depends(self._header_key),
        ) -> User:
            presented = x_api_key or (credentials.credentials if credentials else None)
            if presented is not None:
                key_role = match_key(presented, self.keys)
                if key_role is None:
                    raise _json_refusal(401, "the API key is not valid",
                                        {"WWW-Authenticate": "Bearer"})
                user = User(key_label(presented), key_role, "api_key")
            else:
                session = await self._session(request)
                if session is not None:
                    user = User(session.username, session.role, "session")
                    if request.method not in SAFE_METHODS:
                        given = request.headers.get(CSRF_HEADER)
                        if not given or not hmac.compare_digest(given.encode(),
                                                                session.csrf_token.encode()):
                            raise _json_refusal(403, "the CSRF token is missing or wrong: a "
                                                     "signed-in request that changes something "
                                                     f"must send the {CSRF_HEADER} header")
                elif anonymous_ok and self.allow_anonymous and not self.keys:
                    request.state.user = User("anonymous", role, "anonymous")
                    return request.state.user
                else:
                    raise _json_refusal(401, "an API key is required: send 'Authorization: "
                                             "Bearer <key>' or 'X-API-Key' (or sign in)",
                                        {"WWW-Authenticate": "Bearer"})
            if user.role < role:
                raise _json_refusal(403, _under_privileged(user.username, user.role, role))
            request.state.user = user  # routes record who acted (e.g. who submitted an event)
            return user

        require_api.seamline_access = ("api", role)  # type: ignore[attr-defined]
        return require_api

    async def check_csrf(self, request: Request) -> None:
        """A dependency for form posts: the form field csrf_token (or X-CSRF-Token) must match."""
        if request.method in SAFE_METHODS:
            return
        presented = request.headers.get(CSRF_HEADER)
        if presented is None:
            presented = (await self._form(request)).get(CSRF_FIELD)
        session = await self._session(request)
        expected = session.csrf_token if session else request.cookies.get(self.csrf_cookie)
        if not (presented and expected
                and hmac.compare_digest(presented.encode(), expected.encode())):
            sentence = ("The form's security token is missing or out of date: reload the page "
                        "and try again.")
            raise AccessRefused(refusal_page(403, sentence) if _wants_html(request)
                                else JSONResponse({"error": sentence}, status_code=403))

    def csrf_token(self, request: Request) -> str:
        """The token to embed in a form (hidden input "csrf_token"), for this session or browser."""
        cached = request.scope.get(_SCOPE_SESSION, _NO_SESSION)
        session = (cached if cached is not _NO_SESSION
                   else self.sessions.lookup(request.cookies.get(self.session_cookie)))
        if isinstance(session, ActiveSession):
            return session.csrf_token
        return self._browser_token(request)

    async def current_user(self, request: Request) -> User | None:
        """The signed-in user, if any (for pages that show more to those signed in)."""
        session = await self._session(request)
        return None if session is None else User(session.username, session.role, "session")

    # ------------------------------------------------------------------ routes

    async def _login_form(self, request: Request, next: str = "") -> Response:
        await self._session(request)  # signed in already: the form carries the session's token
        return login_page(csrf_token=self.csrf_token(request), next_path=self._safe_next(next))

    async def _login_submit(self, request: Request) -> Response:
        form = await self._form(request)
        await self.check_csrf(request)
        username = form.get("username", "").strip()
        password = form.get("password", "")
        next_path = self._safe_next(form.get("next", ""))
        client = self.client_address(request)
        # The username as typed is never stored, not even as a throttle key: people type
        # their password into it. A digest counts the same for every process.
        keys = ("user:" + hashlib.sha256(username.lower().encode()).hexdigest(), f"ip:{client}")
        # Counted before the password is checked, atomically: parallel guesses cannot all
        # pass a check made before any of them was counted.
        attempt = await run_in_threadpool(self.throttle.admit, *keys)  # store I/O
        if attempt.wait:
            log.warning("sign-in refused from %s: too many failures", client)
            return login_page(csrf_token=self.csrf_token(request), next_path=next_path,
                              username=username, status=429,
                              headers={"Retry-After": str(attempt.wait)},
                              error=f"Too many failed sign-ins. Try again in {attempt.wait} "
                                    "seconds.")
        old_token = request.cookies.get(self.session_cookie)
        token = await asyncio.get_running_loop().run_in_executor(
            self._hashing, self._authenticate, username, password, client, old_token)
        if token is None:  # the attempt stays counted as a failure
            return login_page(csrf_token=self.csrf_token(request), next_path=next_path,
                              username=username, status=401,
                              error="The username or password is not correct.")
        await run_in_threadpool(self.throttle.succeeded, keys[0], attempt)
        response = RedirectResponse(next_path, status_code=303)
        response.set_cookie(self.session_cookie, token, max_age=int(self.sessions.lifetime_s),
                            path="/", secure=self.secure_cookies, httponly=True, samesite="lax")
        return response

    async def _logout(self, request: Request) -> Response:
        session = await self._session(request)
        token = request.cookies.get(self.session_cookie)

        def end() -> None:
            with self.store.write() as conn:
                self.sessions.end(conn, token)
                if session is not None:
                    record_access(conn, "logout", {"username": session.username,
                                                   "actor": session.username})

        await run_in_threadpool(end)
        request.scope[_SCOPE_SESSION] = None
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(self.session_cookie, path="/", secure=self.secure_cookies,
                               httponly=True, samesite="lax")
        return response

    # ------------------------------------------------------------------ internals

    def _authenticate(self, username: str, password: str, client: str,
                      old_token: str | None) -> str | None:
        """Check a password (always one argon2 verification) and open a session; None if wrong."""
        try:
            check_username(username)
            valid_name = True
        except ConfigError:
            valid_name = False
        row = None
        if valid_name:
            with self.store.read() as conn:
                row = conn.execute(select(users).where(users.c.username == username)).first()
        stored = row.password_hash if row is not None and not row.disabled else None
        ok, new_hash = verify_password(stored, password)
        now = self.clock()
        with self.store.write() as conn:
            if not ok:
                why = ("no such user" if row is None else
                       "user disabled" if row.disabled else "wrong password")
                # Only an existing user is named: what else was typed may be a password.
                named = {"username": username} if row is not None else {}
                record_access(conn, "login_failed", {**named, "client": client,
                                                     "reason": why}, now)
                log.info("failed sign-in for %s from %s",
                         repr(username) if row is not None else "an unknown username", client)
                return None
            if new_hash is not None:  # argon2 parameters were raised since this hash was made
                conn.execute(update(users).where(users.c.username == username)
                             .values(password_hash=new_hash))
            # A fresh token on every sign-in: a token planted before sign-in is worthless after.
            self.sessions.end(conn, old_token)
            self.sessions.purge_expired(conn)  # housekeeping, at the rate people sign in
            token, _session = self.sessions.create(conn, username)
            record_access(conn, "login", {"username": username, "actor": username,
                                          "client": client}, now)
        return token

    async def _session(self, request: Request) -> ActiveSession | None:
        cached = request.scope.get(_SCOPE_SESSION, _NO_SESSION)
        if cached is _NO_SESSION:
            token = request.cookies.get(self.session_cookie)
            cached = await run_in_threadpool(self.sessions.lookup, token) if token else None
            request.scope[_SCOPE_SESSION] = cached
        return cached

    def client_address(self, request: Request) -> str:
        """The client's address: the peer, or behind a trusted proxy, X-Forwarded-For's.

        The nearest address in X-Forwarded-For that is not itself a trusted proxy: what
        the client wrote further left is its own claim and proves nothing.
        """
        peer = request.client.host if request.client else "unknown"
        if not self.trusted_proxies or not _within(peer, self.trusted_proxies):
            return peer
        hops = [hop.strip() for value in request.headers.getlist("x-forwarded-for")
                for hop in value.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not _within(hop, self.trusted_proxies):
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    return peer  # not an address: the proxy is the client we know
        return hops[0] if hops else peer

    def _browser_token(self, request: Request) -> str:
        """The pre-sign-in CSRF token (double-submit cookie), set on the response if new."""
        token = request.cookies.get(self.csrf_cookie, "")
        if not (20 <= len(token) <= 100):
            pending = request.scope.setdefault(_SCOPE_COOKIES, {})
            token = pending.get(self.csrf_cookie) or secrets.token_urlsafe(32)
            pending[self.csrf_cookie] = token
        return token

    async def _form(self, request: Request) -> dict[str, str]:
        """The posted form's fields (first value of each); an unreadable body is no fields."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/x-www-form-urlencoded":
            body = await _read_capped(request)
            parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            return {k: v[0] for k, v in parsed.items()}
        if kind == "multipart/form-data":
            try:
                form = await request.form()
            except Exception:  # noqa: BLE001 - no multipart parser, or a malformed body
                return {}
            return {k: v for k, v in form.items() if isinstance(v, str)}
        return {}

    def _safe_next(self, target: str | None) -> str:
        """Only a path on this site: '//evil.example' or 'https://…' would be an open redirect."""
        if (target and target.startswith("/") and not target.startswith(("//", "/\\"))
                and not any(ord(c) < 32 for c in target)):
            return target
        return self.home


_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(entries: Iterable[str]) -> tuple[_Network, ...]:
    found = []
    for entry in entries:
        try:
            found.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            raise ConfigError(f"A trusted proxy must be an address or a CIDR block (such as "
                              f"10.0.0.0/8), not {entry!r}.") from None
    return tuple(found)


def _within(address: str, networks: tuple[_Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _under_privileged(username: str, has: Role, needs: Role) -> str:
    return f"{username} has the {has.value} role; this needs the {needs.value} role or higher"


async def _read_capped(request: Request) -> bytes:
    cached = getattr(request, "_body", None)
    if cached is not None:
        return cached
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise _json_refusal(413, f"the form is larger than {MAX_FORM_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            raise _json_refusal(413, f"the form is larger than {MAX_FORM_BYTES} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # Starlette's own cache: the route can still read the form
    return body


class _PendingCookies:
    """ASGI middleware: adds the pre-sign-in CSRF cookie a handler asked for to the response."""

    def __init__(self, app: Any, secure: bool) -> None:
        self.app, self.secure = app, secure

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookies(message: dict) -> None:
            if message["type"] == "http.response.start" and scope.get(_SCOPE_COOKIES):
                headers = MutableHeaders(scope=message)
                secure = "; Secure" if self.secure else ""
                for name, value in scope[_SCOPE_COOKIES].items():
                    headers.append("set-cookie", f"{name}={value}; Path=/; HttpOnly; "
                                                 f"SameSite=Lax{secure}")
            await send(message)

        await self.app(scope, receive, send_with_cookies)
