"""``seamline users``: add, list, change role, disable, with passwords never on the command line
and every change in the audit trail with its actor."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from seamline.access import Role, get_user, list_users
from seamline.access._passwords import verify_password
from seamline.cli import app
from seamline.store import open_store
from seamline.store.tables import audit_log, users

runner = CliRunner()
PASSWORD = "a long enough passphrase"


def run(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


def test_add_list_set_role_disable_and_enable(tmp_path):
    db = str(tmp_path / "u.db")
    added = run("users", "add", "rita", "--role", "reviewer", "--password-stdin", "--db", db,
                stdin=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert "rita added with the reviewer role" in added.output
    listed = run("users", "list", "--db", db)
    assert "rita" in listed.output and "reviewer" in listed.output and "active" in listed.output
    assert run("users", "set-role", "rita", "--role", "admin", "--db", db).exit_code == 0
    assert run("users", "disable", "rita", "--db", db).exit_code == 0
    store = open_store(db)
    try:
        (rita,) = list_users(store)
        assert rita.role is Role.ADMIN and rita.disabled
        assert run("users", "enable", "rita", "--db", db).exit_code == 0
        assert not get_user(store, "rita").disabled
        with store.read() as conn:
            stored = conn.execute(select(users.c.password_hash)).scalar_one()
            trail = conn.execute(select(audit_log.c.kind, audit_log.c.payload)
                                 .where(audit_log.c.event_id == "-")).all()
    finally:
        store.close()
    assert verify_password(stored, PASSWORD)[0]
    assert [k for k, _ in trail] == ["user_added", "role_changed", "user_disabled", "user_enabled"]
    payloads = [json.loads(p) for _, p in trail]
    assert all(p["actor"].startswith("cli:") for p in payloads)
    assert payloads[1]["from"] == "reviewer" and payloads[1]["to"] == "admin"
    assert PASSWORD not in json.dumps(payloads)


def test_the_password_is_prompted_twice_when_not_on_stdin(tmp_path):
    db = str(tmp_path / "u.db")
    ok = run("users", "add", "vera", "--db", db, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert ok.exit_code == 0 and "viewer role" in ok.output
    differ = run("users", "add", "vic", "--db", db, stdin=f"{PASSWORD}\nsomething else!!\n")
    assert differ.exit_code == 2 and "differ" in differ.output


def test_there_is_no_password_argument():
    result = run("users", "add", "x", "--password", PASSWORD)
    assert result.exit_code != 0


def test_mistakes_are_sentences_with_exit_codes(tmp_path):
    db = str(tmp_path / "u.db")
    short = run("users", "add", "rita", "--password-stdin", "--db", db, stdin="short\n")
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    bad_role = run("users", "add", "rita", "--role", "owner", "--password-stdin", "--db", db,
                   stdin=PASSWORD + "\n")
    assert bad_role.exit_code == 2 and "no role 'owner'" in bad_role.output
    bad_name = run("users", "add", "../etc", "--password-stdin", "--db", db, stdin=PASSWORD + "\n")
    assert bad_name.exit_code == 2 and "not allowed" in bad_name.output
    run("users", "add", "rita", "--password-stdin", "--db", db, stdin=PASSWORD + "\n")
    twice = run("users", "add", "rita", "--password-stdin", "--db", db, stdin=PASSWORD + "\n")
    assert twice.exit_code == 2 and "already a user" in twice.output
    missing = run("users", "set-role", "nobody", "--role", "admin", "--db", db)
    assert missing.exit_code == 1 and "no user named 'nobody'" in missing.output
