"""Webhook signatures, each vendor's scheme exactly as that vendor signs.

Ours, small and dependency-free, rather than the vendors' SDKs: each scheme is a dozen
lines of HMAC, the SDKs would pull heavy clients (stripe, svix, slack_sdk) into every
deployment, and they disagree on errors and clocks. The tests sign with the vendors' own
libraries, so these are proven against the real signing code. Every comparison is
``hmac.compare_digest``; the signature is checked before the timestamp, so a stale but
forged request is told 401, never that only its age was wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from seamline.errors import SeamlineError
from seamline.integration import HmacScheme, SourceSpec

Headers = Mapping[str, str]  # lower-case names


class WebhookRefused(SeamlineError):
    """A delivery was refused at the door; ``status`` is the HTTP answer, the message its reason."""

    def __init__(self, status: int, sentence: str, *, event_id: str | None = None) -> None:
        super().__init__(sentence)
        self.status, self.sentence, self.event_id = status, sentence, event_id


@dataclass(frozen=True, slots=True)
class Verified:
    """A delivery whose signature matched; ``signed_at`` is the timestamp it covered, if any."""

    signed_at: float | None = None


def _missing(header: str) -> WebhookRefused:
    return WebhookRefused(401, f"the {header} header is missing")


def _no_match(header: str) -> WebhookRefused:
    return WebhookRefused(401, f"the {header} signature does not match the body "
                               "(wrong secret, or the body was changed)")


def _mac(secret: bytes, message: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(secret, message, getattr(hashlib, algorithm)).digest()


def _any_equal(expected: str, presented: list[str]) -> bool:
    # Compare with every candidate, even after a match: the time taken says nothing.
    found = False
    for candidate in presented:
        found |= hmac.compare_digest(expected.encode(), candidate.encode())
    return found


def _timestamp(value: str, header: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise WebhookRefused(401, f"the {header} timestamp is not a number") from None


def _fresh(signed_at: int, now: float, tolerance_s: float, header: str) -> Verified:
    age = now - signed_at
    if abs(age) > tolerance_s:
        when = f"{age:.0f} s old" if age > 0 else f"{-age:.0f} s in the future"
        raise WebhookRefused(400, f"the {header} timestamp is {when}, outside the tolerance of "
                                  f"{tolerance_s:g} s (a replay, or a clock far off)")
    return Verified(float(signed_at))


def verify_stripe(body: bytes, headers: Headers, secrets: tuple[str, ...], tolerance_s: float,
                  now: float) -> Verified:
    """``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`` over ``"{t}." + body``."""
    name = "Stripe-Signature"
    header = headers.get("stripe-signature")
    if not header:
        raise _missing(name)
    pairs = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [v for k, v in pairs if k.strip() == "t"]
    signatures = [v.strip() for k, v in pairs if k.strip() == "v1"]
    if not stamps or not signatures:
        raise WebhookRefused(401, f"the {name} header has no timestamp (t=) or no v1 signature")
    t = _timestamp(stamps[0], name)
    signed = f"{t}.".encode() + body
    if not any(_any_equal(_mac(s.encode(), signed).hex(), signatures) for s in secrets):
        raise _no_match(name)
    return _fresh(t, now, tolerance_s, name)


def verify_slack(body: bytes, headers: Headers, secrets: tuple[str, ...], tolerance_s: float,
                 now: float) -> Verified:
    """``X-Slack-Signature: v0=<hex>`` over ``"v0:{X-Slack-Request-Timestamp}:" + body``."""
    name, stamp_name = "X-Slack-Signature", "X-Slack-Request-Timestamp"
    presented = headers.get("x-slack-signature")
    stamp = headers.get("x-slack-request-timestamp")
    if not presented:
        raise _missing(name)
    if not stamp:
        raise _missing(stamp_name)
    t = _timestamp(stamp, stamp_name)
    signed = f"v0:{t}:".encode() + body
    if not any(_any_equal("v0=" + _mac(s.encode(), signed).hex(), [presented]) for s in secrets):
        raise _no_match(name)
    return _fresh(t, now, tolerance_s, stamp_name)


def verify_github(body: bytes, headers: Headers, secrets: tuple[str, ...], tolerance_s: float,
                  now: float) -> Verified:
    """``X-Hub-Signature-256: sha256=<hex>`` over the body (GitHub signs no timestamp)."""
    name = "X-Hub-Signature-256"
    presented = headers.get("x-hub-signature-256")
    if not presented:
        raise _missing(name)
    if not any(_any_equal("sha256=" + _mac(s.encode(), body).hex(), [presented]) for s in secrets):
        raise _no_match(name)
    return Verified()


def verify_shopify(body: bytes, headers: Headers, secrets: tuple[str, ...], tolerance_s: float,
                   now: float) -> Verified:
    """``X-Shopify-Hmac-Sha256: <base64>`` over the body (Shopify signs no timestamp)."""
    name = "X-Shopify-Hmac-Sha256"
    presented = headers.get("x-shopify-hmac-sha256")
    if not presented:
        raise _missing(name)
    expected = [base64.b64encode(_mac(s.encode(), body)).decode() for s in secrets]
    if not any(_any_equal(e, [presented.strip()]) for e in expected):
        raise _no_match(name)
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


def verify_standard(body: bytes, headers: Headers, secrets: tuple[str, ...], tolerance_s: float,
                    now: float) -> Verified:
    """Standard Webhooks (Svix, Resend, Clerk …): ``webhook-signature: v1,<base64> …`` over
    ``"{webhook-id}.{webhook-timestamp}." + body``, keyed by the base64 of a ``whsec_`` secret."""
    found = standard_headers(headers)
    if found is None:
        raise _missing("webhook-id")
    prefix, msg_id, stamp, signatures = found
    if not stamp:
        raise _missing(f"{prefix}-timestamp")
    if not signatures:
        raise _missing(f"{prefix}-signature")
    t = _timestamp(stamp, f"{prefix}-timestamp")
    signed = f"{msg_id}.{t}.".encode() + body
    presented = [sig.split(",", 1)[1] for sig in signatures.split()
                 if sig.startswith("v1,") and "," in sig]
    if not presented:
        raise WebhookRefused(401, f"the {prefix}-signature header has no v1 signature")
    expected = [base64.b64encode(_mac(_standard_key(s), signed)).decode() for s in secrets]
    if not any(_any_equal(e, presented) for e in expected):
        raise _no_match(f"{prefix}-signature")
    return _fresh(t, now, tolerance_s, f"{prefix}-timestamp")


def verify_hmac(scheme: HmacScheme, body: bytes, headers: Headers, secrets: tuple[str, ...],
                tolerance_s: float, now: float) -> Verified:
    """The declared generic scheme (see :class:`HmacScheme`)."""
    presented = headers.get(scheme.header.lower())
    if not presented:
        raise _missing(scheme.header)
    signed, t = body, None
    if scheme.timestamp_header:
        stamp = headers.get(scheme.timestamp_header.lower())
        if not stamp:
            raise _missing(scheme.timestamp_header)
        t = _timestamp(stamp, scheme.timestamp_header)
        signed = f"{t}{scheme.separator}".encode() + body
    expected = []
    for secret in secrets:
        mac = _mac(secret.encode(), signed, scheme.algorithm)
        text = mac.hex() if scheme.encoding == "hex" else base64.b64encode(mac).decode()
        expected.append(scheme.prefix + text)
    if not any(_any_equal(e, [presented.strip()]) for e in expected):
        raise _no_match(scheme.header)
    if t is None:
        return Verified()
    return _fresh(t, now, tolerance_s, scheme.timestamp_header or "")


_Verifier = Callable[[bytes, Headers, tuple[str, ...], float, float], Verified]
_BY_KIND: dict[str, _Verifier] = {
    "stripe": verify_stripe, "slack": verify_slack, "github": verify_github,
    "shopify": verify_shopify, "standard": verify_standard,
}


def verify(source: SourceSpec, body: bytes, headers: Headers, secrets: tuple[str, ...],
           now: float) -> Verified:
    """Check one delivery the way its vendor signs it; raises :class:`WebhookRefused`."""
    if source.kind == "hmac":
        assert source.hmac is not None  # the spec's validator requires it
        return verify_hmac(source.hmac, body, headers, secrets, source.tolerance_s, now)
    return _BY_KIND[source.kind](body, headers, secrets, source.tolerance_s, now)
