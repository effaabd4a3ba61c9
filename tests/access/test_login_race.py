"""Sign-in under attack, against a real server (uvicorn in a thread, one httpx client per
thread): parallel guesses cannot get past the limit, a storm of strangers never gets a
500, a forged X-Forwarded-For does not buy fresh guesses, and nothing typed into the
form is kept. Each storm runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from access_fixtures import PASSWORD, add_people
from conftest import EXAMPLE, make_integration, verdict
from fastapi.testclient import TestClient
from sqlalchemy import select

from seamline.server import create_app
from seamline.store import metadata
from seamline.store.tables import audit_log

KEY = "k-login-race-0123"


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request):
    return request.getfixturevalue("store" if request.param == "sqlite" else "pg_store")


def app_for(store, **kwargs):
    return create_app([make_integration()], store, api_keys={KEY}, secure_cookies=False,
                      providers={"refunds": verdict()}, **kwargs)


@contextmanager
def serving(app) -> Iterator[str]:
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


def csrf(client: httpx.Client) -> str:
    page = client.get("/login")
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sign_in(client: httpx.Client, username: str, password: str, token: str,
            headers: dict | None = None) -> httpx.Response:
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token, "next": "/console"},
                       headers=headers or {})


def storm(base: str, n: int, attempt: Callable[[int], tuple[str, str]]) -> list[httpx.Response]:
    """``n`` browsers, each with its own form token, posting the sign-in form at once."""
    barrier = threading.Barrier(n)

    def one(i: int) -> httpx.Response:
        with httpx.Client(base_url=base, timeout=120) as client:
            token = csrf(client)
            barrier.wait()
            return sign_in(client, *attempt(i), token)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def access_audit(store, kind: str) -> list[dict]:
    with store.read() as conn:
        rows = conn.execute(select(audit_log.c.payload).where(
            audit_log.c.event_id == "-", audit_log.c.kind == kind)).scalars().all()
    return [json.loads(p) for p in rows]


def everything_stored(store) -> str:
    """Every row of every table, as one lower-cased text to search."""
    with store.read() as conn:
        return "\n".join(repr(tuple(row)) for table in metadata.sorted_tables
                         for row in conn.execute(select(table))).lower()


# ------------------------------------------------------------------ finding 9: the race


def test_forty_parallel_guesses_check_at_most_five_and_the_rest_get_429(any_store):
    add_people(any_store)
    with serving(app_for(any_store)) as base:
        answers = storm(base, 40, lambda i: ("rita", f"wrong guess number {i}"))
        statuses = Counter(r.status_code for r in answers)
        assert set(statuses) <= {401, 429}, statuses
        assert statuses[401] <= 5 and statuses[429] >= 35, statuses
        for limited in (r for r in answers if r.status_code == 429):
            assert int(limited.headers["retry-after"]) >= 1
        # every guess that was checked against the hash is audited; no more than five
        assert len(access_audit(any_store, "login_failed")) == statuses[401]
        with httpx.Client(base_url=base, timeout=60) as client:  # the server still answers
            assert client.get("/healthz").status_code == 200
            right = sign_in(client, "rita", PASSWORD, csrf(client))
            assert right.status_code == 429  # the account waits out the window


def test_sixty_strangers_signing_in_at_once_get_401_429_or_503_never_500(any_store):
    add_people(any_store)
    with serving(app_for(any_store)) as base:
        answers = storm(base, 60, lambda i: (f"stranger{i}", "some guess 0123456"))
        statuses = Counter(r.status_code for r in answers)
        assert set(statuses) <= {401, 429, 503}, statuses
        for refused in (r for r in answers if r.status_code in (429, 503)):
            assert int(refused.headers["retry-after"]) >= 1
        with httpx.Client(base_url=base, timeout=60) as client:
            assert client.get("/login").status_code == 200
            assert client.get("/readyz").status_code == 200


# ------------------------------------------------------------------ X-Forwarded-For


@contextmanager
def seamline_serve(tmp_path: Path, monkeypatch, *options: str) -> Iterator[str]:
    """``seamline serve`` itself, with its own uvicorn settings, on a free port."""
    from seamline.cli._serve import serve_cmd

    monkeypatch.setenv("SEAMLINE_API_KEYS", KEY)
    spec = EXAMPLE / "integration.yaml"  # served as is: its on-device model is fitted at start
    servers: list[uvicorn.Server] = []

    def run(app, **settings):  # what uvicorn.run would do, with a handle to stop it
        servers.append(uvicorn.Server(uvicorn.Config(app, **settings)))
        servers[0].run()

    monkeypatch.setattr(uvicorn, "run", run)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kwargs: dict = {"port": port, "db": str(tmp_path / "seamline.db"), "workers": 0,
                    "insecure_cookies": True}
    if options:
        kwargs["trusted_proxy"] = list(options)
    thread = threading.Thread(target=serve_cmd, args=([str(spec)],), kwargs=kwargs, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not (servers and servers[0].started):
        assert thread.is_alive() and time.monotonic() < deadline, "seamline serve did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        servers[0].should_exit = True
        thread.join(60)


def forged_guesses(base: str, n: int) -> list[httpx.Response]:
    """One guess per made-up username, each claiming another address in X-Forwarded-For."""
    with httpx.Client(base_url=base, timeout=60) as client:
        token = csrf(client)
        return [sign_in(client, f"guess{i}", "a guess 0123456", token,
                        {"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(n)]


def test_a_forged_x_forwarded_for_buys_no_fresh_guesses(tmp_path, monkeypatch):
    with seamline_serve(tmp_path, monkeypatch) as base:
        statuses = [r.status_code for r in forged_guesses(base, 8)]
    assert statuses == [401] * 5 + [429] * 3  # all counted against 127.0.0.1


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(tmp_path, monkeypatch):
    from seamline.store import open_store

    with seamline_serve(tmp_path, monkeypatch, "127.0.0.0/8") as base:
        statuses = [r.status_code for r in forged_guesses(base, 8)]
    assert statuses == [401] * 8  # eight clients, one guess each
    store = open_store(tmp_path / "seamline.db")
    try:
        clients = sorted(e["client"] for e in access_audit(store, "login_failed"))
    finally:
        store.close()
    assert clients == sorted(f"198.51.100.{i}" for i in range(8))


def test_without_trusted_proxies_the_app_ignores_x_forwarded_for(store):
    add_people(store)
    app = app_for(store)
    with TestClient(app, client=("10.1.1.1", 5000)) as client:
        token = csrf(client)
        for i in range(6):
            answer = sign_in(client, "vera", f"wrong guess {i}!", token,
                             {"X-Forwarded-For": f"203.0.113.{i}"})
    assert answer.status_code == 429
    assert {e["client"] for e in access_audit(store, "login_failed")} == {"10.1.1.1"}


def test_a_trusted_proxy_list_is_checked_at_start(store):
    from seamline.errors import ConfigError

    with pytest.raises(ConfigError, match="proxy"):
        app_for(store, trusted_proxies=["not-an-address"])


# ------------------------------------------------------------------ finding 8: nothing typed is kept


def test_a_password_typed_into_the_username_field_is_never_stored_or_logged(store, caplog):
    add_people(store)
    typed = "Hunter2-Secret-Passphrase"  # a password that looks like a username
    caplog.set_level(logging.DEBUG)
    with TestClient(app_for(store)) as client:
        assert sign_in(client, typed, "whatever was in the other field", csrf(client)
                       ).status_code == 401
        assert sign_in(client, "rita", "a wrong guess for rita", csrf(client)).status_code == 401
    assert typed.lower() not in everything_stored(store)
    assert typed.lower() not in caplog.text.lower()
    failed = access_audit(store, "login_failed")
    assert [e.get("username") for e in failed] == [None, "rita"]  # a real user is named
    assert {e["reason"] for e in failed} == {"no such user", "wrong password"}
