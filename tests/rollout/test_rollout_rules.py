"""Alert rules: thresholds over the runtime's numbers; a firing rule alerts once, then once
more when it resolves, and is delivered through the connector it names."""

from __future__ import annotations

import time

import pytest
from conftest import make_integration, verdict
from pydantic import ValidationError
from typer.testing import CliRunner

from seamline.alerts import list_alerts
from seamline.cli import app
from seamline.connectors.testing import Reply, VendorServer
from seamline.rollout import AlertRule, evaluate_rules, load_rules, measure_metric
from seamline.runtime import Pipeline
from seamline.store.tables import dead_letters

# The canary's mechanics, not eval-first go-live (tests/eval/test_signoff.py tests that).
pytestmark = pytest.mark.usefixtures("go_live_waived")


def dead_letter(store, n: int, *, at: float | None = None, integration: str = "refunds") -> None:
    with store.write() as conn:
        conn.execute(dead_letters.insert(), [
            {"event_id": f"e{i}", "integration": integration, "stage": "inference",
             "reason": "the model call failed", "created_at": at or time.time()}
            for i in range(n)])


def test_a_firing_rule_alerts_once_until_it_resolves(store):
    rule = AlertRule(name="dlq-depth", metric="dead_letters", above=3, window_s=600,
                     integration="refunds", severity="critical")
    assert evaluate_rules(store, [rule]) == []
    dead_letter(store, 5)
    [fired] = evaluate_rules(store, [rule])
    assert fired.kind == "rule_firing" and fired.severity == "critical"
    assert fired.sentence == "Alert rule dlq-depth: dead_letters for refunds is 5, above 3."
    dead_letter(store, 2)
    assert evaluate_rules(store, [rule]) == []  # still firing: no second alert
    assert evaluate_rules(store, [rule], now=time.time() + 3600)[0].kind == "rule_resolved"
    assert evaluate_rules(store, [rule], now=time.time() + 3600) == []
    kinds = [a.kind for a in reversed(list_alerts(store))]
    assert kinds == ["rule_firing", "rule_resolved"]


def test_the_firing_state_survives_a_restarted_watcher(store):
    """Whether a rule is firing is read back from the store, not held in memory."""
    rule = AlertRule(name="dlq", metric="dead_letters", above=0)
    dead_letter(store, 1)
    assert len(evaluate_rules(store, [rule])) == 1
    assert evaluate_rules(store, [AlertRule(name="dlq", metric="dead_letters", above=0)]) == []
    assert len(evaluate_rules(store, [AlertRule(name="other", metric="dead_letters", above=0)])) == 1


def test_metrics_over_real_events(store):
    pipeline = Pipeline(make_integration(), store, provider=verdict(amount=500.0))
    for i in range(4):  # above the approval amount: each waits for a person
        pipeline.process({"ticket_id": f"T{i}", "customer": f"c{i}", "body": "refund please"})
    bad = Pipeline(make_integration(), store, provider=verdict(label="nonsense"))
    bad.process({"ticket_id": "T9", "customer": "c9", "body": "refund please"})
    now = time.time() + 1
    assert measure_metric(store, AlertRule(name="a", metric="approvals_waiting"), now) == 4
    assert measure_metric(store, AlertRule(name="e", metric="error_rate"), now) == pytest.approx(0.2)
    assert measure_metric(store, AlertRule(name="n", metric="events"), now) == 5
    assert measure_metric(store, AlertRule(name="s", metric="spend_today_usd"), now) > 0
    assert measure_metric(store, AlertRule(name="o", metric="events", integration="other"), now) == 0


def test_a_rollback_can_be_routed_through_a_rule_and_its_connector(store):
    from seamline.rollout import Criteria, evaluate_rollout, start_rollout

    start_rollout(store, "refunds", flag="refunds.ai", steps=[50, 100],
                  criteria=Criteria(rollback_min_events=1))
    bad = Pipeline(make_integration(), store, provider=verdict(label="nonsense"))
    for i in range(10):
        bad.process({"ticket_id": f"T{i}", "customer": f"c{i}", "body": "refund please"})
    assert evaluate_rollout(store, "refunds.ai").action == "rolled_back"
    rule = AlertRule(name="rollbacks", metric="rollbacks", above=0, integration="refunds",
                     severity="critical")
    [fired] = evaluate_rules(store, [rule])
    assert fired.sentence == "Alert rule rollbacks: rollbacks for refunds is 1, above 0."
    other = AlertRule(name="other", metric="rollbacks", above=0, integration="billing")
    assert evaluate_rules(store, [other]) == []


def test_an_alert_is_delivered_through_the_named_connector(store):
    with VendorServer() as vendor:
        vendor.script("POST", "/hooks/alerts", Reply(200, {"ok": True}))
        rule = AlertRule(name="spend", metric="spend_today_usd", above=0.0, connector="connector:http.send",
                         options={"base_url": vendor.url, "path": "/hooks/alerts", "max_retries": 0,
                                  "allow_hosts": ["127.0.0.1"]},
                         params={"text": "{sentence}", "channel": "#ops"})
        Pipeline(make_integration(), store, provider=verdict()).process(
            {"ticket_id": "T1", "body": "refund please"})
        [alert] = evaluate_rules(store, [rule])
        [sent] = vendor.requests
        assert sent.path == "/hooks/alerts"
        assert sent.json() == {"text": alert.sentence, "channel": "#ops"}
        assert sent.headers["idempotency-key"].startswith("alert:spend:rule_firing:")


def test_a_failing_connector_is_logged_not_raised(store, caplog):
    with VendorServer() as vendor:
        vendor.script("POST", "/hooks/alerts", Reply(500, {"error": "down"}))
        rule = AlertRule(name="dlq", metric="dead_letters", above=0, connector="connector:http.send",
                         options={"base_url": vendor.url, "path": "/hooks/alerts", "max_retries": 0,
                                  "allow_hosts": ["127.0.0.1"]})
        dead_letter(store, 1)
        assert len(evaluate_rules(store, [rule])) == 1
    assert "could not deliver through connector:http.send" in caplog.text
    assert len(list_alerts(store, kind="rule_firing")) == 1  # still recorded


def test_rules_load_from_yaml_shapes_and_typos_are_errors():
    rules = load_rules({"rules": [{"name": "x", "metric": "error_rate", "above": 0.05}]})
    assert rules[0].threshold() == "above 0.05"
    with pytest.raises(ValidationError):
        load_rules([{"name": "x", "metric": "errors", "above": 1}])
    with pytest.raises(ValidationError):
        load_rules([{"name": "x", "metric": "error_rate", "abve": 1}])


@pytest.fixture
def own_signals():
    """The watcher installs SIGTERM/SIGINT handlers; give pytest its own back afterwards."""
    import signal

    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def test_watch_once_evaluates_rollouts_and_rules(store, tmp_path, own_signals):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {name: dlq, metric: dead_letters, above: 0}\n")
    dead_letter(store, 2)
    db = str(tmp_path / "seamline.db")
    runner = CliRunner()
    started = runner.invoke(app, ["rollout", "start", "refunds", "--steps", "5,50,100",
                                  "--window", "1h", "--db", db])
    assert started.exit_code == 0, started.output
    assert "started at 5%" in started.output
    watched = runner.invoke(app, ["rollout", "watch", "--once", "--rules", str(rules), "--db", db])
    assert watched.exit_code == 0, watched.output
    assert "refunds.ai: held" in watched.output and "rule_firing" in watched.output
    status = runner.invoke(app, ["rollout", "status", "--db", db])
    assert "1/3 at 5%" in status.output
    flipped = runner.invoke(app, ["rollout", "flip", "refunds.ai", "off", "-r", "incident", "--db", db])
    assert flipped.exit_code == 0
    assert "cancelled" in runner.invoke(app, ["rollout", "status", "--db", db]).output


def test_watch_stops_cleanly_on_sigterm_between_rounds(tmp_path):
    import signal
    import subprocess
    import sys

    from seamline.store import open_store

    db = tmp_path / "w.db"
    open_store(db).close()  # migrated before the watcher opens it
    proc = subprocess.Popen([sys.executable, "-u", "-m", "seamline", "rollout", "watch",
                             "--every", "30s", "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()  # printed once the signal handlers are in place
    assert "every 30 s" in first
    time.sleep(0.5)  # into the first round or the 30 s wait after it
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert time.monotonic() - started < 5  # the wait was cut short, not sat out
    assert "SIGTERM: stopping after this round" in out


def test_invalid_criteria_rules_and_durations_are_sentences_and_exit_2(tmp_path, monkeypatch,
                                                                      capsys):
    from seamline.cli import main

    db = str(tmp_path / "c.db")
    bad_rules = tmp_path / "rules.yaml"
    bad_rules.write_text("rules:\n  - {name: x, metric: errors}\n")
    for args, says in [
        (["start", "refunds", "--criteria", "{min_event: 3}"], "min_event: Extra inputs"),
        (["start", "refunds", "--steps", "5,x"], "are not percentages"),
        (["watch", "--once", "--rules", str(bad_rules)], "The alert rules in"),
        (["watch", "--once", "--every", "5x"], "'5x' is not a duration"),
        (["evaluate", "nope.ai"], "The flag nope.ai has no staged rollout"),
    ]:
        monkeypatch.setattr("sys.argv", ["seamline", "rollout", *args, "--db", db])
        with pytest.raises(SystemExit) as exit_info:
            main()
        err = " ".join(capsys.readouterr().err.split())
        assert exit_info.value.code == 2, (args, err)
        assert says in err and "Traceback" not in err, (args, err)


def test_an_alert_is_posted_to_slack_through_the_slack_connector(store, monkeypatch):
    monkeypatch.setenv("ALERTS_SLACK_TOKEN", "xoxb-test")
    with VendorServer() as vendor:
        vendor.script("POST", "/chat.postMessage",
                      Reply(200, {"ok": True, "channel": "C0OPS", "ts": "1700000000.000100"}))
        rule = AlertRule(name="dlq", metric="dead_letters", above=0, severity="critical",
                         connector="connector:slack.post_message",
                         options={"base_url": vendor.url, "token_env": "ALERTS_SLACK_TOKEN"},
                         params={"channel": "C0OPS", "text": ":rotating_light: {sentence}"})
        dead_letter(store, 1)
        [alert] = evaluate_rules(store, [rule])
        [sent] = [r for r in vendor.requests if r.path == "/chat.postMessage"]
        assert sent.headers["authorization"] == "Bearer xoxb-test"
        body = sent.json() if sent.body.startswith(b"{") else sent.form()
        assert body["channel"] == "C0OPS" and body["text"] == f":rotating_light: {alert.sentence}"
