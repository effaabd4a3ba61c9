"""``seamline users``: the people who may sign in to the console, and their roles.

Passwords are read from a prompt or from stdin, never from an argument (arguments end up
in shell history and in ``ps``). Every change is audited with the operator as its actor.
"""

from __future__ import annotations

import getpass
import sys
import time
from typing import Annotated

import typer
from rich.table import Table

from seamline.access import Role, add_user, list_users, set_disabled, set_password, set_role
from seamline.cli._common import DbOption, JsonOption, console, fail, iso, print_json, store_for
from seamline.errors import ConfigError, NotFound

users_app = typer.Typer(help="Console users and their roles (viewer, reviewer, admin).",
                        no_args_is_help=True)

RoleOption = Annotated[str, typer.Option("--role", "-r", help="viewer, reviewer or admin")]
PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from the first line of stdin (for scripts: "
                             "printf '%s\\n' \"$PW\" | seamline users add ana --password-stdin); "
                             "without a terminal this is what happens anyway.")]


def _actor() -> str:
    """Who ran the command, as the audit trail names them."""
    return f"cli:{getpass.getuser()}"


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        # No terminal to ask on (a script, CI, a container): the first line of stdin (a
        # second line, when given, must repeat it); nothing there is a sentence, never an
        # "Aborted!".
        first = sys.stdin.readline().rstrip("\r\n")
        if not first:
            fail("No password was given: there is no terminal to ask on, so pipe it in, e.g. "
                 "printf '%s\\n' \"$PASSWORD\" | seamline users add NAME --password-stdin.", 2)
        again = "" if from_stdin else sys.stdin.readline()
        if again and again.rstrip("\r\n") != first:
            fail("The two passwords differ; nothing was changed.", 2)
        return first
    first = typer.prompt("Password", hide_input=True)
    again = typer.prompt("Repeat the password", hide_input=True)
    if first != again:
        fail("The two passwords differ; nothing was changed.", 2)
    return first


@users_app.command("add")
def users_add(name: Annotated[str, typer.Argument(help="Username")],
              role: RoleOption = "viewer", password_stdin: PasswordStdin = False,
              db: DbOption = None):
    """Add a user who may sign in to the console."""
    try:
        parsed = Role.parse(role)
        password = _read_password(password_stdin)
        add_user(store_for(db), name, password, parsed, actor=_actor())
    except ConfigError as exc:
        fail(str(exc), 2)
    console.print(f"User {name} added with the {parsed.value} role.")


@users_app.command("list")
def users_list(db: DbOption = None, json_: JsonOption = False):
    """Every user, their role and whether they may sign in."""
    rows = list_users(store_for(db, read_only=True))
    if json_:  # never the password hash: list_users does not read it
        print_json([{"username": u.username, "role": u.role.value, "disabled": u.disabled,
                     "created_at": iso(u.created_at), "updated_at": iso(u.updated_at)}
                    for u in rows])
        return
    table = Table(title=f"{len(rows)} user(s)")
    for col in ("username", "role", "status", "updated (UTC)"):
        table.add_column(col)
    for u in rows:
        table.add_row(u.username, u.role.value, "disabled" if u.disabled else "active",
                      time.strftime("%Y-%m-%d %H:%M", time.gmtime(u.updated_at)))
    console.print(table)


@users_app.command("set-role")
def users_set_role(name: Annotated[str, typer.Argument(help="Username")], role: RoleOption,
                   db: DbOption = None):
    """Change a user's role; it holds from their next request."""
    try:
        user = set_role(store_for(db), name, Role.parse(role), actor=_actor())
    except ConfigError as exc:
        fail(str(exc), 2)
    except NotFound as exc:
        fail(str(exc), 1)
    console.print(f"User {name} now has the {user.role.value} role.")


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="Username")], db: DbOption = None):
    """Stop a user from signing in and end their sessions."""
    try:
        set_disabled(store_for(db), name, True, actor=_actor())
    except NotFound as exc:
        fail(str(exc), 1)
    console.print(f"User {name} is disabled; their sessions have ended.")


@users_app.command("enable")
def users_enable(name: Annotated[str, typer.Argument(help="Username")], db: DbOption = None):
    """Let a disabled user sign in again."""
    try:
        set_disabled(store_for(db), name, False, actor=_actor())
    except NotFound as exc:
        fail(str(exc), 1)
    console.print(f"User {name} may sign in again.")


@users_app.command("set-password")
def users_set_password(name: Annotated[str, typer.Argument(help="Username")],
                       password_stdin: PasswordStdin = False, db: DbOption = None):
    """Replace a user's password; their sessions end."""
    try:
        password = _read_password(password_stdin)
        set_password(store_for(db), name, password, actor=_actor())
    except ConfigError as exc:
        fail(str(exc), 2)
    except NotFound as exc:
        fail(str(exc), 1)
    console.print(f"The password of {name} was changed; their sessions have ended.")
