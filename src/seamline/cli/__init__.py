"""The command line: a thin layer over the library (Typer + Rich).

Every failure a user can cause ends in a sentence and an exit code, never a traceback.
"""

from __future__ import annotations

import os
import sys

import typer

from seamline.cli._lazy import LazyCommand, LazyGroup
from seamline.errors import ConfigError, SeamlineError

__all__ = ["COMMANDS", "app", "main"]

# Each command's module is imported only when that command runs (see _lazy): the listing
# of `seamline --help` comes from here, so that it answers without SQLAlchemy, FastAPI
# or scikit-learn. The help is the first paragraph of the command's own help.
COMMANDS: dict[str, LazyCommand] = {
    "check": LazyCommand(
        "seamline.cli._run", "check_cmd",
        "Name every missing or inconsistent part of an integration; exit 1 if it cannot go live."),
    "run": LazyCommand(
        "seamline.cli._run", "run_cmd",
        "Run every event of a JSONL file through the integration and summarise the outcome."),
    "demo": LazyCommand(
        "seamline.cli._run", "demo_cmd",
        "Run the support-triage demo: check, the inbox, the golden set, and audit verification."),
    "replay": LazyCommand(
        "seamline.cli._inspect", "replay_cmd",
        "Rerun a recorded event with another prompt version or model, without acting; "
        "show the difference."),
    "costs": LazyCommand(
        "seamline.cli._costs", "costs_cmd",
        "Report model spend by integration, tenant, model and day; project the month; "
        "show each cap."),
    "emulate": LazyCommand(
        "seamline.cli._emulate", "emulate_cmd",
        "Serve the Anthropic Messages and OpenAI Chat Completions APIs locally, "
        "with injected faults."),
    "serve": LazyCommand(
        "seamline.cli._serve", "serve_cmd",
        "Serve integrations over HTTP: POST /v1/integrations/{name}/invoke and …/events,\n"
        "GET /v1/events/{id}, webhooks, /metrics, and the reviewers' console at /console."),
    "stream": LazyCommand(
        "seamline.cli._stream", "stream_cmd",
        "Consume a stream until interrupted: windows kept in the store, one decision per window."),
    "enqueue": LazyCommand(
        "seamline.cli._worker", "enqueue_cmd",
        "Put events on the durable queue for workers; every line is kept, bad ones included\n"
        "(a worker dead-letters them with the reason)."),
    "worker": LazyCommand(
        "seamline.cli._worker", "worker_cmd",
        "Claim queued events under leases and run them; SIGTERM or Ctrl-C finishes "
        "what is in hand."),
    "backfill": LazyCommand(
        "seamline.cli._backfill", "backfill_cmd",
        "Ask the model again for a range of past events; show every field that changed."),
    "drift": LazyCommand(
        "seamline.cli._drift", "drift_cmd",
        "Drift at the edges (new fields, missing required fields, changed types), newest first,\n"
        "and every contract learned from traffic."),
    "poll": LazyCommand(
        "seamline.cli._poll", "poll_cmd",
        "Poll the integration's poll sources on their intervals and queue what is new; the\n"
        "cursor is stored, so a restart neither repeats nor skips. Run 'seamline worker' too."),
    "alerts": LazyCommand(
        "seamline.cli._alerts", "alerts_cmd",
        "Alerts raised (drift at the edges, replies of unexpected shape, ...), newest first."),
    "eval": LazyCommand(
        "seamline.cli._eval", "eval_app",
        "Score an integration on golden sets: run, compare, sample, signoff."),
    "queue": LazyCommand(
        "seamline.cli._worker", "queue_app",
        "The durable job queue: what waits, runs, finished or died."),
    "audit": LazyCommand(
        "seamline.cli._audit", "audit_app",
        "Verify the audit chain and read an event's story."),
    "erase": LazyCommand(
        "seamline.cli._audit", "erase_cmd",
        "Forget a person: their vault values, queued raw events, and every copy of the value\n"
        "in the store, while the audit chain still verifies."),
    "approvals": LazyCommand(
        "seamline.cli._inspect", "approvals_app",
        "The human approval queue."),
    "dlq": LazyCommand(
        "seamline.cli._dlq", "dlq_app",
        "The dead-letter queue: inspect, and redrive once the cause is fixed."),
    "flag": LazyCommand(
        "seamline.cli._inspect", "flag_app",
        "Rollout flags: on, off or a sticky percentage."),
    "escalations": LazyCommand(
        "seamline.cli._escalations", "escalations_app",
        "Events waiting over a cost cap."),
    "connectors": LazyCommand(
        "seamline.cli._connectors", "connectors_app",
        "Outbound connectors usable as actions."),
    "agent": LazyCommand(
        "seamline.cli._agent", "agent_app",
        "Agents: typed tools, hard limits, approvals, the audit trail."),
    "users": LazyCommand(
        "seamline.cli._users", "users_app",
        "Console users and their roles (viewer, reviewer, admin)."),
    "rollout": LazyCommand(
        "seamline.cli._rollout", "rollout_app",
        "Staged rollouts: promoted while healthy, rolled back when not."),
    "feedback": LazyCommand(
        "seamline.cli._feedback", "feedback_app",
        "Ground truth for events, accuracy over time, drift alerts."),
    "index": LazyCommand(
        "seamline.cli._index", "index_app",
        "Build, search and evaluate the retrieval index."),
    "init": LazyCommand(
        "seamline.cli._init", "init_cmd",
        "Write a new integration that passes seamline check and runs with seamline run at once."),
    "schema": LazyCommand(
        "seamline.cli._schema", "schema_cmd",
        "Print the JSON Schema of the integration file, generated from the spec."),
    "runbook": LazyCommand(
        "seamline.cli._runbook", "runbook_cmd",
        "Write the integration's runbook in Markdown from its declaration and the store."),
    "events": LazyCommand(
        "seamline.cli._events", "events_app",
        "Events and what became of them: input (redacted), output, actions, cost, latency."),
}


class _SeamlineGroup(LazyGroup):
    lazy = COMMANDS


app = typer.Typer(
    name="seamline", cls=_SeamlineGroup, no_args_is_help=True, pretty_exceptions_enable=False,
    help="Seamline: LLM integrations you can trust, debug and pay for.",
)


_TRACED = "seamline.cli.main"  # the ctx.obj with which main() runs the app


@app.callback()
def _before_a_command(ctx: typer.Context) -> None:
    # Click calls the root callback once a command is about to run, never for `seamline
    # --help` or a typo: telemetry's imports (the store, Prometheus) wait until then.
    # Only main() asks for it, as before; CliRunner callers get no exporter.
    from seamline.scrub import install_log_filter

    install_log_filter()  # no configured secret reaches a log line, whatever the command
    if ctx.obj == _TRACED:
        from seamline.telemetry import configure_tracing

        configure_tracing()  # OTLP export and Sentry, only when the environment asks for them


def _is_store_failure(exc: BaseException) -> bool:
    # A SQLAlchemy error exists only once SQLAlchemy is imported; asking sys.modules keeps
    # that import off the start-up path.
    sa_exc = sys.modules.get("sqlalchemy.exc")
    return sa_exc is not None and isinstance(exc, sa_exc.SQLAlchemyError)


def _say(sentence: str) -> None:
    from seamline.cli._common import err_console

    err_console.print(sentence)


def _plain(message: str) -> str:
    """A library error as a sentence: pydantic's own text, where one slipped through, loses
    its links and its ``[type=…, input_value=…]`` tags (what is wrong stays)."""
    if "errors.pydantic.dev" not in message and "[type=" not in message:
        return message
    import re

    message = re.sub(r"\s*For further information visit https://errors\.pydantic\.dev\S*", "",
                     message)
    message = re.sub(r"\s*\[type=[^\]]*\]", "", message)
    lines = message.strip().splitlines()
    out: list[str] = []
    for line in lines:  # "loc" then an indented "what is wrong": "loc: what is wrong"
        if line.startswith((" ", "\t")) and out and len(out) > 1:
            out[-1] = f"{out[-1]}: {line.strip()}"
        else:
            out.append(line.strip())
    return "; ".join(out)


def main() -> None:
    # Like `python -m`, user modules named as 'module:attr' resolve from the current folder.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        app(obj=_TRACED)
    except SeamlineError as exc:
        _say(f"[bold red]error:[/] {_plain(str(exc))}")
        sys.exit(2 if isinstance(exc, ConfigError) else 1)
    except OSError as exc:
        _say(f"[bold red]error:[/] {exc.strerror or exc}: {exc.filename or ''}")
        sys.exit(1)
    except KeyboardInterrupt:
        _say("interrupted; events already processed are recorded.")
        sys.exit(130)
    except Exception as exc:
        if not _is_store_failure(exc):
            raise
        _say(f"[bold red]error:[/] the store failed: {type(exc).__name__}: "
             f"{getattr(exc, 'orig', None) or exc}. Events already processed are recorded.")
        sys.exit(1)
