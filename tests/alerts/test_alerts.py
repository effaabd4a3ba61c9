"""Alerts are recorded, counted, delivered to a real webhook, and never fail their caller."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client import REGISTRY
from typer.testing import CliRunner

from seamline.alerts import Alert, list_alerts, raise_alert
from seamline.cli import app
from seamline.contracts import ContractBook
from seamline.store import open_store


@pytest.fixture
def webhook():
    received: list[dict] = []
    status = {"code": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(status["code"])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received, status
    server.shutdown()


def test_an_alert_is_stored_counted_and_posted(store, webhook, monkeypatch):
    url, received, _ = webhook
    monkeypatch.setenv("SEAMLINE_ALERT_WEBHOOK_URL", url)
    before = REGISTRY.get_sample_value("seamline_alerts_total",
                                       {"kind": "test_kind", "severity": "critical"}) or 0
    raise_alert(store, Alert("test_kind", "the helpdesk replied in an unknown shape",
                             "critical", {"connector": "zendesk"}))
    (row,) = list_alerts(store)
    assert row.kind == "test_kind" and json.loads(row.labels) == {"connector": "zendesk"}
    assert received[0]["text"] == "[critical] the helpdesk replied in an unknown shape"
    assert REGISTRY.get_sample_value("seamline_alerts_total",
                                     {"kind": "test_kind", "severity": "critical"}) == before + 1


def test_a_failing_webhook_does_not_fail_the_caller(store, webhook, monkeypatch, caplog):
    url, received, status = webhook
    status["code"] = 500
    monkeypatch.setenv("SEAMLINE_ALERT_WEBHOOK_URL", url)
    raise_alert(store, Alert("x", "y"))
    assert len(received) == 1 and len(list_alerts(store)) == 1
    assert "alert webhook refused or failed" in caplog.text
    monkeypatch.setenv("SEAMLINE_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/nothing-listens")
    raise_alert(store, Alert("x", "z"))
    assert len(list_alerts(store)) == 2


def test_drift_raises_an_alert_and_the_cli_lists_it(tmp_path):
    db = str(tmp_path / "a.db")
    s = open_store(db)
    book = ContractBook(s)
    book.observe("inbound", "shopify", "2024-10", {"id": 1})
    book.observe("inbound", "shopify", "2024-10", {"id": 1, "note": "x"})
    (row,) = list_alerts(s, kind="contract_drift")
    assert "new field note" in row.sentence
    s.close()
    out = CliRunner().invoke(app, ["alerts", "--db", db], env={"COLUMNS": "200"})
    assert out.exit_code == 0 and "contract_drift" in out.output and "new field note" in out.output
    none = CliRunner().invoke(app, ["alerts", "--db", db, "--kind", "nope"])
    assert "No alerts" in none.output
