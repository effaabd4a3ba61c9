"""``seamline rollout``: staged canaries (start, status, evaluate, pause, resume, abort, flip),
the evidence before them (report, gates, plan), and ``watch``, the loop that evaluates
running rollouts, declared plans and alert rules every so often.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Annotated

import typer
import yaml
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from seamline.cli._common import (
    DbOption,
    JsonOption,
    NewFlagOption,
    console,
    err_console,
    existing_file,
    fail,
    iso,
    known_flag,
    print_json,
    stop_on_signals,
    store_for,
)
from seamline.cli._rollout_review import advance_plans, gates_cmd, plan_cmd, report_cmd
from seamline.durations import seconds
from seamline.errors import ConfigError, SeamlineError
from seamline.integration import Integration
from seamline.rollout import (
    AlertRule,
    Criteria,
    Decision,
    abort_rollout,
    evaluate_all,
    evaluate_rollout,
    evaluate_rules,
    flip,
    get_plan,
    list_plans,
    load_rules,
    pause_rollout,
    resume_rollout,
    start_rollout,
)
from seamline.store import Store
from seamline.store.tables import integrations

rollout_app = typer.Typer(help="Staged rollouts: promoted while healthy, rolled back when not.",
                          no_args_is_help=True)
ReasonOption = Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the audit trail)")]
rollout_app.command("report")(report_cmd)
rollout_app.command("gates")(gates_cmd)
rollout_app.command("plan")(plan_cmd)


def _sentence(exc: Exception) -> str:
    """A validation error as one line: ``field: what is wrong; ...``."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}"
                         for e in exc.errors()[:5])
    return str(exc)


def _criteria(text: str | None) -> Criteria:
    if not text:
        return Criteria()
    path = Path(text)
    raw = path.read_text() if path.is_file() else text
    try:
        return Criteria.model_validate(yaml.safe_load(raw) or {})
    except (yaml.YAMLError, ValueError) as exc:
        raise ConfigError(f"The rollout criteria are invalid: {_sentence(exc)}.") from None


def _say(d: Decision) -> None:
    colour = {"rolled_back": "red", "promoted": "green", "completed": "green",
              "cancelled": "yellow"}.get(d.action, "white")
    console.print(f"[{colour}]{d.flag}: {d.action}[/] at {d.percent:g}%: {d.reason}")


def _integration(target: str, store: Store) -> str | Integration:
    """An integration file or ``module:attr`` as loaded (so its declared flag is used); a bare
    name as given, or as loaded from the file it was last run from, when that is known.
    """
    from seamline.integration import load_integration

    if Path(target).suffix in (".yaml", ".yml", ".toml", ".py") or ":" in target:
        return load_integration(target)
    with store.read() as conn:
        src = conn.execute(select(integrations.c.source)
                           .where(integrations.c.name == target)).scalar()
    return load_integration(src) if src and Path(src).is_file() else target


@rollout_app.command("start")
def start_cmd(
    integration: Annotated[str, typer.Argument(
        help="Integration: its name, or its file (then its declared flag is used)")],
    flag: Annotated[str | None, typer.Option(help="Flag (default: the integration's)")] = None,
    steps: Annotated[str, typer.Option(help="Percentages, rising")] = "5,10,25,50,100",
    window: Annotated[str, typer.Option(help="How long each step must stay healthy")] = "1h",
    criteria: Annotated[str | None, typer.Option(
        help="Thresholds as JSON/YAML or a file, e.g. '{max_error_rate_increase: 0.01}'")] = None,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why")] = "",
    db: DbOption = None,
):
    """Start a staged rollout: the flag goes to the first step now."""
    try:
        ladder = [float(s.strip().rstrip("%")) for s in steps.split(",") if s.strip()]
    except ValueError:
        fail(f"The steps {steps!r} are not percentages such as 5,10,25,50,100.", 2)
    store = store_for(db)
    plan = start_rollout(store, _integration(integration, store), flag=flag, steps=ladder,
                         window_s=seconds(window), criteria=_criteria(criteria), reason=reason)
    console.print(f"Rollout of {plan.flag} started at {plan.percent:g}% "
                  f"(steps {', '.join(f'{s:g}' for s in plan.steps)}; window {plan.window_s:g} s).")


@rollout_app.command("status")
def status_cmd(flag: Annotated[str | None, typer.Argument(help="One flag")] = None,
               db: DbOption = None, json_: JsonOption = False):
    """Every staged rollout: where it is and why."""
    store = store_for(db, read_only=True)
    plans = [p for p in [get_plan(store, flag)] if p] if flag else list_plans(store)
    if json_:  # step counts from 1, as the table shows it
        print_json([{"flag": p.flag, "integration": p.integration, "status": p.status,
                     "step": p.step + 1, "steps": list(p.steps), "percent": p.percent,
                     "window_s": p.window_s, "step_started_at": iso(p.step_started_at),
                     "updated_at": iso(p.updated_at), "reason": p.reason,
                     "criteria": p.criteria.model_dump(mode="json")} for p in plans])
        return
    if not plans:
        console.print("No staged rollouts." if not flag else f"The flag {flag} has no rollout.")
        return
    table = Table(title="Rollouts")
    for col in ("flag", "integration", "status", "step", "since (UTC)", "reason"):
        table.add_column(col, overflow="fold")
    for p in plans:
        table.add_row(p.flag, p.integration, p.status,
                      f"{p.step + 1}/{len(p.steps)} at {p.percent:g}%",
                      time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(p.step_started_at)), p.reason)
    console.print(table)


@rollout_app.command("evaluate")
def evaluate_cmd(flag: Annotated[str | None, typer.Argument(help="One flag (default: all)")] = None,
                 json_out: JsonOption = False,
                 db: DbOption = None):
    """Measure the current step now: promote, hold, or roll back."""
    store = store_for(db)
    decisions = [evaluate_rollout(store, flag)] if flag else evaluate_all(store)
    if json_out:
        print_json([{"flag": d.flag, "action": d.action, "percent": d.percent,
                     "reason": d.reason, "health": d.health.as_dict() if d.health else None}
                    for d in decisions])
        return
    if not decisions:
        console.print("No running rollouts.")
    for d in decisions:
        _say(d)


@rollout_app.command("pause")
def pause_cmd(flag: str, reason: ReasonOption, db: DbOption = None):
    """Hold the flag where it is; no promotion or rollback until resumed."""
    plan = pause_rollout(store_for(db), flag, reason=reason)
    console.print(f"Rollout of {flag} paused at {plan.percent:g}%.")


@rollout_app.command("resume")
def resume_cmd(flag: str, reason: ReasonOption, db: DbOption = None):
    """Go on from the current step; its window starts again."""
    plan = resume_rollout(store_for(db), flag, reason=reason)
    console.print(f"Rollout of {flag} resumed at {plan.percent:g}%.")


@rollout_app.command("abort")
def abort_cmd(flag: str, reason: ReasonOption, db: DbOption = None):
    """Stop the rollout and send all traffic to the baseline path now."""
    abort_rollout(store_for(db), flag, reason=reason)
    console.print(f"Rollout of {flag} aborted; the flag is at 0% (baseline).")


@rollout_app.command("flip")
def flip_cmd(flag: str, value: Annotated[str, typer.Argument(help="on, off or a percentage")],
             reason: ReasonOption, db: DbOption = None, new: NewFlagOption = False):
    """Set the flag by hand, at once; a running rollout of it stops its automation."""
    store = store_for(db)
    known_flag(store, flag, value, new=new)  # a typo is refused, not a new flag
    flip(store, flag, value, reason=reason)
    console.print(f"Flag {flag} is now {value}; any rollout of it is cancelled.")


def _rules(path: Path | None) -> list[AlertRule]:
    if path is None:
        return []
    try:
        return load_rules(yaml.safe_load(existing_file(path, "rules file").read_text()))
    except (yaml.YAMLError, ValueError) as exc:
        raise ConfigError(f"The alert rules in {path} are invalid: {_sentence(exc)}.") from None


def watch_round(store: Store, rules: list[AlertRule],
                given: dict[str, Integration] | None = None) -> None:
    """One round of the watcher: every running rollout, every declared plan, every alert rule."""
    for d in evaluate_all(store):
        _say(d)
    advance_plans(store, given)  # declared plans (shadow → gated → canary), after canaries
    for alert in evaluate_rules(store, rules):
        console.print(f"[yellow]{alert.kind}[/]: {alert.sentence}")


@rollout_app.command("watch")
def watch_cmd(
    every: Annotated[str, typer.Option(help="How often, e.g. 30s or 5m")] = "30s",
    rules: Annotated[Path | None, typer.Option(help="Alert rules (YAML)")] = None,
    once: Annotated[bool, typer.Option("--once", help="One round, then exit")] = False,
    integration: Annotated[list[str] | None, typer.Option(
        "--integration", help="An integration whose rollout plan to walk (file or "
                              "module:attr; repeat for more); default: each from the file "
                              "it last ran from")] = None,
    db: DbOption = None,
):
    """Evaluate running rollouts and alert rules every so often; SIGTERM ends it between rounds."""
    from seamline.integration import load_integration

    store, loaded, period = store_for(db), _rules(rules), seconds(every)
    given = {i.name: i for i in (load_integration(t) for t in integration or [])}
    stop = threading.Event()
    stop_on_signals(stop.set, "stopping after this round")
    console.print(f"Watching the running rollouts and {len(loaded)} alert rule(s) every "
                  f"{period:g} s.")
    while True:
        try:
            watch_round(store, loaded, given)
        except (SeamlineError, SQLAlchemyError, OSError) as exc:
            if once:
                raise
            # A store that is briefly away must not end the watcher: the next round retries.
            err_console.print(f"[bold red]error:[/] this round failed: {type(exc).__name__}: "
                              f"{exc}; trying again in {period:g} s.")
        if once or stop.wait(period):
            break
