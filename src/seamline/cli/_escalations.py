"""``seamline escalations``: events waiting because a cost cap would have been crossed."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

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
from seamline.runtime import OVER_BUDGET, Pipeline
from seamline.store.tables import events

escalations_app = typer.Typer(help="Events waiting over a cost cap.", no_args_is_help=True)


@escalations_app.command("list")
def escalations_list(
    json_: JsonOption = False,
    db: DbOption = None,
):
    """Events that were not sent because a cap would have been crossed, oldest first."""
    with store_for(db, read_only=True).read() as conn:
        rows = conn.execute(select(events.c.id, events.c.integration, events.c.tenant,
                                   events.c.reason, events.c.created_at)
                            .where(events.c.state == OVER_BUDGET).order_by(events.c.created_at)).all()
    now = time.time()
    if json_:
        print_json([{"id": r.id, "integration": r.integration, "tenant": r.tenant,
                     "reason": r.reason, "received_at": iso(r.created_at),
                     "waiting_s": round(now - r.created_at, 1)} for r in rows])
        return
    table = Table(title=f"{len(rows)} event(s) waiting over a cost cap")
    # 80 columns: the id never wraps (the integration goes below it); the reason folds at
    # word breaks.
    table.add_column("event", no_wrap=True)
    table.add_column("tenant", overflow="fold", max_width=12)
    table.add_column("why", overflow="fold", ratio=1)
    table.add_column("waiting", no_wrap=True, justify="right")
    for r in rows:
        table.add_row(f"{r.id}\n[dim]{r.integration}[/]", r.tenant or "-", r.reason,
                      f"{(now - r.created_at) / 60:.0f} min")
    console.print(table)


@escalations_app.command("release")
def escalations_release(
    event: Annotated[list[str] | None, typer.Argument(help="Event ids (default: --all)")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every waiting event")] = False,
    integration: Annotated[str | None, typer.Option(help="integration file, if declared in Python")] = None,
    db: DbOption = None,
):
    """Try waiting events again under today's caps (after raising a cap, or on a new day)."""
    store = store_for(db)
    q = select(events.c.id, events.c.integration).where(events.c.state == OVER_BUDGET)
    if not all_:
        if not event:
            fail("Name the events to release, or pass --all.", 2)
        q = q.where(events.c.id.in_(event))
    with store.read() as conn:
        rows = conn.execute(q.order_by(events.c.created_at)).all()
    if not rows and all_:
        console.print("Nothing is waiting.")  # not a failure: there was nothing to release
        return
    if not rows:
        fail(f"None of {', '.join(event or [])} is waiting over a cap "
             "(see `seamline escalations list`).", 1)
    pipelines: dict[str, Pipeline] = {}
    outcome: dict[str, int] = {}
    for r in rows:
        if r.integration not in pipelines:
            pipelines[r.integration] = Pipeline(integration_for(store, r.integration, integration),
                                                store)
        state = pipelines[r.integration].release(r.id).state
        outcome[state] = outcome.get(state, 0) + 1
    console.print("Released: " + ", ".join(f"{n} {s}" for s, n in sorted(outcome.items())) + ".")
