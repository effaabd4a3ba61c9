"""The path of one event through the seven layers, top to bottom in one place.

Each layer returns a result or a typed failure; this module decides what happens
next (retry, dead-letter, approval, baseline) and records it. Writes are grouped
into three transactions per event: received, decided, acted.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update

from seamline.actions import (
    ActionRunner,
)
from seamline.audit import AuditEntry, append
from seamline.errors import (
    InferenceError,
    IngestError,
    InputInvalid,
    OutputError,
    PromptError,
    ProviderUnavailable,
)
from seamline.inference import (
    BudgetLedger,
    BudgetRefusal,
    CostReservation,
    Message,
    ModelReply,
    ModelRequest,
    Provider,
    build_gateway,
    price_usage,
    text_fields,
)
from seamline.ingest import (
    IngestedEvent,
    Vault,
    default_counter,
    describe_validation,
    fit_context,
    ingest_event,
)
from seamline.integration import Integration, resolve
from seamline.outputs import grounding_instruction, parse_output, repair_instruction
from seamline.prompt import PromptTemplate, RenderedPrompt
from seamline.rollout import Flags
from seamline.runtime._batch_api import BatchMixin
from seamline.runtime._decide import DecideMixin
from seamline.runtime._grounding_calls import GroundingMixin, Ungrounded
from seamline.runtime._records import RecordsMixin
from seamline.runtime._redrive import RedriveMixin
from seamline.runtime._results import (
    OVER_BUDGET,
    PROCESSING,
    EventResult,
    _Inference,
    new_event_id,
)
from seamline.runtime._results import dumps as _dumps
from seamline.runtime._resume import ResumeMixin
from seamline.runtime._retrieval import Retriever
from seamline.store import FastStatement, Store, insert_ignore
from seamline.store.tables import dedupe_keys, events, integrations
from seamline.telemetry import layer_done, start_event


class Pipeline(DecideMixin, RecordsMixin, BatchMixin, ResumeMixin, RedriveMixin, GroundingMixin):
    """Runs events of one integration through every layer against one store."""

    def __init__(self, integration: Integration, store: Store, *, provider: Provider | None = None,
                 vault: Vault | None = None, flags: Flags | None = None, counter=None,
                 dry_run: bool = False) -> None:
        self.integration, self.store, self.dry_run = integration, store, dry_run
        # An explicit provider is used as given; otherwise the route's providers, wrapped in
        # every policy the route declares (retries, breakers, rate limits, fallbacks, cache).
        self.provider = provider or build_gateway(integration, store)
        warm = getattr(self.provider, "warm", None)
        if callable(warm):
            warm()  # train an on-device model now, not inside the first event
        self.vault = vault or Vault(store)
        self.flags = flags or Flags(store)
        self.counter = counter or default_counter()
        self.ledger = BudgetLedger(integration)
        self.template = PromptTemplate(integration.prompt.user, integration.prompt.system,
                                       integration.prompt.params)
        self.actions = ActionRunner(store, integration, self.vault)
        self.text_fields = text_fields(integration)
        self._output_schema_json = integration.output_schema.model_json_schema()
        base = integration.source_path.parent if integration.source_path else Path.cwd()
        self._baseline = (resolve(integration.rollout.baseline, base=base, what="baseline")
                          if integration.rollout.baseline is not None else None)
        self._params_json = _dumps(self.template.params)
        m = integration.model
        self._prompt_budget = m.context_window - m.max_output_tokens
        self._grounded = integration.grounding.active
        self.retriever = (Retriever(integration, store.url) if integration.retrieval else None)
        self._register()

    def _register(self) -> None:
        src = str(self.integration.source_path or "")
        with self.store.write() as conn:
            if conn.execute(update(integrations).where(integrations.c.name == self.integration.name)
                            .values(source=src, updated_at=time.time())).rowcount == 0:
                insert_ignore(conn, integrations, {"name": self.integration.name, "source": src,
                                                   "updated_at": time.time()})

    # ---- the path of one event -------------------------------------------------------------

    def process(self, raw: Any, event_id: str | None = None, *,
                defer: frozenset[str] = frozenset(), submitted_by: str = "") -> EventResult:
        """Run one event (a dict, or a JSON text) to exactly one terminal state.

        ``event_id`` is given by the job queue: if that event was already recorded (a worker
        died with it), it is continued, not run again. ``defer`` names the stages whose
        transient failures end in ``retrying`` (the queue tries again later) rather than in
        the dead-letter queue. ``submitted_by`` ("via:name") is who sent the event; the
        audit trail's ingest (or dead-letter) entry names them.
        """
        et = start_event(self.integration.name)
        if et is None:
            return self._process(raw, event_id, defer, submitted_by)
        result = None
        try:
            result = et.bind(self._process)(raw, event_id, defer, submitted_by)
            return result
        finally:
            et.finish(result)

    def _process(self, raw: Any, event_id: str | None, defer: frozenset[str],
                 submitted_by: str = "") -> EventResult:
        if event_id is not None:
            state = self._state_of(event_id)
            if state is not None:
                return self.resume(event_id, defer=defer)
        admitted = self._admit(raw, event_id, submitted_by=submitted_by)
        if isinstance(admitted, EventResult):
            return admitted
        return self._answer(*admitted, defer=defer)

    def _state_of(self, event_id: str) -> str | None:
        with self.store.read() as conn:
            return conn.execute(select(events.c.state).where(events.c.id == event_id)).scalar()

    def _admit(self, raw: Any, event_id: str | None = None, *, rerun: bool = False,
               submitted_by: str = ""):
        """Validate, redact, fit, dedupe, record and reserve: a terminal EventResult when the
        event stops here, else what answering it needs.

        ``rerun``: the event's row exists (a dead letter from ingest, redriven) and is
        rewritten in place, so the event keeps its id and its story.
        """
        timings: dict[str, float] = {}
        t = time.perf_counter()
        event_id = event_id or new_event_id()
        name = self.integration.name
        if isinstance(raw, str | bytes):
            try:
                raw = json.loads(raw)
            except ValueError as exc:
                return self._refuse(event_id, raw, "ingest", f"the event is not valid JSON: {exc}",
                                    rerun=rerun, by=submitted_by)
        try:
            ev = ingest_event(raw, schema=self.integration.input_schema, pii=self.integration.pii,
                              kinds=self.integration.pii_kinds,
                              idempotency_key=self.integration.idempotency_key,
                              tenant_key=self.integration.tenant_key,
                              sticky_key=self.integration.rollout.sticky_key)
        except InputInvalid as exc:
            return self._refuse(event_id, raw, "ingest", str(exc), rerun=rerun, by=submitted_by)
        flag = self.flags.get(self.integration.flag_name, self.integration.rollout.default)
        use_ai = flag.admits(ev.sticky or ev.idempotency_key)
        timings["ingest"] = layer_done("ingest", t)

        data, tokens, found = ev.data, 0, None
        if use_ai and self.retriever is not None:
            t = time.perf_counter()
            try:
                data, found = self.retriever.with_documents(ev.data)
            except Exception as exc:  # noqa: BLE001 -- a broken index must not lose the event
                return self._refuse(event_id, raw, "retrieval", f"retrieval failed: {exc}",
                                    ev=ev, rerun=rerun, by=submitted_by)
            timings["retrieval"] = layer_done("retrieval", t)

        t = time.perf_counter()
        rendered: RenderedPrompt | None = None
        retrieved = data  # fit_context returns another dict when it had to cut
        if use_ai:
            try:
                rendered, data, tokens = fit_context(
                    data, self._render, counter=self.counter, budget=self._prompt_budget,
                    policy=self.integration.model.oversize, fields=self.text_fields)
            except (IngestError, PromptError) as exc:
                stage = "prompt" if isinstance(exc, PromptError) else "ingest"
                return self._refuse(event_id, raw, stage, str(exc), ev=ev, rerun=rerun,
                                    by=submitted_by)
        timings["prompt"] = layer_done("prompt", t)

        t = time.perf_counter()
        now = time.time()
        reservation: CostReservation | BudgetRefusal | None = None
        with self.store.write() as conn:
            if not insert_ignore(conn, dedupe_keys, {"integration": name,
                                                     "idempotency_key": ev.idempotency_key,
                                                     "event_id": event_id}):
                if not rerun or self._key_owner(conn, ev) != event_id:
                    return self._duplicate(conn, event_id, ev, now, rerun=rerun, by=submitted_by)
            if rerun:
                self._forget(conn, event_id)
            _INSERT_EVENT.run(conn, {
                "id": event_id, "integration": name, "idempotency_key": ev.idempotency_key,
                "tenant": ev.tenant, "state": PROCESSING, "stage": "", "reason": "",
                "path": "ai" if use_ai else "baseline", "duplicate_of": None,
                "input": _dumps(data), "output": None, "fallback_output": None,
                "prompt_version": rendered.version if rendered else "",
                "model": self.integration.model.model if use_ai else "", "cost_usd": 0.0,
                "timings": None, "created_at": now, "updated_at": now})
            self.vault.put(conn, event_id, ev.secrets)
            entries = [
                AuditEntry(event_id, name, "ingest", {
                    "input": data, "idempotency_key": ev.idempotency_key, "tenant": ev.tenant,
                    "pii_redacted": _kinds(ev.secrets), "truncated": data is not retrieved,
                    **({"submitted_by": submitted_by} if submitted_by else {})}),
                AuditEntry(event_id, name, "rollout", {
                    "flag": flag.name, "mode": flag.mode, "percent": flag.percent,
                    "path": "ai" if use_ai else "baseline"}),
            ]
            if found is not None:
                entries.append(AuditEntry(event_id, name, "retrieval", found))
            if rendered is not None:
                self._record_prompt(conn, rendered, now)
                entries.append(AuditEntry(event_id, name, "prompt", {
                    "version": rendered.version, "system": rendered.system, "user": rendered.user,
                    "sha256": rendered.sha256, "tokens": tokens}))
                reservation = self.ledger.reserve(conn, self.ledger.estimate(tokens), ev.tenant, now)
                if isinstance(reservation, BudgetRefusal):
                    entries.append(AuditEntry(event_id, name, "budget", {
                        "decision": "refused", "cap": reservation.cap, "cap_usd": reservation.cap_usd,
                        "estimate_usd": reservation.estimate_usd}))
                    self._set_state(conn, event_id, OVER_BUDGET, "inference", reservation.reason, now)
                    append(conn, entries, now=now)
                    timings["store"] = layer_done("store", t)
                    return self._observed(EventResult(event_id, OVER_BUDGET, reservation.reason,
                                                      "inference", "ai", timings_ms=timings))
                entries.append(AuditEntry(event_id, name, "budget", {
                    "decision": "reserved", "estimate_usd": reservation.amount_usd}))
            append(conn, entries, now=now)
        timings["store"] = layer_done("store", t)
        return event_id, ev, data, rendered, reservation, timings

    def _answer(self, event_id: str, ev: IngestedEvent, data: dict[str, Any],
                rendered: RenderedPrompt | None, reservation: CostReservation | None,
                timings: dict[str, float], *, defer: frozenset[str] = frozenset()) -> EventResult:
        """From a recorded, reserved event to its outcome: the model (or the baseline), then act."""
        if rendered is not None:
            inf = self._infer(event_id, ev, data, rendered, timings)
            output, path = inf.output, "ai"
        else:
            inf, path = _Inference(), "baseline"
            t = time.perf_counter()
            output, error = self._run_baseline(data)
            if output is None:
                inf.error, inf.stage = error, "baseline"
            timings["outputs"] = layer_done("baseline", t)
        return self._decide(event_id, ev, data, inf, output, path, reservation, timings, defer)

    def refuse(self, raw: Any, reason: str, stage: str = "ingest", *,
               submitted_by: str = "") -> EventResult:
        """Dead-letter something that cannot even be read as an event (a bad JSON line)."""
        return self._refuse(new_event_id(), raw, stage, reason, by=submitted_by)

    def _render(self, data: dict[str, Any]) -> RenderedPrompt:
        return self.template.render(**data, input=data, output_schema=self._output_schema_json)

    @staticmethod
    def _messages(rendered: RenderedPrompt) -> list[Message]:
        messages: list[Message] = []
        if rendered.system:
            messages.append(Message("system", rendered.system))
        messages.append(Message("user", rendered.user))
        return messages

    def _request(self, messages: list[Message], data: dict[str, Any], attempt: int) -> ModelRequest:
        route = self.integration.model
        return ModelRequest(tuple(messages), route.model, dict(route.params),
                            self._output_schema_json, data, attempt, route.max_output_tokens)

    def _infer(self, event_id: str, ev: IngestedEvent, data: dict[str, Any],
               rendered: RenderedPrompt, timings: dict[str, float],
               first: ModelReply | None = None) -> _Inference:
        """Call the model, parse, and repair at most ``max_repairs`` times.

        ``first`` is a reply already in hand (from a batch): it stands for the first call,
        priced at the batch discount.
        """
        inf = _Inference(model=self.integration.model.model)
        messages = self._messages(rendered)
        route = self.integration.model
        t_inf = t_out = 0.0
        for attempt in range(route.max_repairs + 1):
            if attempt:  # every repair is a paid call: it must fit the caps too
                got = self._reserve_repair(ev, messages)
                if isinstance(got, BudgetRefusal):
                    # Over a cap is waiting, not failing: the event goes to the escalation
                    # queue, and a release asks again from the start under the new caps.
                    inf.error, inf.stage, inf.over_budget = got.reason, "inference", True
                    break
                inf.reservations.append(got)
            request = self._request(messages, data, attempt)
            t = time.perf_counter()
            batched = attempt == 0 and first is not None
            try:
                reply = first if batched else self.provider.complete(request)
            except Exception as exc:  # noqa: BLE001 - any provider failure is this event's, not the run's
                t_inf += layer_done("inference", t, attempt=attempt, error=type(exc).__name__)
                inf.calls.append({"attempt": attempt, "error": f"{type(exc).__name__}: {exc}",
                                  **self._trace()})
                what = "failed" if isinstance(exc, InferenceError) else "failed unexpectedly"
                inf.error = f"the model call {what}: {type(exc).__name__}: {exc}"
                inf.stage = "inference"
                inf.retryable = isinstance(exc, ProviderUnavailable)
                break
            t_inf += layer_done("inference", t, attempt=attempt, model=reply.model or route.model,
                                input_tokens=reply.usage.input_tokens,
                                output_tokens=reply.usage.output_tokens)
            cost = price_usage(self.integration, reply.usage, batch=batched)
            inf.cost_usd += cost
            u = reply.usage
            call = {"attempt": attempt, "model": reply.model or route.model, "params": route.params,
                    "reply": reply.text, "stop_reason": reply.stop_reason,
                    "input_tokens": u.input_tokens, "output_tokens": u.output_tokens,
                    "cache_write_tokens": u.cache_write_tokens, "cache_read_tokens": u.cache_read_tokens,
                    "cached": getattr(reply, "cached", False), "cost_usd": cost,
                    "latency_ms": round(t_inf, 3), "batch": batched,
                    **({} if batched else self._trace())}
            inf.model = call["model"]
            t = time.perf_counter()
            try:
                output = parse_output(reply.text, self.integration.output_schema)
                call["valid"] = True
                inf.calls.append(call)
                if self._grounded:
                    inf.grounding = self._ground(ev, data, messages, output, inf)
                    output = inf.grounding.output
                inf.output, inf.error = output, ""
                t_out += layer_done("outputs", t)
                break
            except OutputError as exc:
                t_out += layer_done("outputs", t)
                if isinstance(exc, Ungrounded):
                    call["grounding"] = exc.report.as_dict()
                    inf.error, inf.stage = (f"no grounded output after {attempt + 1} replies: "
                                            f"{'; '.join(exc.report.failures)}", "grounding")
                    follow_up = grounding_instruction(exc.report)
                else:
                    call["valid"], call["error"] = False, str(exc)
                    inf.calls.append(call)
                    inf.error, inf.stage = (f"no valid output after {attempt + 1} replies: {exc}",
                                            "outputs")
                    follow_up = repair_instruction(exc, self.integration.output_schema)
                messages += [Message("assistant", reply.text), Message("user", follow_up)]
        timings["inference"] = t_inf
        timings["outputs"] = t_out
        return inf

    def _trace(self) -> dict[str, Any]:
        trace = getattr(self.provider, "trace", None)
        return trace() if callable(trace) else {}

    def _reserve_repair(self, ev: IngestedEvent, messages: list[Message]):
        tokens = sum(self.counter.count(m.content) for m in messages)
        with self.store.write() as conn:
            return self.ledger.reserve(conn, self.ledger.estimate(tokens), ev.tenant)

    def settle_costs(self, conn, reservation: CostReservation | None, inf: _Inference,
                     now: float) -> None:
        """Replace every estimate reserved for this event's calls (the first and each
        repair) by what the calls cost: the counters end at the real spend."""
        for extra in inf.reservations:
            self.ledger.reconcile(conn, extra, 0.0, now)
        if isinstance(reservation, CostReservation):
            self.ledger.reconcile(conn, reservation, inf.cost_usd, now)

    def _run_baseline(self, data: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        if self._baseline is None:
            return None, "the AI path is off and the integration declares no baseline"
        try:
            out = self._baseline(data)
            return self.integration.output_schema.model_validate(out).model_dump(mode="json"), ""
        except ValidationError as exc:
            return None, "the baseline's answer " + describe_validation(exc).removeprefix("the event ")
        except Exception as exc:  # noqa: BLE001 - user code: its failure is recorded, not raised
            return None, f"the baseline failed: {type(exc).__name__}: {exc}"


# The hot path's statements, compiled once (see store/_fast.py for why).
_INSERT_EVENT = FastStatement(events.insert())


def _kinds(secrets: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for placeholder in secrets:
        kind = placeholder.strip("<>").rsplit("_", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    return counts
