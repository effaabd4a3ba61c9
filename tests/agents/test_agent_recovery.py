"""Agent runs whose process dies: SIGKILLed in real subprocesses, recovered here.

The runs are started (and resumed) through the ``seamline`` command in a child process
that kills itself at a chosen point (``crashing_agent.py``); this process then recovers
them from the same SQLite file and checks: the run ends, every side effect happened
exactly once (marker lines), usage is right, and the audit chain verifies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import crashing_agent
import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from seamline.actions import decide
from seamline.actions._outbox import outbox_row
from seamline.agents import (
    NotRecoverable,
    list_runs,
    load_run,
    recover_run,
    resume_run,
    stale_runs,
    start_run,
)
from seamline.agents._run import result_of
from seamline.audit import verify
from seamline.cli import app
from seamline.store.tables import audit_log, budget_counters, outbox

AGENT = f"{Path(crashing_agent.__file__)}:build_agent"
SEAMLINE = str(Path(sys.executable).parent / "seamline")
LEASE = 0.5


@pytest.fixture
def crash(tmp_path, monkeypatch, store):
    """Run ``seamline agent ...`` in a child that may SIGKILL itself; marks counted here."""
    marks = tmp_path / "marks.txt"
    marks.touch()
    monkeypatch.setenv("CRASH_MARKS", str(marks))
    monkeypatch.setenv("CRASH_LEASE", str(LEASE))
    monkeypatch.delenv("CRASH_AT", raising=False)
    db = store.url.removeprefix("sqlite:///")

    def run(*args: str, at: str = "", script: str = "lookup", ledger: bool = False):
        env = {**os.environ, "CRASH_AT": at, "CRASH_SCRIPT": script,
               "CRASH_LEDGER": "1" if ledger else ""}
        monkeypatch.setenv("CRASH_SCRIPT", script)  # the recovering agent plays the same script
        monkeypatch.setenv("CRASH_LEDGER", env["CRASH_LEDGER"])
        return subprocess.run([SEAMLINE, "agent", *args, "--db", db], check=False,
                              env=env, capture_output=True, text=True, timeout=120)

    def count(line: str) -> int:
        return marks.read_text().splitlines().count(line)

    run.count = count
    return run


def only_run(store):
    (row,) = list_runs(store)
    return row.id


def wait_stale(store, run_id):
    deadline = time.time() + 10
    while time.time() < deadline:
        if any(s.run_id == run_id for s in stale_runs(store)):
            return
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} never became stale")


def kinds(store, run_id):
    with store.read() as conn:
        rows = conn.execute(select(audit_log.c.kind, audit_log.c.payload)
                            .where(audit_log.c.event_id == run_id).order_by(audit_log.c.seq)).all()
    return [(r.kind, json.loads(r.payload)) for r in rows]


def test_a_run_killed_in_a_read_only_tool_is_recovered_and_the_lookup_runs_again(store, crash):
    done = crash("run", AGENT, "Find 7 and 8", at="lookup_customer")
    assert done.returncode == -9, done.stderr
    run_id = only_run(store)
    assert load_run(store, run_id).status == "running"  # left behind by the dead process
    assert crash.count("lookup_customer 7") == 1
    wait_stale(store, run_id)
    # `seamline agent resume` on a run whose process died recovers it (here in this process).
    out = CliRunner().invoke(app, ["agent", "resume", AGENT, run_id, "--db",
                                   store.url.removeprefix("sqlite:///")])
    assert out.exit_code == 0, out.output
    assert "recovered from step 1" in " ".join(out.output.split())
    result = result_of(load_run(store, run_id))
    assert (result.status, result.answer, result.steps) == ("completed", "Both found.", 3)
    # Read-only: re-run after the crash (documented), then the run goes on from there.
    assert crash.count("lookup_customer 7") == 2 and crash.count("lookup_customer 8") == 1
    # The same usage as a run that was never interrupted: nothing counted twice or lost.
    reference = start_run(store, crashing_agent.build_agent(), "Find 7 and 8")
    assert (result.steps, result.tokens) == (reference.steps, reference.tokens)
    audit = kinds(store, run_id)
    recovered = [p for k, p in audit if k == "recovered"]
    assert len(recovered) == 1 and recovered[0]["from_step"] == 1
    assert recovered[0]["calls_to_make"] == ["lookup_customer"] and "lease" in recovered[0]["why"]
    assert [k for k, _ in audit].count("agent_stop") == 1
    assert verify(store).ok
    with pytest.raises(NotRecoverable, match="completed, not running"):
        recover_run(store, crashing_agent.build_agent(), run_id)


def test_a_tool_with_side_effects_killed_mid_call_is_held_for_a_person_not_run_twice(store,
                                                                                    crash):
    done = crash("run", AGENT, "Charge 7", at="charge_card", script="charge")
    assert done.returncode == -9, done.stderr
    run_id = only_run(store)
    assert crash.count("charge_card 7 3000") == 1
    wait_stale(store, run_id)
    held = recover_run(store, crashing_agent.build_agent(), run_id)
    assert held.status == "awaiting_approval" and held.outbox_id
    assert crash.count("charge_card 7 3000") == 1  # not charged again
    row = outbox_row(store, held.outbox_id)
    assert row.action == "tool:charge_card" and "may already have acted" in row.approval_reason
    # A person checks the payment provider: it went through. Reject = do not run it again.
    decide(store, held.outbox_id, approve=False, reviewer="ana", comment="it went through")
    result = resume_run(store, crashing_agent.build_agent(), run_id)
    assert (result.status, result.answer, result.steps) == ("completed", "Charged.", 3)
    assert crash.count("charge_card 7 3000") == 1 and crash.count("lookup_customer 7") == 1
    told = [t for t in load_run(store, run_id).turns if t.role == "tool"][-1]
    assert "may or may not have acted" in told.text and "it went through" in told.text
    audit = kinds(store, run_id)
    recovered = next(p for k, p in audit if k == "recovered")
    assert recovered["tool_in_flight"]["tool"] == "charge_card" and recovered["from_step"] == 2
    assert any(k == "agent_pause" and "in_doubt" in p for k, p in audit)
    assert verify(store).ok


def test_an_approved_tool_killed_after_acting_is_held_and_never_run_twice(store, crash):
    paused = crash("run", AGENT, "Reply to 7", script="send")
    assert paused.returncode == 0 and "awaiting_approval" in paused.stdout, paused.stderr
    run_id = only_run(store)
    killed = crash("resume", AGENT, run_id, "--approve", "--reviewer", "ana", at="send_reply",
                   script="send")
    assert killed.returncode == -9, killed.stderr
    assert crash.count("send_reply Hello") == 1
    waiting = load_run(store, run_id)
    assert waiting.status == "running" and waiting.inflight["kind"] == "tool"
    outbox_id = waiting.inflight["outbox_id"]
    assert outbox_row(store, outbox_id).attempts == 1  # claimed before the call
    wait_stale(store, run_id)
    held = recover_run(store, crashing_agent.build_agent(), run_id)
    assert (held.status, held.outbox_id) == ("awaiting_approval", outbox_id)
    # Approving again means "it did not go out: send it": it then runs, once more, knowingly.
    decide(store, outbox_id, approve=False, reviewer="ana", comment="it was sent")
    result = resume_run(store, crashing_agent.build_agent(), run_id)
    assert (result.status, result.answer) == ("completed", "Sent.")
    assert crash.count("send_reply Hello") == 1
    assert verify(store).ok


def test_a_result_the_outbox_recorded_is_reused_when_the_run_died_before_saving_it(store, crash):
    crash("run", AGENT, "Reply to 7", script="send")
    run_id = only_run(store)
    killed = crash("resume", AGENT, run_id, "--approve", at="send_reply", script="send")
    assert killed.returncode == -9
    outbox_id = load_run(store, run_id).inflight["outbox_id"]
    # The tool's outcome reached the outbox but not the run (an older version wrote them in
    # two transactions; a person can also record it): the row is done, with its result.
    with store.write() as conn:
        conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(
            status="done", result=json.dumps({"text": '{"done": true}', "is_error": False})))
    wait_stale(store, run_id)
    result = recover_run(store, crashing_agent.build_agent(), run_id)
    assert (result.status, result.answer, result.steps) == ("completed", "Sent.", 3)
    assert crash.count("send_reply Hello") == 1  # the recorded result, not a second send
    tool = [p for k, p in kinds(store, run_id) if k == "agent_tool"][-1]
    assert tool["reused_from_outbox"] == outbox_id and tool["result"] == {"done": True}
    assert verify(store).ok


def test_a_model_call_lost_with_the_process_counts_and_its_reservation_is_settled(store, crash):
    done = crash("run", AGENT, "Find 7 and 8", at="model:2", ledger=True)
    assert done.returncode == -9, done.stderr
    run_id = only_run(store)
    dead = load_run(store, run_id)
    assert dead.inflight["kind"] == "model" and dead.inflight["reservation"]["amount_usd"] > 0
    wait_stale(store, run_id)
    result = recover_run(store, crashing_agent.build_agent(), run_id)
    # Three replies plus the lost call: it counts as a step, at its worst case.
    assert (result.status, result.steps) == ("completed", 4)
    lost = next(p for k, p in kinds(store, run_id) if k == "recovered")["lost_model_call"]
    assert lost["step"] == 2 and lost["counted_usd"] == dead.inflight["reservation"]["amount_usd"]
    models = [p for k, p in kinds(store, run_id) if k == "agent_model"]
    assert result.cost_usd == pytest.approx(sum(p["cost_usd"] for p in models)
                                            + lost["counted_usd"])
    assert result.tokens == sum(p["usage"]["input_tokens"] + p["usage"]["output_tokens"]
                                for p in models) + lost["counted_tokens"]
    # The ledger holds what the run counted: the lost reservation neither open nor released.
    with store.read() as conn:
        (spent,) = conn.execute(select(budget_counters.c.spent_usd).where(
            budget_counters.c.scope.like("refunds|day|%"))).scalars().all()
    assert spent == pytest.approx(result.cost_usd)
    assert crash.count("lookup_customer 7") == 1 and crash.count("lookup_customer 8") == 1
    assert verify(store).ok


def test_a_run_that_keeps_killing_its_process_ends_crashed(store, crash, monkeypatch):
    crash("run", AGENT, "Find 7 and 8", at="model:2")
    run_id = only_run(store)
    # Every recovery dies at the same call, in this process's stead: a BaseException, as a kill.
    monkeypatch.setenv("CRASH_AT", "model:2")
    monkeypatch.setattr(crashing_agent.os, "kill", _raise_kill)
    for _ in range(3):
        wait_stale(store, run_id)
        with pytest.raises(_Killed):
            recover_run(store, crashing_agent.build_agent(), run_id)
    wait_stale(store, run_id)
    result = recover_run(store, crashing_agent.build_agent(), run_id)
    assert (result.status, result.stop_reason) == ("failed", "crashed")
    assert result.steps == 5  # the first reply and four lost calls, each counted
    assert [k for k, _ in kinds(store, run_id)].count("recovered") == 4
    assert verify(store).ok


class _Killed(BaseException):
    pass


def _raise_kill(pid, sig):
    raise _Killed()
