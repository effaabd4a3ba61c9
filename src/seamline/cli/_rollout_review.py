"""``seamline rollout report`` and ``seamline rollout gates``: the evidence before the canary.

``report`` scores shadow mode (the model watched while the baseline acted) per field and
per action, with 95% intervals and the disagreements to read. ``gates`` shows, for the
gated stage, each action's gate, its risk and what the last approvals say, and drops a
gate only when the integration's rule holds (never a high-risk action's).
"""

from __future__ import annotations

from typing import Annotated

import typer
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
from seamline.durations import seconds
from seamline.errors import ConfigError
from seamline.integration import Integration

IntegrationArg = Annotated[str, typer.Argument(
    help="Integration: its file, or its name when it has run from a file before")]


def _load(target: str, db: str | None, *, read_only: bool) -> tuple[Integration, object]:
    from pathlib import Path

    store = store_for(db, read_only=read_only)
    given = target if (Path(target).suffix in (".yaml", ".yml", ".toml", ".py")
                       or ":" in target) else None
    return integration_for(store, target, given), store


def _pct(x: float) -> str:
    return f"{x:.1%}"


def report_cmd(integration: IntegrationArg,
               since: Annotated[str, typer.Option(help="How far back, e.g. 7d, 24h")] = "30d",
               db: DbOption = None, json_: JsonOption = False):
    """Shadow mode's scores: how often the model agreed, per field and action, with 95% bounds."""
    import time

    from seamline.rollout import shadow_report

    spec, store = _load(integration, db, read_only=True)
    report = shadow_report(store, spec.name, since=time.time() - seconds(since))  # type: ignore[arg-type]
    if json_:
        print_json(report.as_dict())
        return
    if not report.events:
        console.print(f"No shadow decisions of {spec.name} in the last {since}: set rollout.mode "
                      "to shadow and let events run.")
        return
    console.print(f"{spec.name}: {report.events} shadow decisions, {report.answered} answered; "
                  f"model cost ${report.cost_per_event_usd:.5f} per event.")
    for title, rows in (("Fields", report.fields), ("Actions", report.actions)):
        table = Table(title=f"{title}: the model against what happened")
        for col in ("name", "against", "agree", "of", "share", "95% interval"):
            table.add_column(col, justify="left" if col in ("name", "against") else "right")
        for a in rows:
            d = a.as_dict()
            table.add_row(a.name, a.against, str(a.agree), str(a.n), _pct(a.share),
                          f"{_pct(d['low'])}–{_pct(d['high'])}")
        console.print(table)
    if report.disagreements:
        table = Table(title="Disagreements to review (newest first)")
        for col in ("event", "field or action", "model", "what happened"):
            table.add_column(col, overflow="fold")
        for d in report.disagreements:
            what = d.get("truth", d.get("baseline"))
            table.add_row(d["event_id"], str(d.get("field") or d.get("action")),
                          str(d["model"]), str(what))
        console.print(table)


def gates_cmd(integration: IntegrationArg,
              drop: Annotated[str | None, typer.Option(
                  help="Drop this action's gate if its rule holds")] = None,
              restore: Annotated[str | None, typer.Option(
                  help="Put this action's gate back")] = None,
              reason: Annotated[str, typer.Option("--reason", "-r", help="Why (audited)")] = "",
              db: DbOption = None, json_: JsonOption = False):
    """The gated stage: each action's gate, its risk and what the last approvals say."""
    from seamline.rollout import Flags, Gates, evidence

    spec, store = _load(integration, db, read_only=drop is None and restore is None)
    gates = Gates(spec, Flags(store, ttl=0))  # type: ignore[arg-type]
    try:
        if drop and restore:
            fail("Give --drop or --restore, not both.", 2)
        if restore:
            if not reason.strip():
                fail("Say why the gate goes back with --reason.", 2)
            evidence(store, spec, restore)  # type: ignore[arg-type]  # a typo is a sentence
            gates.restore(restore, reason=reason)
            console.print(f"The gate of {restore} is back: every {restore} waits for a person.")
        if drop:
            ev = gates.drop(drop)
            if not ev.holds:
                fail(f"The gate of {drop} stays: {ev.why}.", 1)
            console.print(f"The gate of {drop} is dropped: {ev.why}.")
    except ConfigError as exc:
        fail(str(exc), 2)
    rows = [evidence(store, spec, a.name) for a in spec.actions]  # type: ignore[arg-type]
    if json_:
        print_json([{**e.as_dict(), "gate": "kept" if gates.closed(e.action) else "dropped",
                     "mode": spec.rollout.mode} for e in rows])
        return
    table = Table(title=f"Gates of {spec.name} (rollout.mode: {spec.rollout.mode})")
    for col in ("action", "risk", "gate", "decisions", "unedited", "edited", "rejected",
                "lower 95%", "why"):
        table.add_column(col, overflow="fold",
                         justify="left" if col in ("action", "risk", "gate", "why") else "right")
    for e in rows:
        table.add_row(e.action, e.risk, "kept" if gates.closed(e.action) else "dropped",
                      str(e.decisions), str(e.unedited), str(e.edited), str(e.rejected),
                      _pct(e.lower_bound), e.why)
    console.print(table)


def advance_plans(store, given: dict[str, Integration] | None = None) -> None:
    """``rollout watch``'s round for declared plans: each running plan looked at once.

    ``given``: integrations named on the command line (by their name), else each is loaded
    from the file it last ran from."""
    from seamline.rollout import advance_all

    def load(name: str) -> Integration | None:
        if given and name in given:
            return given[name]
        try:
            return integration_for(store, name)
        except (ConfigError, typer.Exit):
            console.print(f"[yellow]The rollout plan of {name} waits: its integration file "
                          "cannot be loaded.[/]")
            return None

    for d in advance_all(store, load):
        colour = {"advanced": "green", "completed": "green", "rolled_back": "red"}.get(
            d.action, "white")
        console.print(f"[{colour}]{d.action}[/] {d.stage}: {d.reason}")


def plan_cmd(integration: IntegrationArg,
             start: Annotated[bool, typer.Option(
                 "--start", help="Start walking the declared plan at its first stage")] = False,
             db: DbOption = None, json_: JsonOption = False):
    """The declared rollout plan: its stages, where it is, and what the numbers say now."""
    from seamline.rollout import get_stage, start_plan

    spec, store = _load(integration, db, read_only=not start)
    if not spec.rollout.plan:
        fail(f"The integration {spec.name} declares no rollout.plan (for example: [{{stage: "
             "shadow, for: 7d}, {stage: gated}, {stage: canary}]).", 2)
    try:
        if start:
            d = start_plan(store, spec)  # type: ignore[arg-type]
            if not json_:
                console.print(f"Started: {d.reason}.")
        state = get_stage(store, spec.name)  # type: ignore[arg-type]
    except ConfigError as exc:
        fail(str(exc), 2)
    doc = {"integration": spec.name,
           "plan": [s.model_dump(by_alias=True) for s in spec.rollout.plan],
           "stage": state.current["stage"] if state else None,
           "status": state.status if state else "not started",
           "since": iso(state.stage_started_at) if state else None,
           "reason": state.reason if state else ""}
    if json_:
        print_json(doc)
        return
    table = Table(title=f"Rollout plan of {spec.name}: {doc['status']}")
    for col in ("#", "stage", "until", "now"):
        table.add_column(col, overflow="fold")
    for i, s in enumerate(spec.rollout.plan):
        until = {"shadow": f"{s.for_}, {s.min_events} events, agreement ≥ {s.min_agreement:.0%}",
                 "gated": "every gate rule holds",
                 "canary": f"steps {', '.join(f'{x:g}' for x in s.steps)}% healthy for "
                           f"{s.window} each"}[s.stage]
        here = "◀ here" if state and state.stage == i and state.status == "running" else ""
        table.add_row(str(i + 1), s.stage, until, here)
    console.print(table)
    if state is not None:
        console.print(f"In it since {iso(state.stage_started_at)}: {state.reason}")
