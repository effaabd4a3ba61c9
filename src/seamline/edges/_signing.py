"""What every signature scheme shares: the delivery it reads, its refusals, its comparisons.

Each vendor's scheme (``_signatures``, ``_signed_body``, ``_signed_url``, ``_sendgrid``,
``_basic_auth``) is written with these, so that every one compares in constant time
(``hmac.compare_digest``, against every candidate), refuses with the same sentences, and
checks a signed timestamp only after the signature: a stale but forged request is told 401,
never that only its age was wrong.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from seamline.errors import SeamlineError

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


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request as its signature sees it: the raw body, the headers (lower-case names),
    and, for the vendors that sign them (Twilio, HubSpot), the URL it arrived at and its method."""

    body: bytes
    headers: Headers
    url: str = ""
    method: str = "POST"


def missing(header: str) -> WebhookRefused:
    return WebhookRefused(401, f"the {header} header is missing")


def no_match(header: str) -> WebhookRefused:
    return WebhookRefused(401, f"the {header} signature does not match the body "
                               "(wrong secret, or the body was changed)")


def mac(secret: bytes, message: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(secret, message, getattr(hashlib, algorithm)).digest()


def any_equal(expected: str, presented: list[str]) -> bool:
    # Compare with every candidate, even after a match: the time taken says nothing.
    found = False
    for candidate in presented:
        found |= hmac.compare_digest(expected.encode(), candidate.encode())
    return found


def any_of(expected: list[str], presented: list[str]) -> bool:
    """Whether any expected signature (one per secret) is among those presented; every pair
    is compared, so neither which secret nor which candidate matched shows in the time."""
    found = False
    for e in expected:
        found |= any_equal(e, presented)
    return found


def timestamp(value: str, header: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise WebhookRefused(401, f"the {header} timestamp is not a number") from None


def fresh(signed_at: float, now: float, tolerance_s: float, header: str) -> Verified:
    age = now - signed_at
    if abs(age) > tolerance_s:
        when = f"{age:.0f} s old" if age > 0 else f"{-age:.0f} s in the future"
        raise WebhookRefused(400, f"the {header} timestamp is {when}, outside the tolerance of "
                                  f"{tolerance_s:g} s (a replay, or a clock far off)")
    return Verified(float(signed_at))
