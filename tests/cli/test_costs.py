"""`seamline costs`: spend by integration, tenant, model and day, the month's projection, the caps."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

import pytest
import typer
from conftest import make_integration, verdict
from sqlalchemy import update
from typer.testing import CliRunner

from seamline.cli._costs import costs_cmd, usd
from seamline.inference import ModelReply, ScriptedModel, Usage
from seamline.inference._budget import spend_report
from seamline.integration import Budgets, ModelRoute
from seamline.runtime import SUCCEEDED, Pipeline
from seamline.store import open_store
from seamline.store.tables import events

app = typer.Typer()
app.command("costs")(costs_cmd)


@app.callback()
def _root() -> None:
    """Only here so `costs` stays a subcommand, as it is under `seamline`."""


runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, ["costs", *map(str, args)], catch_exceptions=False)


def priced(name: str, model: str, tokens: tuple[int, int], **budgets):
    """An integration whose every call costs exactly $1 per 1,000 input and per 500 output tokens."""
    integ = make_integration(name=name, model=ModelRoute(
        provider="scripted", model=model, input_usd_per_mtok=1000.0, output_usd_per_mtok=2000.0,
        max_output_tokens=100, context_window=2000, budgets=Budgets(**budgets)))
    reply = verdict(label="other")
    model_ = ScriptedModel(lambda req: ModelReply(reply.fn(req), Usage(*tokens), model))
    return integ, model_


def run(store, integ, model, tickets: list[tuple[str, str]]) -> list[str]:
    pipeline = Pipeline(integ, store, provider=model)
    ids = []
    for ticket, tenant in tickets:
        result = pipeline.process({"ticket_id": ticket, "tenant": tenant, "body": "where is my parcel"})
        assert result.state == SUCCEEDED, result.reason
        ids.append(result.event_id)
    return ids


def move(store, event_id: str, when: datetime) -> None:
    with store.write() as conn:
        conn.execute(update(events).where(events.c.id == event_id).values(created_at=when.timestamp()))


@pytest.fixture
def db(tmp_path, monkeypatch):
    """Refunds: $2 a call (acme twice, globex once); billing: $1 a call (acme once)."""
    monkeypatch.setenv("SEAMLINE_GLOBAL_DAILY_USD", "100")
    path = tmp_path / "costs.db"
    store = open_store(path)
    refunds, refunds_model = priced("refunds", "scripted-1", (1000, 500), daily_usd=50.0)
    billing, billing_model = priced("billing", "scripted-2", (500, 250))
    run(store, refunds, refunds_model, [("R1", "acme"), ("R2", "acme"), ("R3", "globex")])
    run(store, billing, billing_model, [("B1", "acme")])
    store.close()
    return path


def rows(output: str, key: str) -> list[str]:
    return [line for line in output.splitlines() if f" {key} " in line]


def test_spend_is_reported_by_integration_tenant_model_and_day(db):
    result = invoke("--db", db)
    assert result.exit_code == 0, result.output
    out = result.output
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert "Model spend in the last 31 days" in out and "$7.00" in out
    for title in ("Spend by integration", "Spend by tenant", "Spend by model", "Spend by day"):
        assert title in out
    assert "$6.00" in rows(out, "refunds")[0] and " 3 " in rows(out, "refunds")[0]
    assert "$1.00" in rows(out, "billing")[0]
    assert "$5.00" in rows(out, "acme")[0] and "$2.00" in rows(out, "globex")[0]
    assert "$6.00" in rows(out, "scripted-1")[0] and "$1.00" in rows(out, "scripted-2")[0]
    assert "$7.00" in rows(out, today)[0] and " 4 " in rows(out, today)[0]


def test_the_month_is_projected_from_the_spend_so_far(db):
    now = datetime.now(UTC)
    in_month = calendar.monthrange(now.year, now.month)[1]
    out = invoke("--db", db).output
    expected = usd(7.0 / now.day * in_month)
    assert f"Month {now:%Y-%m}: $7.00 so far, projected {expected} at this pace." in " ".join(out.split())
    # Each integration's share of the projection, beside its spend.
    assert usd(6.0 / now.day * in_month) in rows(out, "refunds")[0]


def test_each_cap_shows_what_it_counted_against_what_it_allows(db):
    out = invoke("--db", db).output
    assert "Caps" in out
    assert [("$7.00" in r and "$100.00" in r and "7%" in r) for r in rows(out, "global")] == [True]
    assert "$6.00" in rows(out, "daily")[-1] and "$50.00" in rows(out, "daily")[-1]
    monthly = rows(out, "monthly")  # the checklist's $100 ceiling, one per integration
    assert len(monthly) == 2 and any("refunds" in r and "$6.00" in r for r in monthly)


def test_events_older_than_the_window_are_left_out(db):
    store = open_store(db)
    with store.read() as conn:
        first = conn.execute(events.select().where(events.c.tenant == "globex")).one().id
    move(store, first, datetime.fromtimestamp(datetime.now(UTC).timestamp() - 40 * 86400,
                                              UTC))
    store.close()
    out = invoke("--db", db, "--days", 31).output
    assert "$5.00" in out.splitlines()[0] and not rows(out, "globex")


def test_by_picks_the_breakdowns(db):
    out = invoke("--db", db, "--by", "tenant").output
    assert "Spend by tenant" in out
    assert "Spend by integration" not in out and "Spend by day" not in out


def test_an_unknown_breakdown_is_a_sentence_and_exit_code_2(db):
    result = runner.invoke(app, ["costs", "--db", str(db), "--by", "tenant,colour"])
    assert result.exit_code == 2 and "colour" in result.output
    assert "Traceback" not in result.output


def test_an_empty_store_says_nothing_was_spent(tmp_path):
    open_store(tmp_path / "empty.db").close()  # a store where nothing has run yet
    result = invoke("--db", tmp_path / "empty.db")
    assert result.exit_code == 0
    assert "No model spend recorded in the last 31 days" in result.output
    assert "$0.000000 so far" in result.output


def test_no_store_at_all_is_a_sentence_and_creates_none(tmp_path):
    result = runner.invoke(app, ["costs", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 1 and "There is no store" in " ".join(result.output.split())
    assert not (tmp_path / "none.db").exists()


# ------------------------------------------------------------- the report itself


def test_the_report_buckets_utc_days_and_projects_only_this_month(tmp_path, monkeypatch):
    monkeypatch.delenv("SEAMLINE_GLOBAL_DAILY_USD", raising=False)
    store = open_store(tmp_path / "days.db")
    integ, model = priced("refunds", "scripted-1", (1000, 500))  # $2 a call
    ids = run(store, integ, model, [("A", "t1"), ("B", "t1"), ("C", "t1"), ("D", "t1")])
    at = lambda *ymdhm: datetime(*ymdhm, tzinfo=UTC)
    for event_id, when in zip(ids, [at(2026, 3, 10, 0, 1), at(2026, 3, 9, 23, 59),
                                    at(2026, 2, 27, 12, 0), at(2026, 1, 15, 12, 0)]):
        move(store, event_id, when)
    now = at(2026, 3, 10, 12, 0).timestamp()
    with store.read() as conn:
        month = spend_report(conn, 31, now)
        today = spend_report(conn, 1, now)
    store.close()
    assert month.since == "2026-02-08"
    assert [(r.key, r.events, r.cost_usd) for r in month.by["day"]] == [
        ("2026-02-27", 1, pytest.approx(2.0)), ("2026-03-09", 1, pytest.approx(2.0)),
        ("2026-03-10", 1, pytest.approx(2.0))]
    assert month.total_usd == pytest.approx(6.0)
    assert month.month == "2026-03" and month.month_to_date_usd == pytest.approx(4.0)
    assert month.month_projection_usd == pytest.approx(4.0 / 10 * 31)
    assert today.total_usd == pytest.approx(2.0) and today.since == "2026-03-10"
    assert today.month_to_date_usd == pytest.approx(4.0)  # the month does not shrink with --days
