"""The emulator: one Starlette app for both wire formats, faults, recording, a uvicorn thread.

Every request is recorded (API keys masked) before any fault is applied, so a test
can assert on what reached the "provider" whatever happened next.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from seamline.emulator import _anthropic, _batches, _openai
from seamline.emulator._backend import Backend, echo_backend, reply_text
from seamline.emulator._citations import CitedReply
from seamline.emulator._citations import reply as cited_reply
from seamline.emulator._faults import FaultPlan, FaultRule, FaultState
from seamline.emulator._tools import ToolUseReply
from seamline.emulator._tools import reply as tool_reply
from seamline.emulator._usage import PromptCache, approx_tokens
from seamline.emulator._wire import WireError, invalid, new_id

log = logging.getLogger("seamline.emulator")

_ERROR_FAULTS = {"rate_limit", "server_error", "unavailable", "overloaded"}
_SECRET_HEADERS = {"x-api-key", "authorization", "api-key"}


class ConnectionDropped(RuntimeError):
    """Raised to drop a connection when the server offers no clean way (e.g. TestClient)."""


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the emulator received it; secret header values are masked."""

    provider: str  # "anthropic" | "openai"
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON body, or None if it was not JSON
    text: str  # the raw body, decoded
    at: float  # time.time() on arrival
    fault: str | None  # the fault kind applied to it, if any


def _mask(name: str, value: str) -> str:
    if name not in _SECRET_HEADERS:
        return value
    scheme, _, rest = value.partition(" ")
    return f"{scheme} ***" if rest and scheme.lower() == "bearer" else "***"


class Emulator:
    """A local Anthropic Messages + OpenAI Chat Completions server answering from ``backend``.

    >>> with Emulator(ScriptBackend(['{"ok": true}'])).serve() as emu:  # doctest: +SKIP
    ...     anthropic.Anthropic(base_url=emu.base_url, api_key="k").messages.create(...)

    ``api_keys`` limits the accepted keys (default: any non-empty key). Assign
    ``emulator.faults = FaultPlan(...)`` at any time: counters and RNG restart with it.
    Both providers' batch APIs are served too; a batch ends ``batch_delay`` seconds
    after it is created.
    """

    def __init__(self, backend: Backend | None = None, faults: FaultPlan | None = None,
                 seed: int | None = 0, *, api_keys: set[str] | frozenset[str] | None = None,
                 host: str = "127.0.0.1", port: int = 0, batch_delay: float = 0.0) -> None:
        self.backend: Backend = backend or echo_backend
        self.batch_delay = batch_delay
        self._batches = _batches.BatchStore()
        self.seed = seed
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.host, self.port = host, port
        self._fault_state = FaultState(faults or FaultPlan(), seed)
        self._cache = PromptCache()
        self._records: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url: str | None = None
        self.app = Starlette(routes=[
            Route(wire.PATH, self._route(wire), methods=["POST"]) for wire in (_anthropic, _openai)
        ] + _batches.routes(self) + [Route("/_emulator/stats", self._stats, methods=["GET"])])

    # -- configuration and inspection -------------------------------------------------------

    @property
    def faults(self) -> FaultPlan:
        return self._fault_state.plan

    @faults.setter
    def faults(self, plan: FaultPlan | None) -> None:
        self._fault_state = FaultState(plan or FaultPlan(), self.seed)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    def received_text(self) -> str:
        """Every raw body received so far, joined: what a test searches for leaked values."""
        return "\n".join(r.text for r in self.requests)

    def stats(self) -> dict[str, Any]:
        """What was injected since the plan was set or the emulator reset (``GET
        /_emulator/stats``): requests, and requests per fault kind ("ok": none), connection
        resets and hangs included."""
        state = self._fault_state
        by_kind = state.injected()
        total = sum(by_kind.values())
        faults = {k: n for k, n in sorted(by_kind.items()) if k != "ok"}
        return {"requests": total, "ok": by_kind.get("ok", 0), "faults": faults,
                "faulted": sum(faults.values()),
                "fault_share": round(sum(faults.values()) / total, 4) if total else 0.0,
                "since": state.since}

    def summary(self) -> str:
        """One line: "emulator: 1,204 requests, 251 faults (20.8%): rate_limit 96, ..."."""
        s = self.stats()
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(s["faults"].items(),
                                                       key=lambda kv: -kv[1]))
        return (f"emulator: {s['requests']:,} requests, {s['faulted']:,} faults "
                f"({s['fault_share']:.1%}){': ' + kinds if kinds else ''}")

    def reset(self) -> None:
        """Forget recorded requests, cached prompts and batches; restart the fault plan's
        counters (the injected-fault counts too)."""
        with self._lock:
            self._records.clear()
        self._cache.clear()
        self._batches.clear()
        self.faults = self.faults

    # -- running ----------------------------------------------------------------------------

    def start(self) -> Self:
        """Serve on ``host`` (a free port unless one was given) in a background thread."""
        if self._thread is not None:
            return self
        self._closing.clear()
        # uvicorn binds the port itself (0 = any free one): sockets handed over ready-made lose
        # asyncio's TCP_NODELAY and cost every request a 40 ms delayed-ACK stall.
        config = uvicorn.Config(self._asgi, host=self.host, port=self.port, log_config=None,
                                log_level="warning", access_log=False, lifespan="off",
                                interface="asgi3", timeout_graceful_shutdown=2)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="seamline-emulator", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(5)
                raise RuntimeError(f"The emulator could not serve on {self.host}:{self.port}.")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        port = server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://{self.host}:{port}"
        return self

    def stop(self) -> None:
        """Release hanging requests, shut the server down and wait for its thread."""
        if self._thread is None:
            return
        self._closing.set()
        assert self._server is not None
        self._server.should_exit = True
        self._thread.join(10)
        self._server = self._thread = None
        log.info("%s", self.summary())

    def run(self) -> None:
        """Serve in the foreground on ``host:port`` until interrupted (``seamline emulate``)."""
        self._closing.clear()
        config = uvicorn.Config(self._asgi, host=self.host, port=self.port or 8787,
                                log_level="info", lifespan="off", interface="asgi3",
                                timeout_graceful_shutdown=2)
        try:
            uvicorn.Server(config).run()
        finally:
            self._closing.set()
            print(self.summary(), file=sys.stderr, flush=True)  # what a drill counts

    @contextlib.contextmanager
    def serve(self) -> Iterator[Emulator]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the HTTP side ----------------------------------------------------------------------

    async def _asgi(self, scope: dict, receive: Any, send: Any) -> None:
        # uvicorn's send is bound to the request cycle, which holds the socket's transport:
        # aborting it is the one way to close a connection with no response at all.
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if scope["type"] == "http" and transport is not None:
            scope = dict(scope, **{"seamline.drop": transport.abort})
        await self.app(scope, receive, send)

    async def _stats(self, request: Request) -> Response:
        return JSONResponse(self.stats())

    def _route(self, wire: ModuleType):
        async def endpoint(request: Request) -> Response:
            return await self._handle(request, wire)
        return endpoint

    async def _handle(self, request: Request, wire: ModuleType) -> Response:
        raw = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request_id = new_id("req_")
        state = self._fault_state
        rule: FaultRule | None = None
        try:
            wire.check_auth(headers, self.api_keys)
            rule = state.decide(wire.NAME)
        except WireError as err:
            return self._error(wire, err, request_id)
        finally:
            self._record(request, wire.NAME, headers, raw, body, rule)

        delay = state.delay()
        if delay:
            await self._sleep(delay)
        kind = rule.kind if rule else None
        if rule is not None and kind == "hang":
            await self._sleep(rule.seconds)
            if self._closing.is_set():
                return await self._drop(request)
        elif kind == "reset":
            return await self._drop(request)
        elif rule is not None and kind in _ERROR_FAULTS:
            retry = rule.retry_after if kind == "rate_limit" else None
            return self._error(wire, wire.fault_error(kind), request_id, retry)

        try:
            if body is None:
                raise invalid("There was an error parsing the body: the request body is not JSON.")
            ereq, segments = wire.parse(body)
        except WireError as err:
            return self._error(wire, err, request_id)
        try:
            out = await run_in_threadpool(self.backend, ereq)
        except Exception as exc:  # a backend bug is the provider's 500, never a crash
            log.exception("emulator backend failed")
            crash = WireError(500, "api_error" if wire is _anthropic else "server_error",
                              f"The emulator's backend failed: {type(exc).__name__}: {exc}")
            return self._error(wire, crash, request_id)
        return self._answer(request, wire, ereq, segments, out, kind, request_id)

    def _answer(self, request: Request, wire: ModuleType, ereq: Any, segments: list, out: Any,
                kind: str | None, request_id: str) -> Response:
        payload = self._reply_payload(wire, ereq, segments, out, kind)
        headers = {wire.REQUEST_ID_HEADER: request_id}
        if ereq.stream:
            return StreamingResponse(self._stream(request, wire, ereq, payload, kind),
                                     media_type="text/event-stream",
                                     headers=dict(headers, **{"cache-control": "no-cache"}))
        blob = json.dumps(payload, ensure_ascii=False).encode()
        if kind == "malformed_json":
            blob = blob.replace(b'", "', b'" "', 1)  # a missing comma: not JSON
        elif kind == "truncated_json":
            blob = blob[: len(blob) // 2]
        return Response(blob, 200, headers=headers, media_type="application/json")

    def _reply_payload(self, wire: ModuleType, ereq: Any, segments: list, out: Any,
                       kind: str | None) -> dict[str, Any]:
        """The reply object for a backend's answer, content faults and prompt caching applied."""
        if isinstance(out, ToolUseReply):  # a script step calling tools (agents)
            cache = self._cache.anthropic if wire is _anthropic else self._cache.openai
            return tool_reply(wire.NAME, ereq, out, cache(ereq.model, segments))
        if isinstance(out, CitedReply) and wire is _anthropic:  # text blocks with citations
            return cited_reply(ereq, out, self._cache.anthropic(ereq.model, segments))
        text = reply_text(out)
        data = out if isinstance(out, dict) else _loads(text)
        stop = "end"
        if ereq.max_tokens and approx_tokens(text) > ereq.max_tokens:
            text, stop = text[: ereq.max_tokens * 4], "max_tokens"
        if kind == "max_tokens":
            text, stop = text[: max(1, len(text) // 2)], "max_tokens"
        elif kind == "malformed_content":
            text = text.rstrip().rstrip("}") + ",,}"
            data = {"text": text}
        cache = self._cache.anthropic if wire is _anthropic else self._cache.openai
        prompt = cache(ereq.model, segments)
        return wire.reply(ereq, text, data, stop, prompt, approx_tokens(text))

    async def _stream(self, request: Request, wire: ModuleType, ereq: Any,
                      payload: dict, kind: str | None):
        if wire is _openai:
            include = bool((ereq.body.get("stream_options") or {}).get("include_usage"))
            events = list(wire.stream_events(payload, include_usage=include))
        else:
            events = list(wire.stream_events(payload))
        half = max(1, len(events) // 2)
        for i, event in enumerate(events):
            if i == half and kind == "malformed_json":
                yield wire.malformed_stream_event()
            if i == half and kind in ("truncated_json", "reset"):
                drop = request.scope.get("seamline.drop")
                if drop is not None:
                    drop()
                    await asyncio.sleep(0.01)
                return
            yield event

    def _error(self, wire: ModuleType, err: WireError, request_id: str,
               retry_after: float | None = None) -> Response:
        headers = {wire.REQUEST_ID_HEADER: request_id}
        if retry_after is not None:
            headers["retry-after"] = str(max(0, round(retry_after)))
            if wire is _openai:
                headers["retry-after-ms"] = str(int(retry_after * 1000))
        return JSONResponse(wire.error_body(err, request_id), err.status, headers=headers)

    async def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._closing.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.05))

    async def _drop(self, request: Request) -> Response:
        drop = request.scope.get("seamline.drop")
        if drop is None:
            raise ConnectionDropped("the emulator dropped this connection (fault: reset)")
        drop()
        await asyncio.sleep(0.01)  # let the server see the connection is gone before it writes
        return Response(status_code=500)  # never delivered

    def _record(self, request: Request, provider: str, headers: dict[str, str], raw: bytes,
                body: Any, rule: FaultRule | None) -> None:
        record = RecordedRequest(
            provider=provider, method=request.method, path=request.url.path,
            headers={k: _mask(k, v) for k, v in headers.items()}, body=body,
            text=raw.decode("utf-8", errors="replace"), at=time.time(),
            fault=rule.kind if rule else None)
        with self._lock:
            self._records.append(record)


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
