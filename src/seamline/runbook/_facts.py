"""What a runbook says, read from the declaration and the store at one moment.

Kept apart from the Markdown (``_markdown``) so that the CLI and the console page show the
same facts; every number here is read, never typed by a person, so the runbook cannot go
stale: generate it again and it says what is true now.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from seamline.alerts import list_alerts
from seamline.connectors import installed
from seamline.eval import latest_runs
from seamline.inference import spend_report
from seamline.integration import Integration
from seamline.rollout import (
    AlertRule,
    GoldenRun,
    SignOff,
    get_plan,
    go_live_problem,
    golden_hash,
    golden_runs,
    latest_signoff,
    model_identity,
    prompt_version,
)
from seamline.runtime import dead_letters_now
from seamline.store import Store
from seamline.store.tables import flags as flag_table

ALERT_DAYS = 7


@dataclass(frozen=True)
class ReasonGroup:
    """Dead letters of one reason: how many, at which stage, one to look at."""

    reason: str
    stage: str
    count: int
    last_at: float
    example: str


@dataclass(frozen=True)
class ConnectorUse:
    """A connector the integration's actions call, and how its credentials are renewed."""

    name: str
    actions: tuple[str, ...]
    oauth: bool
    env: tuple[tuple[str, bool], ...]  # (variable, set?) — never a value


@dataclass
class Facts:
    integration: Integration
    generated_at: float
    flag: str
    flag_state: str  # "on", "off", "25%", or "default (…)"
    plan_status: str | None  # the staged rollout's status, if it has one
    dead: list[ReasonGroup]
    dead_total: int
    alerts_seen: Counter[str]
    rules: list[AlertRule]
    rules_file: str | None
    budgets: dict[str, Any]
    spent_today_usd: float
    caps: list[Any]  # the spend report's cap counters of this integration
    connectors: list[ConnectorUse]
    signoff: SignOff | None
    signoff_intact: bool | None  # None: the golden file is not here to hash
    golden_run: GoldenRun | None
    go_live: str | None  # why the flag may not go above 0%, or None
    production: list[Any] = field(default_factory=list)  # latest production eval runs
    drift_alerts: int = 0


def _flag_state(store: Store, integration: Integration) -> str:
    with store.read() as conn:
        row = conn.execute(select(flag_table).where(flag_table.c.name == integration.flag_name)).first()
    if row is None:
        default = integration.rollout.default
        return f"never set (declared default {default if isinstance(default, str) else f'{default:g}%'})"
    return row.mode if row.mode != "percent" else f"{row.percent:g}%"


def _dead(store: Store, name: str) -> tuple[list[ReasonGroup], int]:
    rows = dead_letters_now(store, integration=name)
    groups: dict[str, list[Any]] = {}
    for r in rows:
        groups.setdefault(r.reason, []).append(r)
    out = [ReasonGroup(reason, g[0].stage, len(g), max(x.dead_at for x in g), g[0].event_id)
           for reason, g in groups.items()]
    return sorted(out, key=lambda g: (-g.count, g.reason)), len(rows)


def _alerts(store: Store, integration: Integration, since: float) -> tuple[Counter[str], int]:
    seen: Counter[str] = Counter()
    drift = 0
    for row in list_alerts(store, since=since, limit=1000):
        labels = json.loads(row.labels or "{}")
        ours = labels.get("integration") == integration.name or labels.get("flag") == integration.flag_name
        if ours or not labels.get("integration"):
            seen[row.kind] += 1
            drift += row.kind in ("eval_drift", "contract_drift")
    return seen, drift


def _connectors(integration: Integration) -> list[ConnectorUse]:
    """Connectors named by the actions: ``connector:NAME.op``, or a vendor-neutral
    ``kind:FAMILY.verb`` mapped to its family's vendor."""
    found = installed()
    uses: dict[str, dict[str, Any]] = {}
    vendors = getattr(integration, "vendors", {}) or {}
    for action in integration.actions:
        handler = action.handler if isinstance(action.handler, str) else ""
        name = ""
        if handler.startswith("connector:"):
            name = handler.removeprefix("connector:").split(".", 1)[0]
        elif handler.startswith("kind:"):
            family = handler.removeprefix("kind:").split(".", 1)[0]
            choice = vendors.get(family)
            name = getattr(action, "vendor", None) or getattr(choice, "use", "") or ""
        if not name:
            continue
        use = uses.setdefault(name, {"actions": [], "oauth": False, "env": {}})
        use["actions"].append(action.name)
        use["oauth"] |= action.connector.get("auth") == "oauth"
        cls = found.get(name)
        names = list(cls.env_vars()) if cls is not None else []
        names += [v for k, v in action.connector.items()
                  if k.endswith("_env") and isinstance(v, str) and v]
        for var in names:
            use["env"][var] = None
    return [ConnectorUse(n, tuple(u["actions"]), u["oauth"],
                         tuple((v, bool(os.environ.get(v))) for v in u["env"]))
            for n, u in sorted(uses.items())]


def _spend(store: Store, name: str) -> tuple[float, list[Any]]:
    with store.read() as conn:
        report = spend_report(conn, 1)
    today = sum(r.cost_usd for r in report.by.get("integration", []) if r.key == name)
    return today, [c for c in report.caps if c.integration in (name, "*")]


def gather(store: Store, integration: Integration, *, rules: list[AlertRule] | None = None,
           rules_file: str | None = None, now: float | None = None) -> Facts:
    """Read everything the runbook states about ``integration`` from the store."""
    now = time.time() if now is None else now
    name = integration.name
    plan = get_plan(store, integration.flag_name)
    dead, dead_total = _dead(store, name)
    seen, drift = _alerts(store, integration, now - ALERT_DAYS * 86400)
    today, caps = _spend(store, name)
    signoff = latest_signoff(store, name)
    intact: bool | None = None
    run = None
    if signoff is not None:
        path = Path(signoff.golden_path)
        intact = golden_hash(path) == signoff.golden_hash if path.is_file() else None
        version, model = prompt_version(integration), model_identity(integration)
        run = next((r for r in golden_runs(store, name) if r.golden_hash == signoff.golden_hash
                    and r.prompt_version == version and r.model == model
                    and not r.substituted), None)
    return Facts(
        integration=integration, generated_at=now, flag=integration.flag_name,
        flag_state=_flag_state(store, integration),
        plan_status=f"{plan.status} at {plan.percent:g}%" if plan else None,
        dead=dead, dead_total=dead_total, alerts_seen=seen,
        rules=[r for r in (rules or []) if r.integration in ("", name)], rules_file=rules_file,
        budgets={k: v for k, v in integration.model.budgets.model_dump().items()
                 if v not in (None, [], {}, ())},
        spent_today_usd=today, caps=caps, connectors=_connectors(integration),
        signoff=signoff, signoff_intact=intact, golden_run=run,
        go_live=go_live_problem(store, integration),
        production=list(latest_runs(store, name, limit=3)), drift_alerts=drift)
