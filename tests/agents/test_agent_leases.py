"""Who drives an agent run: a live run is never taken over, a stalled owner is fenced off,
two recoverers race on a compare-and-set (SQLite and PostgreSQL), and the CLI says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import crashing_agent
import pytest
from pydantic import BaseModel
from sqlalchemy import select
from typer.testing import CliRunner

from seamline.agents import (
    Agent,
    NotRecoverable,
    RunLimits,
    ScriptedAgentModel,
    Tool,
    ToolCall,
    ToolRegistry,
    list_runs,
    load_run,
    recover_run,
    resume_run,
    stale_runs,
    start_run,
)
from seamline.agents._lease import Lease
from seamline.audit import verify
from seamline.cli import app
from seamline.store.tables import audit_log


class Args(BaseModel):
    n: int


class Out(BaseModel):
    n: int


class Gate:
    """A tool that blocks until released, so a test can act while a run is mid-call."""

    def __init__(self, side_effects: bool = False) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self.calls: list[int] = []
        self.side_effects = side_effects

    def fn(self, args: Args) -> Out:
        self.calls.append(args.n)
        self.entered.set()
        self.release.wait(20)
        return Out(n=args.n)

    def agent(self, lease_s: float) -> Agent:
        tools = ToolRegistry([Tool("slow", "Slow.", Args, Out, self.fn,
                                   side_effects=self.side_effects)])
        return Agent("gated", ScriptedAgentModel([ToolCall("", "slow", {"n": 1}), "Done."]),
                     tools, limits=RunLimits(max_steps=5), lease_s=lease_s)


def kinds(store, run_id):
    with store.read() as conn:
        return list(conn.execute(select(audit_log.c.kind).where(audit_log.c.event_id == run_id)
                                 .order_by(audit_log.c.seq)).scalars())


def test_a_live_run_in_a_long_tool_call_is_not_taken_over(store):
    gate = Gate()
    agent = gate.agent(lease_s=0.8)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(start_run, store, agent, "Go")
        assert gate.entered.wait(10)
        time.sleep(2.0)  # well past the lease: only the heartbeat keeps the run live
        (run_id,) = [r.id for r in list_runs(store)]
        assert stale_runs(store) == []
        with pytest.raises(NotRecoverable, match="still running"):
            recover_run(store, agent, run_id)
        assert resume_run(store, agent, run_id).status == "running"  # a no-op, not a takeover
        gate.release.set()
        result = running.result(10)
    assert (result.status, result.answer) == ("completed", "Done.")
    assert gate.calls == [1] and "recovered" not in kinds(store, run_id)
    assert verify(store).ok


def test_a_stalled_owner_that_was_taken_over_stops_writing(store):
    gate = Gate(side_effects=True)
    agent = gate.agent(lease_s=30)
    with ThreadPoolExecutor(1) as pool:
        stalled = pool.submit(start_run, store, agent, "Go")
        assert gate.entered.wait(10)
        (run_id,) = [r.id for r in list_runs(store)]
        # Forced (its process was thought dead): the call in flight acts, so it is held.
        held = recover_run(store, agent, run_id, force=True)
        assert held.status == "awaiting_approval" and gate.calls == [1]
        gate.release.set()
        old = stalled.result(10)
    # The old owner finished its call but lost the run: its result was not written over the
    # new owner's state, and it reports where the run really is.
    assert old.status == "awaiting_approval"
    state = load_run(store, run_id)
    assert state.status == "awaiting_approval" and state.pending.in_doubt
    assert [t.role for t in state.turns] == ["user", "assistant"]
    assert kinds(store, run_id).count("agent_tool") == 0
    assert verify(store).ok


def _dead_run(store, agent):
    """A run whose 'process' died in its tool call: a BaseException, as a kill would leave it."""
    class Died(BaseException):
        pass

    def die(args: Args) -> Out:
        raise Died()

    dying = Agent(agent.name, agent.model, ToolRegistry([Tool("slow", "Slow.", Args, Out, die)]),
                  limits=agent.limits, lease_s=agent.lease_s)
    with pytest.raises(Died):
        start_run(store, dying, "Go")
    (run_id,) = [r.id for r in list_runs(store)]
    time.sleep(agent.lease_s)
    return run_id


def _race(store, agent, run_id):
    barrier = threading.Barrier(2)

    def recover(_):
        barrier.wait()
        try:
            return recover_run(store, agent, run_id).status
        except NotRecoverable as exc:
            return str(exc)

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(recover, range(2)))


def test_two_recoverers_race_and_one_takes_the_run(store):
    gate = Gate()
    gate.release.set()
    agent = gate.agent(lease_s=0.3)
    run_id = _dead_run(store, agent)
    outcomes = _race(store, agent, run_id)
    assert sorted(o[:9] for o in outcomes) == ["Run " + run_id[:5], "completed"]
    assert gate.calls == [1] and kinds(store, run_id).count("recovered") == 1
    assert verify(store).ok


def test_two_recoverers_race_on_postgresql_and_one_takes_the_run(pg_store):
    gate = Gate()
    gate.release.set()
    agent = gate.agent(lease_s=0.3)
    run_id = _dead_run(pg_store, agent)
    assert [s.run_id for s in stale_runs(pg_store)] == [run_id]
    outcomes = _race(pg_store, agent, run_id)
    assert "completed" in outcomes
    loser = next(o for o in outcomes if o != "completed")
    # Lost on the compare-and-set, or read the run after the winner took it (live or done).
    assert any(s in loser for s in ("taken over or moved on", "not running", "still running"))
    assert gate.calls == [1] and kinds(pg_store, run_id).count("recovered") == 1
    assert kinds(pg_store, run_id).count("agent_stop") == 1
    assert load_run(pg_store, run_id).status == "completed"
    assert verify(pg_store).ok


def test_the_takeover_is_a_compare_and_set_on_postgresql(pg_store):
    gate = Gate()
    agent = gate.agent(lease_s=0.3)
    run_id = _dead_run(pg_store, agent)
    # Both read the same stale run, then claim it at once: exactly one lease is granted.
    seen = [load_run(pg_store, run_id), load_run(pg_store, run_id)]
    barrier = threading.Barrier(2)

    def take(state):
        barrier.wait()
        return Lease.take(pg_store, state, status="running", version=state.updated_at)

    with ThreadPoolExecutor(2) as pool:
        leases = list(pool.map(take, seen))
    won = [lease for lease in leases if lease is not None]
    assert len(won) == 1
    try:
        assert load_run(pg_store, run_id).owner == next(
            s.owner for s, lease in zip(seen, leases) if lease is not None)
    finally:
        won[0].stop()


SEAMLINE = str(Path(sys.executable).parent / "seamline")
AGENT = f"{Path(crashing_agent.__file__)}:build_agent"


def test_the_cli_refuses_a_live_run_then_recovers_it_once_its_process_is_dead(store, tmp_path):
    db = store.url.removeprefix("sqlite:///")
    marks = tmp_path / "marks.txt"
    env = {**os.environ, "CRASH_MARKS": str(marks), "CRASH_LEASE": "1.5",
           "CRASH_SCRIPT": "lookup", "CRASH_AT": "hang:lookup_customer", "COLUMNS": "200"}

    def cli(*args, **extra):
        return subprocess.run([SEAMLINE, "agent", *args, "--db", db], check=False,
                              capture_output=True, text=True, timeout=60, env={**env, **extra})

    live = subprocess.Popen([SEAMLINE, "agent", "run", AGENT, "Find 7 and 8", "--db", db],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not (marks.exists() and marks.read_text()) and time.time() < deadline:
            time.sleep(0.1)
        (run_id,) = [r.id for r in list_runs(store)]
        time.sleep(2.0)  # past the lease: the child's heartbeat keeps it live
        refused = cli("recover", AGENT, run_id)
        assert refused.returncode == 1 and "still running" in refused.stderr
        resumed = cli("resume", AGENT, run_id)
        assert resumed.returncode == 1 and "not taken over" in " ".join(resumed.stderr.split())
        assert "No agent run is stale" in cli("stale").stdout
    finally:
        live.send_signal(signal.SIGKILL)
        live.wait(10)
    for out in (refused, resumed):
        assert "Traceback" not in out.stderr + out.stdout
    time.sleep(1.6)
    listed = cli("stale")
    assert run_id in listed.stdout and "tool lookup_customer" not in listed.stdout  # read-only
    done = cli("recover", AGENT, "--all", CRASH_AT="")
    assert done.returncode == 0, done.stderr
    assert "recovered from step 1" in done.stdout and "completed" in done.stdout
    assert load_run(store, run_id).status == "completed"
    assert marks.read_text().splitlines() == ["lookup_customer 7", "lookup_customer 7",
                                              "lookup_customer 8"]


def test_the_cli_says_what_is_wrong_with_bad_input_in_a_sentence(store, tmp_path, monkeypatch):
    db = store.url.removeprefix("sqlite:///")
    env = {**os.environ, "CRASH_MARKS": str(tmp_path / "m.txt"), "CRASH_SCRIPT": "lookup",
           "CRASH_AT": ""}
    monkeypatch.setenv("CRASH_MARKS", env["CRASH_MARKS"])
    monkeypatch.delenv("CRASH_AT", raising=False)
    other = start_run(store, Agent("plain", ScriptedAgentModel(["Hi."]), ToolRegistry()), "?")
    finished = start_run(store, crashing_agent.build_agent(), "Find 7 and 8")

    def cli(*args):  # in this process (the end-to-end test above runs the real command)
        return CliRunner().invoke(app, ["agent", *args, "--db", db], env=env)

    cases = [
        (("recover", AGENT, "nope"), 1, "no agent run with id 'nope'"),
        (("recover", AGENT), 2, "Name the runs to recover, or pass --all"),
        (("recover", AGENT, "--all"), 0, "nothing to recover"),
        (("resume", AGENT, "nope"), 1, "no agent run with id 'nope'"),
        (("recover", AGENT, finished.run_id), 1, "is completed, not running"),
        (("recover", AGENT, other.run_id), 2, "is a run of agent 'plain'"),
        (("resume", AGENT, other.run_id), 2, "is a run of agent 'plain'"),
    ]
    for args, code, sentence in cases:
        out = cli(*args)
        text = " ".join(out.output.split())
        assert out.exit_code == code, (args, text, out.exception)
        assert isinstance(out.exception, SystemExit | None), out.exception  # no traceback
        assert sentence in text, (args, text)
