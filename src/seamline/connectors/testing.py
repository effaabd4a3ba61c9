"""Contract tests for connectors: a local vendor server that speaks HTTP on 127.0.0.1.

Script what the vendor answers per method and path (its real error bodies, 429 with
Retry-After, a body of an unexpected shape), point the connector's ``base_url`` at
``server.url``, then assert on the requests it recorded::

    with VendorServer() as vendor:
        vendor.script("POST", "/chat.postMessage", Reply(200, {"ok": True, "ts": "1.2"}))
        SlackConnector({"base_url": vendor.url}, store=store).post_message(...)
        vendor.assert_sent("POST", "/chat.postMessage", headers={"Authorization": "Bearer x"})
"""

from __future__ import annotations

import fnmatch
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import EllipsisType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from seamline.connectors._base import Connector, ConnectorOptions

__all__ = ["RecordedRequest", "Reply", "VendorServer", "check_connector_class"]

_HOST = "127.0.0.1"  # where a VendorServer listens


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status, a JSON body (or raw ``text``), headers, a delay."""

    status: int = 200
    json: Any = None
    text: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0

    def body(self) -> bytes:
        if self.text is not None:
            return self.text.encode()
        return b"" if self.json is None else json.dumps(self.json).encode()


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the vendor saw it (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """The form-encoded body, one value per key (Stripe's ``metadata[k]=v`` style)."""
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


Route = Callable[[RecordedRequest], Reply]


class VendorServer:
    """A threaded HTTP server that records requests and answers from a script.

    ``script(method, path, *replies)`` answers in order, repeating the last; ``route``
    answers with a function of the request (to emulate a vendor's idempotency, say).
    ``path`` may be a glob (``/crm/v3/objects/*``). Unscripted requests get a 404
    ``{"error": "not scripted"}`` so a test sees them.
    """

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._routes: list[tuple[str, str, Route]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- scripting ---------------------------------------------------------------------

    def script(self, method: str, path: str, *replies: Reply) -> None:
        queue = list(replies) or [Reply()]

        def answer(_: RecordedRequest) -> Reply:
            with self._lock:
                return queue.pop(0) if len(queue) > 1 else queue[0]

        self.route(method, path, answer)

    def route(self, method: str, path: str, fn: Route) -> None:
        """Answer matching requests with ``fn(request)``; later routes win over earlier ones."""
        self._routes.insert(0, (method.upper(), path, fn))

    # -- assertions --------------------------------------------------------------------

    def sent(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """The recorded requests, optionally only those matching method and path (glob)."""
        return [r for r in list(self.requests)
                if (method is None or r.method == method.upper())
                and (path is None or fnmatch.fnmatchcase(r.path, path))]

    def assert_sent(self, method: str, path: str, *, times: int | None = 1,
                    headers: Mapping[str, str | EllipsisType] | None = None, json: Any = None,
                    form: Mapping[str, str] | None = None) -> RecordedRequest:
        """Assert matching requests arrived (``times`` of them) and the last carries these
        headers (exact values; ``...`` for "present") and this JSON body or form subset."""
        found = self.sent(method, path)
        if times is not None:
            assert len(found) == times, (
                f"expected {times} {method} {path} request(s), got {len(found)}: "
                f"{[(r.method, r.path) for r in self.requests]}")
        assert found, f"no {method} {path} request arrived"
        last = found[-1]
        for name, want in (headers or {}).items():
            got = last.headers.get(name.lower())
            assert got is not None, f"header {name} missing from {method} {path}"
            assert want is ... or got == want, f"header {name} is {got!r}, expected {want!r}"
        if json is not None:
            assert last.json() == json, f"body {last.json()!r} != expected {json!r}"
        if form is not None:
            body = last.form()
            for key, want in form.items():
                assert body.get(key) == want, f"form field {key} is {body.get(key)!r}, not {want!r}"
        return last

    # -- running -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first (use it as a context manager)"
        return f"http://{_HOST}:{self._server.server_port}"

    def start(self) -> Self:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                split = urlsplit(self.path)
                request = RecordedRequest(self.command, split.path, parse_qs(split.query),
                                          {k.lower(): v for k, v in self.headers.items()},
                                          self.rfile.read(length) if length else b"")
                with outer._lock:
                    outer.requests.append(request)
                reply = outer._answer(request)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                body = reply.body()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test): nothing to answer

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer((_HOST, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True,
                         name="seamline-vendor-server").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer(self, request: RecordedRequest) -> Reply:
        for method, pattern, fn in list(self._routes):
            if method == request.method and fnmatch.fnmatchcase(request.path, pattern):
                return fn(request)
        return Reply(404, {"error": "not scripted", "path": request.path})


def check_connector_class(cls: type[Connector]) -> None:
    """Assert a connector class keeps the documented contract (run it in your own tests)."""
    for attr in ("name", "api_version", "idempotency", "operations"):
        assert getattr(cls, attr, None), f"{cls.__name__} must set {attr}"
    assert cls.idempotency in ("vendor", "ours"), f"{cls.__name__}.idempotency is vendor or ours"
    assert issubclass(cls.Options, ConnectorOptions), "Options must subclass ConnectorOptions"
    for option in cls.credentials:
        assert option in cls.Options.model_fields, (
            f"credential option {option} is not a field of {cls.Options.__name__}")
    for op in cls.operations:
        fn = getattr(cls, op, None)
        assert callable(fn), f"{cls.__name__}.{op} is listed in operations but not defined"
        assert fn.__doc__, f"{cls.__name__}.{op} needs a docstring (it is the action's contract)"
