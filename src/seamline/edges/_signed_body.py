"""The vendors that sign the body, or a timestamp and the body, with an HMAC of a shared secret.

Intercom, Zendesk, Paddle Billing, Cal.com and Calendly; each follows its documentation
page (named in its docstring). Hand-written rather than through the vendors' SDKs for the
reason given in ``_signatures``: a dozen lines of HMAC each, where the SDK would bring a
whole API client; the tests check these against the SDK's verifier where one exists
(Paddle) and against an implementation of the documentation page otherwise.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from seamline.edges._signing import (
    Delivery,
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


def _pairs(header: str, separator: str) -> list[tuple[str, str]]:
    """``k=v`` items of a header such as ``t=1,v1=ab`` (Calendly) or ``ts=1;h1=ab`` (Paddle)."""
    return [(k.strip(), v.strip()) for k, _, v in
            (part.partition("=") for part in header.split(separator) if "=" in part)]


def timestamped_hmac(source: SourceSpec, d: Delivery, secrets: tuple[str, ...], now: float, *,
                     name: str, separator: str, ts_key: str, sig_key: str,
                     join: str) -> Verified:
    """Stripe, Paddle and Calendly sign alike: one header of ``key=value`` pairs holding a
    Unix timestamp and one or more hex HMAC-SHA256 signatures of ``"{t}{join}" + body``
    (several while a secret is rotated); the signature is checked before the timestamp."""
    header = d.headers.get(name.lower())
    if not header:
        raise missing(name)
    pairs = _pairs(header, separator)
    stamps = [v for k, v in pairs if k == ts_key]
    signatures = [v for k, v in pairs if k == sig_key]
    if not stamps or not signatures:
        raise WebhookRefused(401, f"the {name} header has no timestamp ({ts_key}=) or no "
                                  f"{sig_key} signature")
    t = timestamp(stamps[0], name)
    signed = f"{t}{join}".encode() + d.body
    if not any_of([mac(s.encode(), signed).hex() for s in secrets], signatures):
        raise no_match(name)
    return fresh(t, now, source.tolerance_s, name)


def verify_intercom(source: SourceSpec, d: Delivery, secrets: tuple[str, ...],
                    now: float) -> Verified:
    """``X-Hub-Signature: sha1=<hex>``, HMAC-SHA1 of the body keyed by the app's client secret;
    no timestamp. https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications"""
    name = "X-Hub-Signature"
    presented = d.headers.get("x-hub-signature")
    if not presented:
        raise missing(name)
    expected = ["sha1=" + mac(s.encode(), d.body, "sha1").hex() for s in secrets]
    if not any_of(expected, [presented.strip()]):
        raise no_match(name)
    return Verified()


def _zendesk_time(value: str, header: str) -> float:
    # Zendesk sends ISO 8601 (2021-08-24T15:39:47Z); a Unix time is accepted too.
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise WebhookRefused(401, f"the {header} timestamp is not an ISO 8601 time") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def verify_zendesk(source: SourceSpec, d: Delivery, secrets: tuple[str, ...],
                   now: float) -> Verified:
    """``X-Zendesk-Webhook-Signature: <base64>``, HMAC-SHA256 of ``timestamp + body`` with the
    webhook's signing secret, the timestamp as sent in ``X-Zendesk-Webhook-Signature-Timestamp``.
    https://developer.zendesk.com/documentation/webhooks/verifying/"""
    name, stamp_name = "X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"
    presented = d.headers.get("x-zendesk-webhook-signature")
    stamp = d.headers.get("x-zendesk-webhook-signature-timestamp")
    if not presented:
        raise missing(name)
    if not stamp:
        raise missing(stamp_name)
    signed = stamp.encode() + d.body  # the header's very text: it is what Zendesk signed
    expected = [base64.b64encode(mac(s.encode(), signed)).decode() for s in secrets]
    if not any_of(expected, [presented.strip()]):
        raise no_match(name)
    return fresh(_zendesk_time(stamp, stamp_name), now, source.tolerance_s, stamp_name)


def verify_paddle(source: SourceSpec, d: Delivery, secrets: tuple[str, ...],
                  now: float) -> Verified:
    """Paddle Billing: ``Paddle-Signature: ts=<unix>;h1=<hex>[;h1=<hex>…]``, HMAC-SHA256 of
    ``"{ts}:" + body`` with the notification destination's secret key (several ``h1`` while
    Paddle rotates it). https://developer.paddle.com/webhooks/signature-verification"""
    return timestamped_hmac(source, d, secrets, now, name="Paddle-Signature", separator=";",
                            ts_key="ts", sig_key="h1", join=":")


def verify_calcom(source: SourceSpec, d: Delivery, secrets: tuple[str, ...],
                  now: float) -> Verified:
    """Cal.com: ``X-Cal-Signature-256: <hex>``, HMAC-SHA256 of the body with the webhook's
    secret; no timestamp. https://cal.com/docs/developing/guides/automation/webhooks"""
    name = "X-Cal-Signature-256"
    presented = d.headers.get("x-cal-signature-256")
    if not presented:
        raise missing(name)
    if not any_of([mac(s.encode(), d.body).hex() for s in secrets], [presented.strip()]):
        raise no_match(name)
    return Verified()


def verify_calendly(source: SourceSpec, d: Delivery, secrets: tuple[str, ...],
                    now: float) -> Verified:
    """Calendly: ``Calendly-Webhook-Signature: t=<unix>,v1=<hex>``, HMAC-SHA256 of
    ``"{t}." + body`` with the webhook subscription's signing key.
    https://developer.calendly.com/api-docs/ZG9jOjM2MzE2MDM4-webhook-signatures"""
    return timestamped_hmac(source, d, secrets, now, name="Calendly-Webhook-Signature",
                            separator=",", ts_key="t", sig_key="v1", join=".")
