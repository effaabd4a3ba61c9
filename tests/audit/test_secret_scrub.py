"""Every configured secret is taken out by value: the audit, the logs and the console.

The probe's findings: one key of ``SEAMLINE_API_KEYS``, each of two rotated webhook
secrets in one variable, and a credential in a variable whose name says nothing
(``ACME_CRM_LOGIN``, named by a connector declaration) stayed verbatim. An event whose
body carries each of them must leave none of them anywhere a person or a model reads.
"""

from __future__ import annotations

import json
import logging
import re
import timeit

import pytest
from conftest import make_integration, verdict
from fastapi.testclient import TestClient
from sqlalchemy import select

from seamline import scrub
from seamline.access import Role, add_user
from seamline.audit import AuditEntry, append, story, verify
from seamline.edges import SourceSpec
from seamline.integration import ActionSpec
from seamline.runtime import Pipeline
from seamline.server import create_app
from seamline.store.tables import audit_log

API_KEY_1, API_KEY_2 = "k1-aaaaaaaaaaaa", "k2-bbbbbbbbbbbb"
HOOK_OLD, HOOK_NEW = "hook-old-1111111111", "hook-new-2222222222"
CRM_LOGIN = "crm-pass-3333333333"
SECRETS = (API_KEY_1, API_KEY_2, HOOK_OLD, HOOK_NEW, CRM_LOGIN)
BODY = (f"Refund please. My keys are {API_KEY_1} and {API_KEY_2}, the hook signs with "
        f"{HOOK_OLD} or {HOOK_NEW}, and the CRM login is {CRM_LOGIN}.")
PASSWORD = "correct horse battery staple"


def record(params: dict, *, idempotency_key: str) -> dict:
    return {"ok": True, "echo": params}


def integration():
    notify = ActionSpec(name="crm_note", handler=record, params={"note": "input.body"},
                        connector={"base_url": "https://crm.example", "auth_env": "ACME_CRM_LOGIN"})
    return make_integration(
        actions=(*make_integration().actions, notify),
        sources=(SourceSpec(name="github", kind="github", secret_env="ACME_HOOK_SIGNING"),))


@pytest.fixture
def configured(monkeypatch):
    # The real format of SEAMLINE_API_KEYS: comma-separated ``key`` or ``key:role``.
    monkeypatch.setenv("SEAMLINE_API_KEYS", f"{API_KEY_1}:admin, {API_KEY_2}:viewer")
    monkeypatch.setenv("ACME_HOOK_SIGNING", f"{HOOK_OLD} {HOOK_NEW}")  # rotation: two secrets
    monkeypatch.setenv("ACME_CRM_LOGIN", CRM_LOGIN)  # a name that says nothing
    return integration()  # declaring it registers its variables


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


# ---------------------------------------------------------------- configured_secrets


def test_every_configured_secret_is_known_by_value(configured):
    found = set(scrub.configured_secrets())
    assert set(SECRETS) <= found
    assert "admin" not in found and "viewer" not in found  # the roles are not secrets


@pytest.mark.parametrize("name", ["DB_PASSWD", "MAIL_PWD", "SENTRY_DSN", "GCP_CREDENTIALS",
                                  "PROXY_AUTH", "SSH_PRIVATE", "APP_PASSPHRASE", "X_API_KEYS"])
def test_variables_whose_names_look_secret_count(monkeypatch, name):
    monkeypatch.setenv(name, "v@lue-0123456789")
    assert "v@lue-0123456789" in scrub.configured_secrets()


def test_ordinary_variables_short_values_and_the_working_directory_do_not(monkeypatch):
    monkeypatch.setenv("GREETING_TEXT", "hello there, customer")
    monkeypatch.setenv("MY_API_KEY", "short")
    monkeypatch.setenv("PWD", "/work/main/projects")
    monkeypatch.setenv("OLDPWD", "/work/main/elsewhere")
    found = scrub.configured_secrets()
    assert not {"hello there, customer", "short", "/work/main/projects",
                "/work/main/elsewhere"} & set(found)
    assert scrub.scrub("cd /work/main/projects") == "cd /work/main/projects"


def test_a_database_urls_password_is_a_secret_whatever_the_variable_is_called(monkeypatch):
    monkeypatch.setenv("SEAMLINE_DB", "postgresql://app:s3cr3t-pw-42@db:5432/seamline")
    text = scrub.scrub("could not connect: postgresql://app:s3cr3t-pw-42@db:5432/seamline")
    assert "s3cr3t-pw-42" not in text
    assert "s3cr3t-pw-42" not in scrub.scrub("password=app:s3cr3t-pw-42@db")


def test_a_changed_environment_is_seen_at_once(monkeypatch):
    monkeypatch.setenv("ROTATING_TOKEN", "first-value-123456")
    assert scrub.scrub("x first-value-123456") == f"x {scrub.PLACEHOLDER}"
    monkeypatch.setenv("ROTATING_TOKEN", "second-value-654321")
    assert scrub.scrub("first-value-123456 second-value-654321") == \
        f"first-value-123456 {scrub.PLACEHOLDER}"
    scrub.register(["LATE_REGISTERED"])
    monkeypatch.setenv("LATE_REGISTERED", "late-value-000111")
    assert scrub.scrub("late-value-000111") == scrub.PLACEHOLDER


def test_a_longer_secret_is_replaced_whole_and_json_escapes_do_not_hide_one(monkeypatch):
    monkeypatch.setenv("A_TOKEN", "tok_abcdefghijkl")
    monkeypatch.setenv("B_TOKEN", "tok_abcdefghijkl_REMAINDER")
    assert scrub.scrub("tok_abcdefghijkl_REMAINDER") == scrub.PLACEHOLDER
    monkeypatch.setenv("Q_SECRET", 'q"uo\\te-12345678')
    assert scrub.scrub_value({"k": ['q"uo\\te-12345678']}) == {"k": [scrub.PLACEHOLDER]}


def test_scrubbing_costs_microseconds_when_nothing_changed(configured):
    text = "an ordinary sentence of an audit payload, nothing secret in it. " * 4
    scrub.scrub(text)
    per_call = min(timeit.repeat(lambda: scrub.scrub(text), number=2000, repeat=5)) / 2000
    assert per_call < 50e-6, f"{per_call * 1e6:.1f} µs per call"


# ------------------------------------------------------------------------- the audit


def test_no_configured_secret_reaches_the_audit_log(configured, store):
    result = Pipeline(configured, store, provider=verdict(amount=20)).process(
        {"ticket_id": "S1", "body": BODY})
    with store.read() as conn:
        rows = conn.execute(select(audit_log.c.kind, audit_log.c.payload)).all()
    assert rows and {kind for kind, _ in rows} >= {"ingest", "action"}
    assert leaked("\n".join(payload for _, payload in rows)) == []
    assert scrub.PLACEHOLDER in "\n".join(payload for _, payload in rows)
    assert result.state == "succeeded" and verify(store).ok


def test_the_secret_detector_runs_on_every_string_the_audit_keeps(store):
    token = "ghp_" + "A1b2C3d4" * 5
    with store.write() as conn:
        append(conn, [AuditEntry("e1", "refunds", "action", {
            "result": {"note": f"done, the db password: hunter2-hunter2 and {token}"},
            token: "a key is a string too",
            "submitted_by": "api_key:api-key:0123abcdef",  # a key's fingerprint, not a key
        })])
    [row] = story(store, "e1")
    text = json.dumps(row["payload"])
    assert "hunter2-hunter2" not in text and token not in text
    assert row["payload"]["submitted_by"] == "api_key:api-key:0123abcdef"
    assert verify(store).ok


# -------------------------------------------------------------------------- the logs


def test_no_configured_secret_reaches_the_logs(configured, caplog):
    caplog.set_level(logging.DEBUG, logger="seamline")
    log = logging.getLogger("seamline.edges.any_module")
    log.warning("a delivery said %s", BODY)
    log.info(BODY)
    log.error("with a dict %(body)s", {"body": BODY})
    try:
        raise RuntimeError(f"the vendor answered {CRM_LOGIN}")
    except RuntimeError:
        log.exception("the call failed")
    assert leaked(caplog.text) == []
    assert leaked(logging.Formatter().format(caplog.records[-1])) == []
    assert "a delivery said" in caplog.text and scrub.PLACEHOLDER in caplog.text


def test_other_libraries_logs_are_left_as_they_are(configured, caplog):
    caplog.set_level(logging.INFO)
    logging.getLogger("someone.else").info("plain %s", "args")
    assert caplog.records[-1].args == ("args",)


# ----------------------------------------------------------------------- the console


def signed_in(app) -> TestClient:
    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "vera", "password": PASSWORD, "csrf_token": token,
                                "next": "/console"})
    return client


def test_no_configured_secret_reaches_the_console(configured, store):
    pipeline = Pipeline(configured, store, provider=verdict(amount=500))  # waits for a person
    event_id = pipeline.process({"ticket_id": "S2", "body": BODY}).event_id
    add_user(store, "vera", PASSWORD, Role.REVIEWER, actor="test")
    app = create_app([configured], store, providers={"refunds": verdict(amount=500)},
                     secure_cookies=False)
    client = signed_in(app)
    event_page = client.get(f"/console/events/{event_id}")
    assert event_page.status_code == 200 and "Timeline" in event_page.text
    assert leaked(event_page.text) == []
    review = client.get("/console/reviews/1")
    assert review.status_code == 200 and "What will run" in review.text
    assert leaked(review.text) == []


def test_the_console_filter_scrubs_and_escapes():
    from seamline.console._evidence import scrub_filter

    assert str(scrub_filter(None)) == ""
    assert str(scrub_filter("<b>plain</b>")) == "&lt;b&gt;plain&lt;/b&gt;"
