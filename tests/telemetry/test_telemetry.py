"""Metrics per event and layer, store gauges at scrape time, a span per layer."""

from __future__ import annotations

import pytest
from conftest import make_integration, verdict
from fastapi.testclient import TestClient
from opentelemetry import trace
from prometheus_client import REGISTRY
from span_capture import EXPORTER, span_exporter

from seamline.errors import ProviderUnavailable
from seamline.inference import ScriptedModel
from seamline.runtime import Pipeline
from seamline.server import create_app


@pytest.fixture(scope="module", autouse=True)
def tracer_provider():
    span_exporter()  # once per process: later tests keep it, harmlessly
    yield


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_an_event_is_counted_with_its_layers_tokens_and_cost(store):
    labels = {"integration": "refunds", "state": "succeeded", "path": "ai"}
    before = sample("seamline_events_total", **labels)
    calls = sample("seamline_model_calls_total", integration="refunds", model="scripted",
                   outcome="valid", purpose="answer")
    tokens = sample("seamline_tokens_total", integration="refunds", model="scripted", kind="output")
    layer = sample("seamline_layer_seconds_count", integration="refunds", layer="inference")
    Pipeline(make_integration(), store, provider=verdict()).process({"ticket_id": "M1",
                                                                     "body": "refund"})
    assert sample("seamline_events_total", **labels) == before + 1
    assert sample("seamline_model_calls_total", integration="refunds", model="scripted",
                  outcome="valid", purpose="answer") == calls + 1
    assert sample("seamline_tokens_total", integration="refunds", model="scripted",
                  kind="output") > tokens
    assert sample("seamline_layer_seconds_count", integration="refunds",
                  layer="inference") == layer + 1


def test_refusals_and_duplicates_are_counted_too(store):
    p = Pipeline(make_integration(), store, provider=verdict())
    dead = sample("seamline_events_total", integration="refunds", state="dead_lettered", path="-")
    dup = sample("seamline_events_total", integration="refunds", state="duplicate", path="-")
    p.process({"ticket_id": "", "body": "x"})
    p.process({"ticket_id": "D1", "body": "refund"})
    p.process({"ticket_id": "D1", "body": "refund"})
    assert sample("seamline_events_total", integration="refunds", state="dead_lettered",
                  path="-") == dead + 1
    assert sample("seamline_events_total", integration="refunds", state="duplicate",
                  path="-") == dup + 1


def test_each_event_has_a_span_with_a_child_per_layer(store):
    EXPORTER.clear()
    result = Pipeline(make_integration(), store, provider=verdict()).process(
        {"ticket_id": "S1", "body": "refund"})
    spans = EXPORTER.get_finished_spans()
    (event,) = [s for s in spans if s.name == "seamline.event"]
    assert event.attributes["seamline.event_id"] == result.event_id
    assert event.attributes["seamline.state"] == "succeeded"
    children = [s for s in spans if s.parent is not None and s.parent.span_id ==
                event.context.span_id]
    names = [s.name for s in sorted(children, key=lambda s: s.start_time)]
    for layer in ("seamline.ingest", "seamline.prompt", "seamline.store", "seamline.inference",
                  "seamline.outputs", "seamline.actions"):
        assert layer in names
    assert all(event.start_time <= c.start_time <= c.end_time <= event.end_time for c in children)
    inference = next(c for c in children if c.name == "seamline.inference")
    assert inference.attributes["model"] == "scripted"


def test_a_dead_lettered_event_marks_its_span_as_an_error(store):
    EXPORTER.clear()

    def down(_req):
        raise ProviderUnavailable("down", status=503)

    Pipeline(make_integration(), store, provider=ScriptedModel(down)).process(
        {"ticket_id": "E1", "body": "refund"})
    (event,) = [s for s in EXPORTER.get_finished_spans() if s.name == "seamline.event"]
    assert event.status.status_code == trace.StatusCode.ERROR


def test_the_metrics_endpoint_exports_counters_and_store_gauges(store):
    app = create_app([make_integration()], store, providers={"refunds": verdict(amount=500)},
                     api_keys={"k"})
    with TestClient(app) as client:
        r = client.post("/v1/integrations/refunds/invoke", json={"ticket_id": "W1",
                                                                 "body": "refund"},
                        headers={"Authorization": "Bearer k"})
        assert r.json()["state"] == "awaiting_approval"
        text = client.get("/metrics").text
    assert 'seamline_approvals_waiting{integration="refunds"} 1.0' in text
    assert "seamline_events_total" in text and "seamline_layer_seconds_bucket" in text
    assert "seamline_breaker_open" in text


def test_spans_are_exported_over_otlp_when_the_environment_names_a_collector(tmp_path):
    """A real OTLP/HTTP exchange: a subprocess runs an event with OTEL_EXPORTER_OTLP_ENDPOINT
    pointing at a local collector stand-in that records what it receives."""
    import os
    import subprocess
    import sys
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    got: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self):
            got.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "from conftest import make_integration, verdict\n"
        "from seamline.telemetry import configure_tracing\n"
        "from seamline.store import open_store\n"
        "from seamline.runtime import Pipeline\n"
        "from opentelemetry import trace\n"
        "assert configure_tracing('seamline-test')\n"
        f"s = open_store({str(tmp_path / 'o.db')!r})\n"
        "Pipeline(make_integration(), s, provider=verdict()).process({'ticket_id': 'O1', 'body': 'refund'})\n"
        "trace.get_tracer_provider().shutdown()\n")
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}"}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=60,
                   cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    server.shutdown()
    assert got and got[0][0] == "/v1/traces"
    body = b"".join(b for _, b in got)
    assert b"seamline.event" in body and b"seamline.inference" in body and b"seamline-test" in body


def test_errors_go_to_sentry_when_a_dsn_is_set(tmp_path):
    """A real Sentry exchange: a subprocess with SENTRY_DSN pointing at a local ingest
    stand-in hits a worker error; the envelope that arrives carries the exception, with
    the configured secret it mentioned scrubbed."""
    import gzip
    import os
    import subprocess
    import sys
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    got: list[tuple[str, bytes]] = []

    class Ingest(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            got.append((self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ingest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = (
        "import os, sys; sys.path.insert(0, 'tests')\n"
        "import sentry_sdk\n"
        "from conftest import make_integration, verdict\n"
        "from seamline.telemetry import configure_tracing\n"
        "from seamline.store import open_store\n"
        "from seamline.queue import JobQueue, Worker\n"
        "from seamline.runtime import Pipeline\n"
        "configure_tracing()\n"
        f"s = open_store({str(tmp_path / 'e.db')!r})\n"
        "i = make_integration()\n"
        "class Boom(Pipeline):\n"
        "    def process(self, *a, **k):\n"
        "        token = os.environ['HELPDESK_TOKEN']  # a local Sentry would send too\n"
        "        raise RuntimeError('the helpdesk schema moved; token ' + token)\n"
        "JobQueue(s).enqueue('refunds', {'ticket_id': 'S1', 'body': 'x'})\n"
        "Worker(s, [i], pipelines={'refunds': Boom(i, s, provider=verdict())}).run(max_jobs=1)\n"
        "sentry_sdk.flush(5)\n")
    env = {**os.environ, "SENTRY_DSN": f"http://public@127.0.0.1:{server.server_port}/1",
           "HELPDESK_TOKEN": "hd-tok-9f8e7d6c5b4a"}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=60,
                   cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    server.shutdown()
    assert got and got[0][0] == "/api/1/envelope/"
    sent = b"".join(body for _, body in got)
    assert b"the helpdesk schema moved" in sent
    # The secret was in the message and in a frame's local variable: neither is sent.
    assert b"hd-tok-9f8e7d6c5b4a" not in sent and b"<SECRET_FROM_ENV>" in sent


def test_the_metrics_endpoint_asks_for_a_token_when_one_is_configured(store, monkeypatch):
    monkeypatch.setenv("SEAMLINE_METRICS_TOKEN", "scrape-secret-7")
    app = create_app([make_integration()], store, providers={"refunds": verdict()},
                     api_keys={"k"})
    with TestClient(app) as client:
        missing = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        api_key = client.get("/metrics", headers={"Authorization": "Bearer k"})
        right = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-7"})
    assert missing.status_code == wrong.status_code == api_key.status_code == 401
    assert "SEAMLINE_METRICS_TOKEN" in missing.json()["error"]
    assert "scrape-secret-7" not in missing.text
    assert right.status_code == 200 and "seamline_events_total" in right.text
