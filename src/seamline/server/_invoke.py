"""One invocation: run the event within the latency budget, else answer with the baseline.

The event itself always runs to a terminal state and is recorded; the budget only bounds
how long the caller waits for the model's answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from seamline.backoff import Backoff
from seamline.errors import InputInvalid
from seamline.ingest import decode_event, describe_validation, redact
from seamline.runtime import (
    DEAD_LETTERED,
    DUPLICATE,
    OVER_BUDGET,
    PROCESSING,
    EventResult,
    Pipeline,
)
from seamline.server._errors import ApiRefusal, store_errors, store_unavailable
from seamline.store.tables import events
from seamline.telemetry import start_event

log = logging.getLogger("seamline.server")


def submitter(request: Any) -> str:
    """``via:name`` of the caller the access layer let in ("" when no access layer ran)."""
    user = getattr(request.state, "user", None)
    return f"{user.via}:{user.username}" if user is not None else ""


def safe_reason(reason: str) -> str:
    """Reasons go to callers: redact them, in case a layer's message echoed the input."""
    return redact(reason).text if reason else reason


class Invoker:
    """Answers invocations of one integration through its one Pipeline."""

    def __init__(self, pipeline: Pipeline, budget_s: float,
                 executor: Callable[[], ThreadPoolExecutor]) -> None:
        self.pipeline, self.budget_s, self._executor = pipeline, budget_s, executor

    def _after(self, future: Future, event_id: str, attempt: int = 0) -> None:
        """When an event's answer ends: a busy store retries it later by resuming it (the
        stages it finished are not run again, the outbox keeps actions single); any other
        failure is logged, and the event is resumed at the next start."""
        exc = future.exception()
        if exc is None:
            return
        if not isinstance(exc, store_errors()) or attempt >= _LATER_ATTEMPTS:
            _log_failure(future, event_id)
            return
        log.warning("event %s could not finish (the store was busy); resuming it in a while",
                    event_id)

        def again() -> None:
            try:
                retried = self._executor().submit(self.pipeline.resume, event_id)
            except RuntimeError:  # the server is shutting down: the next start resumes it
                return
            retried.add_done_callback(lambda f: self._after(f, event_id, attempt + 1))

        timer = threading.Timer(_LATER.delay(attempt), again)
        timer.daemon = True
        timer.start()

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor(), fn, *args)

    async def invoke(self, body: bytes, submitted_by: str = "") -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) for one request body; ``submitted_by`` goes to the audit."""
        p = self.pipeline
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.budget_s
        raw = await self._parse(body, submitted_by)
        # Admission (validate, redact, dedupe, record) is local work and yields the event id
        # every answer carries, so it is awaited in full; the budget bounds the model's part.
        et = start_event(p.integration.name)
        admit = partial(p.admit, submitted_by=submitted_by)
        admitted = await self._run(et.bind(admit) if et else admit, raw)
        if isinstance(admitted, EventResult):
            if et is not None:
                et.finish(admitted)
            return await self._respond(admitted)
        event_id, data = admitted.event_id, admitted.data
        answering: Future = self._executor().submit(et.bind(p.answer) if et else p.answer,
                                                    admitted)
        answering.add_done_callback(lambda f: self._after(f, event_id))
        if et is not None:  # the span ends with the event, even after a baseline answer
            answering.add_done_callback(
                lambda f: et.finish(None if f.exception() else f.result()))
        try:
            result = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(answering)),
                                            timeout=max(0.0, deadline - loop.time()))
        except TimeoutError:
            return await self._timed_out(event_id, data)
        except store_errors() as exc:
            # Received and recorded, then the store stopped answering: busy, not broken.
            sentence, headers = store_unavailable(exc)
            raise ApiRefusal(503, f"{sentence}; GET /v1/events/{event_id} shows what became "
                                  "of the event", headers, event_id=event_id) from None
        except Exception:
            log.exception("event %s failed unexpectedly", event_id)
            raise ApiRefusal(500, "internal error", event_id=event_id) from None
        return await self._respond(result)

    async def _parse(self, body: bytes, submitted_by: str = "") -> Any:
        """The body as JSON (see ``seamline.ingest.decode_event``: not UTF-8, too deep, NaN,
        duplicate keys ... are refused); otherwise a 400 with the decoder's sentence, and
        the body kept (escaped, redacted) as a dead letter."""
        try:
            return decode_event(body)
        except InputInvalid as exc:
            sentence = safe_reason(str(exc))  # it may name a key, and a key may be PII
            refused = await self._run(partial(self.pipeline.refuse, submitted_by=submitted_by),
                                      body, sentence)
            raise ApiRefusal(400, sentence, event_id=refused.event_id) from None

    async def enqueue(self, body: bytes, queue, submitted_by: str = "") -> tuple[int, dict[str, Any]]:
        """Validate and store one event for the background workers: 202 with its id."""
        p = self.pipeline
        raw = await self._parse(body, submitted_by)
        try:
            p.integration.input_schema.model_validate(raw)
        except ValidationError as exc:
            sentence = describe_validation(exc)
            refused = await self._run(partial(p.refuse, submitted_by=submitted_by), raw, sentence)
            raise ApiRefusal(422, safe_reason(sentence), event_id=refused.event_id,
                             state=refused.state)
        got = await self._run(partial(queue.enqueue, submitted_by=submitted_by),
                              p.integration.name, raw)
        return 202, {"event_id": got.event_id, "state": "queued",
                     "status_url": f"/v1/events/{got.event_id}"}

    async def _timed_out(self, event_id: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        wait = f"the model did not answer within {self.budget_s:g} s; the event continues in the background"
        output = await self._baseline(data)
        if output is None:
            return 202, {"source": "none", "output": None, "event_id": event_id, "state": PROCESSING,
                         "reason": f"{wait}, and there is no baseline answer; "
                                   f"GET /v1/events/{event_id} shows its outcome"}
        return 200, {"source": "baseline", "output": output, "event_id": event_id,
                     "state": PROCESSING, "reason": wait}

    async def _baseline(self, data: dict[str, Any] | None) -> dict[str, Any] | None:
        p = self.pipeline
        if data is None or not p.baseline.on_failure:
            return None
        output, error = await self._run(p.baseline.answer, data)
        if output is None:
            log.warning("the baseline gave no answer for %s: %s", p.integration.name, error)
        return output

    async def _respond(self, r: EventResult) -> tuple[int, dict[str, Any]]:
        reason = safe_reason(r.reason)
        base = {"event_id": r.event_id, "state": r.state}
        if r.state == DUPLICATE:
            first = await self._run(self._stored, r.duplicate_of)
            output = first.get("output") if first else None
            source = first.get("source", "none") if first else "none"
            return 200, {"source": source, "output": output, **base, "duplicate_of": r.duplicate_of,
                         "original_state": first.get("state") if first else None, "reason": reason}
        if r.answer is not None:
            source = "model" if r.output is not None and r.path == "ai" else "baseline"
            body = {"source": source, "output": r.answer, **base}
            if reason:
                body["reason"] = reason
            return 200, body
        if r.state == DEAD_LETTERED and r.stage in ("ingest", "prompt"):
            raise ApiRefusal(422, reason, **base)
        if r.state == OVER_BUDGET:
            output = await self._baseline(await self._run(self._stored_input, r.event_id))
            if output is not None:
                return 200, {"source": "baseline", "output": output, **base, "reason": reason}
            raise ApiRefusal(429, reason, **base)
        # The model (or an action) failed and there is no baseline answer to give instead.
        raise ApiRefusal(502, reason or f"the event ended {r.state} without an answer", **base)

    def _stored(self, event_id: str | None) -> dict[str, Any] | None:
        if event_id is None:
            return None
        with self.pipeline.store.read() as conn:
            row = conn.execute(select(events.c.state, events.c.path, events.c.output,
                                      events.c.fallback_output).where(events.c.id == event_id)).first()
        if row is None:
            return None
        if row.output is not None:
            source = "model" if row.path == "ai" else "baseline"
            return {"state": row.state, "output": json.loads(row.output), "source": source}
        if row.fallback_output is not None:
            return {"state": row.state, "output": json.loads(row.fallback_output), "source": "baseline"}
        return {"state": row.state, "output": None, "source": "none"}

    def _stored_input(self, event_id: str) -> dict[str, Any] | None:
        with self.pipeline.store.read() as conn:
            text = conn.execute(select(events.c.input).where(events.c.id == event_id)).scalar()
        return json.loads(text) if text else None


def _log_failure(future: Future, event_id: str) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("event %s failed unexpectedly in the background; it stays processing until resumed",
                  event_id,
                  exc_info=exc)


# An event whose answer found the store busy is finished later, not left processing until
# the next start: resumed after a wait that doubles up to a minute, for about half an hour.
_LATER = Backoff(base_s=1.0, cap_s=60.0, jitter="equal")
_LATER_ATTEMPTS = 36
