"""``seamline backfill``: re-run past events after a fix and show what changed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from seamline.cli._common import DbOption, console, fail, store_for
from seamline.cli._run import _progress
from seamline.integration import load_integration
from seamline.runtime import BackfillChange, Pipeline, backfill_event, select_events


def _moment(text: str | None, what: str) -> float | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{what} must be a date or time like 2026-11-01 or 2026-11-01T09:30, not {text!r}.", 2)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def backfill_cmd(
    integration: Annotated[str, typer.Argument(help="The integration as it is now")],
    since: Annotated[str | None, typer.Option(help="From this UTC date/time (inclusive)")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this UTC date/time (exclusive)")] = None,
    state: Annotated[list[str] | None, typer.Option(help="Only events in this state")] = None,
    event: Annotated[list[str] | None, typer.Option(help="Only these event ids")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many events")] = None,
    apply: Annotated[bool, typer.Option(
        help="Adopt the new outputs and run actions that never ran (never one that did)")] = False,
    db: DbOption = None,
):
    """Ask the model again for a range of past events; show every field that changed."""
    spec = load_integration(integration)
    store = store_for(db)
    ids = select_events(store, spec.name, since=_moment(since, "--since"),
                        until=_moment(until, "--until"), states=tuple(state or ()),
                        ids=tuple(event or ()), limit=limit)
    if not ids:
        console.print("No past events of that integration in that range.")
        return
    pipeline = Pipeline(spec, store)
    changes: list[BackfillChange] = []
    with _progress() as progress:
        task = progress.add_task("Backfilling" + (" (applying)" if apply else " (dry run)"),
                                 total=len(ids))
        for event_id in ids:
            changes.append(backfill_event(pipeline, event_id, apply=apply))
            progress.advance(task)
    _show(changes, apply)


def _show(changes: list[BackfillChange], apply: bool) -> None:
    changed = [c for c in changes if c.changed and not c.error]
    if changed:
        table = Table(title=f"What changed ({len(changed)} event(s))")
        for col in ("event", "field", "before", "after"):
            table.add_column(col, overflow="fold")
        for c in changed[:200]:
            for i, (fld, (old, new)) in enumerate(c.changed.items()):
                table.add_row(c.event_id if i == 0 else "", fld, _short(old), _short(new))
        console.print(table)
    outcomes = Counter(c.outcome for c in changes)
    summary = Table(title="Backfill" + (" (applied)" if apply else " (dry run: nothing acted)"))
    summary.add_column("")
    summary.add_column("events", justify="right")
    for what in ("unchanged", "changed", "failed"):
        summary.add_row(what, str(outcomes.get(what, 0)))
    if apply:
        summary.add_row("new actions run", str(sum(len(c.new_actions) for c in changes)))
        summary.add_row("actions already done (not repeated)",
                        str(sum(len(c.already_acted) for c in changes)))
    summary.add_row("cost (USD)", f"{sum(c.cost_usd for c in changes):.6f}")
    console.print(summary)
    for c in [c for c in changes if c.error][:20]:
        console.print(f"  [yellow]{c.event_id}:[/] {c.error}")


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."
