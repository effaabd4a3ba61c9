"""``seamline alerts``: what needed a person's attention, newest first."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.table import Table

from seamline.alerts import list_alerts
from seamline.cli._common import DbOption, JsonOption, console, iso, print_json, store_for


def alerts_cmd(
    db: DbOption = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind, e.g. contract_drift")] = None,
    days: Annotated[float, typer.Option(help="How far back")] = 7.0,
    limit: Annotated[int, typer.Option(min=1, help="Show at most")] = 100,
    json_: JsonOption = False,
):
    """Alerts raised (drift at the edges, replies of unexpected shape, ...), newest first."""
    rows = list_alerts(store_for(db, read_only=True), kind=kind,
                       since=time.time() - days * 86400, limit=limit)
    if json_:
        print_json([{"at": iso(r.at), "severity": r.severity, "kind": r.kind,
                     "sentence": r.sentence, "labels": json.loads(r.labels)} for r in rows])
        return
    if not rows:
        console.print(f"No alerts in the last {days:g} days" + (f" of kind {kind}." if kind else "."))
        return
    table = Table(title=f"Alerts ({len(rows)})")
    for col in ("when (UTC)", "severity", "kind", "what", "labels"):
        table.add_column(col, overflow="fold")
    for r in rows:
        labels = ", ".join(f"{k}={v}" for k, v in json.loads(r.labels).items())
        table.add_row(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.at)), r.severity, r.kind,
                      r.sentence, labels)
    console.print(table)
