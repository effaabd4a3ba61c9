"""The vendors added for issue 21, each signed by the vendor's own code where it publishes some.

Twilio: ``twilio``'s ``RequestValidator`` signs, and Twilio's published example is a
known-answer vector. HubSpot: ``hubspot-api-client``'s ``Signature`` signs. SendGrid:
signed with ``cryptography`` and checked by ``sendgrid``'s ``EventWebhook``, plus the vector
of sendgrid-python's own test suite. Paddle: signed as its page says and checked by
``paddle-python-sdk``'s ``Verifier``. Intercom, Zendesk, Cal.com, Calendly publish no
library: signed here as their documentation pages say (the URL beside each). Postmark
signs nothing: Basic credentials.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hubspot.utils.signature import Signature as HubSpotSignature
from paddle_billing.Notifications import PaddleSignature, Secret, Verifier
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from seamline.edges import SourceSpec, WebhookRefused, verify

FORM = {"content-type": "application/x-www-form-urlencoded"}
NOW = time.time()


def source(kind: str, **extra) -> SourceSpec:
    return SourceSpec(name=f"{kind}-in", kind=kind, secret_env="UNUSED", **extra)


def refused(spec: SourceSpec | str, body: bytes, headers: dict, secrets: tuple[str, ...],
            now: float | None = None, **request) -> WebhookRefused:
    spec = source(spec) if isinstance(spec, str) else spec
    with pytest.raises(WebhookRefused) as caught:
        verify(spec, body, headers, secrets, time.time() if now is None else now, **request)
    return caught.value


def _hmac(secret: str, message: bytes, algorithm=hashlib.sha256) -> bytes:
    return hmac.new(secret.encode(), message, algorithm).digest()


# ---- Twilio: https://www.twilio.com/docs/usage/webhooks/webhooks-security ------------------

TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
                 "From": "+14158675309", "To": "+18005551212"}


def test_twilio_accepts_twilios_published_example_and_refuses_it_changed():
    # Twilio's worked example (auth token 12345; the same vector is in twilio-python,
    # twilio-php and twilio-csharp's tests): this URL and these fields give this signature.
    body = urlencode(TWILIO_PARAMS).encode()
    headers = {**FORM, "x-twilio-signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="}
    assert verify(source("twilio"), body, headers, ("12345",), NOW, url=TWILIO_URL).signed_at is None
    changed = urlencode({**TWILIO_PARAMS, "Digits": "9999"}).encode()
    assert refused("twilio", changed, headers, ("12345",), url=TWILIO_URL).status == 401
    assert refused("twilio", body, headers, ("12345",), url=TWILIO_URL + "&extra=1").status == 401
    assert refused("twilio", body, headers, ("54321",), url=TWILIO_URL).sentence == (
        "the X-Twilio-Signature signature does not match the body (wrong secret, or the body "
        "was changed)")


def test_twilio_agrees_with_request_validator_on_repeated_fields_and_unicode():
    token = "twilio-auth-token-0123456789abcdef"
    pairs = [("Body", "Grüße, refund ✓"), ("MediaUrl0", "https://api.twilio.com/m/1"),
             ("Digits", "5678"), ("Digits", "1234"), ("Digits", "1234"), ("Empty", "")]
    url = "https://hooks.example.com/v1/webhooks/twilio-in"
    validator = RequestValidator(token)
    signature = validator.compute_signature(url, MultiDict(pairs))
    assert validator.validate(url, MultiDict(pairs), signature)
    body = urlencode(pairs).encode()
    assert verify(source("twilio"), body, {**FORM, "x-twilio-signature": signature}, (token,),
                  NOW, url=url)


def test_twilio_json_bodies_are_covered_by_the_body_sha256_in_the_url():
    token = "json-token"
    body = b'{"property": "value", "boolean": true}'
    validator = RequestValidator(token)
    # twilio-php's test publishes this body's hash: the bodySHA256 Twilio appends.
    assert validator.compute_hash(body.decode()) == \
        "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    url = "https://hooks.example.com/in?bodySHA256=" + validator.compute_hash(body.decode())
    signature = validator.compute_signature(url, {})
    assert validator.validate(url, body.decode(), signature)
    headers = {"content-type": "application/json", "x-twilio-signature": signature}
    assert verify(source("twilio"), body, headers, (token,), NOW, url=url)
    assert refused("twilio", body.replace(b"true", b"false"), headers, (token,),
                   url=url).status == 401


def test_twilio_refuses_a_body_no_signature_covers():
    # A JSON body without bodySHA256 in the URL: the signature covers the URL alone.
    token, url = "t", "https://hooks.example.com/in"
    signature = RequestValidator(token).compute_signature(url, {})
    got = refused("twilio", b'{"Body": "refund"}', {"content-type": "application/json",
                                                     "x-twilio-signature": signature},
                  (token,), url=url)
    assert got.status == 401 and "no X-Twilio-Signature covers it" in got.sentence


def test_twilio_signs_with_or_without_the_default_port_and_with_a_shared_key_sha256():
    token = "port-token"
    body = urlencode({"MessageSid": "SM1", "Body": "hi"}).encode()
    params = {"MessageSid": "SM1", "Body": "hi"}
    with_port = RequestValidator(token).compute_signature("https://h.example.com:443/in", params)
    assert verify(source("twilio"), body, {**FORM, "x-twilio-signature": with_port}, (token,),
                  NOW, url="https://h.example.com/in")
    sha256 = RequestValidator(token).compute_signature("https://h.example.com/in", params,
                                                       algorithm="HMAC_SHA256")
    settings = {"x-twilio-webhooks-signature-settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"}
    assert verify(source("twilio"), body, {**FORM, **settings, "x-twilio-signature": sha256},
                  (token,), NOW, url="https://h.example.com/in")
    # The same SHA-256 signature read as the default SHA-1 does not match.
    assert refused("twilio", body, {**FORM, "x-twilio-signature": sha256}, (token,),
                   url="https://h.example.com/in").status == 401


def test_twilio_behind_a_proxy_checks_the_declared_public_url_with_the_requests_query():
    token = "proxy-token"
    spec = source("twilio", public_url="https://hooks.example.com/v1/webhooks/twilio-in")
    params = {"MessageSid": "SM9", "Body": "refund"}
    signature = RequestValidator(token).compute_signature(
        "https://hooks.example.com/v1/webhooks/twilio-in?tenant=acme", params)
    headers = {**FORM, "x-twilio-signature": signature}
    seen_by_the_server = "http://10.0.0.7:8000/v1/webhooks/twilio-in?tenant=acme"
    assert verify(spec, urlencode(params).encode(), headers, (token,), NOW, url=seen_by_the_server)
    assert refused("twilio", urlencode(params).encode(), headers, (token,),
                   url=seen_by_the_server).status == 401  # without public_url: another URL


def test_twilio_missing_header_and_unknown_url():
    body = urlencode(TWILIO_PARAMS).encode()
    assert refused("twilio", body, FORM, ("12345",), url=TWILIO_URL).sentence == \
        "the X-Twilio-Signature header is missing"
    got = refused("twilio", body, {**FORM, "x-twilio-signature": "x"}, ("12345",))
    assert got.status == 401 and "URL of the request is not known" in got.sentence


# ---- Intercom: https://developers.intercom.com/docs/references/webhooks/webhook-models ------

def test_intercom_sha1_of_the_body_with_the_client_secret():
    secret = "intercom-client-secret"
    body = json.dumps({"type": "notification_event", "id": "notif_1", "topic": "ping"}).encode()
    # As the page says: X-Hub-Signature is "sha1=" + hex HMAC-SHA1 of the body.
    header = {"x-hub-signature": "sha1=" + _hmac(secret, body, hashlib.sha1).hex()}
    assert verify(source("intercom"), body, header, (secret,), NOW).signed_at is None
    assert refused("intercom", body + b" ", header, (secret,)).status == 401
    assert refused("intercom", body, header, ("other",)).status == 401
    assert refused("intercom", body, {}, (secret,)).sentence == "the X-Hub-Signature header is missing"


# ---- HubSpot v3: https://developers.hubspot.com/docs/api/webhooks/validating-requests ------

HUBSPOT_SECRET = "hubspot-app-client-secret"


def hubspot_headers(body: bytes, uri: str, at_ms: int, secret: str = HUBSPOT_SECRET) -> dict:
    signature = HubSpotSignature.get_signature(secret, body.decode(), "v3", http_uri=uri,
                                               http_method="POST", timestamp=str(at_ms))
    return {"x-hubspot-signature-v3": signature, "x-hubspot-request-timestamp": str(at_ms)}


def test_hubspot_accepts_what_its_sdk_signs_with_the_uri_decoded_as_documented():
    body = json.dumps([{"eventId": 100, "subscriptionType": "contact.creation",
                        "objectId": 123, "attemptNumber": 0}]).encode()
    # The request arrives percent-encoded; HubSpot signs the URI with %40, %2F, %3A … decoded
    # and every other escape (%20 here) kept.
    arrived = "https://hooks.example.com/v1/webhooks/hubspot-in?owner=ops%40acme.io&next=%2Fa%3Ab&q=a%20b"
    signed_uri = "https://hooks.example.com/v1/webhooks/hubspot-in?owner=ops@acme.io&next=/a:b&q=a%20b"
    now_ms = int(time.time() * 1000)
    headers = hubspot_headers(body, signed_uri, now_ms)
    got = verify(source("hubspot"), body, headers, (HUBSPOT_SECRET,), now_ms / 1000, url=arrived)
    assert got.signed_at == now_ms / 1000
    assert HubSpotSignature.is_valid(headers["x-hubspot-signature-v3"], HUBSPOT_SECRET,
                                     body.decode(), http_uri=signed_uri, signature_version="v3",
                                     timestamp=str(now_ms))
    # Signed over the URI still encoded, it is not what HubSpot signs: refused.
    raw = hubspot_headers(body, arrived, now_ms)
    assert refused("hubspot", body, raw, (HUBSPOT_SECRET,), url=arrived).status == 401


def test_hubspot_refuses_tampering_wrong_secret_staleness_and_missing_headers():
    body, url = b'[{"eventId": 7}]', "https://hooks.example.com/in"
    now_ms = int(time.time() * 1000)
    assert refused("hubspot", body + b" ", hubspot_headers(body, url, now_ms), (HUBSPOT_SECRET,),
                   url=url).status == 401
    assert refused("hubspot", body, hubspot_headers(body, url, now_ms, "other"),
                   (HUBSPOT_SECRET,), url=url).status == 401
    stale = refused("hubspot", body, hubspot_headers(body, url, now_ms - 301_000),
                    (HUBSPOT_SECRET,), url=url)
    assert stale.status == 400 and "X-HubSpot-Request-Timestamp timestamp is 301 s old" in stale.sentence
    forged_stale = hubspot_headers(body, url, now_ms - 9_999_000, "other")
    assert refused("hubspot", body, forged_stale, (HUBSPOT_SECRET,), url=url).status == 401
    only_sig = {"x-hubspot-signature-v3": hubspot_headers(body, url, now_ms)["x-hubspot-signature-v3"]}
    assert refused("hubspot", body, only_sig, (HUBSPOT_SECRET,), url=url).sentence == \
        "the X-HubSpot-Request-Timestamp header is missing"


# ---- Zendesk: https://developer.zendesk.com/documentation/webhooks/verifying/ ---------------

# The static secret Zendesk documents for test requests sent before a webhook exists.
ZENDESK_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="


def zendesk_headers(body: bytes, at: float, secret: str = ZENDESK_SECRET) -> dict:
    stamp = datetime.fromtimestamp(int(at), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = base64.b64encode(_hmac(secret, stamp.encode() + body)).decode()
    return {"x-zendesk-webhook-signature": signature,
            "x-zendesk-webhook-signature-timestamp": stamp}


def test_zendesk_base64_hmac_of_the_iso_timestamp_and_the_body():
    body = json.dumps({"type": "zen:event-type:ticket.created", "id": "e-1"}).encode()
    now = time.time()
    assert verify(source("zendesk"), body, zendesk_headers(body, now), (ZENDESK_SECRET,),
                  now).signed_at == int(now)
    assert refused("zendesk", body + b"x", zendesk_headers(body, now), (ZENDESK_SECRET,)).status == 401
    assert refused("zendesk", body, zendesk_headers(body, now, "other"), (ZENDESK_SECRET,)).status == 401
    assert refused("zendesk", body, zendesk_headers(body, now - 400), (ZENDESK_SECRET,)).status == 400
    assert refused("zendesk", body, zendesk_headers(body, now - 9999, "x"),
                   (ZENDESK_SECRET,)).status == 401
    nonsense = "yesterday"
    signed = base64.b64encode(_hmac(ZENDESK_SECRET, nonsense.encode() + body)).decode()
    got = refused("zendesk", body, {"x-zendesk-webhook-signature": signed,
                                    "x-zendesk-webhook-signature-timestamp": nonsense},
                  (ZENDESK_SECRET,))
    assert got.status == 401 and "not an ISO 8601 time" in got.sentence
    assert refused("zendesk", body, {}, (ZENDESK_SECRET,)).sentence == \
        "the X-Zendesk-Webhook-Signature header is missing"


# ---- SendGrid signed Event Webhook ----------------------------------------------------------

# The vector of sendgrid-python's own tests (test/unit/test_eventwebhook.py).
SG_VECTOR_KEY = ("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1fl"
                 "pVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==")
SG_VECTOR_SIGNATURE = ("MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQA"
                       "bPIqHh89M15TluLtEZtM=")
SG_VECTOR_TIMESTAMP = "1600112502"
SG_VECTOR_PAYLOAD = json.dumps([{
    "email": "hello@world.com", "event": "dropped", "reason": "Bounced Address",
    "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
    "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
    "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
    "timestamp": 1600112492}], sort_keys=True, separators=(",", ":")) + "\r\n"


def sendgrid_key() -> tuple[ec.EllipticCurvePrivateKey, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, base64.b64encode(public).decode()


def sendgrid_headers(private: ec.EllipticCurvePrivateKey, body: bytes, at: float) -> dict:
    stamp = str(int(at))
    signature = private.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {"x-twilio-email-event-webhook-signature": base64.b64encode(signature).decode(),
            "x-twilio-email-event-webhook-timestamp": stamp}


def test_sendgrid_accepts_the_vector_of_sendgrids_own_tests():
    headers = {"x-twilio-email-event-webhook-signature": SG_VECTOR_SIGNATURE,
               "x-twilio-email-event-webhook-timestamp": SG_VECTOR_TIMESTAMP}
    body = SG_VECTOR_PAYLOAD.encode()
    got = verify(source("sendgrid"), body, headers, (SG_VECTOR_KEY,), int(SG_VECTOR_TIMESTAMP) + 5)
    assert got.signed_at == int(SG_VECTOR_TIMESTAMP)
    assert refused("sendgrid", body.rstrip(), headers, (SG_VECTOR_KEY,),
                   now=int(SG_VECTOR_TIMESTAMP)).status == 401  # the trailing CRLF is signed too


def test_sendgrid_agrees_with_event_webhook_and_refuses_a_wrong_key_and_staleness():
    private, key = sendgrid_key()
    _, other_key = sendgrid_key()
    body = json.dumps([{"sg_event_id": "ev-1", "event": "delivered"}]).encode() + b"\r\n"
    now = time.time()
    headers = sendgrid_headers(private, body, now)
    assert EventWebhook(key).verify_signature(body.decode(),
                                              headers["x-twilio-email-event-webhook-signature"],
                                              headers["x-twilio-email-event-webhook-timestamp"])
    assert verify(source("sendgrid"), body, headers, (other_key, key), now).signed_at == int(now)
    assert refused("sendgrid", body, headers, (other_key,), now).status == 401
    assert refused("sendgrid", body.replace(b"delivered", b"bounce"), headers, (key,),
                   now).status == 401
    assert refused("sendgrid", body, sendgrid_headers(private, body, now - 600), (key,),
                   now).status == 400
    not_b64 = {**headers, "x-twilio-email-event-webhook-signature": "%%%"}
    assert "not base64" in refused("sendgrid", body, not_b64, (key,), now).sentence
    assert refused("sendgrid", body, {}, (key,), now).sentence == \
        "the X-Twilio-Email-Event-Webhook-Signature header is missing"


# ---- Postmark: https://postmarkapp.com/developer/webhooks/webhooks-overview ----------------

def basic(user: str, password: str) -> dict:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_postmark_basic_credentials_compared_against_each_of_the_configured_pairs():
    body = json.dumps({"RecordType": "Bounce", "ID": 42}).encode()
    creds = ("hooks:old-password", "hooks:s3cr3t-password")
    assert verify(source("postmark"), body, basic("hooks", "s3cr3t-password"), creds, NOW)
    assert refused("postmark", body, basic("hooks", "guess"), creds).sentence == \
        "the Authorization credentials do not match (wrong user or password)"
    assert refused("postmark", body, {"authorization": "Bearer x"}, creds).status == 401
    assert refused("postmark", body, {}, creds).sentence == "the Authorization header is missing"


# ---- Paddle Billing: https://developer.paddle.com/webhooks/signature-verification -----------

PADDLE_SECRET = "pdl_ntfset_01hs0t3tw21j988db1pam5xg8m_GrOWLNef+vmtjJYq4mSnHNzvc8uWoJ1I"


class _PaddleRequest:
    """What paddle-python-sdk's Verifier reads from a request: headers and the raw body."""

    def __init__(self, headers: dict, body: bytes) -> None:
        self.headers, self.body = headers, body


def paddle_header(body: bytes, at: float, *secrets: str) -> str:
    ts = int(at)
    h1 = [_hmac(s, f"{ts}:".encode() + body).hex() for s in secrets or (PADDLE_SECRET,)]
    return ";".join([f"ts={ts}", *(f"h1={h}" for h in h1)])


def test_paddle_signed_as_documented_is_what_paddles_sdk_verifies_and_we_accept():
    body = json.dumps({"event_id": "evt_01h", "notification_id": "ntf_01h",
                       "event_type": "transaction.completed", "data": {"id": "txn_1"}}).encode()
    now = time.time()
    header = paddle_header(body, now)
    assert Verifier().verify(_PaddleRequest({"Paddle-Signature": header}, body),
                             Secret(PADDLE_SECRET))
    got = verify(source("paddle"), body, {"paddle-signature": header}, (PADDLE_SECRET,), now)
    assert got.signed_at == int(now)
    # During a secret rotation Paddle sends one h1 per secret.
    rotated = paddle_header(body, now, "pdl_ntfset_old", PADDLE_SECRET)
    assert PaddleSignature().verify(rotated, body.decode(), [Secret(PADDLE_SECRET)])
    assert verify(source("paddle"), body, {"paddle-signature": rotated}, (PADDLE_SECRET,), now)


def test_paddle_refuses_tampering_wrong_secret_staleness_and_a_malformed_header():
    body, now = b'{"event_id": "evt_2"}', time.time()
    good = {"paddle-signature": paddle_header(body, now)}
    assert refused("paddle", body + b" ", good, (PADDLE_SECRET,)).status == 401
    assert refused("paddle", body, good, ("pdl_ntfset_other",)).status == 401
    assert refused("paddle", body, {"paddle-signature": paddle_header(body, now - 301)},
                   (PADDLE_SECRET,), now).status == 400
    assert refused("paddle", body, {"paddle-signature": paddle_header(body, now - 9999, "x")},
                   (PADDLE_SECRET,), now).status == 401
    assert "no timestamp (ts=) or no h1" in refused(
        "paddle", body, {"paddle-signature": "h1=abc"}, (PADDLE_SECRET,)).sentence


# ---- Cal.com: https://cal.com/docs/developing/guides/automation/webhooks --------------------

def test_calcom_hex_hmac_of_the_body():
    secret, body = "cal-secret", json.dumps({"triggerEvent": "BOOKING_CREATED"}).encode()
    header = {"x-cal-signature-256": _hmac(secret, body).hex()}
    assert verify(source("calcom"), body, header, (secret,), NOW)
    assert refused("calcom", body + b"\n", header, (secret,)).status == 401
    assert refused("calcom", body, header, ("other",)).status == 401
    assert refused("calcom", body, {}, (secret,)).sentence == "the X-Cal-Signature-256 header is missing"


# ---- Calendly: https://developer.calendly.com/api-docs/ZG9jOjM2MzE2MDM4-webhook-signatures --

def calendly_header(body: bytes, at: float, secret: str) -> dict:
    t = int(at)
    return {"calendly-webhook-signature": f"t={t},v1={_hmac(secret, f'{t}.'.encode() + body).hex()}"}


def test_calendly_t_and_v1_over_timestamp_dot_body():
    secret, body, now = "calendly-signing-key", b'{"event": "invitee.created"}', time.time()
    assert verify(source("calendly"), body, calendly_header(body, now, secret), (secret,),
                  now).signed_at == int(now)
    assert refused("calendly", b"{}", calendly_header(body, now, secret), (secret,)).status == 401
    assert refused("calendly", body, calendly_header(body, now, "x"), (secret,)).status == 401
    assert refused("calendly", body, calendly_header(body, now - 301, secret), (secret,),
                   now).status == 400
    assert refused("calendly", body, calendly_header(body, now - 9999, "x"), (secret,),
                   now).status == 401
    assert refused("calendly", body, {}, (secret,)).sentence == \
        "the Calendly-Webhook-Signature header is missing"


# ---- declaring them -------------------------------------------------------------------------

def test_a_misspelt_kind_is_named_with_a_suggestion_and_the_known_kinds():
    with pytest.raises(ValueError) as caught:
        SourceSpec(name="sms", kind="twilo", secret_env="X")
    text = str(caught.value)
    assert "the kind 'twilo' is not known (did you mean 'twilio'?)" in text
    for kind in ("twilio", "intercom", "hubspot", "zendesk", "sendgrid", "postmark", "paddle",
                 "calcom", "calendly", "stripe", "hmac", "poll"):
        assert kind in text


def test_public_url_is_refused_where_the_signature_does_not_cover_the_url():
    with pytest.raises(ValueError, match="only the kinds whose signature covers the URL"):
        SourceSpec(name="p", kind="paddle", secret_env="X", public_url="https://h.example.com/x")
    with pytest.raises(ValueError, match="must be an http.s. URL with no query or fragment"):
        SourceSpec(name="t", kind="twilio", secret_env="X", public_url="https://h/x?y=1")
    with pytest.raises(ValueError, match="must be an http.s. URL"):
        SourceSpec(name="t", kind="hubspot", secret_env="X", public_url="hooks.example.com/x")
