"""Vendor-neutral kinds: one contract scenario per kind, run against every vendor that
implements it, on the local fakes that speak each vendor's documented wire format.

Each scenario runs the kind's handler (what the outbox runs for ``handler: kind:…``)
twice: the vendor must have received the request its docs describe, the neutral reply
must have the same keys whichever vendor answered, and the second run with the same
idempotency key must leave one effect at the vendor (the key reaches the connector
unchanged, so its dedupe holds). The vendors are read from the kinds' catalog: a vendor
gaining an adapter without a rig here fails ``test_every_vendor_of_every_kind_has_a_rig``.
"""

from __future__ import annotations

import email as email_lib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from conftest import make_integration
from crash import send_then_crash
from fake_zendesk import FakeZendesk
from fakes_crm import *  # registers crm_credentials
from fakes_crm import FakeHubSpot, FakeIntercom, FakePipedrive, FakeSalesforce
from fakes_messaging import *  # registers messaging_credentials
from fakes_messaging import CalendarFake, PostmarkFake, ResendFake, SendGridFake, TwilioFake
from vendor_fixtures import *  # registers the fixtures (see its docstring)

from seamline.connectors import (
    BadParams,
    kind_adapter,
    kind_handler,
    kind_vendors,
    kinds,
    parse_kind,
)
from seamline.connectors.testing import RecordedRequest, Reply, VendorServer
from seamline.errors import ConfigError
from seamline.integration import ActionSpec

ADMIN = "814860"  # an Intercom admin FakeIntercom knows


def run_kind(store, kind: str, vendor: str, block: dict[str, Any]) -> Callable[..., dict]:
    """The handler of a ``kind:`` action whose family uses ``vendor`` with ``block``."""
    family = kind.partition(".")[0]
    spec = ActionSpec(name="act", handler=f"kind:{kind}")
    integration = make_integration(actions=(spec,),
                                   vendors={family: {"use": vendor, vendor: block}})
    handler = kind_handler(spec, integration, store=store)
    return lambda params, key: handler(params, idempotency_key=key)


def assert_neutral(reply: dict[str, Any], kind: str, vendor: str) -> None:
    """The kind's one reply shape, whoever answered."""
    assert set(reply) == set(parse_kind(f"kind:{kind}").reply.model_fields), reply
    assert reply["kind"] == kind and reply["vendor"] == vendor
    assert isinstance(reply["id"], str) and reply["id"], reply


@dataclass
class Rig:
    """One vendor's fake for one kind: the vendor block, extra params, and what the vendor
    must have seen after two runs with the same key (``check(first_reply)``)."""

    block: dict[str, Any]
    check: Callable[[dict[str, Any]], None]
    params: dict[str, Any] | None = None


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts (RFC 5321 DATA)."""

    def __init__(self) -> None:
        self.messages: list[email_lib.message.Message] = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email_lib.message_from_bytes(envelope.original_content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_inbox():
    handler = Inbox()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


# -- crm.upsert_contact ------------------------------------------------------------------

CONTACT = {"email": "ann@example.com", "first_name": "Ann", "last_name": "Lee",
           "phone": "+15550100", "company": "Acme"}


def upsert_hubspot(server: VendorServer, _: Any) -> Rig:
    fake = FakeHubSpot(server)

    def check(first: dict[str, Any]) -> None:
        [record] = fake.of("contacts")
        assert record["id"] == first["id"]
        assert {k: record["properties"][k] for k in
                ("email", "firstname", "lastname", "phone", "company")} == {
            "email": "ann@example.com", "firstname": "Ann", "lastname": "Lee",
            "phone": "+15550199", "company": "Acme"}
        request = server.sent("POST", "/crm/v3/objects/contacts/batch/upsert")[0]
        assert request.json()["inputs"][0]["idProperty"] == "email"
    return Rig({"base_url": server.url}, check)


def upsert_salesforce(server: VendorServer, _: Any) -> Rig:
    fake = FakeSalesforce(server)

    def check(first: dict[str, Any]) -> None:
        [record] = fake.of("Contact")
        assert record["Id"] == first["id"]
        assert {k: record[k] for k in ("Ext__c", "Email", "FirstName", "LastName", "Phone",
                                       "Company__c")} == {
            "Ext__c": "ann@example.com", "Email": "ann@example.com", "FirstName": "Ann",
            "LastName": "Lee", "Phone": "+15550199", "Company__c": "Acme"}
        assert server.sent("PATCH", "/services/data/v62.0/sobjects/Contact/Ext__c/*")
    return Rig({"base_url": server.url, "contact_key_field": "Ext__c",
                "company_field": "Company__c"}, check)


def upsert_intercom(server: VendorServer, _: Any) -> Rig:
    fake = FakeIntercom(server)

    def check(first: dict[str, Any]) -> None:
        [contact] = fake.contacts.values()
        assert contact["id"] == first["id"]
        assert {k: contact[k] for k in ("external_id", "email", "name", "phone", "role")} == {
            "external_id": "ann@example.com", "email": "ann@example.com", "name": "Ann Lee",
            "phone": "+15550199", "role": "user"}
        assert contact["custom_attributes"] == {"company_name": "Acme"}
    return Rig({"base_url": server.url, "company_attribute": "company_name"}, check)


UPSERT_RIGS = {"hubspot": upsert_hubspot, "salesforce": upsert_salesforce,
               "intercom": upsert_intercom}


@pytest.mark.parametrize("vendor", kind_vendors("crm.upsert_contact"))
def test_crm_upsert_contact_creates_then_updates_the_same_contact(vendor, store):
    with VendorServer() as server:
        rig = UPSERT_RIGS[vendor](server, None)
        run = run_kind(store, "crm.upsert_contact", vendor, rig.block)
        first = run(CONTACT, "k-1")
        again = run({**CONTACT, "phone": "+15550199"}, "k-2")
        rig.check(first)
    for reply in (first, again):
        assert_neutral(reply, "crm.upsert_contact", vendor)
    assert first["created"] is True and again["created"] is False
    assert again["id"] == first["id"]


# -- crm.add_note ------------------------------------------------------------------------

NOTE = {"body": "Called back\nShe wants the refund on her card.", "record_type": "contact"}


def note_hubspot(server: VendorServer, _: Any) -> Rig:
    fake = FakeHubSpot(server)
    contact = fake.add("contacts", time.time(), email="ann@example.com")["id"]

    def check(first: dict[str, Any]) -> None:
        [note] = fake.of("notes")
        assert note["id"] == first["id"] and note["properties"]["hs_note_body"] == NOTE["body"]
        assert ("notes", note["id"], "?", contact, 202) in fake.associations
    return Rig({"base_url": server.url}, check, {"record_id": contact})


def note_salesforce(server: VendorServer, _: Any) -> Rig:
    fake = FakeSalesforce(server)
    contact = fake.add("Contact", LastName="Lee")

    def check(first: dict[str, Any]) -> None:
        [note] = fake.of("Note")
        assert note == {"Id": first["id"], "sobject": "Note", "ParentId": contact,
                        "Title": "Called back", "Body": NOTE["body"]}
    return Rig({"base_url": server.url}, check, {"record_id": contact})


def note_pipedrive(server: VendorServer, _: Any) -> Rig:
    fake = FakePipedrive(server)

    def check(first: dict[str, Any]) -> None:
        [note] = fake.notes
        assert str(note["id"]) == first["id"]
        assert note["content"] == NOTE["body"] and note["person_id"] == 7
    return Rig({"base_url": server.url}, check, {"record_id": "7"})


NOTE_RIGS = {"hubspot": note_hubspot, "salesforce": note_salesforce,
             "pipedrive": note_pipedrive}


@pytest.mark.parametrize("vendor", kind_vendors("crm.add_note"))
def test_crm_add_note_attaches_one_note_per_key(vendor, store):
    with VendorServer() as server:
        rig = NOTE_RIGS[vendor](server, None)
        run = run_kind(store, "crm.add_note", vendor, rig.block)
        params = {**NOTE, **(rig.params or {})}
        first = run(params, "k-1")
        again = run(params, "k-1")  # a retry: the connector's ledger answers, nothing is sent
        rig.check(first)
    assert_neutral(first, "crm.add_note", vendor)
    assert first["created"] is True and again["id"] == first["id"]


# -- email.send --------------------------------------------------------------------------

MAIL = {"to": ["ann@example.com"], "subject": "Your refund", "text": "It is on its way.",
        "sender": "ops@acme.test", "cc": ["lead@acme.test"]}


def mail_resend(server: VendorServer, _: Any) -> Rig:
    fake = ResendFake(server)

    def check(first: dict[str, Any]) -> None:
        [sent] = fake.sent  # the same key again: Resend answered with the first e-mail
        assert sent["id"] == first["id"] and sent["to"] == ["ann@example.com"]
        assert (sent["from"], sent["subject"], sent["text"], sent["cc"]) == (
            "ops@acme.test", "Your refund", "It is on its way.", ["lead@acme.test"])
        requests = server.sent("POST", "/emails")
        assert [r.headers["idempotency-key"] for r in requests] == ["k-1", "k-1"]
    return Rig({"base_url": server.url}, check)


def mail_postmark(server: VendorServer, _: Any) -> Rig:
    fake = PostmarkFake(server)

    def check(first: dict[str, Any]) -> None:
        [sent] = fake.sent
        assert sent["MessageID"] == first["id"]
        assert (sent["From"], sent["To"], sent["Subject"], sent["TextBody"], sent["Cc"]) == (
            "ops@acme.test", "ann@example.com", "Your refund", "It is on its way.",
            "lead@acme.test")
    return Rig({"base_url": server.url}, check)


def mail_sendgrid(server: VendorServer, _: Any) -> Rig:
    fake = SendGridFake(server)

    def check(first: dict[str, Any]) -> None:
        [sent] = fake.sent
        assert sent["message_id"] == first["id"]
        assert sent["personalizations"] == [{"to": [{"email": "ann@example.com"}],
                                             "cc": [{"email": "lead@acme.test"}]}]
        assert sent["content"] == [{"type": "text/plain", "value": "It is on its way."}]
    return Rig({"base_url": server.url}, check)


def mail_smtp(server: VendorServer, inbox: Inbox) -> Rig:
    def check(first: dict[str, Any]) -> None:
        [message] = inbox.messages
        assert message["Message-ID"] == first["id"]
        assert (message["From"], message["To"], message["Cc"], message["Subject"]) == (
            "ops@acme.test", "ann@example.com", "lead@acme.test", "Your refund")
        assert email_lib.message_from_string(message.as_string()).get_payload().strip() == \
            "It is on its way."
    return Rig({"host": "127.0.0.1", "port": inbox.port, "timeout_s": 5}, check)


MAIL_RIGS = {"resend": mail_resend, "postmark": mail_postmark, "sendgrid": mail_sendgrid,
             "smtp": mail_smtp}


@pytest.mark.parametrize("vendor", kind_vendors("email.send"))
def test_email_send_sends_one_email_per_key(vendor, store, smtp_inbox):
    with VendorServer() as server:
        rig = MAIL_RIGS[vendor](server, smtp_inbox)
        run = run_kind(store, "email.send", vendor, rig.block)
        first = run(MAIL, "k-1")
        again = run(MAIL, "k-1")
        rig.check(first)
    assert_neutral(first, "email.send", vendor)
    assert again["id"] == first["id"]


def test_a_field_smtp_cannot_carry_is_refused_not_dropped(store, smtp_inbox):
    run = run_kind(store, "email.send", "smtp", {"host": "127.0.0.1", "port": smtp_inbox.port})
    with pytest.raises(BadParams, match="smtp cannot carry email.send's html: the smtp "
                                        "connector sends a plain-text body only"):
        run({**MAIL, "html": "<p>It is on its way.</p>"}, "k-1")
    assert smtp_inbox.messages == []


# -- sms.send ----------------------------------------------------------------------------

def sms_twilio(server: VendorServer, _: Any) -> Rig:
    fake = TwilioFake(server)

    def check(first: dict[str, Any]) -> None:
        [message] = fake.messages
        assert message["sid"] == first["id"] and first["status"] == "queued"
        assert (message["to"], message["from"], message["body"]) == (
            "+15550100", "+15550111", "Your refund is on its way.")
        assert server.sent("POST")[0].form() == {
            "To": "+15550100", "From": "+15550111", "Body": "Your refund is on its way."}
    return Rig({"base_url": server.url}, check)


SMS_RIGS = {"twilio": sms_twilio}


@pytest.mark.parametrize("vendor", kind_vendors("sms.send"))
def test_sms_send_sends_one_message_per_key(vendor, store):
    params = {"to": "+15550100", "body": "Your refund is on its way.", "sender": "+15550111"}
    with VendorServer() as server:
        rig = SMS_RIGS[vendor](server, None)
        run = run_kind(store, "sms.send", vendor, rig.block)
        first, again = run(params, "k-1"), run(params, "k-1")
        rig.check(first)
    assert_neutral(first, "sms.send", vendor)
    assert again["id"] == first["id"]


# -- calendar.create_event ---------------------------------------------------------------

EVENT = {"title": "Refund call", "start": "2026-11-25T10:00:00+01:00",
         "end": "2026-11-25T10:30:00+01:00", "attendees": ["ann@example.com"],
         "location": "Phone"}


def event_gcalendar(server: VendorServer, _: Any) -> Rig:
    fake = CalendarFake(server)

    def check(first: dict[str, Any]) -> None:
        assert fake.inserts == 1
        event = fake.events["primary"][first["id"]]
        assert (event["summary"], event["start"], event["attendees"], event["location"]) == (
            "Refund call", {"dateTime": "2026-11-25T10:00:00+01:00"},
            [{"email": "ann@example.com"}], "Phone")
        assert first["link"] == event["htmlLink"]
    return Rig({"base_url": server.url}, check)


EVENT_RIGS = {"gcalendar": event_gcalendar}


@pytest.mark.parametrize("vendor", kind_vendors("calendar.create_event"))
def test_calendar_create_event_creates_one_event_per_key(vendor, store):
    with VendorServer() as server:
        rig = EVENT_RIGS[vendor](server, None)
        run = run_kind(store, "calendar.create_event", vendor, rig.block)
        first, again = run(EVENT, "k-1"), run(EVENT, "k-1")
        rig.check(first)
    assert_neutral(first, "calendar.create_event", vendor)
    assert first["created"] is True and again["created"] is False
    assert again["id"] == first["id"]


# -- ticket.comment ----------------------------------------------------------------------

def comment_zendesk(server: VendorServer, _: Any) -> Rig:
    fake = FakeZendesk(server)

    def check(first: dict[str, Any]) -> None:
        [update] = fake.updates
        assert str(update["audit_id"]) == first["id"] and first["ticket_id"] == "35436"
        [comment] = [e for e in fake.audits[35436][0]["events"] if e["type"] == "Comment"]
        assert (comment["body"], comment["public"]) == ("We refunded you.", True)
    return Rig({"base_url": server.url}, check, {"ticket_id": "35436"})


def comment_intercom(server: VendorServer, _: Any) -> Rig:
    fake = FakeIntercom(server)
    fake.conversation("1911")

    def check(first: dict[str, Any]) -> None:
        [part] = fake.conversation("1911")
        assert part["id"] == first["id"] and first["ticket_id"] == "1911"
        assert (part["part_type"], part["body"]) == ("comment", "<p>We refunded you.</p>")
    return Rig({"base_url": server.url, "admin_id": ADMIN}, check, {"ticket_id": "1911"})


COMMENT_RIGS = {"zendesk": comment_zendesk, "intercom": comment_intercom}


@pytest.mark.parametrize("vendor", kind_vendors("ticket.comment"))
def test_ticket_comment_adds_one_public_comment_per_key(vendor, store):
    with VendorServer() as server:
        rig = COMMENT_RIGS[vendor](server, None)
        run = run_kind(store, "ticket.comment", vendor, rig.block)
        params = {"body": "We refunded you.", "public": True, **(rig.params or {})}
        first, again = run(params, "k-1"), run(params, "k-1")
        rig.check(first)
    assert_neutral(first, "ticket.comment", vendor)
    assert again["id"] == first["id"]


def test_a_private_intercom_comment_is_a_note(store):
    with VendorServer() as server:
        fake = FakeIntercom(server)
        fake.conversation("1911")
        run = run_kind(store, "ticket.comment", "intercom",
                       {"base_url": server.url, "admin_id": ADMIN})
        run({"ticket_id": "1911", "body": "Card ends 4242."}, "k-1")
    [part] = fake.conversation("1911")
    assert part["part_type"] == "note"


def test_a_comment_interrupted_by_a_crash_is_found_not_sent_again(vendor, store):
    """Crash recovery is the connector's: the adapter's one operation, the same key."""
    zd = FakeZendesk(vendor)
    neutral = parse_kind("kind:ticket.comment").params.model_validate(
        {"ticket_id": "35436", "body": "We refunded you.", "public": True})
    operation, params = kind_adapter("ticket.comment", "zendesk").translate(neutral, None)
    send_then_crash(store, "zendesk", operation, {"base_url": vendor.url}, params, "k")
    [update] = zd.updates  # the crashed attempt acted once
    out = run_kind(store, "ticket.comment", "zendesk", {"base_url": vendor.url})(
        {"ticket_id": "35436", "body": "We refunded you.", "public": True}, "k")
    assert out["recovered"] is True and out["id"] == str(update["audit_id"])
    assert len(zd.updates) == 1 and len(vendor.sent("PUT")) == 1


# -- payments.refund ---------------------------------------------------------------------

class StripeRefunds:
    """Stripe's Create a refund, ``POST /v1/refunds`` (form-encoded), with its idempotency:
    https://docs.stripe.com/api/refunds/create and https://docs.stripe.com/api/idempotent_requests
    (the same key replays the first reply with ``Idempotent-Replayed: true``; the same key
    with other parameters is 400 ``idempotency_error``)."""

    def __init__(self, server: VendorServer) -> None:
        self.refunds: list[dict[str, Any]] = []
        self._keys: dict[str, tuple[dict[str, str], Reply]] = {}
        server.route("POST", "/v1/refunds", self._create)

    def _create(self, request: RecordedRequest) -> Reply:
        if request.headers.get("authorization") != "Bearer sk_test_123":
            return Reply(401, {"error": {"type": "invalid_request_error",
                                         "message": "Invalid API Key provided"}})
        form, key = request.form(), request.headers.get("idempotency-key", "")
        if key in self._keys:
            first, reply = self._keys[key]
            if first != form:
                return Reply(400, {"error": {"type": "idempotency_error", "message": (
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with.")}})
            return Reply(reply.status, reply.json, headers={"Idempotent-Replayed": "true"})
        if not (form.get("payment_intent") or form.get("charge")):
            return Reply(400, {"error": {"type": "invalid_request_error",
                                         "code": "parameter_missing",
                                         "message": "One of the following params should be "
                                                    "provided for this request: payment_intent "
                                                    "or charge."}})
        refund = {"id": f"re_{len(self.refunds) + 1:024d}", "object": "refund",
                  "amount": int(form.get("amount", "5000")), "currency": "usd",
                  "payment_intent": form.get("payment_intent"), "charge": form.get("charge"),
                  "reason": form.get("reason"), "status": "succeeded", "created": 1764064800,
                  "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}}
        self.refunds.append(refund)
        self._keys[key] = (form, Reply(200, refund))
        return Reply(200, refund)


def refund_stripe(server: VendorServer, _: Any) -> Rig:
    fake = StripeRefunds(server)

    def check(first: dict[str, Any]) -> None:
        [refund] = fake.refunds
        assert refund["id"] == first["id"]
        assert server.sent("POST", "/v1/refunds")[0].form() == {
            "payment_intent": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "amount": "1250",
            "reason": "requested_by_customer", "metadata[ticket]": "T-1"}
        headers = server.sent("POST", "/v1/refunds")[0].headers
        assert (headers["stripe-version"], headers["idempotency-key"]) == ("2024-06-20", "k-1")
        assert (first["status"], first["amount_minor"], first["currency"]) == (
            "succeeded", 1250, "usd")
    return Rig({"base_url": server.url}, check)


REFUND_RIGS = {"stripe": refund_stripe}


@pytest.mark.parametrize("vendor", kind_vendors("payments.refund"))
def test_payments_refund_refunds_once_per_key(vendor, store):
    params = {"payment_id": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "amount_minor": 1250,
              "reason": "requested_by_customer", "metadata": {"ticket": "T-1"}}
    with VendorServer() as server:
        rig = REFUND_RIGS[vendor](server, None)
        run = run_kind(store, "payments.refund", vendor, rig.block)
        first, again = run(params, "k-1"), run(params, "k-1")
        rig.check(first)
    assert_neutral(first, "payments.refund", vendor)
    assert first["created"] is True and again["created"] is False
    assert again["id"] == first["id"]


# -- the catalog and its sentences ---------------------------------------------------------

RIGS = {"crm.upsert_contact": UPSERT_RIGS, "crm.add_note": NOTE_RIGS, "email.send": MAIL_RIGS,
        "sms.send": SMS_RIGS, "calendar.create_event": EVENT_RIGS,
        "ticket.comment": COMMENT_RIGS, "payments.refund": REFUND_RIGS}


def test_every_vendor_of_every_kind_has_a_rig():
    assert set(RIGS) == set(kinds())
    for kind, rigs in RIGS.items():
        assert set(rigs) == set(kind_vendors(kind)), kind
        assert kind_vendors(kind), f"{kind} has no vendor"


def test_every_kind_documents_every_field_of_its_params_and_reply():
    for kind in kinds().values():
        for model in (kind.params, kind.reply):
            for name, info in model.model_fields.items():
                known = name in ("kind", "vendor", "vendor_reply")  # said in docs/vendor-neutral.md
                assert info.description or known, f"{kind.name}: {model.__name__}.{name}"


def test_neutral_params_are_checked_before_anything_is_sent(store, vendor):
    run = run_kind(store, "crm.upsert_contact", "hubspot", {"base_url": vendor.url})
    with pytest.raises(BadParams, match=r"The params of crm.upsert_contact are invalid: "
                                        r"email: String should match pattern"):
        run({"email": "not an address"}, "k-1")
    with pytest.raises(BadParams, match="emial: Extra inputs are not permitted"):
        run({"email": "ann@example.com", "emial": "x"}, "k-2")
    assert vendor.sent() == []


def test_a_missing_vendor_or_setting_is_a_sentence(store):
    spec = ActionSpec(name="sync", handler="kind:crm.upsert_contact")
    with pytest.raises(ConfigError, match=r"no vendor is chosen for crm: add vendors: "
                                          r"\{crm: VENDOR\} \(one of hubspot, salesforce"):
        kind_handler(spec, make_integration(actions=(spec,)), store=store)
    with pytest.raises(ConfigError, match="pipedrive does not implement crm.upsert_contact; "
                                          "the vendors that do: hubspot, salesforce, intercom"):
        kind_handler(spec, make_integration(actions=(spec,), vendors={
            "crm": {"use": "pipedrive"}}), store=store)
    with pytest.raises(ConfigError, match="salesforce does crm.upsert_contact only with the "
                                          "setting.s. contact_key_field"):
        kind_handler(spec, make_integration(actions=(spec,), vendors={
            "crm": {"use": "salesforce", "salesforce": {"base_url": "https://x.test"}}}),
            store=store)
    with pytest.raises(ConfigError, match="handler 'kind:crm.delete_contact' names no "
                                          "vendor-neutral kind; the kinds are calendar"):
        parse_kind("kind:crm.delete_contact")


@pytest.mark.parametrize(("kind", "vendor", "policy"), [
    ("payments.refund", "stripe", "resend"), ("email.send", "resend", "resend"),
    ("crm.add_note", "hubspot", "ask"), ("email.send", "sendgrid", "ask")])
def test_an_action_in_doubt_is_decided_as_its_vendor_connector_s_would_be(store, kind, vendor,
                                                                         policy):
    """Vendor dedupe: sent again with the same key; our send ledger: asked first."""
    from seamline.actions import ActionRunner

    spec = ActionSpec(name="act", handler=f"kind:{kind}")
    integration = make_integration(actions=(spec,), vendors={
        kind.partition(".")[0]: {"use": vendor}})
    assert ActionRunner(store, integration, vault=None).doubt_policy("act") == policy


def test_a_charge_id_is_refunded_as_a_charge_and_a_refund_names_one_payment(store):
    from seamline.connectors import StripeConnector

    with VendorServer() as server:
        fake = StripeRefunds(server)
        run_kind(store, "payments.refund", "stripe", {"base_url": server.url})(
            {"payment_id": "ch_3MmlLrLkdIwHu7ix0snN0B15"}, "k-1")
        with pytest.raises(BadParams, match="exactly one of payment_intent and charge"):
            StripeConnector({"base_url": server.url}, store=store).create_refund(
                {"amount": 100}, idempotency_key="k-2")
    [refund] = fake.refunds
    assert refund["charge"] == "ch_3MmlLrLkdIwHu7ix0snN0B15" and refund["payment_intent"] is None
    assert len(server.sent("POST", "/v1/refunds")) == 1  # the bad params never left


def test_the_docs_page_lists_every_kind_its_fields_and_its_vendors():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "vendor-neutral.md").read_text()
    for name, kind in kinds().items():
        section = page.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        for field in kind.params.model_fields:
            assert f"| `{field}` |" in section, f"{name}.{field} is not in docs/vendor-neutral.md"
        for vendor in kind_vendors(name):
            assert f"| `{vendor}` |" in section, f"{name} on {vendor} is not in the docs"
