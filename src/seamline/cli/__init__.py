"""The command line: a thin layer over the library (Typer + Rich).

Every failure a user can cause ends in a sentence and an exit code, never a traceback.
"""

from __future__ import annotations

import os
import sys

import typer
from sqlalchemy.exc import SQLAlchemyError

from seamline.cli._agent import agent_app
from seamline.cli._alerts import alerts_cmd
from seamline.cli._backfill import backfill_cmd
from seamline.cli._common import err_console
from seamline.cli._connectors import connectors_app
from seamline.cli._costs import costs_cmd
from seamline.cli._dlq import dlq_app
from seamline.cli._drift import drift_cmd
from seamline.cli._emulate import emulate_cmd
from seamline.cli._escalations import escalations_app
from seamline.cli._eval import eval_app
from seamline.cli._feedback import feedback_app
from seamline.cli._index import index_app
from seamline.cli._inspect import approvals_app, audit_app, flag_app, replay_cmd
from seamline.cli._poll import poll_cmd
from seamline.cli._rollout import rollout_app
from seamline.cli._run import check_cmd, demo_cmd, run_cmd
from seamline.cli._serve import serve_cmd
from seamline.cli._stream import stream_cmd
from seamline.cli._users import users_app
from seamline.cli._worker import enqueue_cmd, queue_app, worker_cmd
from seamline.errors import ConfigError, SeamlineError
from seamline.telemetry import configure_tracing

app = typer.Typer(
    name="seamline", no_args_is_help=True, pretty_exceptions_enable=False,
    help="Seamline: LLM integrations you can trust, debug and pay for.",
)
app.command("check")(check_cmd)
app.command("run")(run_cmd)
app.command("demo")(demo_cmd)
app.command("replay")(replay_cmd)
app.command("costs")(costs_cmd)
app.command("emulate")(emulate_cmd)
app.command("serve")(serve_cmd)
app.command("stream")(stream_cmd)
app.command("enqueue")(enqueue_cmd)
app.command("worker")(worker_cmd)
app.command("backfill")(backfill_cmd)
app.command("drift")(drift_cmd)
app.command("poll")(poll_cmd)
app.command("alerts")(alerts_cmd)
app.add_typer(eval_app, name="eval")
app.add_typer(queue_app, name="queue")
app.add_typer(audit_app, name="audit")
app.add_typer(approvals_app, name="approvals")
app.add_typer(dlq_app, name="dlq")
app.add_typer(flag_app, name="flag")
app.add_typer(escalations_app, name="escalations")
app.add_typer(connectors_app, name="connectors")
app.add_typer(agent_app, name="agent")
app.add_typer(users_app, name="users")
app.add_typer(rollout_app, name="rollout")
app.add_typer(feedback_app, name="feedback")
app.add_typer(index_app, name="index")


def main() -> None:
    # Like `python -m`, user modules named as 'module:attr' resolve from the current folder.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        configure_tracing()  # OTLP export and Sentry, only when the environment asks for them
        app()
    except SeamlineError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        sys.exit(2 if isinstance(exc, ConfigError) else 1)
    except SQLAlchemyError as exc:
        err_console.print(f"[bold red]error:[/] the store failed: {type(exc).__name__}: "
                          f"{getattr(exc, 'orig', None) or exc}. Events already processed are recorded.")
        sys.exit(1)
    except OSError as exc:
        err_console.print(f"[bold red]error:[/] {exc.strerror or exc}: {exc.filename or ''}")
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted; events already processed are recorded.")
        sys.exit(130)
