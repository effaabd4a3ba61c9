"""``seamline agent run | resume | show``: agent runs from the command line, a thin layer.

An agent is named as ``file.py:function`` (or ``module:function``) returning an
:class:`~seamline.agents.Agent`, so the CLI holds no agent configuration of its own.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy import select

from seamline.actions import decide
from seamline.agents import Agent, RunResult, load_run, resume_run, start_run
from seamline.cli._common import DbOption, console, fail, store_for
from seamline.errors import NotFound
from seamline.integration import resolve
from seamline.store._tables import audit_log

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
    run_id: Annotated[str, typer.Argument(help="The run to continue")],
    approve: Annotated[bool, typer.Option("--approve", help="Approve the waiting call first")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject the waiting call first")] = False,
    reviewer: Annotated[str | None, typer.Option(help="Who decides")] = None,
    comment: Annotated[str, typer.Option(help="Why (the model reads it on a rejection)")] = "",
    db: DbOption = None,
):
    """Continue a run after its approval was decided (here with --approve/--reject, or elsewhere)."""
    store = store_for(db)
    if approve and reject:
        fail("Pass --approve or --reject, not both.", 2)
    try:
        state = load_run(store, run_id)
        if (approve or reject) and state.pending is not None:
            decide(store, state.pending.outbox_id, approve=approve, reviewer=reviewer or "cli",
                   comment=comment)
    except NotFound as exc:
        fail(str(exc), 1)
    _say(resume_run(store, _agent(agent), run_id))


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
        p = json.loads(r.payload)
        if r.kind == "agent_model":
            calls = ", ".join(f"{c['name']}({json.dumps(c['arguments'])})"
                              for c in p["reply"]["tool_calls"]) or repr(p["reply"]["text"][:80])
            console.print(f"  step {p['step']} model {p['model']}: {calls} "
                          f"[dim]{p['duration_ms']:.0f} ms, ${p['cost_usd']:.6f}[/]", markup=True)
        elif r.kind == "agent_tool":
            out = p.get("error") or json.dumps(p.get("result"))[:120]
            console.print(f"    tool {p['tool']} -> {p['status']}: {out} "
                          f"[dim]{p['duration_ms']:.0f} ms[/]")
        else:
            console.print(f"  {r.kind}: {json.dumps(p, ensure_ascii=False)[:160]}")
    if state.answer:
        console.print(state.answer)
