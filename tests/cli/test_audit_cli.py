"""``seamline audit …`` and ``seamline erase`` end to end: sign, verify, export, purge, forget."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
from conftest import EXAMPLE
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from seamline.audit import story
from seamline.cli import app
from seamline.ingest import Vault
from seamline.store import open_store
from seamline.store.tables import audit_log, events, jobs, metadata, vault

runner = CliRunner()


def invoke(*args, ok=True):
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def said(result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def keyed(tmp_path, monkeypatch):
    """A signing key in a file and a checkpoint folder, as an operator configures them."""
    invoke("audit", "keygen", tmp_path / "keys" / "audit.key")
    monkeypatch.setenv("SEAMLINE_AUDIT_KEY_FILE", str(tmp_path / "keys" / "audit.key"))
    monkeypatch.setenv("SEAMLINE_AUDIT_CHECKPOINTS", str(tmp_path / "checkpoints"))
    return tmp_path / "keys" / "audit.pub"


@pytest.fixture(autouse=True)
def integration(tmp_path):
    """The demo without its actions: the audit commands are under test here, not the outbox
    (tests/audit/test_erasure.py covers a handler's result naming the person)."""
    import re
    import shutil

    dest = tmp_path / "support_triage"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("__pycache__"))
    spec = dest / "integration.yaml"
    spec.write_text(re.sub(r"(?ms)^actions:.*?(?=^\S)", "", spec.read_text()))
    return spec


def inbox(tmp_path, n=6):
    lines = (EXAMPLE / "data" / "golden.jsonl").read_text().splitlines()[:n]
    rows = [json.loads(line)["input"] for line in lines]
    path = tmp_path / "inbox.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path, rows


def run(tmp_path, db, n=6):
    path, rows = inbox(tmp_path, n)
    invoke("run", tmp_path / "support_triage" / "integration.yaml", "--input", path, "--db", db)
    return rows


def test_a_run_is_signed_and_an_auditor_verifies_its_export_with_the_public_key(tmp_path, keyed):
    db = str(tmp_path / "s.db")
    run(tmp_path, db)
    # The run's store was closed: the background signer signed the tail before it went.
    out = said(invoke("audit", "verify", "--db", db, "--public-key", keyed,
                      "--checkpoints", tmp_path / "checkpoints"))
    assert "audit chain verified" in out and "signed checkpoint(s) agree" in out
    assert "not covered" not in out
    invoke("audit", "export", tmp_path / "chain.jsonl", "--db", db)
    out = said(invoke("audit", "verify", "--export", tmp_path / "chain.jsonl", "--public-key", keyed,
                      "--checkpoints", tmp_path / "checkpoints"))
    assert "audit chain verified" in out


def test_a_rewritten_store_fails_verify_through_the_cli_with_the_row_and_checkpoint(tmp_path, keyed):
    import sys

    sys.path.insert(0, str(EXAMPLE.parents[1] / "tests" / "audit"))
    from insider import edit_payload, rewrite

    db = str(tmp_path / "s.db")
    run(tmp_path, db)
    store = open_store(db)
    rewrite(store, edit_payload(3, '{"forged":true}'))
    store.close()
    plain = said(invoke("audit", "verify", "--db", db, "--public-key", keyed, "--checkpoints",
                        tmp_path / "nowhere", ok=False))
    assert "No trusted checkpoint was found" in plain
    result = invoke("audit", "verify", "--db", db, "--public-key", keyed, "--checkpoints",
                    tmp_path / "checkpoints", ok=False)
    assert result.exit_code == 1
    assert "contradicts checkpoint 1" in said(result) and "were rewritten" in said(result)


def test_without_a_key_verify_says_what_it_cannot_catch(tmp_path):
    db = str(tmp_path / "s.db")
    run(tmp_path, db, n=2)
    out = said(invoke("audit", "verify", "--db", db))
    assert "audit chain verified" in out and "Unsigned verification" in out
    refused = invoke("audit", "checkpoint", "--db", db, ok=False)
    assert refused.exit_code == 2 and "not signed" in said(refused)


def test_rotate_key_through_the_cli_keeps_the_chain_verifiable_with_the_old_public_key(tmp_path, keyed, monkeypatch):
    db = str(tmp_path / "s.db")
    run(tmp_path, db, n=2)
    invoke("audit", "keygen", tmp_path / "keys" / "next.key")
    out = said(invoke("audit", "rotate-key", "--new-key", tmp_path / "keys" / "next.key", "--db", db))
    assert "Rotated" in out
    monkeypatch.setenv("SEAMLINE_AUDIT_KEY_FILE", str(tmp_path / "keys" / "next.key"))
    run(tmp_path, str(db), n=3)
    out = said(invoke("audit", "verify", "--db", db, "--public-key", keyed))
    assert "audit chain verified" in out and "rotated" in out


def test_purge_through_the_cli_keeps_the_hash_skeleton(tmp_path, keyed):
    db = str(tmp_path / "s.db")
    run(tmp_path, db, n=2)
    bad = invoke("audit", "purge", "--older-than", "soon", "--db", db, ok=False)
    assert bad.exit_code == 2 and "duration" in said(bad)
    out = said(invoke("audit", "purge", "--older-than", "400d", "--db", db))
    assert "Purged the payloads of 0 audit row(s)" in out
    time.sleep(0.05)
    out = said(invoke("audit", "purge", "--older-than", "0.01s", "--db", db))
    assert "Purged the payloads of" in out and "of 0 audit" not in out
    invoke("audit", "checkpoint", "--db", db)
    out = said(invoke("audit", "verify", "--db", db, "--public-key", keyed))
    assert "audit chain verified" in out and "purged" in out
    store = open_store(db)
    with store.read() as conn:
        event_id = conn.execute(select(events.c.id)).scalars().first()
    store.close()
    shown = said(invoke("audit", "show", event_id, "--db", db))
    assert "payload purged or erased" in shown


def _every_byte(tmp_path) -> bytes:
    """The store's files (database, WAL, shared memory), its checkpoints and an export."""
    store = [p for p in tmp_path.glob("s.db*") if p.is_file()]
    return b"".join(p.read_bytes() for p in [*store, *(tmp_path / "checkpoints").glob("*"),
                                             *tmp_path.glob("export*.jsonl")])


def _all_text(db) -> str:
    store = open_store(db)
    out = []
    with store.read() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                out.append(" ".join(str(v) for v in row))
    store.close()
    return "\n".join(out)


def test_erase_forgets_a_person_everywhere_and_the_chain_still_verifies(tmp_path, keyed):
    db = str(tmp_path / "s.db")
    rows = run(tmp_path, db)
    person = rows[0]["from_email"]
    # The person also waits in the queue, and a handler's result named them in the clear.
    store = open_store(db)
    v = Vault(store)
    with store.write() as conn:
        conn.execute(jobs.insert().values(integration="support_triage", event_id="evt-q",
                                          kind="event", payload=v.seal(json.dumps({"from_email": person})),
                                          status="queued", attempts=0, available_at=0, created_at=0,
                                          updated_at=0))
        conn.execute(text("UPDATE events SET reason = :r WHERE id = (SELECT min(id) FROM events)"),
                     {"r": f"the helpdesk refused {person.upper()}"})
    event_ids = [e for e in store.read().__enter__().execute(select(events.c.id)).scalars()]
    before = {e: v.mapping(e) for e in event_ids}
    assert any(person in m.values() for m in before.values())  # recoverable before
    store.close()
    assert person.lower().encode() in _every_byte(tmp_path).lower()  # in the clear before
    assert "audit chain verified" in said(invoke("audit", "verify", "--db", db, "--public-key", keyed))
    refused = invoke("erase", person, "--reason", f"{person} asked", "--db", db, ok=False)
    assert refused.exit_code == 2 and "must not name the subject" in said(refused)

    out = said(invoke("erase", person, "--reason", "GDPR art. 17 request #4411", "--db", db))
    assert "Erased subject" in out and "1 queued job(s)" in out

    # Gone from every table and every file of the store, in any case ...
    invoke("audit", "export", tmp_path / "export-after.jsonl", "--db", db)
    assert person.lower() not in _all_text(db).lower()
    blob = _every_byte(tmp_path).lower()
    assert person.lower().encode() not in blob
    store = open_store(db)
    v = Vault(store)
    after = {e: v.mapping(e) for e in event_ids}
    assert not any(person in m.values() for m in after.values())  # ... and from the vault
    with store.read() as conn:
        job = conn.execute(select(jobs.c.status, jobs.c.payload).where(jobs.c.event_id == "evt-q")).one()
    assert job == ("dead", None)
    # ... while the other people's values are untouched.
    others = [e for e, m in before.items() if m and person not in m.values()]
    assert others and all(after[e] == before[e] for e in others)
    erasure = [r for r in story(store, "") if r["kind"] == "audit_erasure"][0]["payload"]
    assert person not in json.dumps(erasure) and len(erasure["subject"]) == 64
    assert erasure["reason"] == "GDPR art. 17 request #4411"
    store.close()
    invoke("audit", "checkpoint", "--db", db)
    out = said(invoke("audit", "verify", "--db", db, "--public-key", keyed))
    assert "audit chain verified" in out, out


def test_an_erased_payload_cannot_be_passed_off_as_another_erasure(tmp_path, keyed):
    db = str(tmp_path / "s.db")
    run(tmp_path, db, n=2)
    store = open_store(db)
    with store.write() as conn:  # a writer blanks rows no erasure or purge named
        conn.execute(update(audit_log).where(audit_log.c.seq == 4).values(payload="", payload_salt=""))
    store.close()
    result = invoke("audit", "verify", "--db", db, "--public-key", keyed, ok=False)
    assert "rows 4..4 were removed" in said(result)


def test_sqlite_file_is_the_same_database_after_erase(tmp_path, keyed):
    """The erasure rewrites pages in place; the file stays a sound SQLite database."""
    db = str(tmp_path / "s.db")
    rows = run(tmp_path, db, n=2)
    invoke("erase", rows[1]["from_email"], "--reason", "request", "--db", db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = open_store(db)
    with store.read() as conn:
        assert conn.execute(select(vault.c.event_id)).first() is not None
    store.close()
