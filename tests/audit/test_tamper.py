"""A database writer against the signed chain, on a real SQLite and a real PostgreSQL store.

Each attack is first shown to pass the unsigned check (what ``seamline audit verify`` said
before checkpoints existed), then to be named by verification against the checkpoints a
key outside the database signed.
"""

from __future__ import annotations

import pytest
from insider import delete_row, drop_triggers, edit_payload, rewrite, rows, swap, truncate_after
from sqlalchemy import update

from seamline.audit import (
    AuditEntry,
    Checkpoint,
    DirectorySink,
    Signer,
    append,
    checkpoint,
    sign_head,
    verify,
)
from seamline.errors import AuditError
from seamline.store.tables import audit_head, audit_log


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request):
    return request.getfixturevalue("store" if request.param == "sqlite" else "pg_store")


@pytest.fixture
def signer():
    return Signer.generate()


@pytest.fixture
def sink(tmp_path):
    return DirectorySink(tmp_path / "checkpoints")


def fill(store, n: int, start: int = 0, event: str = "e1") -> None:
    with store.write() as conn:
        append(conn, [AuditEntry(event, "refunds", "step", {"i": i, "amount": 10 * i})
                      for i in range(start, start + n)])


def signed_chain(store, signer, sink, batches=(10, 10, 10)):
    """Rows in batches, a checkpoint after each: checkpoints at rows 10, 20, 30."""
    done = 0
    for n in batches:
        fill(store, n, start=done)
        done += n
        checkpoint(store, signer, sink)


def signed_verify(store, signer, sink):
    return verify(store, checkpoints=sink, keys=[signer.public])


def whats(report) -> str:
    return "\n".join(p.what for p in report.problems)


def test_an_untouched_signed_chain_verifies_with_every_checkpoint(any_store, signer, sink):
    signed_chain(any_store, signer, sink)
    report = signed_verify(any_store, signer, sink)
    assert report.ok, whats(report)
    assert report.rows == 30 and report.checkpoints == 3 and report.signed_through == 30
    assert [name for name, _ in sink.documents()] == ["0000000001.json", "0000000002.json",
                                                      "0000000003.json"]


def test_a_full_rewrite_with_recomputed_hashes_and_head_is_named(any_store, signer, sink):
    signed_chain(any_store, signer, sink)
    rewrite(any_store, edit_payload(15, '{"amount":0,"i":14}'))
    assert verify(any_store).ok  # the unsigned check cannot tell
    report = signed_verify(any_store, signer, sink)
    assert not report.ok
    first = report.problems[0]
    assert first.seq == 20
    assert "contradicts checkpoint 2" in first.what and "rows 11..20 were rewritten" in first.what
    assert "rows up to 10 agree" in first.what


def test_a_truncated_tail_after_a_checkpoint_is_named(any_store, signer, sink):
    signed_chain(any_store, signer, sink)
    rewrite(any_store, truncate_after(24))  # the head is moved back to row 24 as well
    assert verify(any_store).ok
    report = signed_verify(any_store, signer, sink)
    assert not report.ok
    assert any("rows 25..30 are gone" in p.what and "checkpoint 3" in p.what
               for p in report.problems), whats(report)


def test_truncate_table_is_named(any_store, signer, sink):
    signed_chain(any_store, signer, sink)
    drop_triggers(any_store)
    with any_store.write() as conn:
        conn.exec_driver_sql("DELETE FROM audit_log" if any_store.dialect == "sqlite"
                             else "TRUNCATE audit_log")
        conn.execute(update(audit_head).values(seq=0, hash="0" * 64))
    assert verify(any_store).ok
    report = signed_verify(any_store, signer, sink)
    assert any("rows 1..10 are gone" in p.what for p in report.problems), whats(report)


def test_a_forged_head_over_deleted_rows_is_named(any_store, signer, sink):
    signed_chain(any_store, signer, sink)
    drop_triggers(any_store)
    last = rows(any_store)[26]  # row 27
    with any_store.write() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.seq > 27))
        conn.execute(update(audit_head).values(seq=27, hash=last["hash"]))
    assert verify(any_store).ok
    report = signed_verify(any_store, signer, sink)
    assert any("rows 28..30 are gone" in p.what for p in report.problems), whats(report)


def test_a_deleted_row_renumbered_and_rehashed_is_named(any_store, signer, sink):
    signed_chain(any_store, signer, sink)
    rewrite(any_store, delete_row(5))
    assert verify(any_store).ok
    report = signed_verify(any_store, signer, sink)
    assert report.problems[0].seq == 10 and "rows 1..10 were rewritten" in report.problems[0].what


def test_two_rows_reordered_and_rehashed_are_named(any_store, signer, sink):
    signed_chain(any_store, signer, sink)
    rewrite(any_store, swap(22, 23))
    assert verify(any_store).ok
    report = signed_verify(any_store, signer, sink)
    assert report.problems[0].seq == 30 and "rows 21..30" in report.problems[0].what


def test_rows_appended_after_the_last_checkpoint_are_said_to_be_unsigned(any_store, signer, sink):
    signed_chain(any_store, signer, sink)
    fill(any_store, 4, start=30)
    report = signed_verify(any_store, signer, sink)
    assert report.ok and report.signed_through == 30
    assert any("Rows 31..34 are not covered" in n for n in report.notes)


def test_an_edit_with_the_trigger_dropped_is_named_even_unsigned(any_store, signer, sink):
    signed_chain(any_store, signer, sink)
    drop_triggers(any_store)
    with any_store.write() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 12).values(payload='{"i":-1}'))
    report = signed_verify(any_store, signer, sink)
    assert {p.seq for p in report.problems} == {12}
    assert "was edited" in report.problems[0].what


def test_the_trigger_refuses_every_update_but_the_purge_of_a_payload(any_store):
    fill(any_store, 2)
    with pytest.raises(Exception, match="append-only"), any_store.write() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 1).values(payload='{"x":1}'))
    with pytest.raises(Exception, match="append-only"), any_store.write() as conn:  # salt kept
        conn.execute(update(audit_log).where(audit_log.c.seq == 1).values(payload=""))
    with pytest.raises(Exception, match="append-only"), any_store.write() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 1)
                     .values(payload="", payload_salt="", payload_hash=None))
    with pytest.raises(Exception, match="append-only"), any_store.write() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.seq == 2))
    with any_store.write() as conn:  # the one update allowed: what retention does
        conn.execute(update(audit_log).where(audit_log.c.seq == 1).values(payload="", payload_salt=""))


# ------------------------------------------------------------------ the checkpoints themselves


def test_a_replayed_old_checkpoint_passed_off_as_new_fails_its_signature(store, signer, sink, tmp_path):
    signed_chain(store, signer, sink)
    rewrite(store, truncate_after(20))
    # The attacker can write the sink too: checkpoint 3 becomes checkpoint 2 with a new index.
    old = Checkpoint.from_json((sink.path / "0000000002.json").read_text())
    forged = Checkpoint(idx=3, seq=old.seq, hash=old.hash, at=old.at + 60, key_id=old.key_id,
                        prev=old.digest, signature=old.signature)
    (sink.path / "0000000003.json").write_text(forged.to_json())
    report = signed_verify(store, signer, sink)
    assert any("checkpoint 3's signature does not verify" in p.what for p in report.problems)


def test_a_checkpoint_removed_from_the_sink_is_a_gap(store, signer, sink):
    signed_chain(store, signer, sink)
    (sink.path / "0000000002.json").unlink()
    report = signed_verify(store, signer, sink)
    assert any("checkpoints 2..2 are missing" in p.what for p in report.problems)


def test_a_checkpoint_signed_by_a_key_nobody_trusts_is_refused(store, signer, sink):
    fill(store, 5)
    checkpoint(store, Signer.generate(), sink)  # the attacker's own key
    report = signed_verify(store, signer, sink)
    assert any("which you do not trust" in p.what for p in report.problems)


def test_the_signer_refuses_to_sign_a_chain_rewritten_behind_its_last_checkpoint(store, signer, sink):
    signed_chain(store, signer, sink, batches=(10,))
    rewrite(store, edit_payload(3, '{"i":"forged"}'))
    fill(store, 2, start=10)
    with pytest.raises(AuditError, match="Row 10 no longer has the hash checkpoint 1 signed"):
        sign_head(store, signer)


def test_an_unmoved_head_is_not_signed_twice(store, signer, sink):
    fill(store, 3)
    assert checkpoint(store, signer, sink).checkpoint is not None
    assert checkpoint(store, signer, sink).checkpoint is None
    assert len(sink.documents()) == 1


def test_marks_in_the_checkpoint_place_a_rewrite_within_a_few_rows(any_store, signer, sink):
    fill(any_store, 30)
    checkpoint(any_store, signer, sink, mark_every=2)  # the hash of every 2nd row is signed too
    rewrite(any_store, edit_payload(15, '{"amount":0,"i":14}'))
    report = signed_verify(any_store, signer, sink)
    assert len(report.problems) == 1  # one contradiction per checkpoint, not one per mark
    assert report.problems[0].seq == 16
    assert "contradicts a mark of checkpoint 1" in report.problems[0].what
    assert "rows 15..16 were rewritten" in report.problems[0].what
