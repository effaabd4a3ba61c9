"""``seamline drift``: what changed in the payloads at the edges, and the contracts known."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from seamline.cli._common import DbOption, console, store_for
from seamline.contracts import Drift, contract_list, drift_report


def drift_cmd(
    db: DbOption = None,
    contract: Annotated[str | None, typer.Option(help="Only this source or connector")] = None,
    days: Annotated[float, typer.Option(help="How far back")] = 30.0,
    limit: Annotated[int, typer.Option(help="Show at most")] = 100,
):
    """Drift at the edges (new fields, missing required fields, changed types), newest first,
    and every contract learned from traffic."""
    store = store_for(db)
    rows = drift_report(store, contract=contract, since=time.time() - days * 86400, limit=limit)
    if rows:
        table = Table(title=f"Drift in the last {days:g} days ({len(rows)})")
        for col in ("when (UTC)", "direction", "contract", "version", "change", "field", "before",
                    "after"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(time.strftime("%Y-%m-%d %H:%M", time.gmtime(r.at)), r.direction,
                          r.contract, r.version, r.change, r.path, r.before, r.after)
        console.print(table)
        for r in rows[:10]:
            d = Drift(r.direction, r.contract, r.version, r.path, r.change, r.before, r.after)
            console.print(f"  • {d.sentence}")
    else:
        console.print("No drift" + (f" for {contract}" if contract else "") +
                      f" in the last {days:g} days.")
    known = contract_list(store)
    if known:
        table = Table(title="Contracts learned from traffic")
        for col in ("direction", "contract", "version", "payloads seen", "last seen (UTC)"):
            table.add_column(col)
        for c in known:
            table.add_row(c.direction, c.name, c.version, str(c.observations),
                          time.strftime("%Y-%m-%d %H:%M", time.gmtime(c.last_seen)))
        console.print(table)
