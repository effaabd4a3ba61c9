"""Webhook signatures, each vendor's scheme exactly as that vendor signs; ``verify`` picks one.

Ours, small and dependency-free, rather than the vendors' SDKs: each scheme is a dozen
lines of HMAC, the SDKs would pull heavy clients (stripe, svix, slack_sdk, twilio, hubspot)
into every deployment, and they disagree on errors and clocks. The tests sign with the
vendors' own libraries, so these are proven against the real signing code. SendGrid signs
with ECDSA, checked with ``cryptography``. Every comparison is ``hmac.compare_digest``; the
signature is checked before the timestamp, so a stale but forged request is told 401, never
that only its age was wrong. This module holds the first schemes (Stripe, Slack, GitHub,
Shopify, Standard Webhooks, the declared ``hmac``); the others are in ``_signed_body``
(Intercom, Zendesk, Paddle, Cal.com, Calendly), ``_signed_url`` (Twilio, HubSpot),
``_sendgrid`` and ``_basic_auth`` (``basic``: Pipedrive, Postmark, any vendor sending HTTP Basic
credentials).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from seamline.edges._basic_auth import check_basic_credentials, verify_basic
from seamline.edges._sendgrid import check_sendgrid_keys, verify_sendgrid
from seamline.edges._signed_body import (
    timestamped_hmac,
    verify_calcom,
    verify_calendly,
    verify_intercom,
    verify_paddle,
    verify_zendesk,
)
from seamline.edges._signed_url import verify_hubspot, verify_twilio
from seamline.edges._signing import (
    Delivery,
    Headers,
    Verified,
    WebhookRefused,
    any_of,
    fresh,
    mac,
    missing,
    no_match,
    timestamp,
)
from seamline.integration import SourceSpec

__all__ = ["Delivery", "Verified", "WebhookRefused", "check_secrets", "standard_headers", "verify"]


def verify_stripe(source: SourceSpec, d: Delivery, secrets: tuple[str, ...],
                  now: float) -> Verified:
    """``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`` over ``"{t}." + body``."""
    return timestamped_hmac(source, d, secrets, now, name="Stripe-Signature", separator=",",
                            ts_key="t", sig_key="v1", join=".")


def verify_slack(source: SourceSpec, d: Delivery, secrets: tuple[str, ...],
                 now: float) -> Verified:
    """``X-Slack-Signature: v0=<hex>`` over ``"v0:{X-Slack-Request-Timestamp}:" + body``."""
    name, stamp_name = "X-Slack-Signature", "X-Slack-Request-Timestamp"
    presented = d.headers.get("x-slack-signature")
    stamp = d.headers.get("x-slack-request-timestamp")
    if not presented:
        raise missing(name)
    if not stamp:
        raise missing(stamp_name)
    t = timestamp(stamp, stamp_name)
    signed = f"v0:{t}:".encode() + d.body
    if not any_of(["v0=" + mac(s.encode(), signed).hex() for s in secrets], [presented]):
        raise no_match(name)
    return fresh(t, now, source.tolerance_s, stamp_name)


def verify_github(source: SourceSpec, d: Delivery, secrets: tuple[str, ...],
                  now: float) -> Verified:
    """``X-Hub-Signature-256: sha256=<hex>`` over the body (GitHub signs no timestamp)."""
    name = "X-Hub-Signature-256"
    presented = d.headers.get("x-hub-signature-256")
    if not presented:
        raise missing(name)
    if not any_of(["sha256=" + mac(s.encode(), d.body).hex() for s in secrets], [presented]):
        raise no_match(name)
    return Verified()


def verify_shopify(source: SourceSpec, d: Delivery, secrets: tuple[str, ...],
                   now: float) -> Verified:
    """``X-Shopify-Hmac-Sha256: <base64>`` over the body (Shopify signs no timestamp)."""
    name = "X-Shopify-Hmac-Sha256"
    presented = d.headers.get("x-shopify-hmac-sha256")
    if not presented:
        raise missing(name)
    expected = [base64.b64encode(mac(s.encode(), d.body)).decode() for s in secrets]
    if not any_of(expected, [presented.strip()]):
        raise no_match(name)
    return Verified()


def _standard_key(secret: str) -> bytes:
    raw = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except binascii.Error:
        # A secret that is not base64 is used as its bytes, as the reference libraries allow.
        return raw.encode()


def standard_headers(headers: Headers) -> tuple[str, str, str, str] | None:
    """(prefix, id, timestamp, signatures) under ``webhook-*`` or Svix's ``svix-*`` names."""
    for prefix in ("webhook", "svix"):
        msg_id = headers.get(f"{prefix}-id")
        if msg_id is not None:
            return (prefix, msg_id, headers.get(f"{prefix}-timestamp", ""),
                    headers.get(f"{prefix}-signature", ""))
    return None


def verify_standard(source: SourceSpec, d: Delivery, secrets: tuple[str, ...],
                    now: float) -> Verified:
    """Standard Webhooks (Svix, Resend, Clerk …): ``webhook-signature: v1,<base64> …`` over
    ``"{webhook-id}.{webhook-timestamp}." + body``, keyed by the base64 of a ``whsec_`` secret."""
    found = standard_headers(d.headers)
    if found is None:
        raise missing("webhook-id")
    prefix, msg_id, stamp, signatures = found
    if not stamp:
        raise missing(f"{prefix}-timestamp")
    if not signatures:
        raise missing(f"{prefix}-signature")
    t = timestamp(stamp, f"{prefix}-timestamp")
    signed = f"{msg_id}.{t}.".encode() + d.body
    presented = [sig.split(",", 1)[1] for sig in signatures.split()
                 if sig.startswith("v1,") and "," in sig]
    if not presented:
        raise WebhookRefused(401, f"the {prefix}-signature header has no v1 signature")
    expected = [base64.b64encode(mac(_standard_key(s), signed)).decode() for s in secrets]
    if not any_of(expected, presented):
        raise no_match(f"{prefix}-signature")
    return fresh(t, now, source.tolerance_s, f"{prefix}-timestamp")


def verify_hmac(source: SourceSpec, d: Delivery, secrets: tuple[str, ...],
                now: float) -> Verified:
    """The declared generic scheme (see :class:`HmacScheme`)."""
    scheme = source.hmac
    assert scheme is not None  # the spec's validator requires it
    presented = d.headers.get(scheme.header.lower())
    if not presented:
        raise missing(scheme.header)
    signed, t = d.body, None
    if scheme.timestamp_header:
        stamp = d.headers.get(scheme.timestamp_header.lower())
        if not stamp:
            raise missing(scheme.timestamp_header)
        t = timestamp(stamp, scheme.timestamp_header)
        signed = f"{t}{scheme.separator}".encode() + d.body
    expected = []
    for secret in secrets:
        digest = mac(secret.encode(), signed, scheme.algorithm)
        text = digest.hex() if scheme.encoding == "hex" else base64.b64encode(digest).decode()
        expected.append(scheme.prefix + text)
    if not any_of(expected, [presented.strip()]):
        raise no_match(scheme.header)
    if t is None:
        return Verified()
    return fresh(t, now, source.tolerance_s, scheme.timestamp_header or "")


_Verifier = Callable[[SourceSpec, Delivery, tuple[str, ...], float], Verified]
_BY_KIND: dict[str, _Verifier] = {
    "stripe": verify_stripe, "slack": verify_slack, "github": verify_github,
    "shopify": verify_shopify, "standard": verify_standard, "hmac": verify_hmac,
    "twilio": verify_twilio, "intercom": verify_intercom, "hubspot": verify_hubspot,
    "zendesk": verify_zendesk, "sendgrid": verify_sendgrid, "basic": verify_basic,
    "postmark": verify_basic,  # the basic kind under Postmark's name
    "paddle": verify_paddle, "calcom": verify_calcom, "calendly": verify_calendly,
}


def verify(source: SourceSpec, body: bytes, headers: Headers, secrets: tuple[str, ...],
           now: float, *, url: str = "", method: str = "POST") -> Verified:
    """Check one delivery the way its vendor signs it; raises :class:`WebhookRefused`.

    ``headers`` have lower-case names; ``url`` (the full URL the request arrived at, query
    included) and ``method`` are read only by the schemes that sign them (Twilio, HubSpot).
    """
    return _BY_KIND[source.kind](source, Delivery(body, headers, url, method), secrets, now)


def check_secrets(source: SourceSpec, secrets: tuple[str, ...]) -> None:
    """Refuse, at start, secrets that cannot be what the scheme needs (a SendGrid public key
    that does not parse, Basic credentials without ``user:password``): ConfigError."""
    if source.kind == "sendgrid":
        check_sendgrid_keys(source, secrets)
    elif source.kind in ("basic", "postmark"):
        check_basic_credentials(source, secrets)
