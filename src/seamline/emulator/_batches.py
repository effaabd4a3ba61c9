"""The batch APIs of both providers: Anthropic Message Batches here, and what both share;
OpenAI Batch (with Files) in ``_batches_openai``.

Each batched request is answered by the same backend, validation and fault plan as a
single call; a batch only reports "ended" / "completed" ``Emulator.batch_delay`` seconds
after it was created, so clients' polling is exercised. Fault rules count every item as
one request of its provider: an error fault (rate_limit, server_error …) makes that
item's result an error; a transport fault (hang, reset, a broken body) has no socket to
act on inside a batch and becomes a 500 for that item; content faults apply as usual.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from seamline.emulator import _anthropic
from seamline.emulator._wire import WireError, invalid, new_id

if TYPE_CHECKING:
    from seamline.emulator._server import Emulator

_ERROR_FAULTS = {"rate_limit", "server_error", "unavailable", "overloaded"}
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_JSONL = "application/x-jsonl"


@dataclass
class Batch:
    """One batch as the emulator keeps it: its items' outcomes and when it ends."""

    id: str
    provider: str
    delay: float  # seconds from creation to its end
    total: int
    created_at: float = field(default_factory=time.time)
    ready_at: float = 0.0  # time.monotonic() from which it has ended
    succeeded: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    errored: list[tuple[str, WireError, str]] = field(default_factory=list)  # + request id
    input_file_id: str = ""
    endpoint: str = ""
    failure: list[dict[str, Any]] | None = None  # OpenAI: why validation failed
    output_file_id: str | None = None
    error_file_id: str | None = None

    def __post_init__(self) -> None:
        self.ready_at = time.monotonic() + self.delay

    @property
    def ends_at(self) -> float:
        return self.created_at + self.delay

    @property
    def ended(self) -> bool:
        return time.monotonic() >= self.ready_at


@dataclass(frozen=True)
class StoredFile:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int


class BatchStore:
    """The batches and files of one emulator; thread-safe."""

    def __init__(self) -> None:
        self.batches: dict[str, Batch] = {}
        self.files: dict[str, StoredFile] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self.batches.clear()
            self.files.clear()

    def add_batch(self, batch: Batch) -> None:
        with self._lock:
            self.batches[batch.id] = batch

    def add_file(self, filename: str, purpose: str, content: bytes) -> StoredFile:
        stored = StoredFile(new_id("file-"), filename, purpose, content, int(time.time()))
        with self._lock:
            self.files[stored.id] = stored
        return stored


def routes(emu: Emulator) -> list[Route]:
    from seamline.emulator._batches_openai import OpenAIBatches  # it builds on this module

    a, o = _AnthropicBatches(emu), OpenAIBatches(emu)
    return [
        Route("/v1/messages/batches", a.create, methods=["POST"]),
        Route("/v1/messages/batches/{batch_id}", a.retrieve, methods=["GET"]),
        Route("/v1/messages/batches/{batch_id}/results", a.results, methods=["GET"]),
        Route("/v1/files", o.upload, methods=["POST"]),
        Route("/v1/files/{file_id}", o.file, methods=["GET"]),
        Route("/v1/files/{file_id}/content", o.content, methods=["GET"]),
        Route("/v1/batches", o.create, methods=["POST"]),
        Route("/v1/batches/{batch_id}", o.retrieve, methods=["GET"]),
    ]


def _rfc3339(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


class _Endpoints:
    wire: ModuleType

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    async def _accept(self, request: Request) -> tuple[bytes, Any, Response | None]:
        """Record the request and check its key; a refusal comes back as the response."""
        raw = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            body = json.loads(raw) if raw and "json" in headers.get("content-type", "") else None
        except ValueError:
            body = None
        self.emu._record(request, self.wire.NAME, headers, raw, body, None)
        try:
            self.wire.check_auth(headers, self.emu.api_keys)
        except WireError as err:
            return raw, body, self._error(err)
        return raw, body, None

    def _error(self, err: WireError) -> Response:
        request_id = new_id("req_")
        return JSONResponse(self.wire.error_body(err, request_id), err.status,
                            headers={self.wire.REQUEST_ID_HEADER: request_id})

    def _batch(self, batch_id: str) -> Batch | None:
        batch = self.emu._batches.batches.get(batch_id)
        return batch if batch is not None and batch.provider == self.wire.NAME else None

    def _run_item(self, body: Any) -> tuple[dict[str, Any] | None, WireError | None]:
        """One batched request, answered as a single call would be: (reply, None) or (None, error)."""
        wire, emu = self.wire, self.emu
        rule = emu._fault_state.decide(wire.NAME)
        kind = rule.kind if rule else None
        server_error = "api_error" if wire is _anthropic else "server_error"
        if kind in _ERROR_FAULTS:
            return None, wire.fault_error(kind)
        if kind in ("hang", "reset", "malformed_json", "truncated_json"):
            return None, WireError(500, server_error, f"The request failed inside the batch "
                                   f"(emulated fault: {kind}).")
        try:
            if isinstance(body, dict) and body.get("stream"):
                raise invalid("stream: streaming is not supported in batches")
            ereq, segments = wire.parse(body)
        except WireError as err:
            return None, err
        try:
            out = emu.backend(ereq)
        except Exception as exc:  # noqa: BLE001 -- a backend bug is a 500 for this item only
            return None, WireError(500, server_error, f"The emulator's backend failed: "
                                   f"{type(exc).__name__}: {exc}")
        return emu._reply_payload(wire, ereq, segments, out, kind), None

    def _process(self, batch: Batch, items: list[tuple[str, Any]]) -> None:
        for custom_id, body in items:
            reply, err = self._run_item(body)
            if err is None:
                batch.succeeded.append((custom_id, reply))  # type: ignore[arg-type]
            else:
                batch.errored.append((custom_id, err, new_id("req_")))


class _AnthropicBatches(_Endpoints):
    wire = _anthropic

    async def create(self, request: Request) -> Response:
        _, body, refused = await self._accept(request)
        if refused is not None:
            return refused
        try:
            items = self._items(body)
        except WireError as err:
            return self._error(err)
        batch = Batch(new_id("msgbatch_"), self.wire.NAME, self.emu.batch_delay, len(items))
        await run_in_threadpool(self._process, batch, items)
        self.emu._batches.add_batch(batch)
        return JSONResponse(self._object(batch, request))

    @staticmethod
    def _items(body: Any) -> list[tuple[str, Any]]:
        if not isinstance(body, dict) or "requests" not in body:
            raise invalid("requests: Field required")
        requests = body["requests"]
        if not isinstance(requests, list) or not requests:
            raise invalid("requests: List should have at least 1 item after validation")
        items, seen = [], set()
        for i, item in enumerate(requests):
            if not isinstance(item, dict) or not isinstance(item.get("params"), dict):
                raise invalid(f"requests.{i}.params: Field required")
            custom_id = item.get("custom_id")
            if not isinstance(custom_id, str) or not _CUSTOM_ID.match(custom_id):
                raise invalid(f"requests.{i}.custom_id: String should match pattern "
                              "'^[a-zA-Z0-9_-]{1,64}$'")
            if custom_id in seen:
                raise invalid(f"Duplicate custom_id {custom_id!r} in requests: each must be "
                              "unique within a batch.")
            seen.add(custom_id)
            items.append((custom_id, item["params"]))
        return items

    def _object(self, batch: Batch, request: Request) -> dict[str, Any]:
        ended = batch.ended
        base = str(request.base_url).rstrip("/")
        return {
            "id": batch.id, "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {
                "processing": 0 if ended else batch.total,
                "succeeded": len(batch.succeeded) if ended else 0,
                "errored": len(batch.errored) if ended else 0,
                "canceled": 0, "expired": 0},
            "created_at": _rfc3339(batch.created_at),
            "expires_at": _rfc3339(batch.created_at + 24 * 3600),
            "ended_at": _rfc3339(batch.ends_at) if ended else None,
            "archived_at": None, "cancel_initiated_at": None,
            "results_url": f"{base}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    async def retrieve(self, request: Request) -> Response:
        _, _, refused = await self._accept(request)
        if refused is not None:
            return refused
        batch = self._batch(request.path_params["batch_id"])
        if batch is None:
            return self._error(WireError(404, "not_found_error", "Message Batch not found."))
        return JSONResponse(self._object(batch, request))

    async def results(self, request: Request) -> Response:
        _, _, refused = await self._accept(request)
        if refused is not None:
            return refused
        batch = self._batch(request.path_params["batch_id"])
        if batch is None:
            return self._error(WireError(404, "not_found_error", "Message Batch not found."))
        if not batch.ended:
            return self._error(invalid("The Message Batch is still in progress; results are "
                                       "available once it has ended."))
        lines = [{"custom_id": cid, "result": {"type": "succeeded", "message": message}}
                 for cid, message in batch.succeeded]
        lines += [{"custom_id": cid, "result": {"type": "errored",
                                                "error": self.wire.error_body(err, rid)}}
                  for cid, err, rid in batch.errored]
        return Response(_jsonl(lines), 200, media_type=_JSONL)


def _jsonl(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
