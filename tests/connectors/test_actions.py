"""Connectors as actions: declared in an integration, run by the outbox, listed by the CLI."""

from __future__ import annotations

import json

import pytest
from conftest import make_integration, verdict
from sqlalchemy import select
from typer.testing import CliRunner
from vendor_fixtures import *  # registers the fixtures (see its docstring)

from seamline.actions import ActionRunner
from seamline.cli import app
from seamline.connectors import Connector, installed, parse_ref
from seamline.connectors.testing import RecordedRequest, Reply, check_connector_class
from seamline.errors import ConfigError
from seamline.integration import ActionSpec, load_integration
from seamline.runtime import Pipeline
from seamline.store.tables import outbox

TICKET = {"ticket_id": "T-1", "body": "Please refund my order"}


def refund_via_http(url: str, **options) -> ActionSpec:
    return ActionSpec(name="refund", handler="connector:http.send", when="output.label == 'refund'",
                      params={"ticket": "input.ticket_id", "amount": "output.amount"},
                      connector={"base_url": url, "path": "/refunds", "require": ["id"],
                                 "auth_env": "PARTNER_TOKEN", "allow_hosts": ["127.0.0.1"],
                                 **options})


def test_an_http_connector_action_arrives_once_with_the_outbox_key(vendor, store):
    effects: list[str] = []

    def partner(request: RecordedRequest) -> Reply:
        key = request.headers["idempotency-key"]
        if key not in effects:
            effects.append(key)
        return Reply(201, {"id": f"r-{effects.index(key) + 1}", "status": "queued"})

    vendor.route("POST", "/refunds", partner)
    integration = make_integration(actions=(refund_via_http(vendor.url),))
    pipeline = Pipeline(integration, store, provider=verdict(amount=20.0))
    first = pipeline.process(TICKET)
    again = pipeline.process(TICKET)
    assert first.state == "succeeded" and again.state == "duplicate"
    [request] = vendor.sent("POST", "/refunds")
    with store.read() as conn:
        row = conn.execute(select(outbox)).one()
    assert request.headers["idempotency-key"] == row.idempotency_key
    assert request.headers["authorization"] == "Bearer partner-secret"
    assert request.json() == {"ticket": "T-1", "amount": 20.0}
    assert row.status == "done"
    assert json.loads(row.result) == {"status": 201, "body": {"id": "r-1", "status": "queued"}}


def test_an_unexpected_reply_fails_the_action_never_a_silent_success(vendor, store, alerts):
    vendor.script("POST", "/refunds", Reply(200, {"status": "queued"}))
    integration = make_integration(actions=(refund_via_http(vendor.url),))
    result = Pipeline(integration, store, provider=verdict()).process(TICKET)
    assert result.state == "dead_lettered", result
    with store.read() as conn:
        row = conn.execute(select(outbox)).one()
    assert row.status == "failed" and "UnexpectedReply" in row.last_error
    assert "lacks id" in row.last_error and alerts
    # Alerted even though the contract had never seen this reply before (no drift yet).
    from seamline.alerts import list_alerts
    raised = list_alerts(store, kind="unexpected_reply")  # one per attempt
    assert raised and all(a.severity == "critical" and "lacks id" in a.sentence for a in raised)


def test_a_missing_credential_fails_the_action_with_the_sentence(vendor, store, monkeypatch):
    monkeypatch.delenv("PARTNER_TOKEN")
    integration = make_integration(actions=(refund_via_http(vendor.url),))
    Pipeline(integration, store, provider=verdict()).process(TICKET)
    with store.read() as conn:
        row = conn.execute(select(outbox)).one()
    assert row.status == "failed" and "PARTNER_TOKEN, which is not set" in row.last_error
    assert vendor.sent() == []


def test_an_action_aimed_at_an_internal_address_is_refused_with_the_sentence(vendor, store):
    # "localhost" is listed, but what it resolves to is not: the outbox keeps the reason.
    port = vendor.url.rsplit(":", 1)[1]
    integration = make_integration(actions=(refund_via_http(
        f"http://localhost:{port}", allow_hosts=["localhost"]),))
    result = Pipeline(integration, store, provider=verdict()).process(TICKET)
    assert result.state == "dead_lettered", result
    with store.read() as conn:
        row = conn.execute(select(outbox)).one()
    assert row.status == "failed" and "HostRefused" in row.last_error
    assert "resolves to 127.0.0.1, a private, loopback" in row.last_error
    assert vendor.sent() == []


def test_a_yaml_integration_declares_a_connector_action(tmp_path):
    (tmp_path / "baseline.py").write_text("def keyword(data):\n    return {'label': 'other', "
                                          "'confidence': 0.5}\n")
    (tmp_path / "schemas.py").write_text(
        "from pydantic import BaseModel\n"
        "class In(BaseModel):\n    ticket_id: str\n    body: str\n"
        "class Out(BaseModel):\n    label: str\n    confidence: float\n")
    (tmp_path / "integration.yaml").write_text("""
name: notify
input_schema: schemas.py:In
output_schema: schemas.py:Out
prompt: {user: "{{ body }}"}
actions:
  - name: tell_support
    handler: connector:slack.post_message
    params: {text: "'Ticket ' ~ input.ticket_id ~ ' is ' ~ output.label"}
    connector: {channel: C123, token_env: SUPPORT_SLACK_TOKEN}
rollout: {baseline: baseline.py:keyword}
""")
    integration = load_integration(tmp_path / "integration.yaml")
    [action] = integration.actions
    assert action.connector == {"channel": "C123", "token_env": "SUPPORT_SLACK_TOKEN"}


def test_an_unknown_connector_or_operation_is_a_sentence(store):
    # Other connectors join the list as they are written: assert on the built-in ones only.
    with pytest.raises(ConfigError, match="installed: .*http, hubspot, .*slack, smtp, stripe, "
                                          ".*zendesk"):
        parse_ref("connector:nosuchvendor.update")
    with pytest.raises(ConfigError, match="has no operation 'delete'; it has post_message"):
        parse_ref("connector:slack.delete")
    spec = ActionSpec(name="x", handler="connector:nope.send")
    runner = ActionRunner(store, make_integration(actions=(spec,)), vault=None)
    with pytest.raises(ConfigError, match="must name an installed connector"):
        runner.handler("x")


@pytest.mark.parametrize("cls", list(installed().values()), ids=lambda c: c.name)
def test_every_installed_connector_keeps_the_class_contract(cls: type[Connector]):
    check_connector_class(cls)


def test_connectors_list_shows_versions_env_and_idempotency(monkeypatch):
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN")
    out = CliRunner().invoke(app, ["connectors", "list"], catch_exceptions=False,
                             env={"COLUMNS": "250"}).output
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 4}
    assert "2024-06-20" in lines["stripe"] and "STRIPE_SECRET_KEY (set)" in lines["stripe"]
    assert "HUBSPOT_ACCESS_TOKEN (not set)" in lines["hubspot"]
    assert "vendor header" in lines["stripe"] and "our side" in lines["slack"]
    assert "sk_test_123" not in out and "xoxb-test" not in out  # never a value


def test_an_undecided_send_is_listed_and_a_person_resolves_it(tmp_path):
    from seamline.connectors import SendLedger
    from seamline.store import open_store

    db = str(tmp_path / "c.db")
    store = open_store(db)
    ledger = SendLedger(store, "slack")
    with pytest.raises(RuntimeError):
        ledger.once("evt-1:notify", lambda: (_ for _ in ()).throw(RuntimeError("crash")))
    run = CliRunner()
    out = run.invoke(app, ["connectors", "undecided", "--db", db], env={"COLUMNS": "250"}).output
    assert "evt-1:notify" in out and "unknown" in out and "RuntimeError: crash" in out
    assert run.invoke(app, ["connectors", "resolve", "slack", "evt-1:notify", "--db", db]
                      ).exit_code == 2
    done = run.invoke(app, ["connectors", "resolve", "slack", "evt-1:notify", "--sent", "--db", db,
                            "--note", "seen in #support"])
    assert done.exit_code == 0 and "a retry will not send it again" in done.output
    assert ledger.once("evt-1:notify", lambda: {"id": "again"})["resolved_by_hand"] is True
    assert "No send is waiting" in run.invoke(app, ["connectors", "undecided", "--db", db]).output
    store.close()


def test_connector_problems_are_what_seamline_check_should_say(monkeypatch):
    from seamline.connectors import connector_problems

    assert connector_problems("connector:slack.post_message", {"channel": "C1"}) == []
    assert "no operation 'send'" in connector_problems("connector:slack.send")[0]
    assert "chanel: Extra inputs" in connector_problems("connector:slack.post_message",
                                                        {"chanel": "C1"})[0]
    monkeypatch.delenv("ZENDESK_EMAIL")
    assert connector_problems("connector:zendesk.update_ticket", {"subdomain": "acme"}) == [
        ("The zendesk connector reads a credential from the environment variable ZENDESK_EMAIL, "
         "which is not set.")]


def test_check_understands_connector_actions():
    from conftest import make_integration

    from seamline.integration import ActionSpec
    from seamline.preflight import check

    ok = make_integration(actions=(ActionSpec(
        name="notify", handler="connector:slack.post_message",
        connector={"channel": "C1", "token_env": "SEAMLINE_TEST_SLACK_TOKEN_UNSET"},
        params={"text": "output.label"}),))
    problems = [p for p in check(ok) if p.part == "actions"]
    assert all(p.level == "warning" for p in problems)
    assert any("SEAMLINE_TEST_SLACK_TOKEN_UNSET" in p.sentence for p in problems)
    bad = make_integration(actions=(ActionSpec(name="x", handler="connector:nope.send"),))
    assert [p.level for p in check(bad) if p.part == "actions"] == ["error"]
