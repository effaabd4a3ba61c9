"""``seamline feedback``: record ground truth, see accuracy over time, watch for drift.

A thin layer over ``seamline.eval._feedback`` and ``seamline.eval._production``.
"""

from __future__ import annotations

import getpass
import json
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from seamline.cli._common import (
    DbOption,
    JsonOption,
    console,
    existing_file,
    fail,
    iso,
    print_json,
    stop_on_signals,
    store_for,
)
from seamline.errors import ConfigError, NotFound
from seamline.eval import (
    ProductionScore,
    TruthRefused,
    accuracy_over_time,
    import_truths,
    latest_runs,
    parse_duration,
    record_truth,
    sparkline,
    utc,
    watch,
)
from seamline.integration import Integration, load_integration

feedback_app = typer.Typer(no_args_is_help=True,
                           help="Ground truth for events, accuracy over time, drift alerts.")

IntegrationOption = Annotated[
    str | None,
    typer.Option("--integration", "-i",
                 help="The integration file or module:attr (needed when it was declared in "
                      "Python; otherwise the file it was run from is used)."),
]
ActorOption = Annotated[str | None, typer.Option(help="Who says so (default: your user name)")]


def _integration(target: str | None) -> Integration | None:
    if not target:
        return None
    try:
        return load_integration(target)
    except ConfigError as exc:
        fail(str(exc), 2)
        raise  # unreachable: fail exits


def _actor(given: str | None) -> str:
    if given:
        return given
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _value(text: str) -> Any:
    """``refund`` is a string, ``20`` a number, ``true`` a boolean, ``"20"`` the string 20."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@feedback_app.command("record")
def record_cmd(
    event: Annotated[str, typer.Argument(help="The event id")],
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="field=value (repeat for more fields)")] = None,
    json_: Annotated[str | None, typer.Option("--json", help="The truth as a JSON object")] = None,
    integration: IntegrationOption = None,
    actor: ActorOption = None,
    db: DbOption = None,
):
    """Record what an event's output should have been (only the fields given are scored)."""
    if bool(set_) == bool(json_):
        fail("Give the truth either with --set field=value ... or with --json '{...}'.", 2)
    truth: dict[str, Any] = {}
    if json_:
        try:
            truth = json.loads(json_)
        except ValueError as exc:
            fail(f"--json is not valid JSON: {exc}.", 2)
        if not isinstance(truth, dict):
            fail("--json must be a JSON object of output fields.", 2)
    for item in set_ or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--set {item!r} must look like field=value.", 2)
        truth[key.strip()] = _value(value)
    store = store_for(db)
    try:
        recorded = record_truth(store, event, truth, source="cli", actor=_actor(actor),
                                integration=_integration(integration))
    except NotFound as exc:
        fail(str(exc), 1)
    except TruthRefused as exc:
        fail(str(exc), 2)
    console.print(f"Recorded the truth of {recorded.event_id} ({recorded.integration}): "
                  f"{json.dumps(recorded.truth, ensure_ascii=False)}, by {recorded.actor}.")


@feedback_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help='JSONL: {"event_id": ..., "truth": {...}} a line')],
    integration: IntegrationOption = None,
    actor: ActorOption = None,
    db: DbOption = None,
):
    """Record ground truth in bulk; bad lines are listed and the rest recorded."""
    existing_file(file, "feedback file")
    spec = _integration(integration)
    store = store_for(db)
    with file.open(encoding="utf-8") as lines:
        report = import_truths(store, lines, actor=_actor(actor),
                               integrations_by_name={spec.name: spec} if spec else None)
    console.print(f"Recorded {report.recorded} truths from {file}; refused "
                  f"{len(report.refused)} lines.")
    for n, sentence in report.refused[:50]:
        console.print(f"  line {n}: {sentence}")
    if report.refused:
        raise typer.Exit(1)


@feedback_app.command("accuracy")
def accuracy_cmd(
    integration: Annotated[str, typer.Argument(help="The integration's name")],
    by: Annotated[str, typer.Option(help="day or week")] = "day",
    days: Annotated[float, typer.Option(help="How far back")] = 90.0,
    db: DbOption = None,
    json_: JsonOption = False,
):
    """Accuracy over time per field, for events with ground truth."""
    if by not in ("day", "week"):
        fail(f"--by is day or week, not {by!r}.", 2)
    buckets = accuracy_over_time(store_for(db, read_only=True), integration, by=by,
                                 since=time.time() - days * 86400)
    if json_:  # accuracy is a share 0..1, null where no event had that field's truth
        print_json([{"start_at": iso(b.start), "events": b.events,
                     "accuracy": {f: b.accuracy(f) for f in sorted(b.total)},
                     "overall": b.overall} for b in buckets])
        return
    if not buckets:
        console.print(f"No events of {integration} with ground truth in the last {days:g} days.")
        return
    fields = sorted({f for b in buckets for f in b.total})
    table = Table(title=f"Accuracy of {integration} by {by} (events with ground truth)")
    for col in (by + " (UTC)", "events", *fields, "all fields"):
        table.add_column(col, justify="left" if col.endswith("(UTC)") else "right")
    for b in buckets:
        cells = [_pct(b.accuracy(f)) for f in fields]
        table.add_row(time.strftime("%Y-%m-%d", time.gmtime(b.start)), str(b.events), *cells,
                      _pct(b.overall))
    console.print(table)
    console.print(f"all fields  {sparkline(b.overall for b in buckets)}")
    for f in fields:
        console.print(f"{f:<11} {sparkline(b.accuracy(f) for b in buckets)}")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


@feedback_app.command("runs")
def runs_cmd(
    integration: Annotated[str, typer.Argument(help="The integration's name")],
    limit: Annotated[int, typer.Option(min=1, help="Show at most")] = 20,
    db: DbOption = None,
    json_: JsonOption = False,
):
    """The latest production evals: window, score, baseline, and the likely layer of a drop."""
    rows = latest_runs(store_for(db, read_only=True), integration, limit=limit)
    if json_:
        print_json([{"id": r.id, "window_start_at": iso(r.window_start),
                     "window_end_at": iso(r.window_end), "events": r.examples,
                     "score": r.score, "baseline": (d := json.loads(r.details)).get("baseline"),
                     "alerted": bool(d.get("alerted")), "layer": d.get("layer"),
                     "repeated": bool(d.get("repeated"))} for r in rows])
        return
    if not rows:
        console.print(f"No production eval of {integration} yet; run seamline feedback watch.")
        return
    table = Table(title=f"Production evals of {integration} (newest first)")
    for col in ("window (UTC)", "events", "score", "baseline", "drift"):
        table.add_column(col, justify="left" if col in ("window (UTC)", "drift") else "right")
    for r in rows:
        details = json.loads(r.details)
        base = details.get("baseline")
        drift = ""
        if details.get("alerted"):
            drift = f"{details.get('layer') or 'unknown'}" + (" (repeat)" if details.get(
                "repeated") else "")
        table.add_row(f"{utc(r.window_start)} to {utc(r.window_end)}", str(r.examples),
                      "–" if r.score is None else f"{r.score:.1f}",
                      "–" if base is None else f"{base:.1f}", drift)
    console.print(table)


@feedback_app.command("watch")
def watch_cmd(
    integration: Annotated[str, typer.Argument(help="The integration's name")],
    every: Annotated[str, typer.Option(help="How often, e.g. 15m")] = "15m",
    window: Annotated[str, typer.Option(help="How far back each eval looks, e.g. 1d")] = "1d",
    baseline: Annotated[float | None, typer.Option(
        help="A declared baseline score (0-100) instead of the median of recent runs")] = None,
    once: Annotated[bool, typer.Option("--once", help="Run once and exit (for cron)")] = False,
    db: DbOption = None,
):
    """Score recent events with ground truth on a schedule; alert when the score drops
    more than 5 points below its baseline. Stops cleanly on SIGTERM."""
    try:
        every_s, window_s = parse_duration(every), parse_duration(window)
    except ConfigError as exc:
        fail(str(exc), 2)
    store = store_for(db)
    stop = threading.Event()
    stop_on_signals(stop.set, "stopping after this eval")
    watch(store, integration, every_s=every_s, window_s=window_s, stop=stop, once=once,
          baseline=baseline, on_score=_show)


def _show(result: ProductionScore) -> None:
    window = f"{utc(result.window_start)} to {utc(result.window_end)}"
    if result.score is None:
        console.print(f"{result.integration}: no events with ground truth in {window}.")
        return
    base = (f", baseline {result.baseline:.1f} ({result.baseline_from})"
            if result.baseline is not None else ", no baseline yet")
    console.print(f"{result.integration}: {result.score:.1f} over {result.examples} events in "
                  f"{window}{base}.")
    if result.alerted:
        console.print(f"[bold red]drift:[/] likely layer {result.layer or 'unknown'}"
                      + "".join(f"\n  • {s.layer}: {s.evidence}" for s in result.suspects))
