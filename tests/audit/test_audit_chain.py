"""The audit trail: a hash chain that ``verify`` checks row by row, naming the row that broke."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import insert, select

from seamline.audit import AuditEntry, append, canonical_json, story, verify
from seamline.store import open_store
from seamline.store.tables import audit_head, audit_log

GENESIS = "0" * 64


def _append(store, n: int, *, event: str = "e1", start: int = 0) -> None:
    with store.write() as conn:
        append(conn, [AuditEntry(event, "refunds", "step", {"i": i})
                      for i in range(start, start + n)])


def _drop_triggers(store) -> None:
    """What someone tampering with the file would do first."""
    with store.write() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")


def _named(report) -> set[int]:
    return {p.seq for p in report.problems}


# ------------------------------------------------------------------ appending


def test_an_empty_trail_verifies(store):
    report = verify(store)
    assert report.ok and report.rows == 0


def test_n_appended_entries_verify_with_n_rows(store):
    _append(store, 3)
    _append(store, 4, start=3)
    report = verify(store)
    assert report.ok, report.problems
    assert report.rows == 7


def test_append_returns_the_new_head_and_moves_it(store):
    with store.write() as conn:
        two = [AuditEntry("e1", "refunds", "a"), AuditEntry("e1", "refunds", "b")]
        assert append(conn, two) == 2
        assert append(conn, []) == -1  # nothing to write, nothing written
    with store.read() as conn:
        seq, head = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).one()
        last = conn.execute(select(audit_log.c.hash).where(audit_log.c.seq == 2)).scalar_one()
    assert (seq, head) == (2, last)


def test_each_row_links_to_the_hash_of_the_one_before(store):
    _append(store, 3)
    with store.read() as conn:
        rows = conn.execute(select(audit_log.c.prev_hash, audit_log.c.hash)
                            .order_by(audit_log.c.seq)).all()
    assert rows[0].prev_hash == GENESIS
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]


def test_an_append_whose_transaction_fails_leaves_no_trace(store):
    _append(store, 2)
    with pytest.raises(RuntimeError), store.write() as conn:
        append(conn, [AuditEntry("e1", "refunds", "step", {"i": 99})])
        raise RuntimeError("the caller's transaction failed")
    _append(store, 1, start=2)
    report = verify(store)
    assert report.ok and report.rows == 3


def test_payloads_are_stored_as_canonical_json(store):
    with store.write() as conn:
        append(conn, [AuditEntry("e1", "refunds", "k", {"b": 1, "a": "é"})])
    with store.read() as conn:
        assert conn.execute(select(audit_log.c.payload)).scalar_one() == '{"a":"é","b":1}'
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'


# ------------------------------------------------------------------ tampering


def test_an_edited_payload_is_named_by_verify(store):
    _append(store, 5)
    _drop_triggers(store)
    with store.write() as conn:
        conn.exec_driver_sql("""UPDATE audit_log SET payload = '{"i":"forged"}' WHERE seq = 3""")
    report = verify(store)
    assert not report.ok
    assert _named(report) == {3}
    assert any("row 3" in p.what and "edited" in p.what for p in report.problems)


def test_an_edited_row_whose_hash_was_recomputed_breaks_the_link_to_the_next(store):
    from seamline.audit._chain import row_hash

    _append(store, 4)
    _drop_triggers(store)
    with store.write() as conn:
        r = conn.execute(select(audit_log).where(audit_log.c.seq == 2)).one()
        forged = '{"i":"forged"}'
        h = row_hash(r.prev_hash, r.seq, r.event_id, r.integration, r.kind, r.created_at, forged)
        conn.execute(audit_log.update().where(audit_log.c.seq == 2).values(payload=forged, hash=h))
    report = verify(store)
    assert not report.ok
    assert 3 in _named(report)


def test_a_deleted_middle_row_is_named(store):
    _append(store, 5)
    _drop_triggers(store)
    with store.write() as conn:
        conn.exec_driver_sql("DELETE FROM audit_log WHERE seq = 3")
    report = verify(store)
    assert not report.ok
    assert report.rows == 4
    assert _named(report) == {4}
    assert any("3..3 were deleted" in p.what for p in report.problems)


def test_deleting_the_last_rows_is_caught_by_the_head(store):
    _append(store, 5)
    _drop_triggers(store)
    with store.write() as conn:
        conn.exec_driver_sql("DELETE FROM audit_log WHERE seq >= 4")
    report = verify(store)
    assert not report.ok
    assert report.rows == 3
    assert any("head" in p.what and "row 5" in p.what and "row 3" in p.what
               for p in report.problems)


def test_an_edited_head_is_caught(store):
    _append(store, 2)
    with store.write() as conn:
        conn.execute(audit_head.update().values(hash="f" * 64))
    report = verify(store)
    assert not report.ok
    assert any("head" in p.what for p in report.problems)


def test_two_swapped_rows_are_caught_as_reordered(store):
    _append(store, 5)
    _drop_triggers(store)
    with store.write() as conn:
        conn.exec_driver_sql("UPDATE audit_log SET seq = -1 WHERE seq = 2")
        conn.exec_driver_sql("UPDATE audit_log SET seq = 2 WHERE seq = 3")
        conn.exec_driver_sql("UPDATE audit_log SET seq = 3 WHERE seq = -1")
    report = verify(store)
    assert not report.ok
    assert report.rows == 5
    assert {2, 3} <= _named(report)
    assert any("reordered" in p.what or "out of order" in p.what for p in report.problems)


def test_verify_reads_in_batches_without_missing_a_break(store):
    _append(store, 12)
    _drop_triggers(store)
    with store.write() as conn:
        conn.exec_driver_sql("""UPDATE audit_log SET payload = '{"i":-1}' WHERE seq = 11""")
    report = verify(store, batch=5)
    assert report.rows == 12
    assert _named(report) == {11}


def test_a_row_inserted_before_the_first_is_caught(store):
    _append(store, 3)
    with store.write() as conn:  # no trigger needs dropping: the log accepts inserts
        conn.execute(insert(audit_log).values(
            seq=0, event_id="e1", integration="refunds", kind="action",
            payload='{"forged":true}', created_at=0.0, prev_hash=GENESIS, hash="f" * 64))
    assert {"forged": True} in [r["payload"] for r in story(store, "e1")]
    report = verify(store)
    assert not report.ok
    assert 0 in _named(report)


# -------------------------------------------------------------------- secrets


def test_a_secret_held_in_the_environment_is_stored_as_a_placeholder(store, monkeypatch):
    key = "sk_live_51Habc123DEF456ghi789"
    monkeypatch.setenv("STRIPE_API_KEY", key)
    with store.write() as conn:
        append(conn, [AuditEntry("e1", "refunds", "action", {
            "note": f"called stripe with {key}", "nested": {"headers": [f"Bearer {key}"]}})])
    with store.read() as conn:
        raw = conn.execute(select(audit_log.c.payload)).scalar_one()
    assert key not in raw
    payload = story(store, "e1")[0]["payload"]
    assert payload == {"note": "called stripe with <SECRET_FROM_ENV>",
                       "nested": {"headers": ["Bearer <SECRET_FROM_ENV>"]}}
    assert verify(store).ok


def test_short_or_innocently_named_environment_values_are_left_alone(store, monkeypatch):
    monkeypatch.setenv("MY_API_KEY", "short")  # too short to be told from ordinary text
    monkeypatch.setenv("GREETING_TEXT", "hello there, customer")  # not a secret's name
    with store.write() as conn:
        append(conn, [AuditEntry("e1", "refunds", "k", {"t": "short: hello there, customer"})])
    assert story(store, "e1")[0]["payload"] == {"t": "short: hello there, customer"}


def test_a_secret_with_characters_json_escapes_is_still_replaced(store, monkeypatch):
    secret = 'pa"ss\\word-2024-xyz'
    monkeypatch.setenv("DB_PASSWORD", secret)
    with store.write() as conn:
        append(conn, [AuditEntry("e1", "refunds", "k", {"dsn": f"postgres://u:{secret}@db"})])
    assert secret not in story(store, "e1")[0]["payload"]["dsn"]


def test_a_longer_secret_is_not_partly_leaked_by_a_shorter_one(store, monkeypatch):
    short, long = "tok_abcdefghijkl", "tok_abcdefghijkl_REMAINDER_9876"
    monkeypatch.setenv("A_TOKEN", short)
    monkeypatch.setenv("B_TOKEN", long)
    with store.write() as conn:
        append(conn, [AuditEntry("e1", "refunds", "k", {"t": long})])
    assert "REMAINDER_9876" not in story(store, "e1")[0]["payload"]["t"]


def test_a_secret_rotated_in_the_environment_is_replaced_at_once(store, monkeypatch):
    old, new = "sk_live_old_0000000000", "sk_live_new_1111111111"
    monkeypatch.setenv("STRIPE_API_KEY", old)
    with store.write() as conn:
        append(conn, [AuditEntry("e1", "refunds", "k", {"t": old})])
    monkeypatch.setenv("STRIPE_API_KEY", new)  # same variables, new value
    with store.write() as conn:
        append(conn, [AuditEntry("e1", "refunds", "k", {"t": new})])
    assert [r["payload"]["t"] for r in story(store, "e1")] == ["<SECRET_FROM_ENV>"] * 2


# ---------------------------------------------------------------------- story


def test_story_returns_one_events_rows_oldest_first(store):
    with store.write() as conn:
        append(conn, [AuditEntry("e1", "refunds", "ingest", {"n": 1}),
                      AuditEntry("e2", "refunds", "ingest", {"n": 2})], now=100.0)
    with store.write() as conn:
        append(conn, [AuditEntry("e1", "refunds", "prompt", {"n": 3}),
                      AuditEntry("e1", "refunds", "output", {"n": 4})], now=200.0)
    rows = story(store, "e1")
    assert [(r["seq"], r["kind"], r["payload"]) for r in rows] == [
        (1, "ingest", {"n": 1}), (3, "prompt", {"n": 3}), (4, "output", {"n": 4})]
    assert [r["at"] for r in rows] == [100.0, 200.0, 200.0]
    assert story(store, "no-such-event") == []


# ---------------------------------------------------------------- concurrency


@pytest.mark.parametrize("shared_store", [True, False], ids=["one-store", "store-per-thread"])
def test_concurrent_appends_from_two_threads_make_a_chain_that_verifies(tmp_path, shared_store):
    path = tmp_path / "audit.db"
    main = open_store(path)
    stores = [main, main] if shared_store else [main, open_store(path)]
    per_thread, errors = 60, []
    barrier = threading.Barrier(2)

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                with stores[n].write() as conn:
                    append(conn, [AuditEntry(f"t{n}", "refunds", "step", {"i": i}),
                                  AuditEntry(f"t{n}", "refunds", "step", {"i": i, "second": True})])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    try:
        assert not errors, errors
        report = verify(main)
        assert report.ok, report.problems
        assert report.rows == 2 * 2 * per_thread
        for n in range(2):  # each thread's own rows are in its order
            assert [r["payload"]["i"] for r in story(main, f"t{n}")][::2] == list(range(per_thread))
    finally:
        for s in set(stores):
            s.close()
