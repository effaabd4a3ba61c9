"""``basic``: vendors that sign nothing but send HTTP Basic credentials (Pipedrive, Postmark …).

Some vendors offer no signature, only credentials they send with every delivery in an
``Authorization: Basic base64(user:password)`` header (RFC 7617): Postmark takes them
written into the webhook's URL (``https://user:password@host/path``,
https://postmarkapp.com/developer/webhooks/webhooks-overview, "Protecting your webhooks"),
Pipedrive as the webhook's ``http_auth_user`` and ``http_auth_password``
(https://pipedrive.readme.io/docs/guide-for-webhooks, "HTTP Auth"). The credentials are
checked here, in constant time, against ``$secret_env`` (``user:password``, several
separated by spaces while they are changed); an IP allow-list belongs to the proxy or
firewall in front. Credentials cover nothing of the delivery: a captured request can be
replayed as is, so a delivery is identified by its body's SHA-256 (answered ``duplicate``)
unless ``id_field`` names a stable id in the body. ``postmark`` is this kind under
Postmark's name (its sentences say where Postmark keeps the credentials).

Hand-written: the check is ``base64`` and ``hmac.compare_digest``; no vendor publishes a
library for it.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from seamline.edges._signing import Delivery, Verified, WebhookRefused, missing
from seamline.errors import ConfigError
from seamline.integration import SourceSpec

# Where each vendor takes the credentials, for the sentence of a malformed pair.
_WHERE = {"postmark": "written into the webhook URL at Postmark",
          "basic": "the vendor sends (Pipedrive: the webhook's http_auth_user and "
                   "http_auth_password)"}


def check_basic_credentials(source: SourceSpec, credentials: tuple[str, ...]) -> None:
    """Refuse, at start, a configured pair that is not ``user:password``."""
    for n, pair in enumerate(credentials, 1):
        user, colon, password = pair.partition(":")
        if not colon or not user or not password:
            raise ConfigError(f"The credentials {n} of the {source.kind} source {source.name!r} "
                              f"(in ${source.secret_env}) are not user:password, the user and "
                              f"password {_WHERE.get(source.kind, _WHERE['basic'])}.")


def verify_basic(source: SourceSpec, d: Delivery, credentials: tuple[str, ...],
                 now: float) -> Verified:
    """``Authorization: Basic base64(user:password)`` equal to one of the credentials."""
    header = d.headers.get("authorization")
    if not header:
        raise missing("Authorization")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise WebhookRefused(401, "the Authorization header is not Basic credentials")
    try:
        presented = base64.b64decode(token.strip(), validate=True)
    except binascii.Error:
        raise WebhookRefused(401, "the Authorization header's Basic credentials are not "
                                  "base64") from None
    matched = False
    for pair in credentials:  # every one compared: the time says nothing of which
        matched |= hmac.compare_digest(presented, pair.encode())
    if not matched:
        raise WebhookRefused(401, "the Authorization credentials do not match (wrong user or "
                                  "password)")
    return Verified()
