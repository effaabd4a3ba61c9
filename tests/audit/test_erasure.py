"""Erasure on SQLite and PostgreSQL: the person is gone from every table, the chain verifies."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import insert, select

from seamline.audit import AuditEntry, DirectorySink, Signer, append, checkpoint, erase, story, verify
from seamline.errors import ConfigError
from seamline.ingest import Vault
from seamline.store.tables import dedupe_keys, events, jobs, metadata, outbox

ANN = "Ann.Lee@Example.com"
BOB = "bob@example.org"


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request):
    return request.getfixturevalue("store" if request.param == "sqlite" else "pg_store")


def _event(conn, vault, event_id, email, name):
    now = time.time()
    conn.execute(insert(events).values(
        id=event_id, integration="support", idempotency_key=f"key-{email}", tenant="acme",
        state="succeeded", input=json.dumps({"from": "<EMAIL_1>", "body": "hi, <PERSON_1> here"}),
        created_at=now, updated_at=now))
    conn.execute(insert(dedupe_keys).values(integration="support", idempotency_key=f"key-{email}",
                                            event_id=event_id))
    vault.put(conn, event_id, {"<EMAIL_1>": email, "<PERSON_1>": name})
    conn.execute(insert(outbox).values(
        idempotency_key=f"ik-{event_id}", event_id=event_id, integration="support", action="reply",
        params=json.dumps({"to": "<EMAIL_1>"}), status="done",
        result=json.dumps({"sent_to": email.lower()}), created_at=now, updated_at=now))
    append(conn, [AuditEntry(event_id, "support", "ingest", {"input": {"from": "<EMAIL_1>"}}),
                  AuditEntry(event_id, "support", "action", {"result": {"sent_to": email.lower()}})])


def _fill(store):
    vault = Vault(store)
    with store.write() as conn:
        _event(conn, vault, "evt-ann", ANN, "Ann Lee")
        _event(conn, vault, "evt-bob", BOB, "Bob Roe")
        conn.execute(insert(jobs).values(
            integration="support", event_id="evt-q", kind="event", status="queued",
            payload=vault.seal(json.dumps({"from": ANN.upper()})), attempts=0, available_at=0,
            created_at=0, updated_at=0))
    return vault


def _everything(store) -> str:
    with store.read() as conn:
        return "\n".join(" ".join(map(str, row)) for t in metadata.sorted_tables
                         for row in conn.execute(select(t)))


def test_erase_forgets_one_person_and_keeps_the_other_and_the_chain(any_store, tmp_path):
    signer, sink = Signer.generate(), DirectorySink(tmp_path / "cps")
    vault = _fill(any_store)
    checkpoint(any_store, signer, sink)
    assert ANN.lower() in _everything(any_store).lower()
    done = erase(any_store, "  ann.lee@EXAMPLE.com ", reason="request #1", actor="dpo")
    assert (done.events, done.vault_values, done.jobs) == (1, 2, 1)
    assert done.audit_rows == (2,)
    assert done.replaced == {"events.idempotency_key": 1, "dedupe_keys.idempotency_key": 1,
                             "outbox.result": 1}
    assert ANN.lower() not in _everything(any_store).lower()
    assert vault.mapping("evt-ann") == {}
    assert vault.mapping("evt-bob") == {"<EMAIL_1>": BOB, "<PERSON_1>": "Bob Roe"}
    with any_store.read() as conn:
        keys = conn.execute(select(dedupe_keys.c.idempotency_key, dedupe_keys.c.event_id)
                            .order_by(dedupe_keys.c.event_id)).all()
        job = conn.execute(select(jobs.c.status, jobs.c.payload, jobs.c.last_error)).one()
    token = f"<ERASED_{done.subject[:12]}>"
    assert keys[0] == (f"key-{token}", "evt-ann") and keys[1] == (f"key-{BOB}", "evt-bob")
    assert job == ("dead", None, "erased before it ran: request #1")
    record = [r for r in story(any_store, "") if r["kind"] == "audit_erasure"][0]["payload"]
    assert record["subject"] == done.subject and record["rows"] == [2] and record["actor"] == "dpo"
    assert [r["payload"] for r in story(any_store, "evt-ann")] == [{"input": {"from": "<EMAIL_1>"}}, None]
    checkpoint(any_store, signer, sink)
    report = verify(any_store, checkpoints=sink, keys=[signer.public])
    assert report.ok, report.problems
    assert report.purged == 1


def test_the_subject_is_named_by_a_keyed_hash_that_a_guess_cannot_confirm_without_the_vault_key(store):
    import hashlib

    _fill(store)
    done = erase(store, ANN, reason="request")
    for guess in (ANN, ANN.lower()):
        assert hashlib.sha256(guess.encode()).hexdigest() != done.subject


def test_an_erasure_that_would_keep_the_subject_in_the_trail_or_match_everything_is_refused(store):
    _fill(store)
    with pytest.raises(ConfigError, match="must not name the subject"):
        erase(store, ANN, reason=f"{ANN} asked")
    with pytest.raises(ConfigError, match="at least 3 characters"):
        erase(store, "a ", reason="x")
    with pytest.raises(ConfigError, match="needs a reason"):
        erase(store, ANN, reason=" ")
    assert verify(store).ok
