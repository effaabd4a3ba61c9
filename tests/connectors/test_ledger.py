"""The send ledger: at most one effect per key, on SQLite and PostgreSQL, under concurrency."""

from __future__ import annotations

import threading
import time

import pytest

from seamline.connectors import OutcomeUnknown, SendLedger, VendorRejected
from seamline.store import open_store


def race(store, n: int = 6) -> tuple[list[str], list[BaseException]]:
    effects: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def send() -> dict:
        effects.append("sent")
        time.sleep(0.2)
        return {"id": 1}

    def worker() -> None:
        start.wait()
        try:
            SendLedger(store, "acme").once("k", send)
        except OutcomeUnknown as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return effects, errors


def test_concurrent_attempts_with_one_key_send_once(store):
    effects, errors = race(store)
    assert effects == ["sent"] and len(errors) == 5
    assert SendLedger(store, "acme").once("k", lambda: {"id": 2}) == {"id": 1}


def test_concurrent_attempts_with_one_key_send_once_on_postgresql(pg_url):
    store = open_store(pg_url)
    try:
        effects, errors = race(store)
        assert effects == ["sent"] and len(errors) == 5
    finally:
        store.close()


def test_a_definite_failure_may_be_sent_again_and_keys_are_per_connector(store):
    ledger = SendLedger(store, "acme")

    def refused() -> dict:
        raise VendorRejected("acme answered 422.", connector="acme")

    with pytest.raises(VendorRejected):
        ledger.once("k", refused)
    assert ledger.status("k") == "failed"
    assert ledger.once("k", lambda: {"id": 1}) == {"id": 1}
    assert SendLedger(store, "other").once("k", lambda: {"id": 9}) == {"id": 9}
