"""Intent before effect: a crash between the outbox's intent and the action's result leaves
the action *in doubt*, and it is never sent a second time blindly.

The crash points: between the intent and the effect, between the effect and the result,
and a full disk while the result is recorded; for a handler declared idempotent, a
handler that can ask its receiver, a connector that can ask its vendor (send ledger +
verify), and handlers that cannot ask.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from conftest import make_integration, verdict
from sqlalchemy import event, select, update
from typer.testing import CliRunner

from seamline.actions import (
    AWAITING,
    DONE,
    PENDING,
    REJECTED,
    decide,
    in_doubt,
    list_awaiting,
    resolve_in_doubt,
)
from seamline.audit import story, verify
from seamline.cli import app
from seamline.connectors import Connector
from seamline.runtime import ACTING, AWAITING_APPROVAL, SUCCEEDED, Pipeline
from seamline.store.tables import events, outbox

DIED = "elsewhere:1151/seamline-worker-0"  # the sender a "previous process" left in the row


class Crash(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in Seamline catches it."""


class Receiver:
    """A receiver that does NOT dedupe: every call is an effect."""

    def __init__(self) -> None:
        self.effects: list[str] = []
        self.crash_before = self.crash_after = False

    def __call__(self, params, *, idempotency_key):
        if self.crash_before:
            self.crash_before = False
            raise Crash("killed before the effect")
        self.effects.append(idempotency_key)
        if self.crash_after:
            self.crash_after = False
            raise Crash("killed after the effect, before the result")
        return {"ok": True}


class DedupingReceiver(Receiver):
    """A receiver that keeps one effect per key (what ``idempotent: true`` declares)."""

    def __init__(self) -> None:
        super().__init__()
        self.deliveries: list[str] = []

    def __call__(self, params, *, idempotency_key):
        self.deliveries.append(idempotency_key)
        if self.crash_before:
            self.crash_before = False
            raise Crash("killed before the effect")
        if idempotency_key not in self.effects:
            self.effects.append(idempotency_key)
        if self.crash_after:
            self.crash_after = False
            raise Crash("killed after the effect")
        return {"ok": True}


def _integration(handler, *, idempotent=False):
    spec = make_integration()
    action = spec.actions[0].model_copy(update={"handler": handler, "idempotent": idempotent,
                                                "approval": spec.actions[0].approval.model_copy(
                                                    update={"always": False})})
    return spec.model_copy(update={"actions": (action,)})


def _crash_run(store, integration, ticket="K1") -> str:
    """Process one event until the simulated kill; returns its event id."""
    with pytest.raises(Crash):
        Pipeline(integration, store, provider=verdict()).process(
            {"ticket_id": ticket, "body": "refund please"})
    with store.read() as conn:
        return conn.execute(select(events.c.id).where(events.c.state == ACTING)).scalar_one()


def _as_if_another_process_died(store) -> None:
    with store.write() as conn:
        conn.execute(update(outbox).values(intent_by=DIED))


def _row(store):
    with store.read() as conn:
        return conn.execute(select(outbox)).one()


def _kinds(store, event_id):
    return [e["kind"] for e in story(store, event_id) if e["kind"].startswith(("action", "approval"))]


# ---- a handler that cannot ask: a person decides ------------------------------------------


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_plain_handler_in_doubt_waits_for_a_person_and_is_never_resent_blindly(store, when):
    receiver = Receiver()
    integration = _integration(receiver)
    setattr(receiver, f"crash_{when}", True)
    event_id = _crash_run(store, integration)
    row = _row(store)
    assert row.status == PENDING and row.intent_at is not None and row.attempts == 1
    assert len(receiver.effects) == (1 if when == "after" else 0)
    _as_if_another_process_died(store)

    result = Pipeline(integration, store, provider=verdict()).resume(event_id)
    assert result.state == AWAITING_APPROVAL
    row = _row(store)
    assert in_doubt(row) and row.status == AWAITING and row.attempts == 1
    assert row.approval_reason.startswith("in doubt: may have run at ")
    assert row.approval_reason.endswith(", worker 1151 died")
    assert len(receiver.effects) == (1 if when == "after" else 0)  # nothing sent again
    (waiting,) = list_awaiting(store)
    assert waiting.id == row.id

    # the CLI shows it and resolves it
    db = store.url[len("sqlite:///"):]
    shown = CliRunner().invoke(app, ["approvals", "list", "--db", db], env={"COLUMNS": "300"})
    assert "in doubt: may have run at" in shown.output
    if when == "after":  # it did take effect: mark it done, nothing is sent
        cli = CliRunner().invoke(app, ["approvals", "resolve", str(row.id), "--done", "--db", db,
                                       "-c", "seen in the helpdesk"], env={"COLUMNS": "300"})
        assert cli.exit_code == 0 and "resolved (done)" in cli.output, cli.output
        assert Pipeline(integration, store, provider=verdict()).finish_actions(
            event_id, "ai")[0] == SUCCEEDED
        assert len(receiver.effects) == 1
        assert _row(store).status == DONE
    else:  # it did not: resend, once, with the same key
        decide(store, row.id, approve=True, reviewer="ana")
        assert _row(store).status == PENDING and _row(store).intent_at is None
        out = Pipeline(integration, store, provider=verdict()).finish_actions(event_id, "ai")
        assert out[0] == SUCCEEDED
        assert receiver.effects == [row.idempotency_key]
        assert _row(store).attempts == 2  # two sends started, one of them died before acting
    kinds = _kinds(store, event_id)
    # one entry per recorded result, per doubt found and per person's resolution
    assert kinds.count("action") == (1 if when == "before" else 0)
    assert kinds.count("action_in_doubt") == 1 and kinds.count("approval") == 1
    assert verify(store).ok


def test_cancel_in_doubt_rejects_it(store):
    receiver = Receiver()
    integration = _integration(receiver)
    receiver.crash_after = True
    event_id = _crash_run(store, integration)
    _as_if_another_process_died(store)
    Pipeline(integration, store, provider=verdict()).resume(event_id)
    row = resolve_in_doubt(store, _row(store).id, "cancel", reviewer="ana", comment="dup")
    assert row.status == REJECTED
    with pytest.raises(Exception, match="not in doubt"):
        resolve_in_doubt(store, row.id, "resend", reviewer="ana")


# ---- declared idempotent: resent with the same key -----------------------------------------


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_declared_idempotent_handler_in_doubt_is_resent_with_the_same_key(store, when):
    receiver = DedupingReceiver()
    integration = _integration(receiver, idempotent=True)
    setattr(receiver, f"crash_{when}", True)
    event_id = _crash_run(store, integration)
    _as_if_another_process_died(store)
    result = Pipeline(integration, store, provider=verdict()).resume(event_id)
    assert result.state == SUCCEEDED
    row = _row(store)
    assert row.status == DONE and row.intent_at is None and row.attempts == 2
    assert len(set(receiver.deliveries)) == 1 and len(receiver.deliveries) == 2
    assert len(receiver.effects) == 1  # the receiver kept one effect
    kinds = _kinds(store, event_id)
    assert kinds.count("action_attempt") == 1 and kinds.count("action") == 1  # the resend
    (resent,) = [e for e in story(store, event_id) if e["kind"] == "action_attempt"]
    assert resent["payload"]["in_doubt"] and resent["payload"]["previous_intent_by"] == DIED


# ---- a handler that can ask its receiver ----------------------------------------------------


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_handler_that_can_ask_is_asked_and_resent_only_if_it_did_not_act(store, when):
    receiver = Receiver()
    asked: list[str] = []

    def check(params, *, idempotency_key, since):
        asked.append(idempotency_key)
        return {"found": True} if idempotency_key in receiver.effects else None

    receiver.verify = check  # type: ignore[attr-defined]
    integration = _integration(receiver)
    setattr(receiver, f"crash_{when}", True)
    event_id = _crash_run(store, integration)
    _as_if_another_process_died(store)
    assert Pipeline(integration, store, provider=verdict()).resume(event_id).state == SUCCEEDED
    row = _row(store)
    assert asked and row.status == DONE
    assert len(receiver.effects) == 1  # asked first: never a second effect
    assert row.attempts == (1 if when == "after" else 2)  # a real send only when it had not acted
    if when == "after":
        assert json.loads(row.result)["verified"] is True


# ---- connectors: one that can ask the vendor, one that cannot ------------------------------


class _Vendor:
    def __init__(self) -> None:
        self.effects: list[str] = []


def _connector(store, vendor: _Vendor, *, can_ask: bool, crash_after: list[bool]):
    class Notes(Connector):
        name = "notes_test"
        api_version = "1"
        idempotency = "ours"
        operations = ("post",)

        def post(self, params, *, idempotency_key):
            def send():
                vendor.effects.append(idempotency_key)
                if crash_after and crash_after.pop():
                    raise Crash("killed after the vendor acted")
                return {"id": len(vendor.effects)}

            def check(since):
                return {"found": True} if idempotency_key in vendor.effects else None

            return self.once(idempotency_key, send, verify=check if can_ask else None,
                             what="post")

        def call(self, operation, params, *, idempotency_key):
            return getattr(self, operation)(params, idempotency_key=idempotency_key)

    connector = Notes(store=store)

    def handler(params, *, idempotency_key):
        return connector.call("post", params, idempotency_key=idempotency_key)

    handler.connector = connector  # type: ignore[attr-defined] - what connector_handler sets
    return handler


@pytest.mark.parametrize("can_ask", [True, False])
def test_a_connector_in_doubt_asks_its_ledger_and_vendor_or_waits_for_a_person(store, can_ask):
    vendor = _Vendor()
    handler = _connector(store, vendor, can_ask=can_ask, crash_after=[True])
    integration = _integration(handler)
    event_id = _crash_run(store, integration)
    assert vendor.effects and _row(store).intent_at is not None
    _as_if_another_process_died(store)
    result = Pipeline(integration, store, provider=verdict()).resume(event_id)
    row = _row(store)
    assert len(vendor.effects) == 1  # never a second effect
    if can_ask:  # the vendor shows it: done, no new send
        assert result.state == SUCCEEDED and row.status == DONE and row.attempts == 1
    else:  # the ledger cannot tell: a person decides; marking it done settles the ledger too
        assert result.state == AWAITING_APPROVAL and in_doubt(row)
        assert "may already have been done" in row.approval_reason
        resolve_in_doubt(store, row.id, "done", reviewer="ana")
        assert _row(store).status == DONE


def test_a_connector_resent_by_a_person_goes_through_its_ledger_once(store):
    vendor = _Vendor()
    handler = _connector(store, vendor, can_ask=False, crash_after=[True])
    integration = _integration(handler)
    event_id = _crash_run(store, integration)
    vendor.effects.clear()  # the vendor never got it after all (the person checked)
    _as_if_another_process_died(store)
    Pipeline(integration, store, provider=verdict()).resume(event_id)
    resolve_in_doubt(store, _row(store).id, "resend", reviewer="ana")
    assert Pipeline(integration, store, provider=verdict()).finish_actions(
        event_id, "ai")[0] == SUCCEEDED
    assert len(vendor.effects) == 1 and _row(store).status == DONE


# ---- a full disk while the result is recorded ------------------------------------------------


class Full:
    """SQLite really full (SQLITE_FULL) for every transaction while ``on``."""

    def __init__(self, store) -> None:
        self.on = False
        event.listen(store.engine, "begin", self._limit)

    def _limit(self, conn) -> None:
        raw = conn.connection.dbapi_connection
        pages = raw.execute("PRAGMA page_count").fetchone()[0] if self.on else 1073741823
        raw.execute(f"PRAGMA max_page_count = {pages}")


def test_a_full_disk_during_the_result_is_recorded_later_without_a_second_send(store):
    receiver = Receiver()
    integration = _integration(receiver)
    full = Full(store)

    def effect_then_fill(params, *, idempotency_key):
        receiver(params, idempotency_key=idempotency_key)
        full.on = True  # the disk fills between the effect and its record
        return {"ok": True, "receipt": "r" * 20_000}  # recording it needs new pages

    integration = _integration(effect_then_fill)
    pipeline = Pipeline(integration, store, provider=verdict())
    with pytest.raises(Exception, match="database or disk is full"):
        pipeline.process({"ticket_id": "F1", "body": "refund please " * 200})
    full.on = False
    with store.read() as conn:
        event_id = conn.execute(select(events.c.id)).scalar_one()
    row = _row(store)
    assert row.status == PENDING and row.intent_at is not None and len(receiver.effects) == 1
    # The same process tries again (the queue's retry): it remembers the result, records it.
    assert pipeline.resume(event_id).state == SUCCEEDED
    assert len(receiver.effects) == 1 and _row(store).status == DONE
    assert _row(store).attempts == 1


def test_a_full_disk_during_the_result_then_a_restart_holds_it_for_a_person(store):
    receiver = Receiver()
    full = Full(store)

    def effect_then_fill(params, *, idempotency_key):
        receiver(params, idempotency_key=idempotency_key)
        full.on = True
        return {"ok": True, "receipt": "r" * 20_000}

    integration = _integration(effect_then_fill)
    with pytest.raises(Exception, match="database or disk is full"):
        Pipeline(integration, store, provider=verdict()).process(
            {"ticket_id": "F2", "body": "refund please " * 200})
    full.on = False
    with store.read() as conn:
        event_id = conn.execute(select(events.c.id)).scalar_one()
    # A new runner (the process restarted) has no memory of the result: a person decides.
    assert Pipeline(integration, store, provider=verdict()).resume(event_id).state == \
        AWAITING_APPROVAL
    row = _row(store)
    assert in_doubt(row) and "could not record the result" in row.approval_reason
    assert len(receiver.effects) == 1


# ---- a real SIGKILL-like death: the child process exits right after the effect -------------

CHILD = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, sys.argv[2])
    from conftest import make_integration, verdict
    from seamline.runtime import Pipeline
    from seamline.store import open_store

    effects = sys.argv[3]
    def deliver(params, *, idempotency_key):
        with open(effects, "a") as f:
            f.write(idempotency_key + "\\n"); f.flush(); os.fsync(f.fileno())
        os._exit(17)  # dies between the effect and its result, as under SIGKILL
    spec = make_integration()
    action = spec.actions[0].model_copy(update={"handler": deliver})
    spec = spec.model_copy(update={"actions": (action,)})
    Pipeline(spec, open_store(sys.argv[1]), provider=verdict()).process(
        {"ticket_id": "S1", "body": "refund please"})
""")


def test_a_worker_process_that_dies_after_the_effect_leaves_it_in_doubt(store, tmp_path):
    effects = tmp_path / "effects.log"
    tests = str(__import__("pathlib").Path(__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", CHILD, store.url, tests, str(effects)],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 17, done.stderr[-2000:]
    row = _row(store)
    assert row.intent_at is not None and row.intent_by.split("/")[0].endswith(
        f":{row.intent_by.split(':')[1].split('/')[0]}")
    calls: list[str] = []
    integration = _integration(lambda p, *, idempotency_key: calls.append(idempotency_key))
    with store.read() as conn:
        event_id = conn.execute(select(events.c.id)).scalar_one()
    assert Pipeline(integration, store, provider=verdict()).resume(event_id).state == \
        AWAITING_APPROVAL
    assert calls == [] and effects.read_text().splitlines() == [row.idempotency_key]
    pid = row.intent_by.split(":")[1].split("/")[0]
    assert _row(store).approval_reason.endswith(f", worker {pid} died")
