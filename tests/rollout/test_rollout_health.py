"""Health of the AI path against the baseline path: what each criterion measures and when it
breaks, in sentences with the numbers."""

from __future__ import annotations

import json
import time

from conftest import make_integration, verdict
from sqlalchemy import select

from seamline.audit import AuditEntry, append, purge
from seamline.errors import ContentRefused
from seamline.inference import ScriptedModel
from seamline.rollout import Criteria, Flags, Health, PathHealth, breaches, measure
from seamline.runtime import Pipeline
from seamline.store.tables import audit_log, eval_runs, events


def run(pipeline: Pipeline, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        pipeline.process({"ticket_id": f"T{i}", "customer": f"c{i}", "body": "refund please"})


def health(ai: PathHealth, base: PathHealth | None = None, score: float | None = None) -> Health:
    return Health(ai, base or PathHealth("baseline", events=100), score)


def test_a_healthy_ai_path_breaks_nothing():
    assert breaches(Criteria(), health(PathHealth("ai", events=50, errors=1, p95_ms=900))) == []


def test_each_criterion_breaks_with_its_numbers():
    ai = PathHealth("ai", events=40, errors=4, abstained=10, refused=2, p95_ms=8000)
    said = breaches(Criteria(min_eval_score=0.8), health(ai, score=0.7))
    assert said == [
        "error rate 10.0% (4 of 40) against 0.0% on the baseline, more than 2 points worse",
        "p95 latency 8000 ms over the limit of 5000 ms (baseline 0 ms x 1.5, or 5000 ms)",
        "abstention rate 25.0% against 0.0% on the baseline, more than 5 points worse",
        "refusal rate 5.0% against 0.0% on the baseline, more than 2 points worse",
        "production eval score 0.700 under the floor 0.8",
    ]


def test_error_rate_is_judged_against_the_baseline_not_zero():
    base = PathHealth("baseline", events=100, errors=9, p95_ms=1)
    assert breaches(Criteria(), health(PathHealth("ai", events=100, errors=10), base)) == []
    assert breaches(Criteria(), health(PathHealth("ai", events=100, errors=12), base))


def test_latency_holds_within_the_ratio_of_a_slow_baseline_or_under_the_cap():
    slow = PathHealth("baseline", events=10, p95_ms=10_000)
    assert breaches(Criteria(), health(PathHealth("ai", events=10, p95_ms=14_000), slow)) == []
    assert breaches(Criteria(p95_cap_ms=100), health(PathHealth("ai", events=10, p95_ms=90))) == []
    assert breaches(Criteria(p95_cap_ms=100), health(PathHealth("ai", events=10, p95_ms=120)))


def test_no_eval_score_recorded_breaks_nothing():
    assert breaches(Criteria(min_eval_score=0.9), health(PathHealth("ai", events=10))) == []


def test_measure_reads_paths_errors_refusals_abstentions_latency_and_eval_scores(store):
    t0 = time.time() - 1
    Flags(store).set("refunds.ai", "on", reason="test")
    run(Pipeline(make_integration(), store, provider=verdict()), 6)

    def refuse(_request):
        raise ContentRefused("the provider's safety system refused to answer")

    run(Pipeline(make_integration(), store, provider=ScriptedModel(refuse)), 2, 100)
    Flags(store).set("refunds.ai", "off", reason="test")
    run(Pipeline(make_integration(), store, provider=verdict()), 4, 200)
    with store.write() as conn:
        ids = conn.execute(select(events.c.id).where(events.c.path == "ai", events.c.state != "dead_lettered")
                           .limit(3)).scalars().all()
        append(conn, [AuditEntry(i, "refunds", "grounding", {"passed": True, "abstained": True})
                      for i in ids])
        conn.execute(eval_runs.insert().values(
            integration="refunds", kind="production", window_start=t0, window_end=t0 + 60,
            examples=10, score=0.75, details=json.dumps({}), created_at=t0))

    h = measure(store, "refunds", t0, time.time() + 1)
    assert (h.ai.events, h.ai.errors, h.ai.refused, h.ai.abstained) == (8, 2, 2, 3)
    assert (h.baseline.events, h.baseline.errors) == (4, 0)
    assert h.ai.p95_ms > 0 and h.eval_score == 0.75
    assert h.as_dict()["ai"]["refusal_rate"] == 0.25
    assert measure(store, "refunds", t0 + 3600, t0 + 7200).ai.events == 0


def test_measure_reads_past_payloads_purged_by_retention(store):
    """``seamline audit purge`` empties old payloads: health reads them as no abstention."""
    t0 = time.time() - 1
    Flags(store).set("refunds.ai", "on", reason="test")
    run(Pipeline(make_integration(), store, provider=verdict()), 4)
    with store.write() as conn:
        ids = conn.execute(select(events.c.id).where(events.c.path == "ai")).scalars().all()
        append(conn, [AuditEntry(i, "refunds", "grounding", {"abstained": True}) for i in ids],
               now=t0 - 7200)  # two hours old: purged below
        append(conn, [AuditEntry(ids[0], "refunds", "grounding", {"abstained": False})])
    assert purge(store, older_than_s=3600).rows >= 4
    with store.read() as conn:
        assert set(conn.execute(select(audit_log.c.payload).where(
            audit_log.c.kind == "grounding", audit_log.c.created_at < t0)).scalars()) == {""}
    h = measure(store, "refunds", t0 - 7200, time.time() + 1)
    assert (h.ai.events, h.ai.abstained) == (4, 0)
