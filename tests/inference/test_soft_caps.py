"""Soft caps and alerts at shares of the hard caps, end to end through the pipeline.

A scripted model answers both routes and tells them apart by ``request.model`` (as the
fallback chain does); every reply states its usage, so each call costs a known amount:
the primary ``scripted-1`` $1/$2 per million tokens, the cheaper ``scripted-cheap`` a
tenth of that.
"""

from __future__ import annotations

import json

import pytest
from conftest import make_integration
from sqlalchemy import select

from seamline.inference import ModelReply, ScriptedModel, Usage
from seamline.integration import Budgets, Checklist, ModelRoute, OverSoft, SoftCaps
from seamline.runtime import BASELINE, OVER_BUDGET, SUCCEEDED, Pipeline
from seamline.store.tables import alerts, audit_log, budget_alerts, budget_counters, events

PRIMARY, CHEAP = "scripted-1", "scripted-cheap"
ANSWER = {"label": "other", "confidence": 0.9, "amount": 0.0, "quote": ""}
OUTPUT_TOKENS = 100  # every reply: 0 prompt tokens billed, 100 output tokens


def replying() -> ScriptedModel:
    return ScriptedModel(lambda req: ModelReply(json.dumps(ANSWER), Usage(0, OUTPUT_TOKENS),
                                                model=req.model))


def cost_of(model: str) -> float:
    return OUTPUT_TOKENS * (2.0 if model == PRIMARY else 0.2) / 1e6


def integration(*, soft: SoftCaps | None = None, over_soft=None, alert_at=(), daily=None,
                tenant_daily=None, monthly=100.0, **extra):
    cheap = ModelRoute(provider="scripted", model=CHEAP, input_usd_per_mtok=0.1,
                       output_usd_per_mtok=0.2, max_output_tokens=100, context_window=2000)
    route = ModelRoute(
        provider="scripted", model=PRIMARY, input_usd_per_mtok=1.0, output_usd_per_mtok=2.0,
        max_output_tokens=100, context_window=2000, max_repairs=0,
        budgets=Budgets(soft_daily_usd=soft, daily_usd=daily, per_tenant_daily_usd=tenant_daily,
                        over_soft=OverSoft(route=cheap) if over_soft is None else over_soft,
                        alert_at=alert_at))
    return make_integration(
        model=route, actions=(), user_key="customer",
        checklist=Checklist(workflow="w", owner="o", baseline_metric="m",
                            monthly_cost_ceiling_usd=monthly), **extra)


def ticket(n: int, customer: str = "c1", tenant: str = "t1") -> dict:
    return {"ticket_id": f"T{n}", "customer": customer, "tenant": tenant,
            "body": "Where is my parcel?"}


def rows(store, event_ids):
    with store.read() as conn:
        found = {r.id: r for r in conn.execute(select(events).where(events.c.id.in_(event_ids)))}
    return [found[e] for e in event_ids]


def entries(store, event_id: str, kind: str) -> list[dict]:
    with store.read() as conn:
        return [json.loads(p) for p in conn.execute(select(audit_log.c.payload).where(
            audit_log.c.event_id == event_id, audit_log.c.kind == kind)).scalars()]


def budget_alert_rows(store) -> list[dict]:
    with store.read() as conn:
        return [json.loads(r.labels) | {"sentence": r.sentence, "severity": r.severity}
                for r in conn.execute(select(alerts).where(alerts.c.kind == "budget")
                                      .order_by(alerts.c.id))]


# ---------------------------------------------------------------- degrade to a cheaper route


def test_past_the_per_user_soft_cap_an_event_runs_on_the_cheaper_route_and_says_so(store):
    model = replying()
    pipe = Pipeline(integration(soft=SoftCaps(per_user=0.001)), store, provider=model)
    results = [pipe.process(ticket(n)) for n in range(8)]
    assert all(r.state == SUCCEEDED for r in results), [r.reason for r in results]
    ran = [r.model for r in rows(store, [r.event_id for r in results])]
    first_cheap = ran.index(CHEAP)
    # While the worst case fits, the primary route; from the first event that would cross
    # the cap, every one after (the spend only grows), the cheaper route.
    assert first_cheap >= 1 and ran[first_cheap:] == [CHEAP] * (8 - first_cheap)
    assert [r.model for r in list(model.requests)] == ran  # the route the row names was called
    assert sum(cost_of(m) for m in ran[:first_cheap]) <= 0.001
    degraded = results[first_cheap].event_id
    [budget] = entries(store, degraded, "budget")
    over = budget["over_soft"]
    assert budget["decision"] == "over_soft"
    assert over["cap"] == "per-user soft daily" and over["cap_usd"] == 0.001
    assert over["route"] == CHEAP
    assert over["spent_usd"] == pytest.approx(first_cheap * cost_of(PRIMARY))
    assert over["spent_usd"] + over["estimate_usd"] > over["cap_usd"]
    assert "runs on the cheaper route scripted-cheap" in over["reason"]
    [call] = entries(store, degraded, "model_call")
    assert call["model"] == CHEAP and call["cost_usd"] == pytest.approx(cost_of(CHEAP))
    assert "over_soft" not in entries(store, results[0].event_id, "budget")[0]


def test_the_soft_cap_is_per_user_so_another_user_still_gets_the_primary_route(store):
    pipe = Pipeline(integration(soft=SoftCaps(per_user=0.0005)), store, provider=replying())
    for n in range(4):
        pipe.process(ticket(n, customer="heavy"))
    other = pipe.process(ticket(99, customer="light"))
    heavy = pipe.process(ticket(100, customer="heavy"))
    assert [r.model for r in rows(store, [other.event_id, heavy.event_id])] == [PRIMARY, CHEAP]


def test_the_soft_counter_ends_at_what_the_calls_cost_whichever_route_they_took(store):
    pipe = Pipeline(integration(soft=SoftCaps(per_user=0.0005)), store, provider=replying())
    results = [pipe.process(ticket(n)) for n in range(5)]
    total = sum(r.cost_usd for r in results)
    with store.read() as conn:
        counters = dict(conn.execute(select(budget_counters.c.scope, budget_counters.c.spent_usd)).all())
    [user_scope] = [s for s in counters if "|user|" in s]
    assert counters[user_scope] == pytest.approx(total)
    assert {r.model for r in rows(store, [r.event_id for r in results])} == {PRIMARY, CHEAP}


def test_a_per_tenant_soft_cap_degrades_the_whole_tenant(store):
    pipe = Pipeline(integration(soft=SoftCaps(per_tenant=0.0005)), store, provider=replying())
    for n in range(4):
        pipe.process(ticket(n, customer=f"user{n}", tenant="big"))
    late = pipe.process(ticket(50, customer="newcomer", tenant="big"))
    small = pipe.process(ticket(51, customer="newcomer", tenant="small"))
    assert [r.model for r in rows(store, [late.event_id, small.event_id])] == [CHEAP, PRIMARY]
    assert entries(store, late.event_id, "budget")[0]["over_soft"]["cap"] == "per-tenant soft daily"


def test_over_soft_can_name_a_fallback_by_its_model(store):
    spec = integration(soft=SoftCaps(per_user=0.0003), over_soft=OverSoft(route=CHEAP))
    fallback = ModelRoute(provider="scripted", model=CHEAP, input_usd_per_mtok=0.1,
                          output_usd_per_mtok=0.2, max_output_tokens=100, context_window=2000)
    spec = spec.model_copy(update={"model": spec.model.model_copy(update={"fallbacks": (fallback,)})})
    pipe = Pipeline(spec, store, provider=replying())
    results = [pipe.process(ticket(n)) for n in range(3)]
    assert [r.model for r in rows(store, [r.event_id for r in results])] == [PRIMARY, CHEAP, CHEAP]


# ---------------------------------------------------------------- degrade to the baseline


def test_over_soft_baseline_answers_with_the_baseline_and_calls_no_model(store):
    model = replying()
    pipe = Pipeline(integration(soft=SoftCaps(per_user=0.0003), over_soft="baseline"), store,
                    provider=model)
    results = [pipe.process(ticket(n)) for n in range(3)]
    assert [r.state for r in results] == [SUCCEEDED, BASELINE, BASELINE]
    assert len(model.requests) == 1
    got = rows(store, [r.event_id for r in results])
    assert [(r.path, r.model) for r in got] == [("ai", PRIMARY), ("baseline", ""), ("baseline", "")]
    assert [r.cost_usd for r in got[1:]] == [0.0, 0.0]
    over = entries(store, results[1].event_id, "budget")[0]["over_soft"]
    assert over["route"] == "baseline" and "runs on the baseline" in over["reason"]
    assert entries(store, results[1].event_id, "model_call") == []
    assert entries(store, results[1].event_id, "output")[0]["path"] == "baseline"


# ---------------------------------------------------------------- alerts at shares of hard caps


def test_each_declared_share_of_a_hard_cap_alerts_once_with_the_numbers(store):
    # The daily cap of $0.001 holds four calls of $0.0002 (worst case ~$0.000215 each).
    pipe = Pipeline(integration(daily=0.001, alert_at=(0.5, 0.8, 1.0)), store,
                    provider=replying())
    results = [pipe.process(ticket(n)) for n in range(7)]
    states = [r.state for r in results]
    assert SUCCEEDED in states and states[-1] == OVER_BUDGET
    got = [a for a in budget_alert_rows(store) if a["cap"] == "daily"]
    assert [a["share"] for a in got] == ["0.5", "0.8", "1"]
    half, most, full = got
    assert float(half["spent_usd"]) >= 0.0005 and float(half["cap_usd"]) == 0.001
    assert float(most["spent_usd"]) >= 0.0008
    assert full["reason"] == "refused" and full["severity"] == "critical"
    assert "refused a call" in full["sentence"] and "cap of $0.001 " in full["sentence"]
    assert "50% of the daily cap" in half["sentence"]
    with store.read() as conn:
        claimed = conn.execute(select(budget_alerts.c.permille, budget_alerts.c.announced_at)
                               .where(budget_alerts.c.cap == "daily")).all()
    assert sorted(p for p, _ in claimed) == [500, 800, 1000]
    assert all(at is not None for _, at in claimed)


def test_a_soft_cap_alerts_once_when_it_first_degrades(store):
    pipe = Pipeline(integration(soft=SoftCaps(per_user=0.0003)), store, provider=replying())
    for n in range(5):
        pipe.process(ticket(n))
    got = [a for a in budget_alert_rows(store) if a["reason"] == "over_soft"]
    assert len(got) == 1 and got[0]["cap"] == "per-user soft daily"
    assert "now run on the over_soft route" in got[0]["sentence"]


# ---------------------------------------------------------------- seamline costs


def test_seamline_costs_shows_soft_and_hard_limits_spend_and_the_shares_alerted(store, tmp_path):
    from typer.testing import CliRunner

    from seamline.cli import app

    pipe = Pipeline(integration(soft=SoftCaps(per_user=0.0005), daily=0.0008,
                                alert_at=(0.5, 0.8)), store, provider=replying())
    spent = sum(pipe.process(ticket(n)).cost_usd for n in range(5))
    db = str(tmp_path / "seamline.db")
    out = CliRunner().invoke(app, ["costs", "--json", "--db", db], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    caps = {(c["cap"], c["kind"]): c for c in json.loads(out.stdout)["caps"]}
    daily = caps[("daily", "hard")]
    assert daily["cap_usd"] == 0.0008 and daily["spent_usd"] == pytest.approx(spent)
    # Two primary calls ($0.0002 each), then three cheap ones ($0.00002): $0.00046 spent,
    # past half of $0.0008, short of 80%.
    assert spent == pytest.approx(0.00046) and daily["alerted"] == [0.5]
    user = caps[("per-user soft daily", "soft")]
    assert user["cap_usd"] == 0.0005 and user["tenant"] == "c1"
    assert user["spent_usd"] == pytest.approx(spent) and user["alerted"] == [1.0]
    assert user["degrading"] is True
    assert ("monthly", "hard") in caps
    table = CliRunner().invoke(app, ["costs", "--db", db], env={"COLUMNS": "200"})
    lines = {line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:-1]]
             for line in table.output.splitlines() if line.startswith("│")}
    assert lines["daily"] == ["hard", "refunds", "", "$0.000460", "$0.000800", "57%", "50%"]
    assert lines["per-user soft daily"] == ["soft", "refunds", "c1", "$0.000460", "$0.000500",
                                            "92%", "degrading"]
    assert lines["monthly"][-1] == "-"
    assert "past a soft cap, events run on budgets.over_soft" in " ".join(table.output.split())
