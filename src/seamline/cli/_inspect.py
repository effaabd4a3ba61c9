"""Commands that look at and act on what is stored: replay, approvals, flags (audit: _audit)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from seamline.actions import EditRefused, decide, list_awaiting, outbox_row
from seamline.cli._common import (
    DbOption,
    JsonOption,
    NewFlagOption,
    console,
    fail,
    integration_for,
    iso,
    known_flag,
    print_json,
    store_for,
)
from seamline.errors import NotFound
from seamline.store.tables import events

# The runtime (every layer) and the rollout flags are imported by the commands that use
# them: `approvals list` reads one table and answers in well under a second without them.

approvals_app = typer.Typer(help="The human approval queue.", no_args_is_help=True)
flag_app = typer.Typer(help="Rollout flags: on, off or a sticky percentage.", no_args_is_help=True)


def replay_cmd(
    event: Annotated[str, typer.Argument(help="Event id")],
    integration: Annotated[str | None, typer.Option(
        help="The integration to replay with (another prompt version or model route)")] = None,
    model: Annotated[str | None, typer.Option(
        help="Another model of the same provider, e.g. local-words")] = None,
    db: DbOption = None,
):
    """Rerun a recorded event with another prompt version or model, without acting; show the difference."""
    store = store_for(db)
    with store.read() as conn:
        name = conn.execute(select(events.c.integration).where(events.c.id == event)).scalar()
    if name is None:
        fail(f"There is no event {event}.", 1)
    spec = integration_for(store, name, integration)
    if model:
        spec = spec.model_copy(update={"model": spec.model.model_copy(update={"model": model})})
    from seamline.runtime import replay

    result = replay(store, event, spec)
    table = Table(title=f"Replay of {event}")
    table.add_column("")
    table.add_column("recorded")
    table.add_column("replayed")
    table.add_row("prompt version", result.old_version, result.new_version)
    table.add_row("model", result.old_model, result.new_model)
    old, new = result.old_output or {}, result.new_output or {}
    for key in sorted(set(old) | set(new)):
        mark = "[yellow]" if key in result.changed_fields else ""
        table.add_row(f"{mark}{key}", json.dumps(old.get(key), ensure_ascii=False),
                      json.dumps(new.get(key), ensure_ascii=False))
    console.print(table)
    if result.error:
        console.print(f"[red]The replay produced no valid output:[/] {result.error}")
    for note in result.notes:
        console.print(f"[yellow]{note}[/]")
    console.print(f"{len(result.changed_fields)} field(s) changed; nothing was acted on.")


@approvals_app.command("list")
def approvals_list(db: DbOption = None, json_: JsonOption = False,
                   integration: Annotated[str | None, typer.Option(
                       help="Only this integration's actions")] = None):
    """Actions waiting for a person, with what they will do and why they wait."""
    from seamline.actions import in_doubt

    rows = list_awaiting(store_for(db, read_only=True), integration)
    if json_:
        print_json([{"id": r.id, "event_id": r.event_id, "integration": r.integration,
                     "action": r.action, "approval_reason": r.approval_reason,
                     "in_doubt": in_doubt(r), "params": _loads(r.params),
                     "output": _loads(r.output), "attempts": r.attempts,
                     "created_at": iso(r.created_at)} for r in rows])
        return
    table = Table(title=f"{len(rows)} action(s) awaiting approval", show_lines=True)
    # Fits 80 columns: the id and the event id never wrap (they are typed into `approvals
    # approve`, `events show`); the rest wraps at word breaks in one wide column: why it
    # waits, what the model said, and the params it will run with, one a line.
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("action · event", overflow="fold", min_width=27, max_width=34)
    table.add_column("why it waits · what the model said · will run with", overflow="fold",
                     ratio=1, min_width=24)
    for r in rows:
        out = _loads(r.output)
        out = out if isinstance(out, dict) else {}
        # The answer's short fields on one line (category=support · confidence=0.93), then
        # its first long text (a summary) below.
        said = " · ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in out.items() if isinstance(v, bool | int | float)
                          or (isinstance(v, str) and len(v) <= 24))
        long = next((v for v in out.values() if isinstance(v, str) and len(v) > 24), "")
        said += f"\n{_short(long, 300)}" if long else ""
        params = _loads(r.params)
        runs = ("\n".join(f"{k} = {_short(v)}" for k, v in params.items())
                if isinstance(params, dict) else str(params))
        doubt = "[bold yellow]in doubt:[/] resolve with --resend, --done or --cancel\n" \
            if in_doubt(r) else ""
        table.add_row(str(r.id), f"[bold]{escape(r.action)}[/]\n[dim]{r.event_id}[/]",
                      f"{doubt}{escape(r.approval_reason or '')}\n[italic]{escape(said)}[/]"
                      f"\n[dim]{escape(runs)}[/]")
    console.print(table)


def _loads(text: str | None):
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _short(value, width: int = 120) -> str:
    """A value on one line, cut with an ellipsis past ``width`` (`events show` has it all)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[:width - 1] + "…"


def _reviewer(reviewer: str | None) -> str:
    import getpass

    return reviewer or getpass.getuser()


def _settle(store, row) -> str:
    """Run what the decision released and settle the event's state, as the pipeline does."""
    if row.action.startswith("tool:"):  # an agent's tool call: its run resumes, not a pipeline
        return (f"agent run {row.event_id} goes on with: seamline agent resume AGENT "
                f"{row.event_id}")
    spec = integration_for(store, row.integration, None)
    with store.read() as conn:
        path = conn.execute(select(events.c.path).where(events.c.id == row.event_id)).scalar()
    from seamline.runtime import settle_actions

    state, _, reason = settle_actions(spec, store, row.event_id, path or "ai")
    return f"event {row.event_id} is {state}{': ' + reason if reason else ''}"


def _edits(pairs: list[str]) -> dict:
    """``["amount=40", "note=call back"]`` -> ``{"amount": 40, "note": "call back"}``."""
    edited = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--edit takes key=value, not {pair!r}.", 2)
        try:
            edited[key.strip()] = json.loads(value)
        except ValueError:
            edited[key.strip()] = value
    return edited


@approvals_app.command("approve")
def approvals_approve(
    id: Annotated[int, typer.Argument(help="Action id from `approvals list`")],
    reviewer: Annotated[str | None, typer.Option(help="Who decides (default: you)")] = None,
    comment: Annotated[str, typer.Option(help="Why")] = "",
    edit: Annotated[list[str] | None, typer.Option(
        "--edit", help="Change a declared param before it runs: key=value (JSON or text); "
                       "repeat for several")] = None,
    db: DbOption = None,
):
    """Approve a waiting action (edited with --edit, if need be) and run it now."""
    store = store_for(db)
    edited = _edits(edit or [])
    try:
        row = decide(store, id, approve=True, reviewer=_reviewer(reviewer), comment=comment,
                     edited_params=edited or None)
    except NotFound as exc:
        fail(str(exc), 1)
    except EditRefused as exc:
        fail(str(exc), 2)
    settled = _settle(store, row)
    console.print(f"Action {id} ({row.action}) approved: it is {outbox_row(store, id).status}; {settled}.")


@approvals_app.command("resolve")
def approvals_resolve(
    id: Annotated[int, typer.Argument(help="Action id from `approvals list` (one in doubt)")],
    resend: Annotated[bool, typer.Option("--resend", help="It did not take effect: send it "
                                         "again, with the same idempotency key")] = False,
    done: Annotated[bool, typer.Option("--done", help="It took effect: record it as done, "
                                       "send nothing")] = False,
    cancel: Annotated[bool, typer.Option("--cancel", help="It must not run (again)")] = False,
    comment: Annotated[str, typer.Option("--comment", "-c", help="What you checked")] = "",
    reviewer: Annotated[str | None, typer.Option(help="Who decides (default: you)")] = None,
    db: DbOption = None,
):
    """Decide an action in doubt ("may have run at 10:42:07, worker 1151 died"): after
    checking the receiver, resend it, mark it done, or cancel it."""
    from seamline.actions import resolve_in_doubt

    chosen = [name for name, on in (("resend", resend), ("done", done), ("cancel", cancel)) if on]
    if len(chosen) != 1:
        fail("Say what became of it with exactly one of --resend, --done or --cancel.", 2)
    store = store_for(db)
    try:
        row = resolve_in_doubt(store, id, chosen[0], reviewer=_reviewer(reviewer),  # type: ignore[arg-type]
                               comment=comment)
    except NotFound as exc:
        fail(str(exc), 1)
    try:
        settled = _settle(store, row)
    except typer.Exit:  # the integration is not at hand here (declared in Python, say)
        settled = (f"event {row.event_id} settles when a worker or server of "
                   f"{row.integration} next runs it")
    console.print(f"Action {id} ({row.action}) resolved ({chosen[0]}) by {row.decided_by}; "
                  f"{settled}.")


@approvals_app.command("reject")
def approvals_reject(
    id: Annotated[int, typer.Argument(help="Action id from `approvals list`")],
    comment: Annotated[str, typer.Option("--comment", "-c", help="Why it was rejected")] = "",
    reviewer: Annotated[str | None, typer.Option(help="Who decides (default: you)")] = None,
    db: DbOption = None,
):
    """Reject a waiting action; it will never run. The comment goes to the audit trail."""
    store = store_for(db)
    if not comment.strip():
        fail("A rejection needs a --comment saying why.", 2)
    try:
        row = decide(store, id, approve=False, reviewer=_reviewer(reviewer), comment=comment)
    except NotFound as exc:
        fail(str(exc), 1)
    console.print(f"Action {id} ({row.action}) rejected by {row.decided_by}; {_settle(store, row)}.")


@flag_app.command("show")
def flag_show(db: DbOption = None, json_: JsonOption = False):
    """Every flag that was set, with its reason."""
    from seamline.rollout import Flags

    rows = Flags(store_for(db, read_only=True)).all()
    if json_:
        print_json([{"name": name, "mode": mode, "percent": pct, "reason": reason,
                     "updated_at": iso(at)} for name, mode, pct, reason, at in rows])
        return
    table = Table(title="Flags")
    for col in ("flag", "mode", "percent", "reason"):
        table.add_column(col, overflow="fold")
    for name, mode, pct, reason, _ in rows:
        table.add_row(name, mode, f"{pct:g}", escape(reason))
    console.print(table)


@flag_app.command("set")
def flag_set(
    name: Annotated[str, typer.Argument(help="Flag name, e.g. support_triage.ai")],
    value: Annotated[str, typer.Argument(help="on, off, or a percentage such as 25")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the audit trail)")],
    db: DbOption = None,
    new: NewFlagOption = False,
):
    """Flip a flag; it takes effect at once, without a deploy. Above 0% its integration must
    pass its signed-off golden set first (docs/golden-signoff.md)."""
    store = store_for(db)
    known_flag(store, name, value, new=new)  # a typo is refused, not a new flag
    from seamline.rollout import Flags, check_go_live

    check_go_live(store, None, flag=name, value=value)  # eval-first go-live
    state = Flags(store).set(name, value, reason=reason)
    console.print(f"Flag {name} is now {state.mode}"
                  + (f" at {state.percent:g}%" if state.mode == "percent" else "") + ".")
