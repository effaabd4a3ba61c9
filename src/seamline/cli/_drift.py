"""``seamline drift``: what changed in the payloads at the edges, and the contracts known."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from seamline.cli._common import DbOption, JsonOption, console, iso, print_json, store_for
from seamline.contracts import Drift, contract_list, drift_report


def drift_cmd(
    db: DbOption = None,
    contract: Annotated[str | None, typer.Option(help="Only this source or connector")] = None,
    days: Annotated[float, typer.Option(help="How far back")] = 30.0,
    limit: Annotated[int, typer.Option(min=1, help="Show at most")] = 100,
    json_: JsonOption = False,
):
    """Drift at the edges (new fields, missing required fields, changed types), newest first,
    and every contract learned from traffic."""
    store = store_for(db, read_only=True)
    rows = drift_report(store, contract=contract, since=time.time() - days * 86400, limit=limit)
    if json_:  # a report of two lists: the drift seen, and the contracts known
        print_json({
            "drift": [{"at": iso(r.at), "direction": r.direction, "contract": r.contract,
                       "version": r.version, "change": r.change, "field": r.path,
                       "before": r.before, "after": r.after,
                       "sentence": Drift(r.direction, r.contract, r.version, r.path, r.change,
                                         r.before, r.after).sentence} for r in rows],
            "contracts": [{"direction": c.direction, "contract": c.name, "version": c.version,
                           "observations": c.observations, "first_seen_at": iso(c.first_seen),
                           "last_seen_at": iso(c.last_seen)} for c in contract_list(store)]})
        return
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
