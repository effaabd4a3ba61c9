"""smtp: e-mail against a local aiosmtpd server, Message-ID from the key, once per key."""

from __future__ import annotations

import email
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from crash import send_then_crash
from vendor_fixtures import *  # registers the fixtures (see its docstring)

from seamline.connectors import (
    OutcomeUnknown,
    SendLedger,
    SmtpConnector,
    VendorAuthFailed,
    VendorRejected,
    VendorUnavailable,
    message_id,
)
from seamline.errors import ConfigError

PARAMS = {"to": ["ann@example.com"], "subject": "Your refund", "body": "It is on its way."}


class Inbox:
    """An aiosmtpd handler that keeps what it accepts and refuses whom it is told to."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.refuse: dict[str, str] = {}  # recipient -> SMTP reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.original_content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox():
    handler = Inbox()

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"right"
        return AuthResult(success=ok, handled=False)

    controller = Controller(handler, hostname="127.0.0.1", port=free_port(),
                            authenticator=authenticate, auth_require_tls=False)
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def smtp(inbox, store, **options) -> SmtpConnector:
    return SmtpConnector({"host": "127.0.0.1", "port": inbox.port, "sender": "ops@acme.test",
                          "timeout_s": 5, **options}, store=store)


def test_sends_with_a_message_id_derived_from_the_key(inbox, store):
    out = smtp(inbox, store).send_email(PARAMS, idempotency_key="k-1")
    [msg] = inbox.messages
    assert msg["Message-ID"] == message_id("k-1", "ops@acme.test") == out["message_id"]
    assert msg["Message-ID"].endswith("@acme.test>")
    assert (msg["From"], msg["To"], msg["Subject"]) == ("ops@acme.test", "ann@example.com",
                                                        "Your refund")
    assert msg["X-Seamline-Idempotency-Key"] == "k-1"
    assert msg.get_payload().strip() == "It is on its way."
    assert out["accepted"] == ["ann@example.com"] and out["refused"] == {}


def test_the_same_key_twice_sends_one_mail(inbox, store):
    c = smtp(inbox, store)
    assert c.send_email(PARAMS, idempotency_key="k") == c.send_email(PARAMS, idempotency_key="k")
    assert len(inbox.messages) == 1


def test_a_crash_after_the_server_accepted_is_not_sent_again(inbox, store):
    options = {"host": "127.0.0.1", "port": inbox.port, "sender": "ops@acme.test"}
    send_then_crash(store, "smtp", "send_email", options, PARAMS, "k")
    assert len(inbox.messages) == 1
    with pytest.raises(OutcomeUnknown, match="no way to check"):
        smtp(inbox, store).send_email(PARAMS, idempotency_key="k")
    assert len(inbox.messages) == 1


def test_a_refused_recipient_is_a_rejection_and_a_retry_may_send(inbox, store):
    inbox.refuse["ann@example.com"] = "550 5.1.1 No such user"
    with pytest.raises(VendorRejected, match="refused every recipient: ann@example.com"):
        smtp(inbox, store).send_email(PARAMS, idempotency_key="k")
    assert SendLedger(store, "smtp").status("k") == "failed"
    del inbox.refuse["ann@example.com"]
    smtp(inbox, store).send_email(PARAMS, idempotency_key="k")
    assert len(inbox.messages) == 1


def test_a_partly_refused_mail_reports_who_was_refused(inbox, store):
    inbox.refuse["bob@example.com"] = "550 5.1.1 No such user"
    out = smtp(inbox, store).send_email({**PARAMS, "to": ["ann@example.com", "bob@example.com"]},
                                        idempotency_key="k")
    assert out["accepted"] == ["ann@example.com"]
    assert out["refused"] == {"bob@example.com": "550 5.1.1 No such user"}


def test_login_with_credentials_from_the_environment(inbox, store, monkeypatch):
    monkeypatch.setenv("SMTP_USER", "ops")
    monkeypatch.setenv("SMTP_PASSWORD", "wrong")
    options = {"username_env": "SMTP_USER", "password_env": "SMTP_PASSWORD"}
    with pytest.raises(VendorAuthFailed, match="refused the login"):
        smtp(inbox, store, **options).send_email(PARAMS, idempotency_key="k1")
    monkeypatch.setenv("SMTP_PASSWORD", "right")
    smtp(inbox, store, **options).send_email(PARAMS, idempotency_key="k2")
    assert len(inbox.messages) == 1
    monkeypatch.delenv("SMTP_PASSWORD")
    with pytest.raises(ConfigError, match="SMTP_PASSWORD, which is not set"):
        smtp(inbox, store, **options)


def test_an_unreachable_server_certainly_sent_nothing(store):
    c = SmtpConnector({"host": "127.0.0.1", "port": free_port(), "sender": "a@b.c"}, store=store)
    with pytest.raises(VendorUnavailable, match="could not connect") as info:
        c.send_email(PARAMS, idempotency_key="k")
    assert info.value.retryable and SendLedger(store, "smtp").status("k") == "failed"
