"""What Seamline costs per event: the full pipeline against a bare loop, in one run.

The model is a zero-latency scripted function, so what is measured is the seams:
validation, redaction, prompt rendering, budget reservation, parsing, the outbox,
the hash-chained audit trail and three durable SQLite commits per event.

    python benchmarks/overhead.py [--events 3000] [--synchronous NORMAL|FULL]

The bare loop calls the same model function and validates input and output with
the same Pydantic models, with nothing else. Target: >= 1,000 events/s in one process.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table

from seamline.inference import ModelRequest, ScriptedModel
from seamline.integration import (
    ActionSpec,
    Checklist,
    Integration,
    ModelRoute,
    PromptSpec,
    RolloutSpec,
)
from seamline.runtime import Pipeline
from seamline.store import open_store


class Email(BaseModel):
    message_id: str = Field(min_length=1)
    tenant_id: str
    customer_id: str
    subject: str
    body: str


class Triage(BaseModel):
    intent: Literal["billing", "refund", "technical", "other"]
    urgency: Literal["low", "normal", "high", "critical"]
    summary: str = Field(max_length=240)
    confidence: float = Field(ge=0, le=1)
    evidence: list[str]


REPLY = json.dumps({"intent": "billing", "urgency": "normal",
                    "summary": "Customer was charged twice for the March invoice.",
                    "confidence": 0.91, "evidence": ["I was charged twice for my March invoice."]})


def model_fn(request: ModelRequest) -> str:
    return REPLY


ACTED: dict[str, dict] = {}


def tag(params: dict, *, idempotency_key: str) -> dict:
    ACTED.setdefault(idempotency_key, params)
    return {"ok": True}


BODY = ("Hello team,\n\nI was charged twice for my March invoice. My card ending 4242 shows two "
        "identical payments of $49.00 on the 3rd. Please refund the duplicate; you can reach me at "
        "jamie.lee@example.com or +1 415-555-0132.\n\nThanks,\nJamie")


def events(n: int) -> list[dict]:
    return [{"message_id": f"m-{i}", "tenant_id": f"t{i % 4}", "customer_id": f"c{i % 97}",
             "subject": f"Charged twice (#{i})", "body": BODY} for i in range(n)]


def integration() -> Integration:
    return Integration(
        name="bench", input_schema=Email, output_schema=Triage,
        checklist=Checklist(workflow="bench", owner="bench", baseline_metric="none",
                            monthly_cost_ceiling_usd=1e9),
        pii={"message_id": "allow", "tenant_id": "allow", "customer_id": "allow"},
        prompt=PromptSpec(system="Triage the e-mail.", user="Subject: {{ subject }}\n\n{{ body }}"),
        model=ModelRoute(provider="scripted", model="scripted", input_usd_per_mtok=3.0,
                         output_usd_per_mtok=15.0),
        actions=(ActionSpec(name="tag", handler=tag,
                            params={"ticket": "input.message_id", "tags": "[output.intent]"}),),
        rollout=RolloutSpec(flag="bench.ai", sticky_key="customer_id", baseline=lambda d: None),
        idempotency_key="message_id", tenant_key="tenant_id",
    )


def bare_loop(batch: list[dict]) -> float:
    t = time.perf_counter()
    for raw in batch:
        Email.model_validate(raw)
        Triage.model_validate_json(model_fn(None))  # type: ignore[arg-type]
    return time.perf_counter() - t


def full_pipeline(batch: list[dict], synchronous: str) -> tuple[float, dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "bench.db", synchronous=synchronous)
        pipeline = Pipeline(integration(), store, provider=ScriptedModel(model_fn))
        pipeline.process({**batch[0], "message_id": "warm-up"})
        states: dict[str, int] = {}
        t = time.perf_counter()
        for raw in batch:
            r = pipeline.process(raw)
            states[r.state] = states.get(r.state, 0) + 1
        elapsed = time.perf_counter() - t
        store.close()
    return elapsed, states


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=3000)
    ap.add_argument("--synchronous", default="NORMAL", choices=["OFF", "NORMAL", "FULL"])
    args = ap.parse_args()
    batch = events(args.events)
    bare = bare_loop(batch)
    full, states = full_pipeline(batch, args.synchronous)
    n = len(batch)
    table = Table(title=f"Per-event overhead, {n} events, SQLite synchronous={args.synchronous}")
    table.add_column("loop")
    table.add_column("events/s", justify="right")
    table.add_column("µs/event", justify="right")
    table.add_row("bare: same model fn + same validation", f"{n / bare:,.0f}", f"{bare / n * 1e6:,.1f}")
    table.add_row("seamline: all seven layers, durable audit", f"{n / full:,.0f}", f"{full / n * 1e6:,.1f}")
    console = Console()
    console.print(table)
    console.print(f"ratio bare/seamline: {full / bare:,.1f}x slower; terminal states: {states}")
    target = 1000
    verdict = "meets" if n / full >= target else "MISSES"
    console.print(f"target >= {target:,} events/s in one process: {verdict} ({n / full:,.0f}/s)")


if __name__ == "__main__":
    main()
