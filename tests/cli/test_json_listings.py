"""`--json` on every listing command: one JSON document on stdout and nothing else, with the
keys docs/reference.md (*Scripts*) promises; and the two widest tables (approvals, dead
letters) read at 80 columns."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from seamline.alerts import Alert, raise_alert
from seamline.cli import app
from seamline.cli._common import JSON_LISTINGS
from seamline.store import open_store

runner = CliRunner()


def invoke(*args, columns: int = 80, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input, env={"COLUMNS": str(columns)})


@pytest.fixture(scope="module")
def store_with_everything(tmp_path_factory):
    """A fresh `seamline init` run so that something waits for approval and something is
    dead-lettered; then a truth, a user, a flag, a rollout and an alert."""
    root = tmp_path_factory.mktemp("json")
    folder = root / "leads"
    assert invoke("init", folder).exit_code == 0
    text = (folder / "integration.yaml").read_text()
    assert "below_confidence: 0.3" in text
    # A person approves every route below 99% confidence: the approvals queue fills.
    # The listings are under test, not eval-first go-live: the flag may go on unsigned.
    (folder / "integration.yaml").write_text(text.replace("below_confidence: 0.3",
                                                          "below_confidence: 0.99")
                                             .replace("rollout:\n", "rollout:\n  require_signoff: false\n"))
    db = root / "seamline.db"
    ran = invoke("run", folder / "integration.yaml", "--input", folder / "data" / "events.jsonl",
                 "--db", db)
    assert ran.exit_code == 0, ran.output
    first = json.loads(invoke("events", "list", "--state", "awaiting_approval", "--json",
                              "--db", db).stdout)[0]["id"]
    assert invoke("feedback", "record", first, "--set", "category=sales", "--db", db,
                  "--actor", "test").exit_code == 0
    assert invoke("users", "add", "ana", "--role", "reviewer", "--password-stdin", "--db", db,
                  input="a long passphrase of her own\n").exit_code == 0
    assert invoke("flag", "set", "leads.ai", "on", "--reason", "live", "--db", db).exit_code == 0
    started = invoke("rollout", "start", "leads", "--steps", "10,50,100", "--reason", "canary",
                     "--db", db)
    assert started.exit_code == 0, started.output
    store = open_store(str(db))
    raise_alert(store, Alert("contract_drift", "warning", "stripe added the field livemode",
                             {"contract": "stripe"}))
    store.close()
    return db, first


def args_of(command: str, db, event_id: str) -> list:
    extra = {"events show": [event_id], "feedback accuracy": ["leads"],
             "feedback runs": ["leads"]}.get(command, [])
    db_args = [] if command == "connectors list" else ["--db", db]  # reads no store
    return [*command.split(), *extra, *db_args]


# dlq show takes a dead letter's id: test_the_values_are_the_store_s runs it.
@pytest.mark.parametrize("command", [c for c in JSON_LISTINGS if c != "dlq show"])
def test_every_listing_prints_one_json_document_and_nothing_else(store_with_everything, command):
    db, event_id = store_with_everything
    result = invoke(*args_of(command, db, event_id), "--json", columns=40)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)  # all of stdout is the document, even at 40 columns
    assert isinstance(document, list | dict)


# What each listing's objects carry: the stable keys scripts may rely on.
KEYS = {
    "events list": {"id", "integration", "state", "stage", "reason", "output", "received_at",
                    "cost_usd", "model"},
    "events actions": {"id", "event_id", "action", "status", "approval_reason", "params",
                       "created_at"},
    "approvals list": {"id", "event_id", "integration", "action", "approval_reason",
                       "in_doubt", "params", "output", "created_at"},
    "dlq list": {"event_id", "integration", "stage", "reason", "last_error", "dead_at", "times"},
    "alerts": {"at", "severity", "kind", "sentence", "labels"},
    "users list": {"username", "role", "disabled", "created_at", "updated_at"},
    "connectors list": {"name", "operations", "api_version", "env", "idempotency"},
    "flag show": {"name", "mode", "percent", "reason", "updated_at"},
    "rollout status": {"flag", "integration", "status", "step", "steps", "percent",
                       "step_started_at", "reason"},
    "feedback accuracy": {"start_at", "events", "accuracy", "overall"},
}


@pytest.mark.parametrize("command", sorted(KEYS))
def test_each_listing_s_objects_have_the_documented_keys(store_with_everything, command):
    db, event_id = store_with_everything
    rows = json.loads(invoke(*args_of(command, db, event_id), "--json").stdout)
    assert isinstance(rows, list) and rows, f"{command} listed nothing"
    for row in rows:
        assert KEYS[command] <= set(row), (command, sorted(row))


def test_the_values_are_the_store_s(store_with_everything):
    db, event_id = store_with_everything
    waiting = json.loads(invoke("approvals", "list", "--json", "--db", db).stdout)
    assert event_id in {a["event_id"] for a in waiting}
    assert all(a["in_doubt"] is False and isinstance(a["params"], dict) for a in waiting)
    assert {a["action"] for a in waiting} == {"route_message"}
    dead = json.loads(invoke("dlq", "list", "--json", "--db", db).stdout)
    assert dead and all(d["dead_at"].endswith("+00:00") for d in dead)
    shown = json.loads(invoke("dlq", "show", dead[0]["event_id"], "--json", "--db", db).stdout)
    assert shown["reason"] == dead[0]["reason"] and isinstance(shown["input"], dict)
    users = json.loads(invoke("users", "list", "--json", "--db", db).stdout)
    assert users == [{**users[0], "username": "ana", "role": "reviewer", "disabled": False}]
    assert "password" not in json.dumps(users)
    plans = json.loads(invoke("rollout", "status", "--json", "--db", db).stdout)
    assert [(p["flag"], p["step"], p["steps"], p["percent"]) for p in plans] == [
        ("leads.ai", 1, [10, 50, 100], 10)]
    (alert,) = json.loads(invoke("alerts", "--json", "--db", db).stdout)
    assert alert["labels"] == {"contract": "stripe"} and alert["kind"] == "contract_drift"
    accuracy = json.loads(invoke("feedback", "accuracy", "leads", "--json", "--db", db).stdout)
    assert sum(b["events"] for b in accuracy) == 1
    assert set(accuracy[0]["accuracy"]) == {"category"}


def test_reports_are_objects(store_with_everything):
    db, _ = store_with_everything
    costs = json.loads(invoke("costs", "--json", "--by", "integration,day", "--db", db).stdout)
    assert set(costs["by"]) == {"integration", "day"}
    assert costs["by"]["integration"][0]["key"] == "leads"
    assert costs["total_usd"] == sum(r["cost_usd"] for r in costs["by"]["integration"])
    queue = json.loads(invoke("queue", "status", "--json", "--db", db).stdout)
    dead = json.loads(invoke("dlq", "list", "--json", "--db", db).stdout)
    assert queue["dead_lettered_events"] == len(dead) > 0  # the whole store's, not the queue's
    assert set(queue["jobs"]) == {"queued", "running", "done", "dead"}
    drift = json.loads(invoke("drift", "--json", "--db", db).stdout)
    assert drift == {"drift": [], "contracts": []}


def test_an_empty_listing_is_an_empty_list_not_a_sentence(store_with_everything):
    db, _ = store_with_everything
    for args in (["dlq", "list", "--name", "nope"], ["escalations", "list"],
                 ["agent", "stale"], ["connectors", "undecided"],
                 ["alerts", "--kind", "nope"], ["feedback", "runs", "leads"]):
        result = invoke(*args, "--json", "--db", db)
        assert result.exit_code == 0 and json.loads(result.stdout) == [], args


def test_a_listing_on_a_store_that_does_not_exist_creates_nothing(tmp_path):
    where = tmp_path / "none.db"
    for args in (["dlq", "list"], ["approvals", "list"], ["costs"], ["users", "list"],
                 ["queue", "status"], ["rollout", "status"], ["alerts"]):
        result = invoke(*args, "--json", "--db", where)
        assert result.exit_code == 1 and "There is no store" in " ".join(result.output.split())
        assert not where.exists(), args


def _commands(group, ctx, prefix=()):
    """Every command of the CLI as its words (`dlq list`), imported as running one would."""
    for name in sorted(group.list_commands(ctx)):
        _, command, _ = group.resolve_command(ctx, [name])
        path = (*prefix, name)
        if hasattr(command, "list_commands"):
            yield from _commands(command, ctx, path)
        else:
            yield " ".join(path), command


def test_every_listing_command_takes_json_and_the_reference_names_them():
    from seamline.cli._reference import markdown

    root = typer.main.get_command(app)
    ctx = root.make_context("seamline", ["--help"], resilient_parsing=True)
    found = dict(_commands(root, ctx))
    listings = {p for p in found if p.split()[-1] in ("list", "status", "undecided", "stale",
                                                      "accuracy", "runs")
                or p in ("alerts", "drift", "costs", "flag show")}
    assert listings <= set(JSON_LISTINGS), sorted(listings - set(JSON_LISTINGS))
    for path in JSON_LISTINGS:
        options = {o for p in found[path].params for o in getattr(p, "opts", [])}
        assert "--json" in options, path
        assert f"`seamline {path}`" in markdown()


def test_approvals_list_fits_80_columns_with_ids_whole(store_with_everything):
    db, _ = store_with_everything
    table = invoke("approvals", "list", "--db", db)
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    waiting = json.loads(invoke("approvals", "list", "--json", "--db", db).stdout)
    assert len(waiting) > 1
    for a in waiting:  # ids are typed into `approvals approve` and `events show`: never cut
        assert any(a["event_id"] in line for line in lines), a["event_id"]
        assert any(f"│ {a['id']} │" in line or f" {a['id']} │" in line for line in lines)
    words = set(table.stdout.replace("│", " ").split())
    for word in waiting[0]["approval_reason"].split():
        assert word in words, f"{word!r} was cut"


def test_dlq_list_fits_80_columns_with_ids_and_reasons_whole(store_with_everything):
    db, _ = store_with_everything
    table = invoke("dlq", "list", "--db", db)
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    dead = json.loads(invoke("dlq", "list", "--json", "--db", db).stdout)
    words = set(table.stdout.replace("│", " ").split())
    for d in dead:
        assert any(d["event_id"] in line for line in lines), d["event_id"]
        for word in d["reason"].split():
            assert word in words, f"{word!r} was cut"
