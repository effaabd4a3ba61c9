"""The support agent example: runs with no key, waits before sending, and the CLI drives it."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from examples.support_agent.agent import build_agent
from seamline.actions import decide
from seamline.agents import load_run, resume_run, start_run
from seamline.audit import verify
from seamline.cli import app

AGENT = str(Path(__file__).parents[2] / "examples" / "support_agent" / "agent.py") + ":build_agent"


def test_the_example_looks_up_drafts_and_waits_before_sending(store):
    agent = build_agent()
    paused = start_run(store, agent, "Customer 1001 asks where order 55 is")
    assert paused.status == "awaiting_approval"
    call = load_run(store, paused.run_id).pending.call
    assert call.name == "send_reply" and call.arguments["to"] == "ana.pereira@example.com"
    assert "DHL" in call.arguments["body"]
    decide(store, paused.outbox_id, approve=True, reviewer="ana")
    done = resume_run(store, agent, paused.run_id)
    assert done.status == "completed" and "msg-" in done.answer
    assert verify(store).ok


def test_a_product_question_is_answered_from_the_docs_cited_and_still_approved(
        store, tmp_path, monkeypatch):
    monkeypatch.setenv("SUPPORT_AGENT_INDEX", str(tmp_path / "index.db"))
    agent = build_agent()
    paused = start_run(store, agent, "Customer 1002 asks how long a refund takes to appear")
    assert paused.status == "awaiting_approval"
    run = load_run(store, paused.run_id)
    assert [c.name for t in run.turns if t.role == "assistant" for c in t.tool_calls] == [
        "lookup_customer", "search_docs", "draft_reply", "send_reply"]
    body = run.pending.call.arguments["body"]
    assert "5 to 10 business days" in body and "[refunds.md#" in body
    decide(store, paused.outbox_id, approve=True, reviewer="ana")
    assert resume_run(store, agent, paused.run_id).status == "completed"
    assert verify(store).ok


def test_a_question_the_docs_do_not_answer_is_left_to_a_person(store, tmp_path, monkeypatch):
    monkeypatch.setenv("SUPPORT_AGENT_INDEX", str(tmp_path / "index.db"))
    done = start_run(store, build_agent(), "Customer 1002 asks for a chocolate cake recipe")
    assert done.status == "completed" and "a person should reply" in done.answer
    assert done.outbox_id is None  # nothing was sent or queued for sending


def test_an_unknown_customer_ends_with_the_tool_error_not_a_crash(store):
    result = start_run(store, build_agent(), "Customer 9999 is angry")
    assert result.status == "completed" and "no customer has id 9999" in result.answer


def test_the_cli_runs_resumes_with_a_rejection_and_shows_the_run(tmp_path):
    db = str(tmp_path / "cli.db")
    runner = CliRunner()
    started = runner.invoke(app, ["agent", "run", AGENT, "Customer 1003 asks about order 70",
                                  "--db", db])
    assert started.exit_code == 0, started.output
    run_id = re.search(r"run (\w+): awaiting_approval", started.output).group(1)
    resumed = runner.invoke(app, ["agent", "resume", AGENT, run_id, "--reject",
                                  "--comment", "wrong tone", "--reviewer", "ana", "--db", db])
    assert resumed.exit_code == 0, resumed.output
    assert "completed" in resumed.output and "wrong tone" in resumed.output
    shown = runner.invoke(app, ["agent", "show", run_id, "--db", db])
    assert shown.exit_code == 0 and "send_reply" in shown.output and "rejected" in shown.output
    missing = runner.invoke(app, ["agent", "show", "nope", "--db", db])
    assert missing.exit_code == 1 and "no agent run" in missing.output
