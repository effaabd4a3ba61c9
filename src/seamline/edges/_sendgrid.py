"""SendGrid's signed Event Webhook: ECDSA (P-256, SHA-256) over timestamp + payload.

https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
Not an HMAC: SendGrid signs with its private key, and the console shows the public
"verification key" (base64 of a DER SubjectPublicKeyInfo), which ``secret_env`` holds (it is
not a secret, but it decides what is accepted, so it lives where the secrets do). The
signature is checked with ``cryptography`` (already a dependency), never by hand; the tests
sign with it and check against the ``sendgrid`` package's ``EventWebhook`` and its published
vector.
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from seamline.edges._signing import (
    Delivery,
    Verified,
    WebhookRefused,
    fresh,
    missing,
    no_match,
    timestamp,
)
from seamline.errors import ConfigError
from seamline.integration import SourceSpec

_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


@lru_cache(maxsize=32)
def _public_key(text: str) -> ec.EllipticCurvePublicKey | None:
    try:
        key = load_der_public_key(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        return None
    return key


def check_sendgrid_keys(source: SourceSpec, keys: tuple[str, ...]) -> None:
    """Every key in ``$secret_env`` must be a P-256 public key; refused at start otherwise."""
    for n, key in enumerate(keys, 1):
        if _public_key(key) is None:
            raise ConfigError(f"The verification key {n} of the sendgrid source {source.name!r} "
                              f"(in ${source.secret_env}) is not the base64 of a P-256 public "
                              "key; copy it from SendGrid's Mail Settings, Signed Event Webhook.")


def verify_sendgrid(source: SourceSpec, d: Delivery, keys: tuple[str, ...],
                    now: float) -> Verified:
    """``X-Twilio-Email-Event-Webhook-Signature``: base64 DER ECDSA signature of
    ``X-Twilio-Email-Event-Webhook-Timestamp`` (Unix seconds) followed by the raw body."""
    presented = d.headers.get(_SIGNATURE.lower())
    stamp = d.headers.get(_TIMESTAMP.lower())
    if not presented:
        raise missing(_SIGNATURE)
    if not stamp:
        raise missing(_TIMESTAMP)
    try:
        signature = base64.b64decode(presented.strip(), validate=True)
    except binascii.Error:
        raise WebhookRefused(401, f"the {_SIGNATURE} header is not base64") from None
    signed = stamp.encode() + d.body
    matched = False
    for key in keys:  # several while a key is rotated
        public = _public_key(key)
        if public is None:
            continue  # refused at start (check_sendgrid_keys); never reached when served
        try:
            public.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
            matched = True
        except InvalidSignature:
            pass
    if not matched:
        raise no_match(_SIGNATURE)
    return fresh(timestamp(stamp, _TIMESTAMP), now, source.tolerance_s, _TIMESTAMP)
