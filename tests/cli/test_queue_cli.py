"""enqueue, worker, queue status, dlq list/show/redrive and backfill from the command line."""

from __future__ import annotations

import re

import pytest
from conftest import EXAMPLE
from sqlalchemy import select
from typer.testing import CliRunner

from seamline.cli import app
from seamline.store import open_store
from seamline.store.tables import events, jobs

runner = CliRunner()
YAML = EXAMPLE / "integration.yaml"


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False,
                         env={"COLUMNS": "200"})


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "q.db")


@pytest.fixture
def queued(tmp_path, db):
    lines = (EXAMPLE / "data" / "inbox.jsonl").read_text().splitlines()[:40]
    path = tmp_path / "inbox.jsonl"
    path.write_text("\n".join(lines + ["this is not json"]) + "\n")
    result = invoke("enqueue", YAML, path, "--db", db)
    assert result.exit_code == 0, result.output
    return len([line for line in lines if line.strip()]) + 1


def test_enqueue_then_a_worker_drains_the_queue(queued, db):
    status = invoke("queue", "status", "--db", db).output
    assert re.search(rf"queued\s+│\s+{queued}", status)
    ran = invoke("worker", YAML, "--db", db, "--exit-when-idle", "--concurrency", "2")
    assert ran.exit_code == 0, ran.output
    assert f"{queued} job(s)" in ran.output and "succeeded" in ran.output
    with open_store(db).read() as conn:
        assert {r.status for r in conn.execute(select(jobs.c.status))} == {"done"}
        states = conn.execute(select(events.c.state)).scalars().all()
    assert len(states) == queued and "processing" not in states
    assert re.search(rf"done\s+│\s+{queued}", invoke("queue", "status", "--db", db).output)


def test_dlq_list_show_and_redrive_by_reason(queued, db):
    invoke("worker", YAML, "--db", db, "--exit-when-idle")
    listed = invoke("dlq", "list", "--db", db, "--limit", "100")
    assert listed.exit_code == 0 and "not valid JSON" in listed.output
    event_id = re.search(r"(evt_[0-9a-f]{23})", listed.output).group(1)
    shown = invoke("dlq", "show", event_id, "--db", db)
    assert shown.exit_code == 0 and "reason:" in shown.output and event_id in shown.output
    redriven = invoke("dlq", "redrive", "--reason", "not valid JSON", "--db", db)
    assert redriven.exit_code == 0, redriven.output
    assert "Redrove 1 event(s)" in redriven.output and "dead_lettered" in redriven.output
    assert invoke("dlq", "redrive", "--db", db).exit_code == 2  # names nothing
    missing = invoke("dlq", "redrive", "evt_nope", "--db", db)
    assert missing.exit_code == 1 and "Not in the dead-letter queue" in missing.output
    queued_redrive = invoke("dlq", "redrive", "--all", "--enqueue", "--db", db)
    assert queued_redrive.exit_code == 0 and "Queued" in queued_redrive.output


def test_backfill_dry_run_shows_a_summary_and_bad_dates_get_a_sentence(queued, db):
    invoke("worker", YAML, "--db", db, "--exit-when-idle")
    out = invoke("backfill", YAML, "--db", db, "--limit", "5")
    assert out.exit_code == 0, out.output
    assert "dry run" in out.output and re.search(r"unchanged\s+│\s+5", out.output)
    bad = invoke("backfill", YAML, "--db", db, "--since", "last tuesday")
    assert bad.exit_code == 2 and "--since must be a date" in bad.output
    none = invoke("backfill", YAML, "--db", db, "--since", "2999-01-01")
    assert none.exit_code == 0 and "No past events" in none.output


def test_enqueue_keeps_a_line_that_is_not_utf8_and_the_worker_says_why(tmp_path, db):
    # A Latin-1 line among good ones: it was once "repaired" into U+FFFD text at enqueue and
    # then ran as if the customer had written that; now it is queued as written and
    # dead-lettered with the decoder's sentence, and the good lines still run.
    good = (EXAMPLE / "data" / "inbox.jsonl").read_text().splitlines()[:3]
    bad = '{"message_id": "latin1-1", "subject": "R\xe9clamation", "body": "caf\xe9"}'.encode("latin-1")
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join([good[0].encode(), bad, *(g.encode() for g in good[1:])]) + b"\n")
    assert invoke("enqueue", YAML, path, "--db", db).exit_code == 0
    ran = invoke("worker", YAML, "--db", db, "--exit-when-idle")
    assert ran.exit_code == 0, ran.output
    with open_store(db).read() as conn:
        states = sorted(conn.execute(select(events.c.state)).scalars().all())
    assert len(states) == 4 and states.count("dead_lettered") == 1, states
    listed = invoke("dlq", "list", "--db", db, "--limit", "10").output
    assert "UTF-8" in listed and "\ufffd" not in listed, listed
