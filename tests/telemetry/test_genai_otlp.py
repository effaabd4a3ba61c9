"""GenAI spans over a real OTLP/HTTP exchange: what Langfuse, Phoenix or Tempo would receive.

A local collector stand-in on 127.0.0.1 answers OTLP/HTTP with protobuf bodies
(https://opentelemetry.io/docs/specs/otlp/#otlphttp) and decodes each export with
``opentelemetry-proto``'s ``ExportTraceServiceRequest``. A subprocess (genai_otlp_run.py)
runs events through the emulator with the official OpenAI and Anthropic SDKs, exporting
with ``configure_tracing()`` from the standard environment variables. The attribute names
checked are the GenAI conventions'
(https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from seamline.telemetry import CAPTURE_ENV

HERE = Path(__file__).resolve().parent
PII = ("jane.doe@example.com", "4242 4242 4242 4242", "+44 20 7946 0958")
CONTENT_KEYS = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions")
# Langfuse's form of the header (basic auth of its public:secret key pair).
UNCAPTURED = ("gpt-4.1-nano", "claude-test-2")  # genai_otlp_run.py's models with capture off
HEADER_VALUE = "Basic cGstbGYtdGVzdDpzay1sZi10ZXN0LXNlY3JldA=="


def _value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return tuple(_value(x) for x in v.array_value.values)
    return getattr(v, kind) if kind else None


class Exported:
    """What one run sent: the decoded spans, the raw bodies and the request headers."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.spans: list[tuple[Span, dict[str, Any]]] = []
        self.resources: list[dict[str, Any]] = []

    def add(self, path: str, headers: dict[str, str], body: bytes) -> None:
        self.paths.append(path)
        self.headers.append(headers)
        self.bodies.append(body)
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            self.resources.append({a.key: _value(a.value) for a in resource.resource.attributes})
            for scope in resource.scope_spans:
                for span in scope.spans:
                    self.spans.append((span, {a.key: _value(a.value) for a in span.attributes}))

    def calls(self, provider: str, *, captured: bool = True) -> list[tuple[Span, dict[str, Any]]]:
        """The provider's call spans, in order; ``captured``: those made while content capture
        was on (the run's last two calls, to other model names, had it off)."""
        return sorted(((s, a) for s, a in self.spans if a.get("gen_ai.provider.name") == provider
                       and (a["gen_ai.request.model"] in UNCAPTURED) != captured),
                      key=lambda sa: sa[0].start_time_unix_nano)

    def children(self, span: Span, name: str) -> list[tuple[Span, dict[str, Any]]]:
        return sorted(((s, a) for s, a in self.spans
                       if s.parent_span_id == span.span_id and s.name == name),
                      key=lambda sa: sa[0].start_time_unix_nano)


def _run(tmp_path: Path) -> tuple[Exported, dict[str, Any]]:
    got = Exported()

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            got.add(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            out = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {**os.environ,
           "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
           "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization={HEADER_VALUE.replace(' ', '%20')}",
           "OTEL_SERVICE_NAME": "support-triage",
           "OTEL_RESOURCE_ATTRIBUTES": "openinference.project.name=seamline-test",
           "ANTHROPIC_API_KEY": "sk-ant-test-key-0000000000",
           "OPENAI_API_KEY": "sk-test-key-00000000000000"}
    env.pop(CAPTURE_ENV, None)
    try:
        done = subprocess.run([sys.executable, str(HERE / "genai_otlp_run.py"),
                               str(tmp_path / "otlp.db")], check=False, env=env, timeout=120,
                              capture_output=True, text=True, cwd=HERE.parents[1])
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr[-3000:]
    return got, json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("otlp"))


def test_the_export_is_otlp_protobuf_with_the_configured_headers(captured):
    got, info = captured
    assert got.paths and set(got.paths) == {"/v1/traces"}
    assert {h["content-type"] for h in got.headers} == {"application/x-protobuf"}
    assert {h["authorization"] for h in got.headers} == {HEADER_VALUE}
    # The standard variables name the service and the (Phoenix) project.
    assert {r["service.name"] for r in got.resources} == {"support-triage"}
    assert {r["openinference.project.name"] for r in got.resources} == {"seamline-test"}
    # The headers hold the backend's credentials: scrubbed like any configured secret.
    assert info["headers_scrubbed"] == "<SECRET_FROM_ENV>"


def test_an_openai_call_carries_the_genai_attributes(captured):
    got, info = captured
    span, a = got.calls("openai")[0]
    assert span.name == "chat gpt-4.1-mini"
    assert span.kind == Span.SPAN_KIND_CLIENT
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.request.model"] == a["gen_ai.response.model"] == "gpt-4.1-mini"
    assert a["gen_ai.request.max_tokens"] == 400  # the route's max_output_tokens
    assert a["gen_ai.request.temperature"] == 0.1
    assert a["gen_ai.output.type"] == "json"
    assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
    assert a["gen_ai.response.finish_reasons"] == ("stop",)  # OpenAI's own word
    assert a["gen_ai.response.id"].startswith("chatcmpl-")
    assert a["server.address"] == "127.0.0.1" and a["server.port"] == info["emulator_port"]
    assert "gen_ai.system" not in a  # the older name, replaced by gen_ai.provider.name
    (event,) = [s for s, _ in got.spans if s.span_id == span.parent_span_id]
    assert event.name == "seamline.event" and event.trace_id == span.trace_id


def test_an_anthropic_call_carries_the_genai_attributes(captured):
    got, info = captured
    span, a = got.calls("anthropic")[0]
    assert span.name == "chat claude-test-1" and span.kind == Span.SPAN_KIND_CLIENT
    assert a["gen_ai.request.model"] == a["gen_ai.response.model"] == "claude-test-1"
    assert a["gen_ai.response.finish_reasons"] == ("tool_use",)  # the structured-output tool
    assert a["gen_ai.response.id"].startswith("msg_")
    assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
    assert a["server.port"] == info["emulator_port"]
    # The Messages API sends the system prompt apart: recorded as system instructions.
    assert json.loads(a["gen_ai.system_instructions"])[0]["type"] == "text"
    assert {m["role"] for m in json.loads(a["gen_ai.input.messages"])} == {"user"}
    # The SDK's own spans (anthropic 2.x has them, on by default) are off on the clients
    # Seamline builds: one generation per call, not two counting the tokens twice.
    assert not [s for s, _ in got.spans if s.name.startswith("anthropic.")]


def test_retries_are_attempt_spans_and_a_failed_call_says_its_error_type(captured):
    got, _ = captured
    retried = got.calls("openai")[1]
    first, second = got.children(retried[0], "seamline.attempt")
    assert retried[1]["seamline.attempts"] == 2
    assert first[1]["error.type"] and first[1]["http.response.status_code"] == 500
    assert first[0].status.code == Status.STATUS_CODE_ERROR
    assert "error.type" not in second[1] and "error.type" not in retried[1]
    failed, a = got.calls("anthropic")[1]
    assert failed.status.code == Status.STATUS_CODE_ERROR
    assert a["error.type"] and a["seamline.attempts"] == 3
    assert len(got.children(failed, "seamline.attempt")) == 3
    assert "gen_ai.usage.output_tokens" not in a  # no reply, no usage


def test_captured_content_is_the_redacted_text_and_no_pii_is_exported(captured):
    got, _ = captured
    _, a = got.calls("openai")[0]
    sent = json.loads(a["gen_ai.input.messages"])
    assert [m["role"] for m in sent] == ["system", "user"]
    user = sent[1]["parts"][0]["content"]
    assert "<EMAIL_1>" in user and "<CARD_1>" in user
    (answer,) = json.loads(a["gen_ai.output.messages"])
    assert answer["role"] == "assistant" and answer["finish_reason"] == "stop"
    assert json.loads(answer["parts"][0]["content"])["intent"] == "billing"
    raw = b"".join(got.bodies)
    for pii in PII:
        assert pii.encode() not in raw
    assert b"sk-ant-test-key" not in raw and b"sk-test-key" not in raw


def test_content_is_absent_unless_opted_in(captured):
    got, _ = captured
    calls = got.calls("openai", captured=False) + got.calls("anthropic", captured=False)
    assert len(calls) == 2  # the attributes are there, the content is not
    for _, a in calls:
        assert a["gen_ai.usage.output_tokens"] > 0 and not any(k in a for k in CONTENT_KEYS)
        assert not any("<EMAIL_1>" in str(v) or "Charged twice" in str(v) for v in a.values())
    # While it was on, the same calls did carry it: the switch is what differs.
    assert all(k in got.calls("openai")[0][1] for k in CONTENT_KEYS[:2])
