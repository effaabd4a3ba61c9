"""Ingest's CPU budget: an event too costly to scan for personal data is dead-lettered with
a sentence, nothing of its text is kept in the clear, and a redrive (under a budget that
fits) admits it whole with the same id."""

from __future__ import annotations

import json

from conftest import make_integration, verdict
from sqlalchemy import select

from seamline.runtime import DEAD_LETTERED, SUCCEEDED, Pipeline
from seamline.store.tables import audit_log, dead_letters, events

# Dense, never-repeating phone-like numbers are the slowest text to scan (see bench-redaction).
BODY = "Call me: " + " ".join(f"415.{i % 1000:03d}.{(i * 7919) % 10000:04d}"
                              for i in range(4000)) + " or mail jane.doe@example.com"


def test_an_event_over_its_cpu_budget_is_dead_lettered_sealed_and_redriven_whole(store):
    tight = make_integration(ingest_cpu_budget_s=0.001)
    result = Pipeline(tight, store, provider=verdict()).process(
        {"ticket_id": "T-budget", "body": BODY})
    assert result.state == DEAD_LETTERED and result.stage == "ingest"
    assert "CPU" in result.reason and "dead-lettered" in result.reason
    with store.read() as conn:
        stored = [conn.execute(select(events.c.input)).scalar_one(),
                  conn.execute(select(dead_letters.c.payload)).scalar_one(),
                  *conn.execute(select(audit_log.c.payload)).scalars()]
    assert json.loads(stored[0]) == "<UNSCANNED_1>"
    for text in stored:  # not the e-mail, not a single number, not half a redaction
        assert "jane.doe@example.com" not in text and "415." not in text
    roomy = make_integration(ingest_cpu_budget_s=60)
    again = Pipeline(roomy, store, provider=verdict()).redrive(result.event_id)
    assert again.event_id == result.event_id and again.state == SUCCEEDED
    with store.read() as conn:
        admitted = json.loads(conn.execute(select(events.c.input)).scalar_one())
    # Admitted as the event it was (then fitted to the small test model's window).
    assert admitted["ticket_id"] == "T-budget" and "jane.doe" not in json.dumps(admitted)
