"""The emulator's OpenAI Batch API, with the Files API it reads from and writes to.

Split from ``_batches`` (which holds what both providers share and the Anthropic side):
uploads are multipart forms, input files JSONL lines of ``{custom_id, method, url, body}``,
results a JSONL output file (and an error file for failed lines).
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from seamline.emulator import _openai
from seamline.emulator._batches import Batch, StoredFile, _Endpoints, _jsonl
from seamline.emulator._wire import WireError, invalid, new_id


class OpenAIBatches(_Endpoints):
    wire = _openai

    async def upload(self, request: Request) -> Response:
        raw, _, refused = await self._accept(request)
        if refused is not None:
            return refused
        fields = _form_fields(request.headers.get("content-type", ""), raw)
        purpose, upload = fields.get("purpose"), fields.get("file")
        if upload is None:
            return self._error(invalid("Missing required parameter: 'file'.", "file"))
        if purpose is None or purpose[1] != b"batch":
            return self._error(invalid("The emulator accepts files with purpose 'batch' only.",
                                       "purpose"))
        stored = self.emu._batches.add_file(upload[0] or "upload.jsonl", "batch", upload[1])
        return JSONResponse(_file_object(stored))

    async def _stored(self, request: Request) -> StoredFile | Response:
        """The file the path names, or the answer refusing the request."""
        _, _, refused = await self._accept(request)
        if refused is not None:
            return refused
        stored = self.emu._batches.files.get(file_id := request.path_params["file_id"])
        return self._error(_no_file(file_id)) if stored is None else stored

    async def file(self, request: Request) -> Response:
        stored = await self._stored(request)
        return stored if isinstance(stored, Response) else JSONResponse(_file_object(stored))

    async def content(self, request: Request) -> Response:
        stored = await self._stored(request)
        if isinstance(stored, Response):
            return stored
        return Response(stored.content, 200, media_type="application/octet-stream")

    async def create(self, request: Request) -> Response:
        _, body, refused = await self._accept(request)
        if refused is not None:
            return refused
        if not isinstance(body, dict):
            return self._error(invalid("We could not parse the JSON body of your request."))
        endpoint, window = body.get("endpoint"), body.get("completion_window")
        if endpoint != _openai.PATH:
            return self._error(invalid(f"Invalid value: {endpoint!r}. The emulator batches "
                                       f"'{_openai.PATH}' only.", "endpoint", "invalid_value"))
        if window != "24h":
            return self._error(invalid(f"Invalid value: {window!r}. Supported values are: '24h'.",
                                       "completion_window", "invalid_value"))
        stored = self.emu._batches.files.get(body.get("input_file_id") or "")
        if stored is None:
            return self._error(_no_file(body.get("input_file_id")))
        batch = Batch(new_id("batch_"), self.wire.NAME, self.emu.batch_delay, 0,
                      input_file_id=stored.id, endpoint=endpoint)
        items, problems = _input_lines(stored.content, endpoint)
        if problems:
            batch.failure = problems
        else:
            batch.total = len(items)
            await run_in_threadpool(self._process, batch, items)
            self._write_files(batch)
        self.emu._batches.add_batch(batch)
        return JSONResponse(self._object(batch, fresh=True))

    def _write_files(self, batch: Batch) -> None:
        store = self.emu._batches
        out = [{"id": new_id("batch_req_"), "custom_id": cid, "response": {
                   "status_code": 200, "request_id": new_id("req_"), "body": reply},
                "error": None} for cid, reply in batch.succeeded]
        errors = [{"id": new_id("batch_req_"), "custom_id": cid, "response": {
                      "status_code": err.status, "request_id": rid,
                      "body": self.wire.error_body(err, rid)},
                   "error": None} for cid, err, rid in batch.errored]
        if out:
            batch.output_file_id = store.add_file(f"{batch.id}_output.jsonl", "batch_output",
                                                  _jsonl(out)).id
        if errors:
            batch.error_file_id = store.add_file(f"{batch.id}_error.jsonl", "batch_output",
                                                 _jsonl(errors)).id

    def _object(self, batch: Batch, fresh: bool = False) -> dict[str, Any]:
        created = int(batch.created_at)
        ended = batch.ended and not fresh
        obj: dict[str, Any] = {
            "id": batch.id, "object": "batch", "endpoint": batch.endpoint, "errors": None,
            "input_file_id": batch.input_file_id, "completion_window": "24h",
            "status": "validating", "output_file_id": None, "error_file_id": None,
            "created_at": created, "in_progress_at": None, "expires_at": created + 24 * 3600,
            "finalizing_at": None, "completed_at": None, "failed_at": None, "expired_at": None,
            "cancelling_at": None, "cancelled_at": None, "metadata": None,
            "request_counts": {"total": batch.total, "completed": 0, "failed": 0},
        }
        if batch.failure is not None:
            obj.update(status="failed", failed_at=created,
                       errors={"object": "list", "data": batch.failure})
        elif ended:
            done = int(batch.ends_at)
            obj.update(status="completed", in_progress_at=created, finalizing_at=done,
                       completed_at=done, output_file_id=batch.output_file_id,
                       error_file_id=batch.error_file_id,
                       request_counts={"total": batch.total, "completed": len(batch.succeeded),
                                       "failed": len(batch.errored)})
        elif not fresh:
            obj.update(status="in_progress", in_progress_at=created)
        return obj

    async def retrieve(self, request: Request) -> Response:
        _, _, refused = await self._accept(request)
        if refused is not None:
            return refused
        batch = self._batch(request.path_params["batch_id"])
        if batch is None:
            return self._error(WireError(404, "invalid_request_error",
                                         f"No batch found with id '{request.path_params['batch_id']}'."))
        return JSONResponse(self._object(batch))


def _no_file(file_id: Any) -> WireError:
    return WireError(404, "invalid_request_error", f"No such File object: {file_id}", "id")


def _file_object(stored: StoredFile) -> dict[str, Any]:
    return {"id": stored.id, "object": "file", "bytes": len(stored.content),
            "created_at": stored.created_at, "filename": stored.filename,
            "purpose": stored.purpose, "status": "processed", "expires_at": None,
            "status_details": None}


def _form_fields(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The fields of a multipart/form-data body: name -> (filename, bytes)."""
    if not content_type.lower().startswith("multipart/form-data"):
        return {}
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            payload = part.get_payload(decode=True)  # bytes, or None for a nested multipart
            data = payload if isinstance(payload, bytes) else b""
            fields[str(name)] = (part.get_filename(), data)
    return fields


def _input_lines(content: bytes, endpoint: str) -> tuple[list[tuple[str, Any]], list[dict]]:
    """The (custom_id, body) of each line of a batch input file, or why the file is refused."""
    items: list[tuple[str, Any]] = []
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()
    lines = [line for line in content.decode("utf-8", errors="replace").splitlines() if line.strip()]
    if not lines:
        problems.append({"code": "empty_file", "message": "The input file is empty.",
                         "param": None, "line": None})
    for n, line in enumerate(lines, 1):
        try:
            item = json.loads(line)
        except ValueError:
            item = None
        if not isinstance(item, dict) or not isinstance(item.get("custom_id"), str):
            problems.append({"code": "invalid_json_line", "message": "This line is not parseable "
                             "as valid JSON or lacks a custom_id.", "param": None, "line": n})
            continue
        if item.get("method") != "POST" or item.get("url") != endpoint:
            problems.append({"code": "mismatched_endpoint", "message": f"The line's url must be "
                             f"{endpoint!r} with method POST, like the batch.", "param": "url",
                             "line": n})
            continue
        if item["custom_id"] in seen:
            problems.append({"code": "duplicate_custom_id", "message": "The custom_id for this "
                             "request is a duplicate of another request.", "param": "custom_id",
                             "line": n})
            continue
        seen.add(item["custom_id"])
        items.append((item["custom_id"], item.get("body")))
    return items, problems
