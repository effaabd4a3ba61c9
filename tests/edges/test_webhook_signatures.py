"""Each vendor's signature scheme, signed by the vendor's own library where one exists.

The verifiers are ours; these tests prove them against the code the vendors sign with
(stripe, slack_sdk, standardwebhooks, svix), and hand-sign only where no library exists.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks
import stripe
import svix
from slack_sdk.signature import SignatureVerifier

from seamline.edges import HmacScheme, SourceSpec, WebhookRefused, verify

BODY = json.dumps({"id": "evt_1", "type": "charge.dispute.created",
                   "data": {"object": {"amount": 1200}}}).encode()
NOW = time.time()


def source(kind: str, **extra) -> SourceSpec:
    return SourceSpec(name=f"{kind}-in", kind=kind, secret_env="UNUSED", **extra)


def refused(kind_or_spec, body: bytes, headers: dict, secrets: tuple[str, ...],
            now: float = NOW) -> WebhookRefused:
    spec = source(kind_or_spec) if isinstance(kind_or_spec, str) else kind_or_spec
    with pytest.raises(WebhookRefused) as caught:
        verify(spec, body, headers, secrets, now)
    return caught.value


# ---- Stripe ------------------------------------------------------------------------------

STRIPE_SECRET = "whsec_test_stripe_secret"


def stripe_header(body: bytes = BODY, secret: str = STRIPE_SECRET, at: float = NOW) -> dict:
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, int(at))
    return {"stripe-signature": header}


def test_stripe_accepts_what_stripes_own_library_signs_and_agrees_with_its_verifier():
    # Stripe's verifier reads the real clock: sign now, not at import (a long suite runs this
    # test more than its 300 s tolerance after the module was imported).
    now = time.time()
    headers = stripe_header(at=now)
    got = verify(source("stripe"), BODY, headers, (STRIPE_SECRET,), now)
    assert got.signed_at == int(now)
    assert stripe.WebhookSignature.verify_header(BODY.decode(), headers["stripe-signature"],
                                                 STRIPE_SECRET, tolerance=300)


def test_stripe_refuses_a_wrong_secret_a_changed_body_and_a_stale_timestamp():
    assert refused("stripe", BODY, stripe_header(secret="whsec_other"), (STRIPE_SECRET,)).status == 401
    assert refused("stripe", BODY + b" ", stripe_header(), (STRIPE_SECRET,)).status == 401
    stale = refused("stripe", BODY, stripe_header(at=NOW - 301), (STRIPE_SECRET,))
    assert stale.status == 400 and "outside the tolerance of 300 s" in stale.sentence
    assert refused("stripe", BODY, {}, (STRIPE_SECRET,)).sentence == \
        "the Stripe-Signature header is missing"


def test_stripe_accepts_any_of_several_v1_signatures_and_any_of_several_secrets():
    # During a secret roll Stripe signs with both secrets; we may also hold both.
    t = int(NOW)
    good = stripe_header(at=t)["stripe-signature"].split("v1=")[1]
    header = f"t={t},v1={'0' * 64},v1={good},v0=ignored"
    assert verify(source("stripe"), BODY, {"stripe-signature": header}, (STRIPE_SECRET,), NOW)
    assert verify(source("stripe"), BODY, stripe_header(), ("whsec_old", STRIPE_SECRET), NOW)


def test_a_forged_signature_on_a_stale_request_is_told_401_not_only_that_it_is_old():
    assert refused("stripe", BODY, stripe_header(secret="x", at=NOW - 9999),
                   (STRIPE_SECRET,)).status == 401


# ---- Slack -------------------------------------------------------------------------------

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def slack_headers(body: bytes = BODY, secret: str = SLACK_SECRET, at: float = NOW) -> dict:
    stamp = str(int(at))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"x-slack-signature": signature, "x-slack-request-timestamp": stamp}


def test_slack_accepts_what_slack_sdk_signs_and_agrees_with_its_verifier():
    now = time.time()  # slack_sdk's verifier reads the real clock: sign now, not at import
    headers = slack_headers(at=now)
    assert verify(source("slack"), BODY, headers, (SLACK_SECRET,), now).signed_at == int(now)
    assert SignatureVerifier(SLACK_SECRET).is_valid_request(BODY, headers)


def test_slack_refuses_wrong_secret_tampering_staleness_and_missing_headers():
    assert refused("slack", BODY, slack_headers(secret="nope"), (SLACK_SECRET,)).status == 401
    assert refused("slack", b"{}", slack_headers(), (SLACK_SECRET,)).status == 401
    assert refused("slack", BODY, slack_headers(at=NOW - 600), (SLACK_SECRET,)).status == 400
    only_sig = {"x-slack-signature": slack_headers()["x-slack-signature"]}
    assert "X-Slack-Request-Timestamp" in refused("slack", BODY, only_sig, (SLACK_SECRET,)).sentence


# ---- Standard Webhooks / Svix ------------------------------------------------------------

STANDARD_SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()


def standard_headers(body: bytes = BODY, secret: str = STANDARD_SECRET, at: float = NOW,
                     msg_id: str = "msg_1", prefix: str = "webhook") -> dict:
    when = datetime.fromtimestamp(at, tz=UTC)
    if prefix == "svix":
        signature = svix.Webhook(secret).sign(msg_id, when, body.decode())
    else:
        signature = standardwebhooks.Webhook(secret).sign(msg_id, when, body.decode())
    return {f"{prefix}-id": msg_id, f"{prefix}-timestamp": str(int(at)),
            f"{prefix}-signature": signature}


def test_standard_webhooks_accepts_what_the_reference_library_signs():
    # The reference libraries check the timestamp against the real clock: sign "now", not
    # at this module's import (a long suite would make NOW older than their tolerance).
    now = time.time()
    headers = standard_headers(at=now)
    assert verify(source("standard"), BODY, headers, (STANDARD_SECRET,), now).signed_at == int(now)
    standardwebhooks.Webhook(STANDARD_SECRET).verify(BODY, headers)


def test_svix_signed_deliveries_with_svix_headers_are_accepted_too():
    now = time.time()
    headers = standard_headers(prefix="svix", at=now)
    assert verify(source("standard"), BODY, headers, (STANDARD_SECRET,), now)
    svix.Webhook(STANDARD_SECRET).verify(BODY, headers)


def test_standard_webhooks_accepts_any_of_several_signatures():
    headers = standard_headers()
    headers["webhook-signature"] = "v1,bm90IGl0 v1a,ignored " + headers["webhook-signature"]
    assert verify(source("standard"), BODY, headers, (STANDARD_SECRET,), NOW)


def test_standard_webhooks_refuses_wrong_secret_tampering_a_changed_id_and_staleness():
    other = "whsec_" + base64.b64encode(b"another secret entirely").decode()
    assert refused("standard", BODY, standard_headers(secret=other), (STANDARD_SECRET,)).status == 401
    assert refused("standard", BODY + b"x", standard_headers(), (STANDARD_SECRET,)).status == 401
    moved = {**standard_headers(), "webhook-id": "msg_2"}  # the id is signed too
    assert refused("standard", BODY, moved, (STANDARD_SECRET,)).status == 401
    assert refused("standard", BODY, standard_headers(at=NOW + 400),
                   (STANDARD_SECRET,)).status == 400
    assert refused("standard", BODY, {}, (STANDARD_SECRET,)).status == 401


# ---- GitHub, Shopify: no signing library; signed as their documentation says ---------------

def test_github_sha256_signature():
    secret = "It's a Secret to Everybody"
    # GitHub's documented example: this body and secret give this exact signature.
    body = b"Hello, World!"
    documented = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert verify(source("github"), body, {"x-hub-signature-256": documented}, (secret,), NOW)
    assert refused("github", b"Hello, World?", {"x-hub-signature-256": documented},
                   (secret,)).status == 401
    assert refused("github", body, {}, (secret,)).sentence == \
        "the X-Hub-Signature-256 header is missing"


def test_shopify_base64_signature():
    secret = "shpss_secret"
    digest = base64.b64encode(hmac.new(secret.encode(), BODY, hashlib.sha256).digest()).decode()
    assert verify(source("shopify"), BODY, {"x-shopify-hmac-sha256": digest}, (secret,), NOW)
    assert refused("shopify", BODY, {"x-shopify-hmac-sha256": digest}, ("other",)).status == 401


# ---- the generic HMAC scheme ---------------------------------------------------------------

def test_generic_hmac_hex_with_a_prefix():
    spec = source("hmac", hmac=HmacScheme(header="X-Signature", prefix="sha256="))
    sig = "sha256=" + hmac.new(b"s3", BODY, hashlib.sha256).hexdigest()
    assert verify(spec, BODY, {"x-signature": sig}, ("s3",), NOW)
    assert refused(spec, BODY, {"x-signature": sig[:-1] + "0"}, ("s3",)).status == 401


def test_generic_hmac_base64_sha512_with_a_signed_timestamp():
    spec = source("hmac", hmac=HmacScheme(header="X-Sig", algorithm="sha512", encoding="base64",
                                          timestamp_header="X-Time", separator=":"))
    stamp = str(int(NOW))
    sig = base64.b64encode(hmac.new(b"k", f"{stamp}:".encode() + BODY,
                                    hashlib.sha512).digest()).decode()
    assert verify(spec, BODY, {"x-sig": sig, "x-time": stamp}, ("k",), NOW).signed_at == int(NOW)
    assert refused(spec, BODY, {"x-sig": sig, "x-time": stamp}, ("k",), NOW + 1000).status == 400
    assert refused(spec, BODY, {"x-sig": sig}, ("k",)).sentence == "the X-Time header is missing"


def test_a_webhook_source_must_name_its_secrets_environment_variable():
    with pytest.raises(ValueError, match="secret_env"):
        SourceSpec(name="s", kind="stripe")
    with pytest.raises(ValueError, match="hmac.header"):
        SourceSpec(name="s", kind="hmac", secret_env="X")
    with pytest.raises(ValueError, match="poll.fetch"):
        SourceSpec(name="s", kind="poll")
