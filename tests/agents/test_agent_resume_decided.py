"""Approvals decided elsewhere (the console, `seamline approvals`) are picked up by
`seamline agent resume AGENT --decided`, once each."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from examples.support_agent.agent import build_agent
from seamline.actions import decide
from seamline.agents import decided_runs, load_run, start_run
from seamline.audit import verify
from seamline.cli import app
from seamline.store import open_store

AGENT = str(Path(__file__).parents[2] / "examples" / "support_agent" / "agent.py") + ":build_agent"


def _paused(store, n: int) -> list:
    agent = build_agent()
    return [start_run(store, agent, f"Customer 100{1 + i % 3} asks about order {50 + i}")
            for i in range(n)]


def test_only_runs_whose_approval_was_decided_are_listed(store):
    a, b, c = _paused(store, 3)
    assert {a.status, b.status, c.status} == {"awaiting_approval"}
    assert decided_runs(store, "support_agent") == []
    decide(store, a.outbox_id, approve=True, reviewer="ana")
    decide(store, c.outbox_id, approve=False, reviewer="ana", comment="no")
    assert decided_runs(store, "support_agent") == [a.run_id, c.run_id]
    assert decided_runs(store, "another_agent") == []


def test_the_cli_resumes_every_decided_run_once(tmp_path):
    db = tmp_path / "s.db"
    store = open_store(db)
    a, b = _paused(store, 2)
    decide(store, a.outbox_id, approve=True, reviewer="ana")  # as the console would
    store.close()
    runner = CliRunner()
    first = runner.invoke(app, ["agent", "resume", AGENT, "--decided", "--db", str(db)])
    assert first.exit_code == 0, first.output
    assert f"run {a.run_id}: completed" in first.output and b.run_id not in first.output
    again = runner.invoke(app, ["agent", "resume", AGENT, "--decided", "--db", str(db)])
    assert again.exit_code == 0 and "nothing to resume" in " ".join(again.output.split())
    store = open_store(db)
    assert load_run(store, a.run_id).status == "completed"
    assert load_run(store, b.run_id).status == "awaiting_approval"
    assert verify(store).ok
    store.close()


def test_bad_combinations_are_refused_with_a_sentence(tmp_path):
    db = str(tmp_path / "s.db")
    runner = CliRunner()
    for args, words in ((["--decided", "RUN"], "Name the run"), ([], "Name the run"),
                        (["--decided", "--approve"], "--decided resumes runs"),
                        (["RUN", "--watch", "5"], "--watch goes with --decided")):
        r = runner.invoke(app, ["agent", "resume", AGENT, *args, "--db", db])
        assert r.exit_code == 2 and words in r.output and "Traceback" not in r.output


def test_watch_resumes_a_run_decided_while_it_waits(tmp_path):
    db = tmp_path / "w.db"
    store = open_store(db)
    [run] = _paused(store, 1)
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("seamline")), "agent", "resume", AGENT, "--decided",
         "--watch", "0.2", "--db", str(db)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, cwd=Path(__file__).parents[2])
    try:
        time.sleep(1.0)
        decide(store, run.outbox_id, approve=True, reviewer="ana")
        deadline = time.monotonic() + 30
        while load_run(store, run.run_id).status != "completed" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert load_run(store, run.run_id).status == "completed"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert re.search(rf"run {run.run_id}: completed", out)
    store.close()
