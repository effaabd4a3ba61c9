"""Layer 7, rollout: the gated stage's approval gates, and dropping one only on evidence.

In ``rollout.mode: gated`` every action waits for a person. An action's gate is dropped
when the last N people's decisions on it say the model's actions pass unedited (the
integration's ``rollout.gates`` rule), and never for a high-risk action: one declared
``risk: high``, or a connector operation that sends, charges or contracts. Each drop (and
each restore) is a flag flip with its numbers in the audit trail.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from seamline.audit import AuditEntry, append
from seamline.errors import ConfigError
from seamline.integration import ActionSpec, GateRule, Integration
from seamline.rollout._flags import Flags
from seamline.store import Store
from seamline.store.tables import audit_log

# Connector operations that send to a person, move money or commit the business, by name:
# a vendor's "send_email", "create_refund", "charge", "post_message", "sign_contract" ...
_HIGH_RISK_OPERATION = re.compile(
    r"(?:^|_)(?:send|sends|email|sms|message|post|reply|charge|refund|pay|payment|payout|"
    r"capture|invoice|transfer|contract|sign|quote|order|subscribe|cancel|delete)(?:_|$)")
Z95 = 1.959963984540054  # the two-sided 95% normal quantile


def action_risk(spec: ActionSpec) -> str:
    """"high" when the action's gate may never be dropped, else "low"."""
    if spec.risk == "high":
        return "high"
    handler = spec.handler
    # connector:NAME.send_email, and the vendor-neutral kind:email.send alike
    if isinstance(handler, str) and handler.startswith(("connector:", "kind:")):
        operation = handler.partition(".")[2]
        if _HIGH_RISK_OPERATION.search(operation.lower()):
            return "high"
    return "low"


def gate_flag(integration: Integration, action: str) -> str:
    """The flag holding whether ``action``'s gate is dropped ("off") or kept ("on")."""
    return f"{integration.flag_name}.gate.{action}"


def wilson_lower(successes: int, n: int, z: float = Z95) -> float:
    """The lower bound of the Wilson score interval for ``successes`` of ``n``.

    By hand: it is one formula (Wilson 1927), and the libraries that have it (statsmodels,
    scipy.stats) are heavy imports for a command that prints a table.
    """
    if n <= 0:
        return 0.0
    p = successes / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - margin) / (1 + z * z / n))


def wilson_upper(successes: int, n: int, z: float = Z95) -> float:
    return 1.0 - wilson_lower(n - successes, n, z) if n > 0 else 1.0


@dataclass(frozen=True)
class GateEvidence:
    """What the last decisions on one action say, and whether its rule holds."""

    action: str
    risk: str
    decisions: int
    unedited: int
    edited: int
    rejected: int
    edited_fields: dict[str, int] = field(default_factory=dict)
    rule: dict[str, Any] | None = None
    share: float = 0.0
    lower_bound: float = 0.0
    holds: bool = False
    why: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decisions(store: Store, integration: str, action: str, last: int) -> list[dict[str, Any]]:
    """The people's last ``last`` decisions on ``action`` (newest first): approvals and
    rejections, in-doubt verdicts left out (they judge a crash, not the model)."""
    out: list[dict[str, Any]] = []
    q = (select(audit_log.c.payload).where(audit_log.c.integration == integration,
                                           audit_log.c.kind == "approval")
         .order_by(audit_log.c.seq.desc()))
    with store.read() as conn:
        for (payload,) in conn.execute(q.execution_options(yield_per=500)):
            try:
                entry = json.loads(payload)
            except (TypeError, ValueError):  # a purged payload: not evidence either way
                continue
            if not isinstance(entry, dict) or entry.get("action") != action or entry.get("in_doubt"):
                continue
            if entry.get("decision") not in ("approved", "rejected"):
                continue
            out.append(entry)
            if len(out) >= last:
                break
    return out


def evidence(store: Store, integration: Integration, action: str) -> GateEvidence:
    """The evidence for dropping ``action``'s gate under its declared rule."""
    spec = next((a for a in integration.actions if a.name == action), None)
    if spec is None:
        raise ConfigError(f"The integration {integration.name!r} has no action {action!r}; it "
                          f"has {', '.join(a.name for a in integration.actions) or 'none'}.")
    risk = action_risk(spec)
    rule = integration.rollout.gates.get(action)
    last = rule.last if rule else GateRule().last
    seen = decisions(store, integration.name, action, last)
    edited_fields: dict[str, int] = {}
    unedited = edited = rejected = 0
    for d in seen:
        if d["decision"] == "rejected":
            rejected += 1
        elif d.get("edited"):
            edited += 1
            before, after = d.get("params_before") or {}, d.get("params_after") or {}
            for name in sorted(set(before) | set(after)):
                if before.get(name) != after.get(name):
                    edited_fields[name] = edited_fields.get(name, 0) + 1
        else:
            unedited += 1
    n = len(seen)
    share = unedited / n if n else 0.0
    lower = wilson_lower(unedited, n)
    common: dict[str, Any] = {
        "action": action, "risk": risk, "decisions": n, "unedited": unedited, "edited": edited,
        "rejected": rejected, "edited_fields": edited_fields,
        "rule": rule.model_dump() if rule else None, "share": share, "lower_bound": lower}
    if risk == "high":
        return GateEvidence(**common, why="a high-risk action (it sends, charges or contracts, "
                                          "or is declared risk: high) keeps its gate for good")
    if rule is None:
        return GateEvidence(**common, why=f"rollout.gates declares no rule for {action!r}")
    if n < rule.last:
        return GateEvidence(**common, why=f"{n} of the {rule.last} decisions the rule needs")
    if share < rule.unedited_at_least:
        return GateEvidence(**common, why=f"{share:.1%} approved unedited, below "
                                          f"{rule.unedited_at_least:.1%}")
    if lower < rule.lower_bound_at_least:
        return GateEvidence(**common, why=f"the lower 95% bound {lower:.1%} is below "
                                          f"{rule.lower_bound_at_least:.1%}")
    return GateEvidence(**common, holds=True,
                        why=f"{unedited} of the last {n} approved unedited ({share:.1%}, lower "
                            f"95% bound {lower:.1%})")


class Gates:
    """Whether each action of an integration waits for a person in the gated stage."""

    def __init__(self, integration: Integration, flags: Flags) -> None:
        self.integration, self.flags = integration, flags
        self._risk = {a.name: action_risk(a) for a in integration.actions}

    def closed(self, action: str) -> bool:
        """True while ``action`` must wait for a person (the gate is kept)."""
        if self._risk.get(action, "high") == "high":
            return True
        return self.flags.get(gate_flag(self.integration, action), "on").mode != "off"

    def drop(self, action: str, *, actor: str = "cli") -> GateEvidence:
        """Drop ``action``'s gate if the evidence holds (a flag flip and an audit entry with
        the numbers); the evidence either way. Refuses a high-risk action."""
        ev = evidence(self.flags.store, self.integration, action)
        if ev.risk == "high":
            raise ConfigError(f"The gate of {action!r} cannot be dropped: {ev.why}.")
        if not ev.holds:
            return ev
        self._record(action, "dropped", ev, actor)
        self.flags.set(gate_flag(self.integration, action), "off", reason=ev.why,
                       integration=self.integration.name, actor=actor)
        return ev

    def restore(self, action: str, *, reason: str, actor: str = "cli") -> None:
        """Put ``action``'s gate back (a breach, a person's call), with the reason audited."""
        ev = evidence(self.flags.store, self.integration, action)
        self._record(action, "restored", ev, actor, reason)
        self.flags.set(gate_flag(self.integration, action), "on", reason=reason,
                       integration=self.integration.name, actor=actor)

    def _record(self, action: str, change: str, ev: GateEvidence, actor: str,
                reason: str = "") -> None:
        with self.flags.store.write() as conn:
            append(conn, [AuditEntry("-", self.integration.name, "gate", {
                "action": action, "change": change, "actor": actor,
                "reason": reason or ev.why, "evidence": ev.as_dict()})], now=time.time())


def gate_problems(integration: Integration) -> list[str]:
    """What ``seamline check`` says about the declared gates: a rule for an unknown action,
    one that would ungate a high-risk action, one no evidence can ever meet."""
    problems = []
    specs = {a.name: a for a in integration.actions}
    for name, rule in integration.rollout.gates.items():
        spec = specs.get(name)
        if spec is None:
            problems.append(f"rollout.gates names {name!r}, which is not an action of this "
                            f"integration ({', '.join(specs) or 'none'}).")
            continue
        if action_risk(spec) == "high":
            problems.append(f"rollout.gates would drop the approval gate of {name!r}, a "
                            "high-risk action (it sends, charges or contracts, or is declared "
                            "risk: high); such a gate is kept for good: remove the rule.")
        best = wilson_lower(rule.last, rule.last)
        if best < rule.lower_bound_at_least:
            problems.append(f"rollout.gates.{name} can never hold: even {rule.last} unedited "
                            f"approvals of {rule.last} give a lower 95% bound of {best:.1%}, "
                            f"below lower_bound_at_least {rule.lower_bound_at_least:.1%}; raise "
                            "last or lower the bound.")
    if integration.rollout.mode == "shadow" and integration.rollout.baseline is None:
        problems.append("rollout.mode is shadow, but the integration declares no baseline: "
                        "in shadow mode the baseline answers and acts while the model is "
                        "watched; declare rollout.baseline.")
    return problems


__all__ = ["GateEvidence", "Gates", "action_risk", "decisions", "evidence", "gate_flag",
           "gate_problems", "wilson_lower", "wilson_upper"]
