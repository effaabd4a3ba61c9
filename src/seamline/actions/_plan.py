"""Layer 5, actions: deciding which actions an output calls for, with what, and who approves.

``when`` and ``params`` are sandboxed Jinja2 expressions: text inside an event can
never run code here, and the approval policy reads only declared rules.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, TypeGuard

from jinja2 import StrictUndefined
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from seamline.actions._trust import Trust
from seamline.errors import ConfigError
from seamline.integration import ActionSpec, ApprovalPolicy

_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
_COMPILED: dict[str, Any] = {}


def _expression(source: str):
    fn = _COMPILED.get(source)
    if fn is None:
        try:
            fn = _COMPILED[source] = _ENV.compile_expression(source, undefined_to_none=False)
        except TemplateError as exc:
            raise ConfigError(f"The action expression {source!r} is not valid: {exc}.") from exc
    return fn


def action_key(integration: str, event_key: str, action: str) -> str:
    """The idempotency key of one action of one event: stable across retries and crashes."""
    return hashlib.sha256(f"{integration}\x00{event_key}\x00{action}".encode()).hexdigest()[:40]


def approval_reason(policy: ApprovalPolicy, output: dict[str, Any], action: str,
                    trust: Trust | None = None) -> str:
    """Why this action must wait for a person, or "" when it may run.

    ``trust`` is what Seamline found itself (instruction-like text in the input, doubts
    from the grounding checks): with any of it, the model's own confidence does not count.
    """
    if policy.always:
        return f"action {action} always waits for approval"
    if policy.below_confidence is not None:
        if trust is not None and not trust.self_report_trusted:
            return trust.why_not()
        conf = output.get(policy.confidence_field)
        if not _finite(conf) or not 0 <= conf <= 1 or conf < policy.below_confidence:
            return (f"{policy.confidence_field} {conf!r} is below the threshold "
                    f"{policy.below_confidence}")
    if policy.amount_field:
        amount = output.get(policy.amount_field)
        if not _finite(amount):
            return f"{policy.amount_field} {amount!r} is not a number"
        if amount <= policy.min_amount:
            return (f"{policy.amount_field} {amount} is at or below {policy.min_amount:g}: "
                    "a zero or negative amount is not routine")
        if policy.above_amount is not None and amount > policy.above_amount:
            return f"{policy.amount_field} {amount} is above the threshold {policy.above_amount}"
        if policy.currency_field and policy.currency:
            currency = output.get(policy.currency_field)
            if not isinstance(currency, str) or currency.strip().upper() != policy.currency.upper():
                return (f"{policy.currency_field} {currency!r} is not {policy.currency.upper()}, "
                        "the currency the threshold is in")
    return ""


def _finite(value: Any) -> TypeGuard[int | float]:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


@dataclass(frozen=True, slots=True)
class PlannedAction:
    name: str
    key: str
    params: dict[str, Any]
    approval_reason: str


def plan_actions(actions: tuple[ActionSpec, ...], *, integration: str, event_key: str,
                 data: dict[str, Any], output: dict[str, Any],
                 trust: Trust | None = None) -> list[PlannedAction]:
    """The actions ``output`` calls for, with their parameters and approval reasons.

    ``trust``: Seamline's own signals about the output (see :func:`approval_reason`).
    """
    ctx = {"input": data, "output": output}
    planned = []
    for spec in actions:
        try:
            if spec.when and not _expression(spec.when)(**ctx):
                continue
            params = {name: _expression(expr)(**ctx) for name, expr in spec.params.items()}
        except TemplateError as exc:
            raise ConfigError(f"Action {spec.name!r} could not be planned: {exc}.") from exc
        planned.append(PlannedAction(spec.name, action_key(integration, event_key, spec.name),
                                     params,
                                     approval_reason(spec.approval, output, spec.name, trust)))
    return planned
