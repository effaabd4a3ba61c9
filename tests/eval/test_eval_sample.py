"""``eval sample``: real events drawn from a seeded store; ground truth and rejections join."""

from __future__ import annotations

import json
import time

import pytest
from eval_fixtures import integration
from typer.testing import CliRunner

from seamline.actions import list_awaiting
from seamline.actions._outbox import decide
from seamline.cli import app
from seamline.errors import ConfigError
from seamline.eval import parse_since, read_golden, sample_events
from seamline.inference import ScriptedModel
from seamline.runtime import Pipeline
from seamline.store.tables import ground_truth

runner = CliRunner()


def _answer(request):
    text = request.messages[-1].content
    if "broken" in str(request.messages):
        return "no JSON here"  # dead-lettered after its repairs
    amount = 500.0 if "big" in text else 20.0  # above 100: waits for approval
    return json.dumps({"label": "refund", "confidence": 0.9, "amount": amount, "quote": ""})


@pytest.fixture
def seeded(store):
    pipeline = Pipeline(integration, store, provider=ScriptedModel(_answer))
    results = {}
    for i in range(8):
        body = "refund please, mail jane.doe@example.com" if i else "a big refund"
        results[f"ok{i}"] = pipeline.process({"ticket_id": f"ok{i}", "body": body})
    results["bad"] = pipeline.process({"ticket_id": "bad", "body": "broken request"})
    [held] = list_awaiting(store, "refunds")
    decide(store, held.id, approve=False, reviewer="ana", comment="amount is made up")
    with store.write() as conn:
        conn.execute(ground_truth.insert().values(
            event_id=results["ok3"].event_id, integration="refunds", source="cli", actor="bo",
            truth=json.dumps({"label": "other"}), created_at=time.time()))
    return store, results


def test_a_stratified_draw_covers_every_state_and_joins_truth_and_rejections(seeded):
    store, results = seeded
    lines = sample_events(store, "refunds", 3, seed=1)
    by_id = {line["id"]: line for line in lines}
    drawn = [line for line in lines if line["source"] == "audit"]
    assert all(line["rated"] is False for line in drawn)
    # Stratified: one event of each terminal state, the rare dead letter included.
    states = sorted(line["state"] for line in lines if line["id"] != results["ok3"].event_id)
    assert states == ["awaiting_approval", "dead_lettered", "succeeded"]
    truth = by_id[results["ok3"].event_id]
    assert truth["rated"] is True and truth["output"] == {"label": "other"}
    assert truth["source"] == "ground_truth" and truth["truth"]["actor"] == "bo"
    rejected = by_id[results["ok0"].event_id]
    assert rejected["source"] == "rejection" and rejected["rated"] is False
    assert rejected["rejection"]["comment"] == "amount is made up"
    assert all("jane.doe@example.com" not in json.dumps(line) for line in lines)  # redacted inputs
    assert sample_events(store, "refunds", 3, seed=1) == lines  # the seed repeats the draw
    assert len(sample_events(store, "refunds", 4, seed=2, strategy="random")) >= 4


def test_the_sample_command_writes_a_golden_set_to_rate(seeded, tmp_path):
    store, _ = seeded
    db = store.url
    out = tmp_path / "sample.jsonl"
    r = runner.invoke(app, ["eval", "sample", "refunds", "--from-audit", "4", "--out", str(out),
                            "--since", "1h", "--db", db])
    assert r.exit_code == 0, r.output
    gset = read_golden(out)  # the file reads as a golden set: the rated truth is scored
    assert gset.unrated >= 3 and len(gset.examples) == 1 and gset.unrated + 1 >= 4
    assert json.loads(out.read_text().splitlines()[0])["golden"]["integration"] == "refunds"
    empty = runner.invoke(app, ["eval", "sample", "refunds", "--from-audit", "4", "--out", str(out),
                                "--since", "2999-01-01", "--db", db])
    assert empty.exit_code == 1 and "No recorded events" in empty.output


def test_since_reads_durations_and_dates():
    assert parse_since("2h", now=10_000.0) == 10_000.0 - 7200
    assert parse_since("2026-11-01") == 1793491200.0
    with pytest.raises(ConfigError, match="duration like 7d"):
        parse_since("last tuesday")
