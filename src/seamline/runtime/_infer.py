"""Stages 3 and 4, inference and outputs: call the model, parse and check its reply, and
repair at most ``max_repairs`` times with the failures named.

Every call after the first is paid for: it reserves its estimate under the caps first,
and a refusal ends the event in the escalation queue (waiting, not failed).
"""

from __future__ import annotations

import time
from typing import Any

from seamline.errors import CannotFill, InferenceError, OutputError, ProviderUnavailable
from seamline.inference import (
    BudgetRefusal,
    Message,
    ModelReply,
    ModelRequest,
    Provider,
    policy_of_model,
    price_usage,
)
from seamline.integration import Integration
from seamline.outputs import (
    GroundingReport,
    citation_request,
    grounding_instruction,
    parse_output,
    repair_instruction,
)
from seamline.prompt import RenderedPrompt
from seamline.runtime._grounding_calls import Grounding, Ungrounded
from seamline.runtime._spend import CallLog, Spend
from seamline.runtime._types import Admission, Inference
from seamline.telemetry import layer_done


def messages_of(rendered: RenderedPrompt) -> list[Message]:
    """The conversation a rendered prompt opens: its system part (if any), then the user's."""
    messages: list[Message] = []
    if rendered.system:
        messages.append(Message("system", rendered.system))
    messages.append(Message("user", rendered.user))
    return messages


class Infer:
    """The model's part of one event: calls, parsing, grounding, repairs."""

    def __init__(self, integration: Integration, provider: Provider, spend: Spend,
                 output_schema: dict[str, Any], grounding: Grounding | None) -> None:
        self.integration, self.provider, self.spend = integration, provider, spend
        self.output_schema, self.grounding = output_schema, grounding
        # The over_soft route's own stage (set by the pipeline): events a soft cap degraded.
        self.over_soft: Infer | None = None

    def request(self, messages: list[Message], data: dict[str, Any], attempt: int) -> ModelRequest:
        route = self.integration.model
        # grounding.citations: provider -- the sources go as documents to cite (docs/citations.md)
        return ModelRequest(tuple(messages), route.model, dict(route.params), self.output_schema,
                            data, attempt, route.max_output_tokens,
                            citation_request(self.integration.grounding, data))

    def trace(self) -> dict[str, Any]:
        """What the provider's policies did on the last call (retries, fallbacks), if it says."""
        trace = getattr(self.provider, "trace", None)
        return trace() if callable(trace) else {}

    def run(self, a: Admission, first: ModelReply | None = None) -> Inference:
        """Ask until a valid (and grounded) output, a failure, or the repairs run out.

        ``first`` is a reply already in hand (from a batch): it stands for the first call,
        priced at the batch discount.
        """
        assert a.prompt is not None, "the baseline path has no prompt to send"
        if (first is None and self.over_soft is not None and a.reservation is not None
                and a.reservation.over_soft is not None):
            return self.over_soft.run(a)  # past a soft cap: reserved for the cheaper route
        route = self.integration.model
        log = CallLog(a.ev.tenant)
        messages = messages_of(a.prompt)
        model: str = route.model
        output: dict[str, Any] | None = None
        grounding: GroundingReport | None = None
        error, stage, retryable, over_budget = "", "", False, False
        t_inf = t_out = 0.0
        for attempt in range(route.max_repairs + 1):
            if attempt:  # every repair is a paid call: it must fit the caps too
                got = self.spend.reserve_call(messages, a.ev.tenant)
                if isinstance(got, BudgetRefusal):
                    # Over a cap is waiting, not failing: the event goes to the escalation
                    # queue, and a release asks again from the start under the new caps.
                    error, stage, over_budget = got.reason, "inference", True
                    break
                log.reservations.append(got)
            batched = attempt == 0 and first is not None
            t = time.perf_counter()
            try:
                reply = first if batched and first is not None else self.provider.complete(
                    self.request(messages, a.data, attempt))
            except Exception as exc:  # noqa: BLE001 - any provider failure is this event's, not the run's
                t_inf += layer_done("inference", t, attempt=attempt, error=type(exc).__name__)
                log.calls.append({"attempt": attempt, "error": f"{type(exc).__name__}: {exc}",
                                  **self.trace(), **_evidence_of(exc)})
                what = "failed" if isinstance(exc, InferenceError) else "failed unexpectedly"
                # A model that found no value for a field says so in a sentence: that is the reason.
                error = (str(exc) if isinstance(exc, CannotFill)
                         else f"the model call {what}: {type(exc).__name__}: {exc}")
                stage, retryable = "inference", isinstance(exc, ProviderUnavailable)
                break
            u = reply.usage
            t_inf += layer_done("inference", t, attempt=attempt, model=reply.model or route.model,
                                input_tokens=u.input_tokens, output_tokens=u.output_tokens)
            cost = price_usage(self.integration, u, batch=batched)
            log.cost_usd += cost
            model = reply.model or route.model
            call = {"attempt": attempt, "model": model, "params": route.params,
                    "reply": reply.text, "stop_reason": reply.stop_reason,
                    "input_tokens": u.input_tokens, "output_tokens": u.output_tokens,
                    "cache_write_tokens": u.cache_write_tokens,
                    "cache_read_tokens": u.cache_read_tokens,
                    "cached": getattr(reply, "cached", False), "cost_usd": cost,
                    "latency_ms": round(t_inf, 3), "batch": batched,
                    "data_policy": policy_of_model(self.integration, model),
                    **({} if batched else self.trace()),
                    **({"evidence": reply.evidence} if reply.evidence else {})}
            t = time.perf_counter()
            try:
                parsed = parse_output(reply.text, self.integration.output_schema)
                call["valid"] = True
                log.calls.append(call)
                if self.grounding is not None:
                    grounding = self.grounding.check(a.data, messages, parsed, log,
                                                     citations=reply.citations)
                    parsed = grounding.output
                output, error, stage = parsed, "", ""
                t_out += layer_done("outputs", t)
                break
            except OutputError as exc:
                t_out += layer_done("outputs", t)
                error, stage, follow_up = self._failed(exc, call, log, attempt)
                if not reply.reads_prompt:
                    # A model that never reads the prompt would give the same reply again.
                    error += "; the model does not read the prompt, so no repair was asked for"
                    break
                messages += [Message("assistant", reply.text), Message("user", follow_up)]
        a.timings["inference"] = t_inf
        a.timings["outputs"] = t_out
        return Inference(output, error, stage, log.cost_usd, tuple(log.calls), model, retryable,
                         over_budget, tuple(log.reservations),
                         grounding if output is not None else None)

    def _failed(self, exc: OutputError, call: dict[str, Any], log: CallLog,
                attempt: int) -> tuple[str, str, str]:
        """(error, stage, the follow-up message that asks for a repair) for a bad reply."""
        if isinstance(exc, Ungrounded):
            call["grounding"] = exc.report.as_dict()
            failures = "; ".join(exc.report.failures)
            return (f"no grounded output after {attempt + 1} replies: {failures}", "grounding",
                    grounding_instruction(exc.report))
        call["valid"], call["error"] = False, str(exc)
        log.calls.append(call)
        return (f"no valid output after {attempt + 1} replies: {exc}", "outputs",
                repair_instruction(exc, self.integration.output_schema))


def _evidence_of(exc: BaseException) -> dict[str, Any]:
    """What a model that refused for want of evidence did find, for the audit trail."""
    return {"evidence": exc.evidence} if isinstance(exc, CannotFill) and exc.evidence else {}
