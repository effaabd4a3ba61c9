"""``seamline events``: what became of each event — the answer, the actions, cost and latency.

Read-only: no command here creates a store or changes one (`seamline run --out` writes its
results through write_results, below).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import or_, select

from seamline.cli._common import DbOption, JsonOption, console, fail, iso, print_json, store_for
from seamline.store.tables import events, outbox

events_app = typer.Typer(
    help="Events and what became of them: input (redacted), output, actions, cost, latency.",
    no_args_is_help=True)

IdsOption = Annotated[bool, typer.Option(
    "--ids", help="Print only the ids, one a line (for a shell: ID=$(seamline … --limit 1 --ids))")]
STATES = ("processing", "retrying", "acting", "succeeded", "dead_lettered",  # runtime's (a test)
          "awaiting_approval", "over_budget", "baseline", "duplicate", "rejected",
          "waiting_credentials")


def since_epoch(text: str, now: float | None = None) -> float:
    """Epoch seconds from a date (2026-11-01), a timestamp (2026-11-01T08:00) or an age
    such as 90m, 6h or 7d (that long ago); a sentence with exit 2 otherwise."""
    from seamline.durations import seconds
    from seamline.errors import ConfigError

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            return (now if now is not None else time.time()) - seconds(text)
        except ConfigError:
            fail(f"--since takes a date such as 2026-11-01, a time such as 2026-11-01T08:00, "
                 f"or an age such as 6h or 7d, not {text!r}.", 2)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))


def _loads(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _said(row: Any) -> str:
    """One line of what the event came to: the reason, else the answer's fields."""
    if row.reason:
        return f"{row.stage + ': ' if row.stage else ''}{row.reason}"
    out = _loads(row.output) or _loads(row.fallback_output)
    if not isinstance(out, dict):
        return ""
    short = [f"{v:g}" if isinstance(v, float) else str(v) for v in out.values()
             if isinstance(v, int | float) or (isinstance(v, str) and 0 < len(v) <= 24)]
    long = [v for v in out.values() if isinstance(v, str) and len(v) > 24]
    return " · ".join(short[:4]) + (f"\n{long[0]}" if long else "")


@events_app.command("list")
def events_list(
    state: Annotated[str | None, typer.Option(help="Only this state, e.g. dead_lettered")] = None,
    integration: Annotated[str | None, typer.Option(help="Only this integration (its name)")] = None,
    since: Annotated[str | None, typer.Option(
        help="Received since a date (2026-11-01), a time (2026-11-01T08:00, UTC) or an age "
             "(6h, 7d)")] = None,
    search: Annotated[str | None, typer.Option(
        help="Only events whose id, redacted input, output or reason contains this text")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first")] = 50,
    json_: JsonOption = False,
    ids: IdsOption = False,
    db: DbOption = None,
):
    """Events newest first: state, when, and what the model answered or why it did not."""
    if state is not None and state not in STATES:
        fail(f"The state {state!r} is unknown; use one of {', '.join(STATES)}.", 2)
    since_at = since_epoch(since) if since else None
    q = select(events).order_by(events.c.created_at.desc(), events.c.id.desc()).limit(limit)
    if state:
        q = q.where(events.c.state == state)
    if integration:
        q = q.where(events.c.integration == integration)
    if since_at is not None:
        q = q.where(events.c.created_at >= since_at)
    if search:
        q = q.where(or_(*(c.contains(search, autoescape=True) for c in (
            events.c.id, events.c.input, events.c.output, events.c.reason))))
    with store_for(db, read_only=True).read() as conn:
        rows = conn.execute(q).all()
    if json_:
        print_json([_summary(r) for r in rows])
        return
    if ids:
        typer.echo("".join(f"{r.id}\n" for r in rows), nl=False)
        return
    filters = [f for f in (state, integration, f"since {since}" if since else None,
                           f"matching {search!r}" if search else None) if f]
    table = Table(title=f"{len(rows)} event(s)" + (f" ({', '.join(filters)})" if filters else "")
                  + (f", the newest {limit}" if len(rows) == limit else ""), show_lines=True)
    # Fits 80 columns: the id never wraps (it is copied whole) and carries the integration
    # and the time (UTC) below it; the answer or the reason folds at word breaks.
    table.add_column("event", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("answer / reason", overflow="fold", ratio=1, min_width=20)
    for r in rows:
        table.add_row(f"{r.id}\n[dim]{r.integration}\n{_when(r.created_at)}[/]", r.state,
                      _said(r))
    console.print(table)
    if rows:
        console.print(f"[dim]seamline events show {rows[0].id}[/] tells one event's whole story.",
                      highlight=False, soft_wrap=True)


def _summary(r: Any) -> dict[str, Any]:
    return {"id": r.id, "integration": r.integration, "state": r.state, "stage": r.stage,
            "reason": r.reason, "path": r.path, "tenant": r.tenant, "model": r.model,
            "prompt_version": r.prompt_version, "cost_usd": r.cost_usd,
            "received_at": iso(r.created_at), "updated_at": iso(r.updated_at),
            "output": _loads(r.output)}


def _find(conn: Any, event: str) -> Any:
    row = conn.execute(select(events).where(events.c.id == event)).first()
    if row is not None:
        return row
    # A unique prefix is enough (ids are long to type).
    found = conn.execute(select(events).where(events.c.id.startswith(event, autoescape=True))
                         .limit(2)).all()
    if len(found) == 1:
        return found[0]
    if found:
        fail(f"More than one event starts with {event}; give more of the id.", 2)
    fail(f"There is no event {event}.", 1)


@events_app.command("show")
def events_show(
    event: Annotated[str, typer.Argument(help="Event id (or a unique start of it)")],
    json_: JsonOption = False,
    db: DbOption = None,
):
    """One event: input (redacted), output, actions and their status, cost, latency per layer."""
    store = store_for(db, read_only=True)
    with store.read() as conn:
        row = _find(conn, event)
        acts = conn.execute(select(outbox).where(outbox.c.event_id == row.id)
                            .order_by(outbox.c.id)).all()
    timings = _loads(row.timings) or {}
    detail = {
        **_summary(row),
        "duplicate_of": row.duplicate_of,
        "input": _loads(row.input),
        "baseline_output": _loads(row.fallback_output),
        "latency_ms": timings,
        "actions": [{"id": a.id, "action": a.action, "status": a.status,
                     "params": _loads(a.params), "approval_reason": a.approval_reason,
                     "attempts": a.attempts, "last_error": a.last_error,
                     "result": _loads(a.result), "decided_by": a.decided_by,
                     "comment": a.comment} for a in acts],
    }
    if json_:
        print_json(detail)
        return
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold", no_wrap=True)
    head.add_column(overflow="fold")
    for label, value in (
            ("event", row.id), ("integration", row.integration),
            ("state", row.state + (f" ({row.stage}: {row.reason})" if row.reason else "")),
            ("path", row.path or "-"), ("tenant", row.tenant or "-"),
            ("model", row.model or "-"), ("prompt version", row.prompt_version or "-"),
            ("received", f"{_when(row.created_at)} UTC"),
            ("cost", f"${row.cost_usd:.6f}"),
            ("latency", _latency(timings)),
            *([("duplicate of", row.duplicate_of)] if row.duplicate_of else [])):
        head.add_row(label, str(value))
    console.print(head)
    for title, value in (("input (redacted)", detail["input"]), ("output", detail["output"]),
                         ("baseline's answer", detail["baseline_output"])):
        if value is not None:
            console.rule(f"[bold]{title}", align="left")
            console.print_json(json.dumps(value, ensure_ascii=False))
    console.rule(f"[bold]actions ({len(acts)})", align="left")
    if not acts:
        console.print("No action was planned.")
    for a in detail["actions"]:
        why = f" — waits: {a['approval_reason']}" if a["approval_reason"] else ""
        err = f" — last error: {a['last_error']}" if a["last_error"] else ""
        console.print(f"#{a['id']} [bold]{a['action']}[/] {a['status']}{why}{err}",
                      highlight=False)
        console.print_json(json.dumps(a["params"], ensure_ascii=False))
    console.print(f"[dim]seamline audit show {row.id}[/] has every step, hash-chained.",
                  highlight=False, soft_wrap=True)


def _latency(timings: dict[str, float]) -> str:
    if not timings:
        return "-"
    total = timings.get("total", sum(v for v in timings.values() if isinstance(v, int | float)))
    parts = ", ".join(f"{k} {v:.1f}" for k, v in timings.items() if k != "total")
    return f"{total:.1f} ms ({parts})"



@events_app.command("actions")
def events_actions(
    status: Annotated[str | None, typer.Option(
        help="Only this status, e.g. awaiting_approval (the ids `seamline approvals` takes)")] = None,
    integration: Annotated[str | None, typer.Option(help="Only this integration")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, oldest first")] = 50,
    json_: JsonOption = False,
    ids: IdsOption = False,
    db: DbOption = None,
):
    """Actions of events (the outbox), oldest first: id, event, status and why one waits."""
    q = select(outbox).order_by(outbox.c.id).limit(limit)
    if status:
        q = q.where(outbox.c.status == status)
    if integration:
        q = q.where(outbox.c.integration == integration)
    with store_for(db, read_only=True).read() as conn:
        rows = conn.execute(q).all()
    if ids:
        typer.echo("".join(f"{r.id}\n" for r in rows), nl=False)
        return
    if json_:
        print_json([{"id": r.id, "event_id": r.event_id, "integration": r.integration,
                     "action": r.action, "status": r.status,
                     "approval_reason": r.approval_reason, "params": _loads(r.params),
                     "attempts": r.attempts, "last_error": r.last_error,
                     "created_at": iso(r.created_at)} for r in rows])
        return
    table = Table(title=f"{len(rows)} action(s)" + (f" ({status})" if status else ""))
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("action · event", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("why it waits, or the error", overflow="fold", ratio=1, min_width=16)
    for r in rows:
        table.add_row(str(r.id), f"{r.action}\n[dim]{r.event_id}[/]", r.status,
                      r.approval_reason or r.last_error or "")
    console.print(table)


def results_path(out: Path) -> Path:
    """``seamline run --out``: where the results go, refused (exit 2) before the run when
    its folder does not exist or it is a folder."""
    if not out.parent.is_dir():
        fail(f"The folder {out.parent} of --out does not exist; nothing was run.", 2)
    if out.is_dir():
        fail(f"--out {out} is a folder; give a file such as {out / 'results.jsonl'}.", 2)
    return out


def write_results(results: Sequence[Any], out: Path) -> None:
    """One JSON line per event of a run, in input order (``seamline run --out``)."""
    with out.open("w", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps({
                "id": r.event_id, "state": r.state, "stage": r.stage, "reason": r.reason,
                "path": r.path, "output": r.output, "baseline_output": r.fallback_output,
                "duplicate_of": r.duplicate_of, "cost_usd": r.cost_usd,
                "latency_ms": r.timings_ms, "actions_awaiting_approval": r.awaiting,
            }, ensure_ascii=False, default=str) + "\n")
    console.print(f"Wrote {len(results)} result(s) to {out} (one JSON line per event).",
                  highlight=False, soft_wrap=True)
