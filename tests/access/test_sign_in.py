"""Signing in and out: secure cookies, server-side sessions that end, CSRF on every form,
and a login that slows guessing down without telling who exists."""

from __future__ import annotations

import json

from access_fixtures import (
    PASSWORD,
    Clock,
    add_people,
    client,
    form_token,
    guarded_app,
    row_counts,
    sign_in,
)
from sqlalchemy import select

from seamline.access import set_disabled, set_role
from seamline.store.tables import audit_log, sessions


def access_audit(store) -> list[tuple[str, dict]]:
    with store.read() as conn:
        rows = conn.execute(select(audit_log.c.kind, audit_log.c.payload)
                            .where(audit_log.c.event_id == "-").order_by(audit_log.c.seq)).all()
    return [(kind, json.loads(payload)) for kind, payload in rows]


# ------------------------------------------------------------------ sessions


def test_signing_in_sets_a_secure_httponly_lax_cookie_and_opens_the_page(store):
    add_people(store)
    app, _, _ = guarded_app(store)
    with client(app) as c:
        r = sign_in(c, "rita")
        assert r.status_code == 303 and r.headers["location"] == "/review"
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("__Host-seamline_session=")
        for attribute in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"):
            assert attribute.lower() in cookie.lower()
        page = c.get("/review")
    assert page.status_code == 200 and "<p>rita</p>" in page.text
    token = cookie.split(";")[0].split("=", 1)[1]
    with store.read() as conn:
        stored = conn.execute(select(sessions.c.token_hash, sessions.c.username)).all()
    assert [s.username for s in stored] == ["rita"]
    assert stored[0].token_hash != token and len(stored[0].token_hash) == 64  # hashed at rest


def test_over_plain_http_the_cookie_can_drop_secure_for_tests(store):
    add_people(store)
    app, _, _ = guarded_app(store, secure_cookies=False)
    with client(app, secure=False) as c:
        r = sign_in(c, "rita")
        assert r.headers["set-cookie"].startswith("seamline_session=")
        assert "secure" not in r.headers["set-cookie"].lower()
        assert c.get("/review").status_code == 200


def test_signing_in_again_rotates_the_session_token(store):
    add_people(store)
    app, _, _ = guarded_app(store)
    with client(app) as c:
        sign_in(c, "rita")
        first = c.cookies.get("__Host-seamline_session")
        sign_in(c, "rita")
        second = c.cookies.get("__Host-seamline_session")
    assert first and second and first != second
    with store.read() as conn:
        assert len(conn.execute(select(sessions)).all()) == 1  # the old one is gone


def test_signing_out_ends_the_session_on_the_server_too(store):
    add_people(store)
    app, _, _ = guarded_app(store)
    with client(app) as c:
        sign_in(c, "rita")
        stolen = c.cookies.get("__Host-seamline_session")
        token = form_token(c.get("/review").text)
        out = c.post("/logout", data={"csrf_token": token})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert c.get("/review").status_code == 303
    with client(app) as thief:  # replaying the old cookie does not work either
        thief.cookies.set("__Host-seamline_session", stolen)
        assert thief.get("/review").status_code == 303
    assert [k for k, _ in access_audit(store)][-1] == "logout"


def test_a_session_ends_at_its_expiry_and_after_idling(store):
    add_people(store)
    clock = Clock()
    app, _, _ = guarded_app(store, clock=clock, session_lifetime_s=3600, idle_timeout_s=600)
    with client(app) as c:
        sign_in(c, "rita")
        for _ in range(7):  # active use keeps it alive until the absolute expiry
            clock.now += 500
            assert c.get("/review").status_code == 200
        clock.now += 500  # 4000 s after sign-in: past the 1 h lifetime
        assert c.get("/review").status_code == 303
        sign_in(c, "rita")
        clock.now += 601  # idle too long
        assert c.get("/review").status_code == 303


def test_a_disabled_user_is_signed_out_and_a_demoted_one_loses_access_at_once(store):
    add_people(store)
    app, _, _ = guarded_app(store)
    with client(app) as c:
        sign_in(c, "adam")
        assert c.get("/admin").status_code == 200
        set_role(store, "adam", "reviewer", actor="test")
        refused = c.get("/admin")
        assert refused.status_code == 403 and "admin role" in refused.text
        set_disabled(store, "adam", True, actor="test")
        assert c.get("/review").status_code == 303
        assert sign_in(c, "adam").status_code == 401


def test_a_page_sends_strangers_to_the_sign_in_form_and_back_afterwards(store):
    add_people(store)
    app, _, _ = guarded_app(store)
    with client(app) as c:
        r = c.get("/review?tab=2")
        assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Freview%3Ftab%3D2"
        form = c.get(r.headers["location"])
        assert 'name="next" value="/review?tab=2"' in form.text
        assert '<label for="username">' in form.text and 'autocomplete="current-password"' in form.text
        assert form.headers["x-frame-options"] == "DENY"
        assert sign_in(c, "rita", next_path="/review?tab=2").headers["location"] == "/review?tab=2"


def test_next_cannot_send_a_user_off_site(store):
    add_people(store)
    app, _, _ = guarded_app(store)
    with client(app) as c:
        for target in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
            assert sign_in(c, "rita", next_path=target).headers["location"] == "/"


# ------------------------------------------------------------------ failures, audit, throttle


def test_a_wrong_password_and_an_unknown_user_get_the_same_sentence(store):
    add_people(store)
    app, _, _ = guarded_app(store)
    with client(app) as c:
        wrong = sign_in(c, "rita", "not the password at all")
        nobody = sign_in(c, "nobody", "not the password at all")
        assert c.get("/review").status_code == 303
    assert wrong.status_code == nobody.status_code == 401
    assert "The username or password is not correct." in wrong.text
    assert wrong.text.replace("rita", "X") == nobody.text.replace("nobody", "X")


def test_sign_ins_and_failures_are_audited_with_the_username_and_never_the_password(store):
    add_people(store)
    app, _, _ = guarded_app(store)
    with client(app) as c:
        sign_in(c, "rita", "a wrong guess 1234")
        sign_in(c, "rita")
    entries = access_audit(store)
    kinds = [k for k, _ in entries]
    assert kinds[-2:] == ["login_failed", "login"]
    failed, ok = entries[-2][1], entries[-1][1]
    assert failed["username"] == "rita" and failed["reason"] == "wrong password"
    assert ok["username"] == ok["actor"] == "rita" and ok["client"] == "10.0.0.1"
    text = json.dumps(entries)
    assert PASSWORD not in text and "a wrong guess 1234" not in text


def test_five_failures_for_one_username_answer_429_with_retry_after_even_from_new_addresses(store):
    add_people(store)
    clock = Clock()
    app, _, _ = guarded_app(store, clock=clock)
    for i in range(5):
        with client(app, ip=f"10.0.1.{i}") as c:
            assert sign_in(c, "rita", f"guess number {i}!").status_code == 401
    with client(app, ip="10.0.2.1") as c:
        limited = sign_in(c, "rita")  # even the right password waits
        assert limited.status_code == 429 and 0 < int(limited.headers["retry-after"]) <= 300
        assert "Too many failed sign-ins" in limited.text
        assert c.get("/review").status_code == 303
        assert sign_in(c, "vera", next_path="/api/whoami").status_code == 303  # others may
    clock.now += 301
    with client(app, ip="10.0.2.1") as c:
        assert sign_in(c, "rita").status_code == 303


def test_five_failures_from_one_address_limit_every_username_from_it(store):
    add_people(store)
    app, _, _ = guarded_app(store)
    with client(app, ip="10.9.9.9") as c:
        for name in ("a1", "b2", "c3", "d4", "e5"):
            assert sign_in(c, name, "some guess 12345").status_code == 401
        assert sign_in(c, "rita").status_code == 429
    with client(app, ip="10.9.9.10") as other:
        assert sign_in(other, "rita").status_code == 303


# ------------------------------------------------------------------ CSRF


def test_the_sign_in_form_needs_its_csrf_token(store):
    add_people(store)
    app, _, _ = guarded_app(store)
    with client(app) as c:
        c.get("/login")
        missing = c.post("/login", data={"username": "rita", "password": PASSWORD})
        wrong = c.post("/login", data={"username": "rita", "password": PASSWORD,
                                       "csrf_token": "forged-token-forged-token"})
        assert missing.status_code == wrong.status_code == 403
        assert c.get("/review").status_code == 303
    with store.read() as conn:
        assert conn.execute(select(sessions)).all() == []


def test_a_form_post_without_or_with_a_wrong_token_is_403_and_changes_nothing(store):
    add_people(store)
    app, _, done = guarded_app(store)
    with client(app) as c:
        sign_in(c, "rita")
        token = form_token(c.get("/review").text)
        before = row_counts(store)
        missing = c.post("/review/do", data={})
        wrong = c.post("/review/do", data={"csrf_token": token[:-2] + "xx"},
                       headers={"Accept": "text/html"})
        other_browser = c.post("/review/do", data={"csrf_token": c.cookies.get(
            "__Host-seamline_csrf")})  # the pre-sign-in token is not the session's
        assert missing.status_code == wrong.status_code == other_browser.status_code == 403
        assert "security token" in wrong.text and "<h1>" in wrong.text
        assert done == [] and row_counts(store) == before
        assert c.post("/review/do", data={"csrf_token": token}).json() == {"done": "rita"}
        assert c.post("/review/do", headers={"X-CSRF-Token": token}).status_code == 200
    assert done == ["rita", "rita"]


def test_signing_out_needs_the_token_too(store):
    add_people(store)
    app, _, _ = guarded_app(store)
    with client(app) as c:
        sign_in(c, "rita")
        assert c.post("/logout", data={}).status_code == 403
        assert c.get("/review").status_code == 200


def test_a_signed_in_json_post_needs_the_csrf_header(store):
    add_people(store)
    app, _, done = guarded_app(store)
    with client(app) as c:
        sign_in(c, "rita")
        token = form_token(c.get("/review").text)
        refused = c.post("/api/act")
        assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["error"]
        assert c.post("/api/act", headers={"X-CSRF-Token": token}).json() == {"done": "rita"}
        assert c.get("/api/whoami").json() == {"username": "rita", "role": "reviewer",
                                               "via": "session"}
    assert done == ["rita"]
