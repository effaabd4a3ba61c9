"""``seamline agent run | resume | recover | stale | show``: agent runs from the command line.

An agent is named as ``file.py:function`` (or ``module:function``) returning an
:class:`~seamline.agents.Agent`, so the CLI holds no agent configuration of its own.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from seamline.actions import decide
from seamline.agents import (
    Agent,
    NotRecoverable,
    RunResult,
    decided_runs,
    heartbeat_age,
    is_stale,
    load_run,
    recover_run,
    resume_run,
    stale_runs,
    start_run,
)
from seamline.cli._common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    fail,
    print_json,
    stop_on_signals,
    store_for,
)
from seamline.errors import NotFound, SeamlineError
from seamline.integration import resolve
from seamline.store.tables import audit_log

agent_app = typer.Typer(help="Agents: typed tools, hard limits, approvals, the audit trail.",
                        no_args_is_help=True)

AgentArg = Annotated[str, typer.Argument(help="file.py:function returning the Agent")]


def _agent(ref: str) -> Agent:
    made = resolve(ref, what="agent")
    agent = made() if callable(made) else made
    if not isinstance(agent, Agent):
        fail(f"{ref} did not give an Agent (it gave a {type(agent).__name__}).", 2)
    return agent


def _say(result: RunResult) -> None:
    console.print(f"run [bold]{result.run_id}[/]: {result.status}"
                  + (f" ({result.stop_reason})" if result.stop_reason else "")
                  + f"; {result.steps} step(s), {result.tokens} tokens, ${result.cost_usd:.6f}")
    if result.outbox_id is not None:
        console.print(f"waiting for approval: action {result.outbox_id} — then "
                      f"`seamline agent resume AGENT {result.run_id} --approve|--reject`")
    if result.answer:
        console.print(result.answer)


@agent_app.command("run")
def run_cmd(agent: AgentArg, task: Annotated[str, typer.Argument(help="What to do")],
            db: DbOption = None):
    """Start a run; it ends completed, stopped at a limit, failed, or waiting for approval."""
    _say(start_run(store_for(db), _agent(agent), task))


@agent_app.command("resume")
def resume_cmd(
    agent: AgentArg,
    run_id: Annotated[str | None, typer.Argument(help="The run to continue")] = None,
    approve: Annotated[bool, typer.Option("--approve", help="Approve the waiting call first")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject the waiting call first")] = False,
    reviewer: Annotated[str | None, typer.Option(help="Who decides")] = None,
    comment: Annotated[str, typer.Option(help="Why (the model reads it on a rejection)")] = "",
    decided: Annotated[bool, typer.Option(
        "--decided", help="Every run of this agent whose approval was decided elsewhere "
                          "(the console, seamline approvals)")] = False,
    watch: Annotated[float, typer.Option(
        min=0, help="With --decided: look again every this many seconds until stopped")] = 0.0,
    db: DbOption = None,
):
    """Continue a run after its approval was decided (here with --approve/--reject, or elsewhere)."""
    store = store_for(db)
    if approve and reject:
        fail("Pass --approve or --reject, not both.", 2)
    if decided == (run_id is not None):
        fail("Name the run to resume, or pass --decided (every run whose approval was decided).", 2)
    if decided and (approve or reject):
        fail("--decided resumes runs that were decided elsewhere; --approve/--reject decide one "
             "run: name it.", 2)
    if watch and not decided:
        fail("--watch goes with --decided.", 2)
    the_agent = _agent(agent)
    if decided:
        _resume_decided(store, the_agent, watch)
        return
    assert run_id is not None  # without --decided a run is named (checked above)
    try:
        state = load_run(store, run_id)
        _same_agent(state.agent, the_agent, run_id)
        if state.status == "running" and not is_stale(state):
            fail(_live(state), 1)
        if (approve or reject) and state.pending is not None:
            decide(store, state.pending.outbox_id, approve=approve, reviewer=reviewer or "cli",
                   comment=comment)
        stale = is_stale(state)
        result = resume_run(store, the_agent, run_id)
    except SeamlineError as exc:  # unknown run, decided meanwhile, a refused edit …
        fail(str(exc), 1)
    if stale:
        console.print(f"run {run_id} was left running by a process that died "
                      f"({state.owner or 'unknown'}); recovered from step {state.usage.steps}.")
    _say(result)


def _resume_decided(store, the_agent: Agent, watch: float) -> None:
    """Resume every decided run once, or (``watch``) keep doing so until a signal."""
    import threading

    stop = threading.Event()
    if watch:
        stop_on_signals(stop.set, "finishing the run in hand, then stopping")
    while True:
        ids = decided_runs(store, the_agent.name)
        for run_id in ids:
            try:
                result = resume_run(store, the_agent, run_id)
            except SeamlineError as exc:  # resumed by another process meanwhile, …
                err_console.print(f"[bold red]error:[/] run {run_id}: {exc}")
                continue
            _say(result)
        if not watch:
            if not ids:
                console.print(f"No run of agent {the_agent.name!r} has a decided approval "
                              "waiting; nothing to resume.")
            return
        if stop.wait(watch):
            return


@agent_app.command("recover")
def recover_cmd(
    agent: AgentArg,
    run_ids: Annotated[list[str] | None, typer.Argument(help="Runs to recover")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every stale run of this agent")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Take a run over before its lease runs out (only if its process is "
                        "known to be dead)")] = False,
    db: DbOption = None,
):
    """Take over runs left running by a dead process and drive them on from their last step.

    A tool that acts and was in flight is not run again: the run waits for a person in the
    approval queue. Exit 1 if any run was not recovered (unknown, live, finished).
    """
    if bool(run_ids) == all_:
        fail("Name the runs to recover, or pass --all (for every stale run of this agent).", 2)
    store = store_for(db)
    the_agent = _agent(agent)
    for run_id in run_ids or []:  # naming another agent's run is a usage error: none is touched
        try:
            _same_agent(load_run(store, run_id).agent, the_agent, run_id)
        except NotFound:
            pass  # said below, with the others
    ids = run_ids or [s.run_id for s in stale_runs(store, the_agent.name)]
    if not ids:
        console.print(f"No run of agent {the_agent.name!r} is stale; nothing to recover.")
        return
    refused = 0
    for run_id in ids:
        try:
            before = load_run(store, run_id)
            result = recover_run(store, the_agent, run_id, force=force)
        except (NotRecoverable, NotFound) as exc:
            refused += 1
            err_console.print(f"[bold red]error:[/] {exc}")
            continue
        console.print(f"run {run_id}: recovered from step {before.usage.steps} "
                      f"(its process {before.owner or 'unknown'} was gone).")
        _say(result)
    if refused:
        raise typer.Exit(1)


@agent_app.command("stale")
def stale_cmd(agent: Annotated[str | None, typer.Option(help="Only runs of this agent")] = None,
              db: DbOption = None, json_: JsonOption = False):
    """Runs left running by a process that stopped heartbeating (died), to recover."""
    rows = stale_runs(store_for(db, read_only=True), agent)
    if json_:
        print_json([{"run_id": r.run_id, "agent": r.agent, "steps": r.steps, "owner": r.owner,
                     "heartbeat_age_s": round(r.heartbeat_age_s, 1), "lease_s": r.lease_s,
                     "in_flight": r.in_flight} for r in rows])
        return
    if not rows:
        console.print("No agent run is stale.")
        return
    table = Table(title=f"{len(rows)} stale agent run(s)")
    table.add_column("run", no_wrap=True)  # an id to copy, never folded
    for col in ("agent", "steps", "silent for", "owner", "in flight"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r.run_id, r.agent, str(r.steps), f"{r.heartbeat_age_s:.0f} s "
                      f"(lease {r.lease_s:g} s)", r.owner or "-", r.in_flight or "-")
    console.print(table)
    console.print("Recover them with: seamline agent recover AGENT RUN_ID | --all")


def _same_agent(name: str, agent: Agent, run_id: str) -> None:
    if name != agent.name:
        fail(f"Run {run_id} is a run of agent {name!r}, not {agent.name!r}; name its own agent.",
             2)


def _live(state) -> str:
    return (f"Run {state.id} is still running in another process ({state.owner or 'unknown'}, "
            f"which wrote {heartbeat_age(state):.1f} s ago, within its {state.lease_s:g}-second "
            "lease); it was not taken over. If that process is dead, wait for the lease to run "
            "out, then `seamline agent recover`.")


@agent_app.command("show")
def show_cmd(run_id: Annotated[str, typer.Argument(help="The run to show")], db: DbOption = None):
    """The run's status and every audited step (model calls, tool calls, pauses, the end)."""
    store = store_for(db)
    try:
        state = load_run(store, run_id)
    except NotFound as exc:
        fail(str(exc), 1)
    console.print(f"run [bold]{state.id}[/] of {state.agent}: {state.status}"
                  + (f" ({state.stop_reason})" if state.stop_reason else ""))
    console.print(f"task: {state.task}")
    with store.read() as conn:
        rows = conn.execute(select(audit_log.c.kind, audit_log.c.payload)
                            .where(audit_log.c.event_id == run_id).order_by(audit_log.c.seq)).all()
    for r in rows:
        if not r.payload:  # purged by retention, or erased: the row stays, its words do not
            console.print(f"  {r.kind}: [dim](payload purged)[/]", markup=True)
            continue
        p = json.loads(r.payload)
        if r.kind == "agent_model":
            calls = ", ".join(f"{c['name']}({json.dumps(c['arguments'])})"
                              for c in p["reply"]["tool_calls"]) or repr(p["reply"]["text"][:80])
            console.print(f"  step {p['step']} model {p['model']}: {calls} "
                          f"[dim]{p['duration_ms']:.0f} ms, ${p['cost_usd']:.6f}[/]", markup=True)
        elif r.kind == "agent_tool":
            out = (p.get("error") or (f"{p.get('reviewer')}: {p.get('comment')}"
                                      if p["status"] == "rejected" else "")
                   or json.dumps(p.get("result"))[:120])
            console.print(f"    tool {p['tool']} -> {p['status']}: {out} "
                          f"[dim]{p['duration_ms']:.0f} ms[/]")
        elif r.kind == "recovered":
            lost = " (a model call was lost and counted)" if p.get("lost_model_call") else ""
            flight = p.get("tool_in_flight")
            console.print(f"  recovered from step {p['from_step']}: {p['why']}{lost}"
                          + (f"; {flight['tool']} was in flight" if flight else ""))
        else:
            console.print(f"  {r.kind}: {json.dumps(p, ensure_ascii=False)[:160]}")
    if state.answer:
        console.print(state.answer)
