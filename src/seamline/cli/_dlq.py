"""``seamline dlq list | show | redrive``: the dead-letter queue as a first-class place."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from seamline.cli._common import (
    DbOption,
    JsonOption,
    console,
    fail,
    integration_for,
    iso,
    print_json,
    store_for,
)
from seamline.errors import NotFound
from seamline.runtime import dead_letter, dead_letters_now

# Redriving builds pipelines (every layer) and a progress bar: imported by `dlq redrive`
# only, so that `dlq list` and `dlq show` answer without them.

dlq_app = typer.Typer(help="The dead-letter queue: inspect, and redrive once the cause is fixed.",
                      no_args_is_help=True)

NameOption = Annotated[str | None, typer.Option("--name", help="Only this integration's events")]
ReasonOption = Annotated[str | None, typer.Option(
    help="Only events whose reason contains this text")]
StageOption = Annotated[str | None, typer.Option(help="Only events that died at this stage")]


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


@dlq_app.command("list")
def dlq_list(db: DbOption = None, name: NameOption = None, reason: ReasonOption = None,
             stage: StageOption = None,
             limit: Annotated[int, typer.Option(min=1, help="Show at most")] = 50,
             json_: JsonOption = False):
    """Events in the dead-letter queue now, newest first, with stage, reason and last error."""
    rows = dead_letters_now(store_for(db, read_only=True), integration=name, reason=reason,
                            stage=stage, limit=limit)
    if json_:
        print_json([{"event_id": r.event_id, "integration": r.integration, "stage": r.stage,
                     "reason": r.reason, "last_error": r.last_error, "dead_at": iso(r.dead_at),
                     "times": r.times} for r in rows])
        return
    if not rows:
        console.print("The dead-letter queue is empty" + (" for that filter." if
                                                           name or reason or stage else "."))
        return
    table = Table(title=f"Dead letters (newest {len(rows)})", show_lines=True)
    # Fits 80 columns: the id never wraps (it is copied whole into `dlq show`/`redrive`) and
    # carries the integration and the time below it; the reason wraps at word breaks, with
    # the last error (cut at 200 characters; `dlq show` has all of it) under it.
    table.add_column("event · integration · died (UTC)", no_wrap=True)
    table.add_column("stage", no_wrap=True)
    table.add_column("reason · last error", overflow="fold", ratio=1, min_width=20)
    table.add_column("times", justify="right", no_wrap=True)
    for r in rows:
        error = r.last_error if len(r.last_error) <= 200 else r.last_error[:199] + "…"
        table.add_row(f"{r.event_id}\n[dim]{escape(r.integration)}\n{_when(r.dead_at)}[/]",
                      r.stage, escape(r.reason) + (f"\n[dim]{escape(error)}[/]" if error else ""),
                      str(r.times))
    console.print(table)
    by_reason = Counter(f"{r.stage}: {r.reason[:80]}" for r in rows)
    if len(by_reason) > 1:
        summary = Table(title="By reason")
        summary.add_column("stage: reason", overflow="fold", ratio=1)
        summary.add_column("events", justify="right", no_wrap=True)
        for what, n in by_reason.most_common():
            summary.add_row(escape(what), str(n))
        console.print(summary)


@dlq_app.command("show")
def dlq_show(event: Annotated[str, typer.Argument(help="Event id")], db: DbOption = None,
             json_: JsonOption = False):
    """One dead letter: why, the last error, and the (redacted) input it will be redriven with."""
    try:
        d = dead_letter(store_for(db, read_only=True), event)
    except NotFound as exc:
        fail(str(exc), 1)
    if json_:
        print_json({"event_id": d.event_id, "integration": d.integration, "stage": d.stage,
                    "reason": d.reason, "last_error": d.last_error, "dead_at": iso(d.dead_at),
                    "times": d.times, "input": d.input})
        return
    console.print(f"[bold]{d.event_id}[/] of {d.integration}, dead since {_when(d.dead_at)} UTC "
                  f"({d.times} time(s))")
    console.print(f"[bold]stage:[/] {d.stage}\n[bold]reason:[/] {d.reason}")
    if d.last_error:
        console.print(f"[bold]last error:[/] {d.last_error}")
    console.print("[bold]input (redacted):[/]")
    console.print_json(json.dumps(d.input, ensure_ascii=False))
    console.print(f"Redrive with: seamline dlq redrive {d.event_id}")


@dlq_app.command("redrive")
def dlq_redrive(
    events_: Annotated[list[str] | None, typer.Argument(metavar="[EVENT]...",
                                                           help="Event ids to redrive")] = None,
    reason: ReasonOption = None, stage: StageOption = None, name: NameOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Every event in the dead-letter queue")] = False,
    integration: Annotated[str | None, typer.Option(
        help="The integration as it is now (file or module:attr); default: the one each "
             "event was run with")] = None,
    enqueue: Annotated[bool, typer.Option(
        help="Hand the redrives to workers instead of running them here")] = False,
    db: DbOption = None,
):
    """Run dead-lettered events again (one, by reason, or all) without acting twice."""
    from seamline.cli._run import _progress
    from seamline.queue import JobQueue
    from seamline.runtime import Pipeline

    if not (events_ or reason or stage or all_):
        fail("Name events, or choose --reason TEXT, --stage STAGE or --all.", 2)
    store = store_for(db)
    spec = integration_for(store, "", integration) if integration else None
    rows = dead_letters_now(store, integration=spec.name if spec else name, reason=reason,
                            stage=stage, event_ids=tuple(events_ or ()))
    missing = set(events_ or ()) - {r.event_id for r in rows}
    if missing:
        fail(f"Not in the dead-letter queue{' of ' + spec.name if spec else ''}: "
             f"{', '.join(sorted(missing))}.", 1)
    if not rows:
        console.print("Nothing to redrive: no dead letter matches.")
        return
    by_integration: dict[str, list[str]] = {}
    for r in reversed(rows):  # oldest first
        by_integration.setdefault(r.integration, []).append(r.event_id)
    if enqueue:
        q = JobQueue(store)
        for iname, ids in by_integration.items():
            q.enqueue_redrive(iname, ids)
        console.print(f"Queued {len(rows)} redrive(s) for workers.")
        return
    outcomes: Counter[str] = Counter()
    still: list[tuple[str, str]] = []
    with _progress() as progress:
        task = progress.add_task("Redriving", total=len(rows))
        for iname, ids in by_integration.items():
            pipeline = Pipeline(spec or integration_for(store, iname), store)
            for event_id in ids:
                try:
                    result = pipeline.redrive(event_id, actor="cli")
                    outcomes[result.state] += 1
                    if result.reason:
                        still.append((event_id, result.reason))
                except NotFound as exc:
                    outcomes["skipped"] += 1
                    still.append((event_id, str(exc)))
                progress.advance(task)
    table = Table(title=f"Redrove {len(rows)} event(s)")
    table.add_column("state")
    table.add_column("events", justify="right")
    for state, n in outcomes.most_common():
        table.add_row(state, str(n))
    console.print(table)
    for event_id, why in still[:20]:
        console.print(f"  [dim]{event_id}:[/] {why}")
