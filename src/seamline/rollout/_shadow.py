"""Layer 7, rollout: shadow mode's record, and how far the model agrees with what happened.

In ``rollout.mode: shadow`` the AI path runs on every event but acts nowhere: its output
and the actions it would have run are one ``shadow`` audit entry per event, while the
baseline answers and acts. :func:`shadow_report` scores the shadow decisions against
what happened: the truth fed back (``/v1/feedback``, ``seamline feedback``) where there is
one, else the baseline's answer; the baseline's actions; with 95% Wilson intervals, the
disagreements to review, and the model's cost per event.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from seamline.rollout._gates import wilson_lower, wilson_upper
from seamline.store import Store
from seamline.store.tables import audit_log, events, ground_truth, outbox

log = logging.getLogger("seamline.shadow")
SHADOW = "shadow"  # the audit entry's kind


def shadow_entry(output: dict[str, Any] | None, error: str, actions: list[dict[str, Any]],
                 cost_usd: float, model: str) -> dict[str, Any]:
    """The payload of one event's ``shadow`` audit entry (all of it redacted already)."""
    return {"output": output, "error": error, "would_have_run": actions,
            "cost_usd": round(cost_usd, 8), "model": model}


def log_shadow(integration: str, event_id: str, entry: dict[str, Any]) -> None:
    """One line for the log sink: the event, the output's fields and the actions' names."""
    names = [a.get("name") for a in entry["would_have_run"]]
    log.info("shadow %s %s: %s; would have run %s", integration, event_id,
             json.dumps(entry["output"], ensure_ascii=False, sort_keys=True, default=str)
             if entry["output"] is not None else f"no answer ({entry['error']})",
             ", ".join(map(str, names)) or "nothing")


@dataclass(frozen=True)
class Agreement:
    """How often the model agreed on one field or action, of ``n`` comparisons."""

    name: str
    against: str  # "truth" | "baseline"
    agree: int
    n: int

    @property
    def share(self) -> float:
        return self.agree / self.n if self.n else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "against": self.against, "agree": self.agree, "n": self.n,
                "share": self.share, "low": wilson_lower(self.agree, self.n),
                "high": wilson_upper(self.agree, self.n)}


@dataclass(frozen=True)
class ShadowReport:
    integration: str
    events: int
    answered: int
    fields: list[Agreement] = field(default_factory=list)
    actions: list[Agreement] = field(default_factory=list)
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    cost_per_event_usd: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["fields"] = [a.as_dict() for a in self.fields]
        out["actions"] = [a.as_dict() for a in self.actions]
        return out


def _loads(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:  # a purged or erased payload
        return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.strip().casefold() == b.strip().casefold()
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))
    return bool(a == b)


def shadow_report(store: Store, integration: str, *, since: float | None = None,
                  limit: int = 10_000, show: int = 20) -> ShadowReport:
    """Score the last ``limit`` shadow decisions of ``integration`` (since ``since``)."""
    q = (select(audit_log.c.event_id, audit_log.c.payload)
         .where(audit_log.c.integration == integration, audit_log.c.kind == SHADOW)
         .order_by(audit_log.c.seq.desc()).limit(limit))
    if since is not None:
        q = q.where(audit_log.c.created_at >= since)
    with store.read() as conn:
        shadows = [(eid, _loads(p)) for eid, p in conn.execute(q)]
        ids = [eid for eid, _ in shadows]
        happened: dict[str, Any] = {}
        truths: dict[str, Any] = {}
        acted: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for eid, out in conn.execute(select(events.c.id, events.c.output)
                                         .where(events.c.id.in_(chunk))):
                happened[eid] = _loads(out)
            for eid, truth in conn.execute(select(ground_truth.c.event_id, ground_truth.c.truth)
                                           .where(ground_truth.c.event_id.in_(chunk))):
                truths[eid] = _loads(truth)
            for eid, name, params, status in conn.execute(
                    select(outbox.c.event_id, outbox.c.action, outbox.c.params, outbox.c.status)
                    .where(outbox.c.event_id.in_(chunk))):
                if status != "rejected":
                    acted.setdefault(eid, {})[name] = _loads(params)
    tallies: dict[tuple[str, str, str], list[int]] = {}
    disagreements: list[dict[str, Any]] = []
    answered, cost = 0, 0.0

    def tally(kind: str, name: str, against: str, agree: bool) -> None:
        t = tallies.setdefault((kind, name, against), [0, 0])
        t[0] += int(agree)
        t[1] += 1

    for eid, entry in shadows:
        if not isinstance(entry, dict):
            continue
        cost += float(entry.get("cost_usd") or 0.0)
        ai = entry.get("output")
        if not isinstance(ai, dict):
            continue
        answered += 1
        truth = truths.get(eid) if isinstance(truths.get(eid), dict) else None
        base = happened.get(eid) if isinstance(happened.get(eid), dict) else None
        for name, value in ai.items():
            if truth is not None and name in truth:
                ref, against = truth[name], "truth"
            elif base is not None and name in base:
                ref, against = base[name], "baseline"
            else:
                continue
            agree = _same(value, ref)
            tally("field", name, against, agree)
            if not agree:
                disagreements.append({"event_id": eid, "field": name, "model": value,
                                      against: ref})
        would = {str(a.get("name")): a.get("params")
                 for a in entry.get("would_have_run") or [] if isinstance(a, dict)}
        did = acted.get(eid, {})
        for name in sorted(set(would) | set(did)):
            agree = name in would and name in did and would[name] == did[name]
            tally("action", str(name), "baseline", agree)
            if not agree:
                disagreements.append({"event_id": eid, "action": name,
                                      "model": would.get(name, "(would not run)"),
                                      "baseline": did.get(name, "(did not run)")})
    fields = [Agreement(n, a, *t) for (k, n, a), t in sorted(tallies.items()) if k == "field"]
    actions = [Agreement(n, a, *t) for (k, n, a), t in sorted(tallies.items()) if k == "action"]
    return ShadowReport(integration, len(shadows), answered, fields, actions,
                        disagreements[:show], cost / len(shadows) if shadows else 0.0)


__all__ = ["SHADOW", "Agreement", "ShadowReport", "log_shadow", "shadow_entry", "shadow_report"]
