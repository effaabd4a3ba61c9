"""Grounding in the pipeline: the deterministic checks, then the two that need the model.

A collaborator of the inference stage (:class:`~seamline.runtime._infer.Infer`).

- Dual generation: the same prompt again at another temperature (and seed, where the
  provider takes one); a high-stakes field that comes out different is a hallucination
  canary — flagged, or a failure, per the integration.
- The fresh-context judge: one call per claim that sees only the source and the claim
  (never the generator's reasoning or conversation) and rules supported or not.

Both are paid calls: each reserves its estimate under the caps first, and a refusal is
recorded as the check not having run, never as a pass.

The deterministic checks also learn which output fields the integration's actions take
parameters from (:func:`action_fields`): a value there that only untrusted text states
becomes a doubt, and the approval policy then sets the model's confidence aside.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from prometheus_client import Counter
from pydantic import BaseModel

from seamline.errors import OutputError
from seamline.inference import (
    BudgetRefusal,
    Citation,
    Message,
    ModelRequest,
    Provider,
    policy_of_model,
    price_usage,
)
from seamline.integration import Integration
from seamline.outputs import (
    GroundingReport,
    check_cited,
    check_grounding,
    parse_output,
    sources_of,
    values_at,
)
from seamline.runtime._spend import CallLog, Spend

GROUNDING_CHECKS = Counter("seamline_grounding_checks_total", "Grounding check outcomes",
                           ["integration", "check", "outcome"])
ABSTENTIONS = Counter("seamline_abstentions_total", "Answers that abstained (not enough "
                      "information)", ["integration"])

JUDGE_SYSTEM = (
    "You check one claim against a source text. Use only the source: no outside knowledge. "
    "A claim is supported only if the source states it or directly implies it. Reply with "
    'exactly one JSON object: {"supported": true or false, "reason": "one sentence"}.')


_OUTPUT_FIELD = re.compile(r"\boutput\.([A-Za-z_]\w*)|\boutput\[\s*['\"]([^'\"]+)['\"]\s*\]")


def action_fields(integration: Integration) -> tuple[str, ...]:
    """The output fields the integration's actions take parameters or amounts from (the
    confidence a policy routes on is the model's self-report, not a parameter)."""
    fields: dict[str, None] = {}
    for action in integration.actions:
        for expr in action.params.values():
            for m in _OUTPUT_FIELD.finditer(expr):
                fields.setdefault(m.group(1) or m.group(2), None)
        if action.approval.amount_field:
            fields.setdefault(action.approval.amount_field, None)
    for action in integration.actions:
        if action.approval.below_confidence is not None:
            fields.pop(action.approval.confidence_field, None)
    return tuple(fields)


class JudgeVerdict(BaseModel):
    supported: bool
    reason: str = ""


class Ungrounded(OutputError):
    """The reply parsed but is not grounded in its source."""

    def __init__(self, report: GroundingReport) -> None:
        super().__init__("the reply is not grounded in the source: " + "; ".join(report.failures))
        self.report = report


class Grounding:
    """Every grounding check an integration declares, on one parsed output."""

    def __init__(self, integration: Integration, provider: Provider, spend: Spend,
                 output_schema: dict[str, Any], judge_provider: Provider | None = None) -> None:
        self.integration, self.provider, self.spend = integration, provider, spend
        self.output_schema = output_schema
        # grounding.judge.route: the judge's own model (priced as that route), else the route's.
        self.judge_provider = judge_provider
        judge = integration.grounding.judge
        self._judge_spec = (integration.model_copy(update={"model": judge.route})
                            if judge is not None and judge.route is not None else integration)
        self.parameters = action_fields(integration)

    def check(self, data: dict[str, Any], messages: list[Message], output: dict[str, Any],
              log: CallLog, *, citations: tuple[Citation, ...] | None = None) -> GroundingReport:
        """The report of every declared check; raises :class:`Ungrounded` on failure.
        The checks' own model calls go into ``log``. ``citations``: what the provider's
        citations API said backs each claim (``grounding.citations: provider``)."""
        spec = self.integration.grounding
        if spec.citations == "provider":
            report: GroundingReport = check_cited(spec, output, data, citations,
                                                  parameters=self.parameters)
        else:
            report = check_grounding(spec, output, data, parameters=self.parameters)
        if report.passed and not report.abstained and spec.dual is not None:
            self._dual(data, messages, report, log)
        if report.passed and not report.abstained and spec.judge is not None:
            self._judge(data, report, log)
        name = self.integration.name
        for check, outcome in report.checks.items():
            GROUNDING_CHECKS.labels(name, check, outcome).inc()
        if report.abstained:
            ABSTENTIONS.labels(name).inc()
        if not report.passed:
            raise Ungrounded(report)
        return report

    # ---- the checks that call the model ------------------------------------------------------

    def _paid_call(self, request: ModelRequest, log: CallLog, purpose: str,
                   provider: Provider | None = None,
                   priced_as: Integration | None = None) -> str | None:
        """One extra call under the caps; its reply text, or None (reason in ``log.calls``)."""
        got = self.spend.reserve_call(request.messages, log.tenant)
        if isinstance(got, BudgetRefusal):
            log.calls.append({"purpose": purpose, "error": f"not sent: {got.reason}"})
            return None
        log.reservations.append(got)
        t = time.perf_counter()
        try:
            reply = (provider or self.provider).complete(request)
        except Exception as exc:  # noqa: BLE001 - a failed check call is recorded, not raised
            log.calls.append({"purpose": purpose, "error": f"{type(exc).__name__}: {exc}",
                              "model": request.model})
            return None
        cost = price_usage(priced_as or self.integration, reply.usage)
        log.cost_usd += cost
        log.calls.append({"purpose": purpose, "model": reply.model or request.model,
                          "params": request.params, "reply": reply.text,
                          "input_tokens": reply.usage.input_tokens,
                          "output_tokens": reply.usage.output_tokens, "cost_usd": cost,
                          "latency_ms": round((time.perf_counter() - t) * 1000, 3),
                          "data_policy": policy_of_model(priced_as or self.integration,
                                                         reply.model or request.model)})
        return reply.text

    def _dual(self, data: dict[str, Any], messages: list[Message], report: GroundingReport,
              log: CallLog) -> None:
        dual = self.integration.grounding.dual
        assert dual is not None
        route = self.integration.model
        params = {**route.params, "temperature": dual.temperature}
        if route.provider in ("openai", "openai-compatible"):
            params["seed"] = dual.seed
        first_turn = tuple(m for m in messages[:2] if m.role in ("system", "user"))
        request = ModelRequest(first_turn, route.model, params, self.output_schema, data,
                               0, route.max_output_tokens)
        text = self._paid_call(request, log, "dual")
        second = None
        if text is not None:
            try:
                second = parse_output(text, self.integration.output_schema)
            except OutputError as exc:
                log.calls[-1]["error"] = str(exc)
        if second is None:
            _not_run(report, "dual", dual.policy, "the second generation gave no valid output")
            return
        diverged = [f for f in dual.fields
                    if values_at(report.output, f) != values_at(second, f)]
        if not diverged:
            report.checks["dual"] = "pass"
            return
        detail = ", ".join(f"{f}: {values_at(report.output, f)} vs {values_at(second, f)}"
                           for f in diverged)
        sentence = f"two generations disagree on {detail}"
        if dual.policy == "fail":
            report.fail("dual", sentence)
        else:
            report.checks["dual"] = "flag"
            report.flags.append(f"hallucination canary: {sentence}")

    def _judge(self, data: dict[str, Any], report: GroundingReport, log: CallLog) -> None:
        spec = self.integration.grounding
        judge = spec.judge
        assert judge is not None
        source = "\n\n".join(f"[{name}]\n{text}" for name, text in sources_of(spec, data).items())
        claims = report.output.get(spec.claims_field) if spec.claims_field else None
        items: list[tuple[int | None, str]]
        if isinstance(claims, list):
            items = [(i, str(c.get(spec.claim_text_key, "")) if isinstance(c, dict) else str(c))
                     for i, c in enumerate(claims)]
        else:  # no claims declared: the answer as a whole is the claim
            items = [(None, json.dumps({k: v for k, v in report.output.items()
                                        if k != spec.reasoning_field}, ensure_ascii=False))]
        route = self._judge_spec.model  # grounding.judge.route when declared
        unsupported: list[int] = []
        report.checks["judge"] = "pass"
        for index, claim in items:
            request = ModelRequest(
                (Message("system", JUDGE_SYSTEM),
                 Message("user", f"SOURCE:\n{source}\n\nCLAIM:\n{claim}")),
                (judge.route.model if judge.route is not None else judge.model or route.model),
                {**route.params, "temperature": 0.0},
                JudgeVerdict.model_json_schema(), {"claim": claim}, 0, 200)
            text = self._paid_call(request, log, "judge", self.judge_provider, self._judge_spec)
            try:
                verdict = parse_output(text, JudgeVerdict) if text is not None else None
            except OutputError:
                verdict = None
            if verdict is None:
                _not_run(report, "judge", judge.policy,
                         f"the judge could not rule on {_label(index)}")
                continue
            if verdict["supported"]:
                continue
            sentence = f"the judge found {_label(index)} unsupported: {verdict['reason']}"
            if judge.policy == "fail":
                report.fail("judge", sentence)
            elif judge.policy == "retract" and index is not None and isinstance(claims, list):
                unsupported.append(index)
                report.retracted.append({"claim": claims[index], "why": sentence})
            else:
                report.checks["judge"] = "flag"
                report.flags.append(sentence)
        if unsupported and isinstance(claims, list) and spec.claims_field:
            report.output[spec.claims_field] = [c for i, c in enumerate(claims)
                                                if i not in unsupported]


def _not_run(report: GroundingReport, check: str, policy: str, sentence: str) -> None:
    if policy == "fail":
        report.fail(check, sentence)
    else:
        report.checks[check] = "skip"
        report.flags.append(sentence)


def _label(index: int | None) -> str:
    return "the answer" if index is None else f"claim {index + 1}"
