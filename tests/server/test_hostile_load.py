"""What an attacker's load does to a real server (uvicorn in a thread, httpx clients in many
threads): bursts of invokes, an exhausted connection pool, a locked database, routes at
their in-flight limit. Nothing answers 500 or hangs; once the storm is over the service
answers as before. Each storm runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from conftest import make_integration, verdict
from fastapi.testclient import TestClient

from seamline.errors import ConfigError, StoreBusy
from seamline.inference import ScriptedModel
from seamline.server import create_app

KEY = "k-hostile-0123456"
AUTH = {"Authorization": f"Bearer {KEY}"}
URL = "/v1/integrations/refunds/invoke"
VERDICT = {"label": "refund", "confidence": 0.9, "amount": 20.0, "quote": ""}


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request):
    return request.getfixturevalue("store" if request.param == "sqlite" else "pg_store")


@contextmanager
def serving(app) -> Iterator[str]:
    """``app`` on a real uvicorn server on a free port of 127.0.0.1; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(60)
        sock.close()


def storm(n: int, send: Callable[[httpx.Client, int], httpx.Response]) -> list[httpx.Response]:
    """``n`` clients, each on its own thread and connection, sending at the same moment."""
    barrier = threading.Barrier(n)

    def one(i: int) -> httpx.Response:
        with httpx.Client(timeout=120) as client:
            barrier.wait()
            return send(client, i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def refused_properly(response: httpx.Response) -> None:
    """A shed or busy answer: 503, a Retry-After, and a JSON sentence (no traceback)."""
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["error"] and "Traceback" not in response.text


def slow_verdict(seconds: float) -> ScriptedModel:
    def answer(_request):
        time.sleep(seconds)
        return VERDICT
    return ScriptedModel(answer)


def ticket(i: int | str) -> dict:
    return {"ticket_id": f"T-{i}", "body": "Please refund my order"}


def ordinary_requests_answer(base: str) -> None:
    """After a storm: an invoke, a read of its event, the sign-in page, readiness."""
    with httpx.Client(base_url=base, timeout=60) as client:
        invoked = client.post(URL, json=ticket(f"after-{uuid.uuid4().hex}"), headers=AUTH)
        assert invoked.status_code == 200, invoked.text
        event = client.get(f"/v1/events/{invoked.json()['event_id']}", headers=AUTH)
        assert event.status_code == 200 and event.json()["state"] == "succeeded"
        assert client.get("/login").status_code == 200
        assert client.get("/readyz").status_code == 200


# ------------------------------------------------------------------ finding 1: the burst


def test_a_burst_of_invokes_leaves_no_500_and_the_server_answers_after_it(any_store):
    """The probe's burst against the server as ``seamline serve`` builds it (default sizes)."""
    app = create_app([make_integration()], any_store, api_keys={KEY},
                     providers={"refunds": slow_verdict(0.3)})
    with serving(app) as base:
        answers = storm(40, lambda c, i: c.post(base + URL, json=ticket(i), headers=AUTH))
        statuses = Counter(r.status_code for r in answers)
        assert set(statuses) <= {200, 503}, statuses
        assert statuses[200] >= 1
        for shed in (r for r in answers if r.status_code == 503):
            refused_properly(shed)
        ordinary_requests_answer(base)
        # and a second burst: the first one left nothing behind
        again = storm(40, lambda c, i: c.post(base + URL, json=ticket(f"b{i}"), headers=AUTH))
        assert {r.status_code for r in again} <= {200, 503}
        ordinary_requests_answer(base)


def test_a_burst_on_a_small_executor_sheds_with_503_never_500(any_store):
    app = create_app([make_integration()], any_store, api_keys={KEY}, max_workers=2,
                     providers={"refunds": slow_verdict(0.2)})
    with serving(app) as base:
        answers = storm(24, lambda c, i: c.post(base + URL, json=ticket(i), headers=AUTH))
        statuses = Counter(r.status_code for r in answers)
        assert set(statuses) <= {200, 503} and statuses[200] >= 1, statuses
        for shed in (r for r in answers if r.status_code == 503):
            refused_properly(shed)
        ordinary_requests_answer(base)


# ------------------------------------------------------------------ the store, exhausted


@contextmanager
def every_connection_taken(store) -> Iterator[int]:
    """Hold every connection the store will give (long reports, stuck jobs ...) meanwhile."""
    with ExitStack() as held:
        taken = 0
        while True:
            try:
                held.enter_context(store.read())
            except StoreBusy:  # the pool said no, after its bounded wait
                break
            taken += 1
        yield taken


def test_with_every_connection_taken_requests_answer_503_and_recover(any_store):
    app = create_app([make_integration()], any_store, api_keys={KEY}, max_workers=2,
                     providers={"refunds": verdict()})
    with serving(app) as base, httpx.Client(base_url=base, timeout=120) as client:
        with every_connection_taken(any_store) as taken:
            assert taken == any_store.capacity > 15  # sized for the server's threads
            refused_properly(client.post(URL, json=ticket(1), headers=AUTH))
            refused_properly(client.get("/v1/events/evt_0", headers=AUTH))
            not_ready = client.get("/readyz")
            assert not_ready.status_code == 503 and not_ready.json()["ok"] is False
            assert not_ready.json()["checks"]["store"] != "ok"
            assert client.get("/healthz").status_code == 200  # alive, only not ready
        ordinary_requests_answer(base)


def test_a_database_locked_past_the_busy_timeout_is_a_503_sentence(tmp_path):
    from seamline.store import Store

    path = tmp_path / "locked.db"
    store = Store(f"sqlite:///{path}", busy_timeout_s=0.2)
    try:
        app = create_app([make_integration()], store, api_keys={KEY},
                         providers={"refunds": verdict()})
        with TestClient(app, raise_server_exceptions=False) as client:
            holder = sqlite3.connect(path, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")  # a backup or a migration holds the write lock
            try:
                locked = client.post(URL, json=ticket(1), headers=AUTH)
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            assert locked.status_code == 503 and int(locked.headers["retry-after"]) >= 1
            assert "store" in locked.json()["error"]
            assert client.post(URL, json=ticket(2), headers=AUTH).status_code == 200
    finally:
        store.close()


# ------------------------------------------------------------------ admission control


def test_at_the_in_flight_limit_the_next_invoke_is_shed_at_once_and_reads_still_answer(store):
    gate, inside = threading.Event(), threading.Semaphore(0)

    def held(_request):
        inside.release()
        gate.wait(60)
        return VERDICT

    app = create_app([make_integration()], store, api_keys={KEY}, max_workers=4,
                     in_flight={"invoke": 2}, providers={"refunds": ScriptedModel(held)})
    with serving(app) as base, httpx.Client(base_url=base, timeout=120) as client:
        with ThreadPoolExecutor(2) as pool:
            first = [pool.submit(client.post, URL, json=ticket(i), headers=AUTH) for i in (1, 2)]
            assert inside.acquire(timeout=60) and inside.acquire(timeout=60)
            try:
                refused_properly(client.post(URL, json=ticket(3), headers=AUTH))
                refused_properly(client.post("/v1/integrations/refunds/events", json=ticket(4),
                                             headers=AUTH))
                assert client.get("/v1/events/evt_0", headers=AUTH).status_code == 404
                assert client.get("/healthz").status_code == 200
            finally:
                gate.set()
            assert [f.result().status_code for f in first] == [200, 200]
        assert client.post(URL, json=ticket(5), headers=AUTH).status_code == 200


def test_large_bodies_have_their_own_small_limit_and_small_ones_still_get_in(store):
    # Bodies over 64 KB cost seconds of CPU each (decode, redact) and threads share one
    # interpreter lock: at most "large" of them run at once, the rest are shed, and an
    # ordinary invoke still gets in beside them.
    gate, inside = threading.Event(), threading.Semaphore(0)

    def held(_request):
        inside.release()
        gate.wait(60)
        return VERDICT

    app = create_app([make_integration()], store, api_keys={KEY}, max_workers=8,
                     in_flight={"large": 1}, providers={"refunds": ScriptedModel(held)})
    big = {"ticket_id": "T-big", "body": "Please refund my order. " + "x" * 70_000}
    with serving(app) as base, httpx.Client(base_url=base, timeout=120) as client:
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(client.post, URL, json=big, headers=AUTH)
            assert inside.acquire(timeout=60)
            try:
                shed = client.post(URL, json={**big, "ticket_id": "T-big-2"}, headers=AUTH)
                refused_properly(shed)
                assert "64 KB" in shed.json()["error"]
                small = pool.submit(client.post, URL, json=ticket("small"), headers=AUTH)
                assert inside.acquire(timeout=60)  # the small one reached the model
            finally:
                gate.set()
            assert first.result().status_code == small.result().status_code == 200


def test_in_flight_limits_are_checked_at_start(store):
    for bad in ({"invoke": 0}, {"uploads": 3}, {"login": -1}):
        with pytest.raises(ConfigError, match="in-flight"):
            create_app([make_integration()], store, api_keys={KEY}, in_flight=bad)


# ------------------------------------------------------------------ /readyz


def test_readiness_checks_the_store_and_the_queue_and_needs_no_key(store):
    app = create_app([make_integration()], store, api_keys={KEY}, providers={"refunds": verdict()})
    with TestClient(app, raise_server_exceptions=False) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"ok": True, "checks": {"store": "ok", "queue": "ok"}}
        with store.write() as conn:
            conn.exec_driver_sql("DROP TABLE jobs")
        broken = client.get("/readyz")
        assert broken.status_code == 503 and broken.json()["ok"] is False
        assert broken.json()["checks"]["store"] == "ok"
        assert "queue" in broken.json()["error"] and broken.json()["checks"]["queue"] != "ok"
        assert client.get("/healthz").status_code == 200


# ------------------------------------------------------------------ finding 10: what 404s say


def test_an_unknown_webhook_source_is_a_404_that_names_no_source(store, monkeypatch):
    from seamline.edges import SourceSpec

    monkeypatch.setenv("TEST_HOSTILE_SECRET", "whsec_hostile_secret")
    spec = make_integration(sources=(
        SourceSpec(name="stripe-live", kind="stripe", secret_env="TEST_HOSTILE_SECRET",
                   map=lambda e: {"ticket_id": e["id"], "body": "x"}),))
    app = create_app([spec], store, api_keys={KEY}, providers={"refunds": verdict()})
    with TestClient(app, raise_server_exceptions=False) as client:
        for source in ("paypal", "stripe", "x" * 300):
            r = client.post(f"/v1/webhooks/{source}", content=b"{}")
            assert r.status_code == 404 and r.json() == {"error": "no such webhook source"}
            assert "stripe-live" not in r.text


def test_api_docs_are_off_unless_asked_for_and_never_from_a_cdn(store):
    app = create_app([make_integration()], store, api_keys={KEY}, providers={"refunds": verdict()})
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/redoc").status_code == 404
        assert client.get("/openapi.json").status_code == 200
    try:
        import swagger_ui_bundle  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="swagger-ui-bundle"):
            create_app([make_integration()], store, api_keys={KEY}, docs=True,
                       providers={"refunds": verdict()})
        return
    app = create_app([make_integration()], store, api_keys={KEY}, docs=True,  # pragma: no cover
                     providers={"refunds": verdict()})
    with TestClient(app, raise_server_exceptions=False) as client:  # pragma: no cover
        page = client.get("/docs")
        assert page.status_code == 200 and "https://" not in page.text
        assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


# ------------------------------------------------------------------ the pool itself


def test_the_pool_is_sized_from_the_server_s_threads(any_store):
    create_app([make_integration()], any_store, api_keys={KEY}, max_workers=8,
               background_workers=3, providers={"refunds": verdict()})
    assert any_store.capacity >= 8 + 3


@pytest.mark.parametrize("escape", [RuntimeError, KeyboardInterrupt, GeneratorExit])
def test_a_unit_of_work_that_raises_anything_hands_its_connection_back(any_store, escape):
    from seamline.store.tables import flags

    for _ in range(any_store.capacity + 3):  # more than the pool holds: none may be lost
        for unit in (any_store.write, any_store.read):
            with pytest.raises(escape), unit() as conn:
                if unit == any_store.write:
                    conn.execute(flags.insert().values(name="f", mode="on", percent=100.0,
                                                       reason="", updated_at=1.0))
                raise escape()
    with every_connection_taken(any_store) as taken:
        assert taken == any_store.capacity
    with any_store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(flags)).scalar_one() == 0


def test_an_event_whose_answer_found_the_store_busy_is_finished_later(store):
    # Received and recorded, then the store said busy mid-answer: the caller gets a 503 with
    # the event id, and the server itself finishes the event soon after (it once stayed
    # "processing" until the next start of the server).
    app = create_app([make_integration()], store, api_keys={KEY},
                     providers={"refunds": verdict()})
    with TestClient(app, raise_server_exceptions=False) as client:
        pipeline = app.state.invokers["refunds"].pipeline
        answer, calls = pipeline.answer, []

        def busy_once(admitted):
            calls.append(admitted.event_id)
            if len(calls) == 1:
                raise StoreBusy("every connection is in use", retry_after=1)
            return answer(admitted)

        pipeline.answer = busy_once
        refused = client.post(URL, json=ticket("busy"), headers=AUTH)
        assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
        event_id = refused.json()["event_id"]
        deadline, state = time.monotonic() + 20, None
        while time.monotonic() < deadline:
            state = client.get(f"/v1/events/{event_id}", headers=AUTH).json()["state"]
            if state != "processing":
                break
            time.sleep(0.2)
        assert state == "succeeded", state
