"""``seamline connectors list``: the outbound connectors installed, and whether they can run here."""

from __future__ import annotations

import os
import time
from typing import Annotated

import typer
from rich.table import Table

from seamline.cli._common import DbOption, JsonOption, console, fail, iso, print_json, store_for
from seamline.cli._connectors_oauth import register as register_oauth
from seamline.connectors import SendLedger, installed, undecided_sends

connectors_app = typer.Typer(help="Outbound connectors usable as actions.", no_args_is_help=True)
register_oauth(connectors_app)  # connectors auth / connectors status (cli/_connectors_oauth.py)

_IDEMPOTENCY = {"vendor": "vendor header (key sent downstream)",
                "ours": "our side (connector_sends ledger)"}


@connectors_app.command("list")
def connectors_list(json_: JsonOption = False) -> None:
    """Each connector: its operations, pinned API version, the environment variables it reads
    by default (set or not; never their values) and who keeps it idempotent."""
    found = installed()
    if json_:  # whether each variable is set, never its value
        print_json([{"name": name, "operations": list(cls.operations),
                     "api_version": cls.api_version,
                     "env": [{"name": var, "set": bool(os.environ.get(var))}
                             for var in cls.env_vars()],
                     "optional_credential_options": _optional(cls),
                     "idempotency": cls.idempotency} for name, cls in sorted(found.items())])
        return
    table = Table(title=f"{len(found)} connector(s) installed")
    for col in ("connector", "operations (handler: connector:NAME.OP)", "API version",
                "credentials (env)", "idempotency"):
        table.add_column(col, overflow="fold")
    for name, cls in sorted(found.items()):
        env = ", ".join(f"{var} ({'set' if os.environ.get(var) else 'not set'})"
                        for var in cls.env_vars())
        optional = _optional(cls)
        if optional:
            env = (env + "; " if env else "") + f"optional, named by option {', '.join(optional)}"
        table.add_row(name, ", ".join(cls.operations), cls.api_version, env or "-",
                      _IDEMPOTENCY.get(cls.idempotency, cls.idempotency))
    console.print(table)


def _optional(cls) -> list[str]:
    """Credential options without a default variable: the integration names one if need be."""
    return [o for o in cls.credentials if not cls.Options.model_fields[o].default]


@connectors_app.command("undecided")
def connectors_undecided(db: DbOption = None, json_: JsonOption = False) -> None:
    """Sends whose outcome is unknown (a crash or an ambiguous reply): the vendor may or may
    not have acted, so the connector refuses to send them again until a person decides."""
    rows = undecided_sends(store_for(db, read_only=True))
    if json_:
        print_json([{"connector": r.connector, "idempotency_key": r.idempotency_key,
                     "status": r.status, "updated_at": iso(r.updated_at), "reply": r.reply}
                    for r in rows])
        return
    if not rows:
        console.print("No send is waiting for a decision.")
        return
    table = Table(title=f"{len(rows)} send(s) waiting for a decision")
    for col in ("connector", "idempotency key", "status", "since (UTC)", "last reply or error"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r.connector, r.idempotency_key, r.status,
                      time.strftime("%Y-%m-%d %H:%M", time.gmtime(r.updated_at)),
                      (r.reply or "-")[:300])
    console.print(table)
    console.print("Check the vendor, then: seamline connectors resolve CONNECTOR KEY "
                  "--sent | --not-sent")


@connectors_app.command("resolve")
def connectors_resolve(
    connector: Annotated[str, typer.Argument(help="Connector name, e.g. slack")],
    key: Annotated[str, typer.Argument(help="The action's idempotency key")],
    sent: Annotated[bool | None, typer.Option(
        "--sent/--not-sent", help="It did act at the vendor / it did not (may be sent again)")] = None,
    note: Annotated[str, typer.Option(help="Why, for the record")] = "",
    db: DbOption = None,
) -> None:
    """Record a person's verdict on an undecided send; the action's next retry follows it."""
    if sent is None:
        fail("Say what the vendor shows: --sent (it acted) or --not-sent (send it again).", 2)
    SendLedger(store_for(db), connector).resolve(key, sent=bool(sent), note=note)
    console.print(f"{connector} {key}: recorded as {'sent' if sent else 'not sent'}; "
                  + ("a retry will not send it again." if sent else "a retry will send it."))
