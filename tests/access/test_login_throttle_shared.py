"""Failed sign-ins are counted in the store: every server process sees the same count."""

from __future__ import annotations

from sqlalchemy import func, select

from seamline.access._throttle import LoginThrottle
from seamline.store.tables import login_failures


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _shared_count(store_a, store_b) -> None:
    clock = Clock()
    first, second = (LoginThrottle(s, 5, 300.0, clock) for s in (store_a, store_b))
    for _ in range(3):
        first.failed("user:rita", "ip:10.0.0.1")
    for _ in range(2):
        second.failed("user:rita", "ip:10.0.0.2")
    assert first.retry_after("user:rita") == second.retry_after("user:rita") == 300
    assert second.retry_after("ip:10.0.0.2") == 0  # two failures from that address only
    clock.now += 120
    assert first.retry_after("user:rita", "ip:10.0.0.9") == 180
    clock.now += 181
    assert second.retry_after("user:rita") == 0
    first.failed("user:other")  # prunes the rows that left the window
    with store_a.read() as conn:
        assert conn.execute(select(func.count()).select_from(login_failures)).scalar() == 1
    second.failed("user:rita")
    first.succeeded("user:rita")
    assert second.count("user:rita") == 0


def test_two_processes_on_one_sqlite_store_share_the_count(store, tmp_path):
    from seamline.store import open_store

    other = open_store(tmp_path / "seamline.db")  # a second engine on the same file
    try:
        _shared_count(store, other)
    finally:
        other.close()


def test_two_processes_on_postgresql_share_the_count(pg_store, pg_url):
    from seamline.store import open_store

    other = open_store(pg_url)
    try:
        _shared_count(pg_store, other)
    finally:
        other.close()


def test_a_very_long_key_is_cut_not_refused(store):
    throttle = LoginThrottle(store, 2, 60.0, Clock())
    key = "user:" + "x" * 500
    throttle.failed(key)
    throttle.failed(key)
    assert throttle.retry_after(key) == 60
