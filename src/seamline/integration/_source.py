"""The declaration of an inbound source: a vendor's webhook, or a poller for a source with none.

An integration lists its sources (``Integration.sources``); each webhook source answers at
``POST /v1/webhooks/{name}`` and each poll source runs under ``seamline poll``. Both end in
the same place: the integration's durable job queue.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from seamline.errors import ConfigError

SourceKind = Literal["stripe", "shopify", "github", "slack", "standard", "twilio", "intercom",
                     "hubspot", "zendesk", "sendgrid", "basic", "postmark", "paddle", "calcom",
                     "calendly", "hmac", "poll"]
WEBHOOK_KINDS: tuple[str, ...] = tuple(k for k in get_args(SourceKind) if k != "poll")
# The kinds whose vendor signs the URL it called: behind a proxy that changes the host or
# path, the source declares that URL as public_url.
_URL_SIGNING_KINDS = ("twilio", "hubspot")
# What each kind's signature covers: all that may identify a delivery (docs/webhooks.md).
_SIGNED = {
    "stripe": "a Stripe signature covers the timestamp and the body; the event id is the body's id",
    "slack": "a Slack signature covers the timestamp and the body; the id is the body's event_id",
    "standard": "a Standard Webhooks signature covers webhook-id, the timestamp and the body; "
                "webhook-id already identifies a delivery",
    "github": "a GitHub signature covers the body only",
    "shopify": "a Shopify signature covers the body only",
    "twilio": "a Twilio signature covers the URL and the form fields (or the body's SHA-256)",
    "intercom": "an Intercom signature covers the body only; the id is the body's id",
    "hubspot": "a HubSpot v3 signature covers the method, the URL, the body and the timestamp",
    "zendesk": "a Zendesk signature covers the timestamp and the body",
    "sendgrid": "a SendGrid signature covers the timestamp and the body",
    "basic": "HTTP Basic credentials cover nothing of the delivery",
    "postmark": "Postmark sends credentials, which cover nothing of the delivery",
    "paddle": "a Paddle signature covers the timestamp and the body; the id is the body's event_id",
    "calcom": "a Cal.com signature covers the body only",
    "calendly": "a Calendly signature covers the timestamp and the body",
    "hmac": "an hmac signature covers the body, and the timestamp when one is declared",
    "poll": "a polled item has no headers",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, arbitrary_types_allowed=True)


class FieldPolicy(BaseModel):
    """What an integration declares about a contract's fields (dotted paths, ``[]`` for items)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    ignored: tuple[str, ...] = Field(default=(), description="Never recorded nor compared.")

    def ignores(self, path: str) -> bool:
        return any(path == p or path.startswith((p + ".", p + "[]"))
                   for p in self.ignored)


class HmacScheme(_Frozen):
    """A vendor's own HMAC scheme, for vendors outside the named kinds.

    The signature is ``prefix + encode(HMAC(secret, signed))`` in ``header``, where
    ``signed`` is the raw body, or ``timestamp + separator + body`` when the vendor also
    sends ``timestamp_header`` (which is then held to the source's tolerance).
    """

    header: str = Field(min_length=1)
    algorithm: Literal["sha1", "sha256", "sha512"] = "sha256"
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = ""
    timestamp_header: str | None = None
    separator: str = "."


class PollSpec(_Frozen):
    """A source with no webhooks: ``fetch(cursor) -> (items, next_cursor)`` every interval.

    ``fetch`` receives the persisted cursor (``start_cursor`` the first time) and returns the
    new items (dicts) and the cursor to resume from; it raises ``seamline.errors.RateLimited``
    (with ``retry_after`` seconds, when the vendor said) to be left alone that long, and any
    other exception to be retried with exponential backoff.
    """

    fetch: str | Callable[..., Any]
    interval_s: float = Field(60.0, gt=0)
    start_cursor: str = ""
    backoff_s: float = Field(5.0, gt=0)
    max_backoff_s: float = Field(900.0, gt=0)


class SourceSpec(_Frozen):
    """One inbound source of an integration's events."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_\-]*$", max_length=100)
    kind: SourceKind
    # The environment variable holding the signing secret; the secret never sits in a file.
    # Several secrets separated by spaces are all accepted (rotation).
    secret_env: str | None = None
    tolerance_s: float = Field(300.0, gt=0)
    # The vendor API version this integration was written against; recorded with the contract.
    api_version: str = ""
    # ``fn(payload) -> dict | None``: the vendor payload as the integration's input (None:
    # acknowledge and ignore, e.g. an event type this integration does not handle).
    map: str | Callable[..., Any] | None = None
    contract: FieldPolicy = FieldPolicy()
    # Where the vendor's event id is, when not where this kind keeps it: a dotted path in
    # the JSON body, which the signature covers; with none, the body's SHA-256 dedupes.
    id_field: str | None = None
    # Refused (see _complete): no kind's signature covers such a header, so a replayed
    # delivery could carry any value there and pass as a new one.
    id_header: str | None = None
    max_body_bytes: int | None = Field(None, gt=0)
    # Twilio and HubSpot sign the URL they called. By default that is the URL the request
    # arrived at; behind a proxy that rewrites the host or the path, declare the URL as
    # entered at the vendor (scheme, host, path; the query is taken from the request).
    public_url: str | None = Field(None, max_length=2000)
    hmac: HmacScheme | None = None
    poll: PollSpec | None = None

    @field_validator("kind", mode="before")
    @classmethod
    def _known_kind(cls, value: Any) -> Any:
        # Pydantic's own sentence lists sixteen quoted names; a typo deserves a suggestion.
        if isinstance(value, str) and value not in get_args(SourceKind):
            close = difflib.get_close_matches(value.lower(), get_args(SourceKind), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PydanticCustomError(
                "unknown_kind", "the kind {kind} is not known{hint}; the known kinds are "
                "{known}", {"kind": repr(value), "hint": hint, "known": ", ".join(get_args(SourceKind))})
        return value

    @model_validator(mode="after")
    def _complete(self) -> SourceSpec:
        if self.public_url and self.kind not in _URL_SIGNING_KINDS:
            raise ValueError(f"the {self.kind} source {self.name!r} has a public_url, which only "
                             f"the kinds whose signature covers the URL read "
                             f"({', '.join(_URL_SIGNING_KINDS)})")
        if self.public_url and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", self.public_url):
            raise ValueError(f"the public_url of source {self.name!r} must be an http(s) URL with "
                             "no query or fragment (the query is taken from each request)")
        if self.id_header:
            raise ValueError(
                f"the id_header {self.id_header} of source {self.name!r} is not covered by the "
                f"signature ({_SIGNED[self.kind]}), so a captured delivery replayed with a new "
                "value there would pass as a new one; name the id's place in the body with "
                "id_field, or leave both out to dedupe on what the signature covers")
        if self.kind == "poll":
            if self.poll is None:
                raise ValueError(f"the poll source {self.name!r} needs poll.fetch")
            return self
        if self.poll is not None:
            raise ValueError(f"the {self.kind} source {self.name!r} is a webhook; poll is for "
                             "kind: poll")
        if not self.secret_env:
            raise ValueError(f"the {self.kind} source {self.name!r} needs secret_env: the "
                             "environment variable holding its signing secret")
        if self.kind == "hmac" and self.hmac is None:
            raise ValueError(f"the hmac source {self.name!r} needs hmac.header")
        return self

    @property
    def is_webhook(self) -> bool:
        return self.kind in WEBHOOK_KINDS

    @property
    def url(self) -> str:
        return f"/v1/webhooks/{self.name}"

    def secrets(self) -> tuple[str, ...]:
        """The signing secrets from the environment; a missing one is a configuration error."""
        value = os.environ.get(self.secret_env or "", "").split()
        if not value:
            raise ConfigError(f"The webhook source {self.name!r} reads its signing secret from "
                              f"${self.secret_env}, which is not set.")
        return tuple(value)
