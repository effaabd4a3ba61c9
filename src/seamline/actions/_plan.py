"""Layer 5, actions: deciding which actions an output calls for, with what, and who approves.

``when`` and ``params`` are sandboxed Jinja2 expressions: text inside an event can
never run code here, and the approval policy reads only declared rules.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

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


def approval_reason(policy: ApprovalPolicy, output: dict[str, Any], action: str) -> str:
    """Why this action must wait for a person, or "" when it may run."""
    if policy.always:
        return f"action {action} always waits for approval"
    if policy.below_confidence is not None:
        conf = output.get("confidence")
        if not isinstance(conf, int | float) or conf < policy.below_confidence:
            return f"confidence {conf} is below the threshold {policy.below_confidence}"
    if policy.above_amount is not None and policy.amount_field:
        amount = output.get(policy.amount_field)
        if not isinstance(amount, int | float) or amount > policy.above_amount:
            return f"{policy.amount_field} {amount} is above the threshold {policy.above_amount}"
    return ""


@dataclass(frozen=True, slots=True)
class PlannedAction:
    name: str
    key: str
    params: dict[str, Any]
    approval_reason: str


def plan_actions(actions: tuple[ActionSpec, ...], *, integration: str, event_key: str,
                 data: dict[str, Any], output: dict[str, Any]) -> list[PlannedAction]:
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
                                     params, approval_reason(spec.approval, output, spec.name)))
    return planned
