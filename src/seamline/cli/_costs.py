"""`seamline costs`: what the models cost, by integration, tenant, model and day, and where the caps stand.

A thin layer over :func:`seamline.inference._budget.spend_report`.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from seamline.cli._common import DbOption, JsonOption, console, fail, print_json, store_for
from seamline.inference import BREAKDOWNS, CapUsage, SpendReport, spend_report


def costs_cmd(
    db: DbOption = None,
    days: Annotated[int, typer.Option(min=1, help="How many UTC days back, today included.")] = 31,
    by: Annotated[str, typer.Option(
        help="Comma-separated breakdowns: integration, tenant, model, day.")] = ",".join(BREAKDOWNS),
    json_: JsonOption = False,
):
    """Report model spend by integration, tenant, model and day; project the month; show each cap."""
    wanted = [b.strip() for b in by.split(",") if b.strip()]
    unknown = [b for b in wanted if b not in BREAKDOWNS]
    if unknown or not wanted:
        fail(f"--by takes a comma-separated list of {', '.join(BREAKDOWNS)}; "
             f"got {', '.join(unknown) or 'nothing'}.", 2)
    store = store_for(db, read_only=True)
    try:
        with store.read() as conn:
            report = spend_report(conn, days)
    finally:
        store.close()
    if json_:
        print_json(as_document(report, wanted))
        return
    _print(report, wanted)


def as_document(report: SpendReport, wanted: list[str]) -> dict:
    """``costs --json``: the report as one object, the breakdowns asked for under ``by``."""
    by: dict[str, list[dict]] = {}
    for b in wanted:
        by[b] = [{"key": r.key, "events": r.events, "cost_usd": r.cost_usd} for r in report.by[b]]
    for row in by.get("integration", []):
        row["projected_month_usd"] = _project(report, report.month_by_integration.get(
            row["key"], 0.0))
    return {"days": report.days, "since": report.since, "total_usd": report.total_usd,
            "month": report.month, "month_to_date_usd": report.month_to_date_usd,
            "month_projection_usd": report.month_projection_usd, "by": by,
            "caps": [{"cap": c.cap, "scope": c.scope, "integration": c.integration,
                      "tenant": c.tenant, "spent_usd": c.spent_usd, "cap_usd": c.cap_usd,
                      "used": c.spent_usd / c.cap_usd if c.cap_usd else 1.0,
                      "kind": "soft" if c.soft else "hard", "alerted": list(c.alerted),
                      **({"degrading": bool(c.alerted)} if c.soft else {})}
                     for c in report.caps]}


def _print(report: SpendReport, wanted: list[str]) -> None:
    window = f"the last {report.days} day{'s' if report.days > 1 else ''} (since {report.since}, UTC)"
    if not report.by["integration"]:
        console.print(f"No model spend recorded in {window}.")
    else:
        console.print(f"Model spend in {window}: [bold]{usd(report.total_usd)}[/]")
        for b in wanted:
            table = Table(title=f"Spend by {b}", title_justify="left")
            table.add_column(b.title(), overflow="fold")
            table.add_column("Events", justify="right")
            table.add_column("Cost", justify="right")
            if b == "integration":
                table.add_column(f"Projected {report.month}", justify="right")
            for row in report.by[b]:
                cells = [escape(row.key), str(row.events), usd(row.cost_usd)]
                if b == "integration":
                    cells.append(usd(_project(report, report.month_by_integration.get(row.key, 0.0))))
                table.add_row(*cells)
            console.print(table)
    console.print(f"Month {report.month}: {usd(report.month_to_date_usd)} so far, "
                  f"projected [bold]{usd(report.month_projection_usd)}[/] at this pace.")
    if not report.caps:
        console.print("No cap has counted anything today or this month.")
        return
    caps = Table(title="Caps today and this month (spent includes calls in flight)",
                 title_justify="left")
    for name, justify in (("Cap", "left"), ("Kind", "left"), ("Integration", "left"),
                          ("Tenant / user", "left"), ("Spent", "right"), ("Limit", "right"),
                          ("Used", "right"), ("Alerted at", "left")):
        caps.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for c in sorted(report.caps, key=lambda c: (c.soft, c.integration, c.cap, c.tenant)):
        used = c.spent_usd / c.cap_usd if c.cap_usd else 1.0
        style = "red" if used >= 1 else "yellow" if used >= 0.8 else ""
        caps.add_row(c.cap, "soft" if c.soft else "hard",
                     "all" if c.integration == "*" else c.integration, escape(c.tenant),
                     usd(c.spent_usd), usd(c.cap_usd),
                     f"[{style}]{used:.0%}[/]" if style else f"{used:.0%}",
                     _alerted(c))
    console.print(caps)
    if any(c.soft for c in report.caps):
        console.print("A hard cap refuses the calls past it; past a soft cap, events run on "
                      "budgets.over_soft (a cheaper route or the baseline).")


def _alerted(c: CapUsage) -> str:
    """The shares that alerted; for a soft cap, whether it is sending events elsewhere."""
    if c.soft:
        return "degrading" if c.alerted else "-"
    return ", ".join(f"{share:.0%}" for share in c.alerted) or "-"


def _project(report: SpendReport, month_to_date: float) -> float:
    total = report.month_to_date_usd
    return report.month_projection_usd * month_to_date / total if total else 0.0


def usd(value: float) -> str:
    """Dollars to the cent, or to six places below one dollar (a call often costs a fraction of a cent)."""
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:.6f}"
