"""Keys, sinks, the background signer, exports, rotation, retention: the signed chain's parts."""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from insider import drop_triggers, rewrite, truncate_after
from sqlalchemy import insert, select, update

from seamline.audit import (
    AuditEntry,
    DirectorySink,
    HttpSink,
    Signer,
    append,
    checkpoint,
    export,
    load_public_key,
    load_signer,
    purge,
    replace_lost_key,
    rotate_key,
    signer_from_env,
    start_checkpoints,
    story,
    verify,
    verify_export,
    write_key_pair,
)
from seamline.audit._chain import row_hash
from seamline.errors import ConfigError
from seamline.store import open_store
from seamline.store.tables import audit_checkpoints, audit_head, audit_log


def fill(store, n, start=0, *, now=None):
    with store.write() as conn:
        append(conn, [AuditEntry("e1", "refunds", "step", {"i": i}) for i in range(start, start + n)],
               now=now)


@pytest.fixture
def signer():
    return Signer.generate()


@pytest.fixture
def sink(tmp_path):
    return DirectorySink(tmp_path / "checkpoints")


# ------------------------------------------------------------------------------ keys


def test_a_key_from_a_file_or_the_environment_signs_and_its_public_half_verifies(tmp_path, monkeypatch):
    made = write_key_pair(tmp_path / "audit.key")
    assert (tmp_path / "audit.key").stat().st_mode & 0o777 == 0o600
    public = load_public_key(tmp_path / "audit.pub")
    assert public.key_id == made.key_id
    monkeypatch.setenv("SEAMLINE_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    assert signer_from_env().key_id == made.key_id
    raw = made._key.private_bytes_raw()  # the 32 bytes, in base64, in the variable itself
    monkeypatch.setenv("SEAMLINE_AUDIT_KEY", base64.b64encode(raw).decode())
    assert signer_from_env().key_id == made.key_id
    assert repr(made) == f"Signer(key_id={made.key_id})"  # a repr in a log names no secret
    with pytest.raises(ConfigError, match="never overwritten"):
        write_key_pair(tmp_path / "audit.key")


def test_a_bad_key_is_a_sentence_that_does_not_repeat_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SEAMLINE_AUDIT_KEY", "not-a-key-but-a-secret-value")
    with pytest.raises(ConfigError) as exc:
        signer_from_env()
    assert "not-a-key" not in str(exc.value) and "Ed25519" in str(exc.value)
    (tmp_path / "k").write_text("garbage")
    with pytest.raises(ConfigError, match="not an Ed25519 private key"):
        load_signer(tmp_path / "k")


def test_the_signing_key_never_reaches_the_store_the_audit_or_the_log(tmp_path, monkeypatch, caplog, sink):
    signer = Signer.generate()
    secret = base64.b64encode(signer._key.private_bytes_raw()).decode()
    monkeypatch.setenv("SEAMLINE_AUDIT_KEY", secret)
    store = open_store(tmp_path / "s.db")
    caplog.set_level(logging.DEBUG)
    from seamline.scrub import install_log_filter

    install_log_filter()  # what every command installs
    with store.write() as conn:
        append(conn, [AuditEntry("e1", "refunds", "note", {"said": f"the key is {secret}"})])
    checkpoint(store, signer_from_env(), sink)
    logging.getLogger("seamline.audit").warning("key %s", secret)
    store.close()
    blob = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert secret.encode() not in blob
    assert signer.pem() not in blob
    assert secret not in caplog.text  # the log filter scrubs a ...KEY variable by value


# ------------------------------------------------------------------------ background signer


def test_the_background_signer_signs_every_n_rows_and_the_tail_at_close(tmp_path, signer, sink):
    store = open_store(tmp_path / "s.db")
    cp = start_checkpoints(store, signer=signer, sink=sink, every_rows=5, every_s=30)
    assert start_checkpoints(store) is cp  # once per store
    fill(store, 6)
    deadline = time.time() + 5
    while not sink.documents() and time.time() < deadline:
        time.sleep(0.02)
    assert sink.documents(), "no checkpoint after 6 rows with every_rows=5"
    fill(store, 2, start=6)
    store.close()  # signs the tail before the store goes
    last = json.loads(sink.documents()[-1][1])
    assert last["seq"] == 8
    reopened = open_store(tmp_path / "s.db")
    assert verify(reopened, checkpoints=sink, keys=[signer.public]).signed_through == 8
    reopened.close()


def test_a_rolled_back_append_is_never_signed(store, signer, sink):
    fill(store, 3)
    with pytest.raises(RuntimeError), store.write() as conn:
        append(conn, [AuditEntry("e1", "refunds", "step", {"i": 99})])
        raise RuntimeError("the caller's transaction failed")
    done = checkpoint(store, signer, sink)
    assert done.checkpoint.seq == 3
    assert verify(store, checkpoints=sink, keys=[signer.public]).ok


def test_without_a_key_the_chain_runs_unsigned_and_says_so(store, caplog):
    import seamline.audit._trust as trust

    trust._said_unsigned = False
    with caplog.at_level(logging.WARNING, logger="seamline.audit"):
        assert start_checkpoints(store) is None
    assert "not signed" in caplog.text and "seamline audit keygen" in caplog.text
    report = verify(store)
    assert report.ok and any("Unsigned verification" in n for n in report.notes)


def test_a_sink_that_is_down_keeps_checkpoints_pending_until_it_is_back(store, signer, tmp_path):
    down = HttpSink("http://127.0.0.1:9/checkpoints", timeout_s=0.5)
    fill(store, 3)
    with pytest.raises(Exception, match="cannot be reached"):
        checkpoint(store, signer, down)
    with store.read() as conn:
        assert conn.execute(select(audit_checkpoints.c.published)).scalars().all() == [False]
    up = DirectorySink(tmp_path / "cps")
    fill(store, 1, start=3)
    done = checkpoint(store, signer, up)
    assert done.published == 2 and len(up.documents()) == 2


# ------------------------------------------------------------------------------ HTTP sink


class _Receiver(BaseHTTPRequestHandler):
    """A transparency-log-like receiver: append on POST, list on GET."""

    kept: list[bytes] = []

    def do_POST(self):  # noqa: N802
        self.kept.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(201)
        self.end_headers()

    def do_GET(self):  # noqa: N802
        body = b"\n".join(self.kept)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_checkpoints_posted_to_a_url_verify_the_chain_and_catch_a_truncation(store, signer):
    _Receiver.kept = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sink = HttpSink(f"http://127.0.0.1:{server.server_port}/log")
        for i in range(3):
            fill(store, 5, start=5 * i)
            checkpoint(store, signer, sink)
        assert len(_Receiver.kept) == 3
        assert verify(store, checkpoints=sink, keys=[signer.public]).ok
        rewrite(store, truncate_after(12))
        report = verify(store, checkpoints=sink, keys=[signer.public])
        assert any("rows 13..15 are gone" in p.what for p in report.problems)
    finally:
        server.shutdown()


# ------------------------------------------------------------------------------ export


def test_an_export_verifies_with_only_the_public_key_and_the_checkpoints(store, signer, sink, tmp_path):
    for i in range(2):
        fill(store, 5, start=5 * i)
        checkpoint(store, signer, sink)
    buf = io.StringIO()
    assert export(store, buf) == 10
    lines = buf.getvalue().splitlines(keepends=True)
    assert verify_export(lines, checkpoints=sink, keys=[signer.public]).ok
    # An operator who hands over a doctored export: the recomputed hashes do not save them.
    doctored = [lines[0]] + lines[1:4]  # rows 1..3 only, header unchanged
    report = verify_export(doctored, checkpoints=sink, keys=[signer.public])
    assert not report.ok
    row = json.loads(lines[2])
    row[5] = '{"i":"forged"}'
    report = verify_export([lines[0], lines[1], json.dumps(row) + "\n", *lines[3:]],
                           checkpoints=sink, keys=[signer.public])
    assert {p.seq for p in report.problems} >= {2}


def test_an_export_is_refused_when_it_is_not_one(signer, sink):
    with pytest.raises(ConfigError, match="not a Seamline audit export"):
        verify_export(["{}\n"], checkpoints=sink, keys=[signer.public])


# ---------------------------------------------------------------------------- key rotation


def test_a_rotation_announced_under_the_old_key_is_followed_by_the_verifier(store, sink):
    old, new = Signer.generate(), Signer.generate()
    fill(store, 5)
    checkpoint(store, old, sink)
    rotate_key(store, old, new, sink, reason="yearly")
    fill(store, 5, start=5)
    checkpoint(store, new, sink)
    report = verify(store, checkpoints=sink, keys=[old.public])  # the verifier knew the old key only
    assert report.ok, report.problems
    assert report.signed_through == 11
    assert any(f"{old.key_id} → {new.key_id}" in n for n in report.notes)
    assert [r["kind"] for r in story(store, "")] == ["audit_key_rotated"]


def test_a_key_nobody_announced_is_refused_and_a_lost_key_needs_its_successor_given(store, sink):
    lost, new = Signer.generate(), Signer.generate()
    fill(store, 5)
    checkpoint(store, lost, sink)
    replace_lost_key(store, new, sink, lost_key_id=lost.key_id, reason="key lost")
    fill(store, 3, start=5)
    checkpoint(store, new, sink)
    only_old = verify(store, checkpoints=sink, keys=[lost.public])
    assert any("which you do not trust" in p.what for p in only_old.problems)
    both = verify(store, checkpoints=sink, keys=[lost.public, new.public])
    assert both.ok and both.signed_through == 9


# ------------------------------------------------------------------------------ retention


def test_purging_old_payloads_keeps_the_chain_and_checkpoints_verifying(store, signer, sink):
    day = 86400.0
    fill(store, 4, now=time.time() - 500 * day)
    fill(store, 3, start=4)
    checkpoint(store, signer, sink)
    done = purge(store, older_than_s=400 * day)
    assert done.rows == 4
    with store.read() as conn:
        payloads = conn.execute(select(audit_log.c.payload).order_by(audit_log.c.seq)).scalars().all()
    assert payloads[:4] == [""] * 4 and all(payloads[4:])
    assert [r["payload"] for r in story(store, "e1")][:4] == [None] * 4
    report = verify(store, checkpoints=sink, keys=[signer.public])
    assert report.ok, report.problems
    assert report.purged == 4 and report.signed_through == 7


def test_a_payload_emptied_without_a_purge_record_is_named(store, signer, sink):
    fill(store, 5)
    checkpoint(store, signer, sink)
    with store.write() as conn:  # the trigger allows it (it is what a purge does) ...
        conn.execute(update(audit_log).where(audit_log.c.seq.in_([2, 3]))
                     .values(payload="", payload_salt=""))
    report = verify(store, checkpoints=sink, keys=[signer.public])
    assert [p.what for p in report.problems] == [  # ... and verify asks for the record
        "the payloads of rows 2..3 were removed, and no retention purge or erasure recorded "
        "after them covers them"]


# ---------------------------------------------------------------------- rows from before 0014


def test_a_chain_written_before_salted_digests_still_verifies_and_is_kept_by_purge(store, signer, sink):
    prev = "0" * 64
    with store.write() as conn:
        for seq in (1, 2):
            payload = json.dumps({"old": seq})
            h = row_hash(prev, seq, "e0", "refunds", "step", 1.0, payload)
            conn.execute(insert(audit_log).values(seq=seq, event_id="e0", integration="refunds",
                                                  kind="step", payload=payload, created_at=1.0,
                                                  prev_hash=prev, hash=h))
            prev = h
        conn.execute(update(audit_head).values(seq=2, hash=prev))
    fill(store, 2)  # new rows link onto the old ones
    checkpoint(store, signer, sink)
    assert verify(store, checkpoints=sink, keys=[signer.public]).ok
    assert purge(store, older_than_s=10).kept_legacy == 2
    assert verify(store, checkpoints=sink, keys=[signer.public]).ok
    drop_triggers(store)
    with store.write() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 1).values(payload=""))
    assert not verify(store).ok


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_a_chain_from_before_migration_0014_verifies_after_the_upgrade(dialect, request, tmp_path):
    from alembic import command
    from alembic.config import Config

    from seamline.store._engine import _MIGRATIONS

    if dialect == "postgres":
        request.getfixturevalue("pg_store").close()  # sets the vault key for a shared database
        url = request.getfixturevalue("pg_url")
    else:
        url = str(tmp_path / "old.db")
    store = open_store(url)

    def migrate(to: str) -> None:
        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            (command.downgrade if to == "0013" else command.upgrade)(cfg, to)

    migrate("0013")
    prev = "0" * 64
    with store.engine.begin() as conn:  # rows as the code before this change wrote them
        for seq in (1, 2, 3):
            payload = json.dumps({"old": seq}, separators=(",", ":"))
            h = row_hash(prev, seq, "e0", "refunds", "step", 1.5, payload)
            conn.exec_driver_sql(
                "INSERT INTO audit_log (seq, event_id, integration, kind, payload, created_at, "
                f"prev_hash, hash) VALUES ({seq}, 'e0', 'refunds', 'step', '{payload}', 1.5, "
                f"'{prev}', '{h}')")
            prev = h
        conn.exec_driver_sql(f"UPDATE audit_head SET seq = 3, hash = '{prev}'")
    migrate("head")
    import seamline.audit._chain as chain

    chain._HEADS.pop(store.engine, None)
    fill(store, 2)
    signer, sink = Signer.generate(), DirectorySink(tmp_path / "cps")
    checkpoint(store, signer, sink)
    report = verify(store, checkpoints=sink, keys=[signer.public])
    assert report.ok and report.rows == 5, report.problems
    with pytest.raises(Exception, match="append-only"), store.write() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 1).values(payload="", payload_salt=""))
    store.close()


def test_two_signers_on_one_store_make_one_line_of_checkpoints(tmp_path, signer):
    """Two processes (here: two stores on one file, two background signers) share one sink."""
    sink = DirectorySink(tmp_path / "cps")
    stores = [open_store(tmp_path / "shared.db") for _ in range(2)]
    signers = [start_checkpoints(s, signer=signer, sink=sink, every_rows=7, every_s=0.05)
               for s in stores]
    errors = []

    def writer(n):
        try:
            for i in range(40):
                with stores[n].write() as conn:
                    append(conn, [AuditEntry(f"t{n}", "refunds", "step", {"i": i})] * 3)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for s in stores:
        s.close()
    assert not errors and all(not c.last_error for c in signers), (errors, [c.last_error for c in signers])
    reopened = open_store(tmp_path / "shared.db")
    report = verify(reopened, checkpoints=sink, keys=[signer.public])
    reopened.close()
    assert report.ok, report.problems
    assert report.rows == 240 and report.signed_through == 240
    assert [json.loads(t)["idx"] for _, t in sink.documents()] == list(range(1, len(sink.documents()) + 1))


def test_a_sink_that_cannot_be_read_fails_verification_with_a_sentence(store, signer):
    fill(store, 2)
    report = verify(store, checkpoints=HttpSink("http://127.0.0.1:9/x", timeout_s=0.5),
                    keys=[signer.public])
    assert not report.ok and "the checkpoints could not be read" in report.problems[0].what
