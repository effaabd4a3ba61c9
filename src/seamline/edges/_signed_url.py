"""The vendors whose signature covers the URL they called: Twilio and HubSpot (v3).

The URL is the one the request arrived at, query included, unless the source declares
``public_url`` (a proxy in front rewrote the host or the path): then its scheme, host and
path, with the request's query. Hand-written, as the other schemes are (see
``_signatures``); the tests sign with ``twilio``'s ``RequestValidator`` and with
``hubspot-api-client``'s ``Signature``, and use Twilio's published example.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from urllib.parse import parse_qs, urlsplit, urlunsplit

from seamline.edges._form import form_pairs, is_form
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
from seamline.errors import InputInvalid
from seamline.integration import SourceSpec


def signed_url(source: SourceSpec, d: Delivery, header: str) -> str:
    """The URL as the vendor called it (see the module's docstring)."""
    if source.public_url:
        query = urlsplit(d.url).query
        return source.public_url + (f"?{query}" if query else "")
    if not d.url:
        raise WebhookRefused(401, f"the URL of the request is not known, so the {header} "
                                  "signature, which covers it, cannot be checked")
    return d.url


# -- Twilio: https://www.twilio.com/docs/usage/webhooks/webhooks-security ------------------

_TWILIO_ALGORITHMS = {"HMAC_SHA1": "sha1", "HMAC_SHA256": "sha256"}


def _twilio_algorithm(settings: str) -> str:
    """``X-Twilio-Webhooks-Signature-Settings: key=…,algorithm=HMAC_SHA256`` (a SharedKey);
    without it, the Auth Token's HMAC-SHA1."""
    for part in settings.split(","):
        name, _, value = part.partition("=")
        if name.strip() == "algorithm" and value.strip():
            algorithm = _TWILIO_ALGORITHMS.get(value.strip().upper())
            if algorithm is None:
                raise WebhookRefused(401, f"the X-Twilio-Webhooks-Signature-Settings algorithm "
                                          f"{value.strip()[:40]!r} is not one of "
                                          f"{', '.join(_TWILIO_ALGORITHMS)}")
            return algorithm
    return "sha1"


def _port_variants(url: str) -> list[str]:
    """The URL with and without its default port: Twilio signs either, as its own
    validator allows (``twilio.request_validator``: "sig generation … is inconsistent")."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return [url]
    if port is not None:
        bare = parts._replace(netloc=parts.netloc.rsplit(":", 1)[0])
        return [url, urlunsplit(bare)]
    default = 443 if parts.scheme == "https" else 80
    return [url, urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default}"))]


def _twilio_fields(d: Delivery, url: str) -> tuple[str, bool]:
    """What the signature covers after the URL (the sorted form fields), and whether the
    body is the one a ``bodySHA256`` query parameter names (JSON bodies)."""
    named = parse_qs(urlsplit(url).query).get("bodySHA256")
    if named:
        return "", hmac.compare_digest(hashlib.sha256(d.body).hexdigest(), named[0])
    if not is_form(d.headers):
        if d.body:
            raise WebhookRefused(401, "the body is neither form-encoded nor named by a "
                                      "bodySHA256 query parameter, so no X-Twilio-Signature "
                                      "covers it")
        return "", True
    try:
        pairs = form_pairs(d.body)
    except InputInvalid as exc:
        raise WebhookRefused(400, str(exc)) from None
    values: dict[str, set[str]] = {}
    for name, value in pairs:
        values.setdefault(name, set()).add(value)
    # Each name in code-point order, then each of its distinct values in order, as
    # Twilio's RequestValidator.compute_signature does.
    return "".join(name + value for name in sorted(values) for value in sorted(values[name])), True


def verify_twilio(source: SourceSpec, d: Delivery, secrets: tuple[str, ...],
                  now: float) -> Verified:
    """``X-Twilio-Signature: <base64>``: HMAC-SHA1 (or a SharedKey's HMAC-SHA256) keyed by
    the Auth Token, of the full URL followed by each form field's name and value sorted by
    name; a JSON body is covered instead by the URL's ``bodySHA256``. No timestamp."""
    name = "X-Twilio-Signature"
    presented = d.headers.get("x-twilio-signature")
    if not presented:
        raise missing(name)
    algorithm = _twilio_algorithm(d.headers.get("x-twilio-webhooks-signature-settings", ""))
    url = signed_url(source, d, name)
    fields, body_named = _twilio_fields(d, url)
    expected = [base64.b64encode(mac(s.encode(), (u + fields).encode(), algorithm)).decode()
                for s in secrets for u in _port_variants(url)]
    if not any_of(expected, [presented.strip()]) or not body_named:
        raise no_match(name)
    return Verified()


# -- HubSpot v3: https://developers.hubspot.com/docs/api/webhooks/validating-requests --------

# The characters HubSpot decodes in the URI before signing; the others stay encoded.
_HUBSPOT_DECODED = {"3A": ":", "2F": "/", "3F": "?", "40": "@", "21": "!", "24": "$", "27": "'",
                    "28": "(", "29": ")", "2A": "*", "2C": ",", "3B": ";"}
_ENCODED = re.compile("%(" + "|".join(_HUBSPOT_DECODED) + ")", re.IGNORECASE)
_ENCODED_UPPER = re.compile("%(" + "|".join(_HUBSPOT_DECODED) + ")")


def _hubspot_uris(url: str) -> set[str]:
    # HubSpot's table lists upper-case escapes; whether it also decodes a lower-case one
    # (%3a) is not written down, so both readings are tried: either needs the secret.
    return {pattern.sub(lambda m: _HUBSPOT_DECODED[m.group(1).upper()], url)
            for pattern in (_ENCODED, _ENCODED_UPPER)}


def verify_hubspot(source: SourceSpec, d: Delivery, secrets: tuple[str, ...],
                   now: float) -> Verified:
    """``X-HubSpot-Signature-v3: <base64>``, HMAC-SHA256 keyed by the app's client secret of
    method + URI (some escapes decoded) + body + ``X-HubSpot-Request-Timestamp`` (Unix
    milliseconds), refused when older than the tolerance (HubSpot says 5 minutes)."""
    name, stamp_name = "X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"
    presented = d.headers.get("x-hubspot-signature-v3")
    stamp = d.headers.get("x-hubspot-request-timestamp")
    if not presented:
        raise missing(name)
    if not stamp:
        raise missing(stamp_name)
    millis = timestamp(stamp, stamp_name)
    url = signed_url(source, d, name)
    expected = [base64.b64encode(mac(s.encode(), f"{d.method.upper()}{uri}".encode()
                                     + d.body + stamp.encode())).decode()
                for s in secrets for uri in sorted(_hubspot_uris(url))]
    if not any_of(expected, [presented.strip()]):
        raise no_match(name)
    return fresh(millis / 1000, now, source.tolerance_s, stamp_name)
