"""Run by test_genai_otlp.py in a fresh process: events through the emulator, traced over OTLP.

A process can set its tracer provider once, so the exporter is configured here the way a
deployment does it — ``configure_tracing()`` reading ``OTEL_EXPORTER_OTLP_ENDPOINT`` — and
the calling test is the collector. The emulator speaks the vendors' wire formats and the
official ``openai`` and ``anthropic`` SDKs call it, as tests/inference/test_providers.py
does. Content capture is on (``SEAMLINE_OTEL_CAPTURE_CONTENT``, read at each call) for the first
calls and off for the last two, which go to other model names so the test tells them apart.
Prints one JSON line: the emulator's port and what scrubbing made of the exporter's headers
(they carry a backend's credentials).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for conftest

from conftest import EXAMPLE
from opentelemetry import trace

from seamline.emulator import Emulator, FaultPlan, FaultRule
from seamline.integration import RetrySpec, load_integration
from seamline.runtime import Pipeline
from seamline.scrub import scrub
from seamline.store import open_store
from seamline.telemetry import CAPTURE_ENV, configure_tracing

ANSWER = {"intent": "billing", "urgency": "high", "summary": "Charged twice for one invoice.",
          "confidence": 0.88, "evidence": ["I was charged twice"]}
EMAIL = {"message_id": "", "tenant_id": "acme", "customer_id": "cus_9",
         "from_email": "jane.doe@example.com", "subject": "Charged twice",
         "body": "I was charged twice. Card 4242 4242 4242 4242, call +44 20 7946 0958."}
MODELS = {"anthropic": "claude-test-1", "openai": "gpt-4.1-mini"}
UNCAPTURED = {"anthropic": "claude-test-2", "openai": "gpt-4.1-nano"}


def integration(emu: Emulator, provider: str, model: str = ""):
    base = load_integration(EXAMPLE / "integration.yaml")
    url = emu.base_url if provider == "anthropic" else emu.base_url + "/v1"
    route = base.model.model_copy(update={
        "provider": provider, "model": model or MODELS[provider], "base_url": url,
        "params": {"temperature": 0.1}, "input_usd_per_mtok": 3.0, "output_usd_per_mtok": 15.0,
        "retry": RetrySpec(max_retries=2, base_delay_s=0.01, max_delay_s=0.05)})
    return base.model_copy(update={"model": route})


def main(db: str) -> None:
    assert configure_tracing("seamline-genai-test")
    os.environ[CAPTURE_ENV] = "true"
    store = open_store(db)
    with Emulator(lambda req: ANSWER).serve() as emu:
        for provider in ("openai", "anthropic"):
            Pipeline(integration(emu, provider), store).process(
                {**EMAIL, "message_id": f"{provider}-ok"})
        # One 500, then an answer: one call span, two attempt spans.
        emu.faults = FaultPlan(rules=(FaultRule(kind="server_error", first=1),))
        Pipeline(integration(emu, "openai"), store).process({**EMAIL, "message_id": "retried"})
        # Overloaded every time: the call span ends in an error after three attempts.
        emu.faults = FaultPlan(rules=(FaultRule(kind="overloaded", p=1.0),))
        Pipeline(integration(emu, "anthropic"), store).process({**EMAIL, "message_id": "failed"})
        emu.faults = None
        del os.environ[CAPTURE_ENV]  # the default: off
        for provider, model in UNCAPTURED.items():
            Pipeline(integration(emu, provider, model), store).process(
                {**EMAIL, "message_id": f"{provider}-plain"})
        port = emu.base_url.rsplit(":", 1)[1].rstrip("/")
    provider = trace.get_tracer_provider()
    provider.shutdown()  # type: ignore[attr-defined]  # flushes the batch processor
    print(json.dumps({"emulator_port": int(port),
                      "headers_scrubbed": scrub(os.environ["OTEL_EXPORTER_OTLP_HEADERS"])}))


if __name__ == "__main__":
    main(sys.argv[1])
