"""``seamline check`` on vendor-neutral actions: the kind exists, the vendor implements it,
the params are the kind's fields with types that fit, the vendor's options and settings
are valid and its credentials set; and the risk of a kind is that of its verb."""

from __future__ import annotations

from typing import Literal

import pytest
from conftest import make_integration
from pydantic import BaseModel

from seamline.integration import ActionSpec
from seamline.preflight import check
from seamline.rollout import action_risk


class Order(BaseModel):
    payment_id: str
    total: float


class Inbound(BaseModel):
    ticket_id: str
    email: str | None = None
    body: str
    order: Order


class Decision(BaseModel):
    label: Literal["refund", "other"]
    confidence: float
    refund_cents: int
    share: float


def problems(*actions: ActionSpec, vendors=None, level: str | None = None) -> list[str]:
    integration = make_integration(actions=actions, vendors=vendors or {},
                                   input_schema=Inbound, output_schema=Decision,
                                   pii={"ticket_id": "allow", "email": "allow", "body": "redact",
                                        "order": "allow"})
    return [p.sentence for p in check(integration) if p.part in ("actions", "vendors")
            and (level is None or p.level == level)]


REFUND = {"payments": {"use": "stripe"}}


def refund(**params: str) -> ActionSpec:
    return ActionSpec(name="refund", handler="kind:payments.refund",
                      params={"payment_id": "input.order.payment_id", **params})


def test_a_well_declared_kind_action_passes(monkeypatch):
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_123")
    assert problems(refund(amount_minor="output.refund_cents", reason="'duplicate'"),
                    vendors=REFUND) == []


def test_an_unset_credential_is_a_warning_naming_the_variable(monkeypatch):
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    assert problems(refund(), vendors=REFUND, level="error") == []
    assert problems(refund(), vendors=REFUND, level="warning") == [
        ("The stripe connector reads a credential from the environment variable "
        "STRIPE_SECRET_KEY, which is not set.")]


@pytest.mark.parametrize(("action", "vendors", "sentence"), [
    (ActionSpec(name="a", handler="kind:crm.delete_contact"), {},
     "names no vendor-neutral kind; the kinds are calendar.create_event, crm.add_note"),
    (ActionSpec(name="a", handler="kind:crm.add_note", params={"record_id": "'1'",
                                                               "body": "input.body"}), {},
     ("no vendor is chosen for crm: add vendors: {crm: VENDOR} (one of hubspot, salesforce, "
     "pipedrive)")),
    (ActionSpec(name="a", handler="kind:crm.upsert_contact", params={"email": "input.email"}),
     {"crm": {"use": "pipedrive", "pipedrive": {"company_domain": "acme"}}},
     "pipedrive does not implement crm.upsert_contact; the vendors that do: hubspot"),
    (refund(amount="output.refund_cents"), REFUND,
     "passes 'amount', which payments.refund does not take; it takes payment_id, amount_minor"),
    (ActionSpec(name="refund", handler="kind:payments.refund"), REFUND,
     "does not pass 'payment_id', which payments.refund requires"),
    (ActionSpec(name="mail", handler="kind:email.send", params={
        "to": "input.email", "subject": "'Hi'", "text": "input.body", "tags": "{'a': 'b'}"}),
     {"email": {"use": "smtp"}},
     "passes 'tags', which smtp cannot carry for email.send: SMTP has no tags or metadata"),
    (refund(), {"payments": {"use": "stripe", "stripe": {"secret_key": "sk_live_x"}}},
     "The options of the stripe connector are invalid: secret_key: Extra inputs"),
    (ActionSpec(name="sync", handler="kind:crm.upsert_contact", params={"email": "input.email"}),
     {"crm": {"use": "salesforce", "salesforce": {"base_url": "https://acme.test"}}},
     ("salesforce does crm.upsert_contact only with the setting contact_key_field under "
     "vendors.crm.salesforce")),
    (refund(), {"payments": {"use": "stripe"}, "billing": {"use": "stripe"}},
     "vendors names the family 'billing', which has no kinds; the families are crm, email"),
    (refund(), {**REFUND, "crm": {"use": "stripe"}},
     ("vendors.crm names 'stripe', which implements no crm kind; the vendors that do: hubspot, "
     "intercom, pipedrive, salesforce")),
    (ActionSpec(name="refund", handler="kind:payments.refund", connector={"object": "refunds"},
                params={"payment_id": "input.order.payment_id"}), REFUND,
     "is vendor-neutral; put its options under vendors.payments.stripe, not connector"),
    (ActionSpec(name="x", handler="tests_helpers:nothing", vendor="hubspot"), {},
     ("names vendor 'hubspot', which only a vendor-neutral action (handler: kind:FAMILY.VERB) "
     "takes")),
])
def test_what_is_wrong_is_an_error_in_one_sentence(monkeypatch, action, vendors, sentence):
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_123")
    monkeypatch.setenv("PIPEDRIVE_API_TOKEN", "pd")
    found = problems(action, vendors=vendors, level="error")
    assert any(sentence in s for s in found), found


def test_param_types_are_read_against_the_schemas(monkeypatch):
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_123")
    errors = problems(refund(amount_minor="input.body"), vendors=REFUND, level="error")
    assert errors == [("Action 'refund' passes amount_minor = 'input.body', which is text, but "
                      "payments.refund's amount_minor takes a whole number or null.")]
    warnings = problems(refund(amount_minor="output.share"), vendors=REFUND, level="warning")
    assert warnings == [("Action 'refund' passes amount_minor = 'output.share', which is a "
                        "number, but payments.refund's amount_minor takes a whole number or "
                        "null; a number that is not whole would be refused when it runs.")]
    # an optional input field into a required one: null would be refused
    mail = ActionSpec(name="mail", handler="kind:email.send", params={
        "to": "input.email", "subject": "'Refund ' ~ input.ticket_id", "text": "input.body"})
    monkeypatch.setenv("RESEND_API_KEY", "re_x")
    assert problems(mail, vendors={"email": {"use": "resend"}}, level="warning") == [
        ("Action 'mail' passes to = 'input.email', which is text or null, but email.send's to "
        "takes text or a list; null would be refused when it runs.")]
    # constants, concatenation and mappings are typed too
    assert problems(refund(reason="'duplicate'", metadata="{'t': input.ticket_id}"),
                    vendors=REFUND) == []
    assert problems(refund(metadata="'ticket'"), vendors=REFUND, level="error") == [
        ("Action 'refund' passes metadata = \"'ticket'\", which is text, but payments.refund's "
        "metadata takes a mapping.")]


@pytest.mark.parametrize(("kind", "risk"), [
    ("email.send", "high"), ("sms.send", "high"), ("payments.refund", "high"),
    ("crm.upsert_contact", "low"), ("crm.add_note", "low")])
def test_a_kind_that_sends_or_refunds_is_high_risk_like_its_connector_operation(kind, risk):
    assert action_risk(ActionSpec(name="a", handler=f"kind:{kind}")) == risk


def test_the_vendors_block_names_secrets_and_refuses_a_vendor_without_options_mapping():
    from pydantic import ValidationError

    integration = make_integration(vendors={"crm": {
        "use": "hubspot", "hubspot": {"token_env": "ACME_HUBSPOT_TOKEN"},
        "salesforce": {"token_env": "ACME_SF_TOKEN", "base_url": "https://acme.test"}}})
    assert {"ACME_HUBSPOT_TOKEN", "ACME_SF_TOKEN"} <= set(integration.secret_env_names)
    assert integration.vendors["crm"].options_of("salesforce")["base_url"] == "https://acme.test"
    with pytest.raises(ValidationError, match="each key beside use names a vendor and holds its "
                                              "options as a mapping, which 'hubspot' does not"):
        make_integration(vendors={"crm": {"use": "hubspot", "hubspot": "pat-123"}})
