"""Receiving one webhook delivery: verify, parse, dedupe, map, observe, validate, enqueue.

Framework-free (the HTTP route in ``seamline.server._webhooks`` only reads the body and
turns the outcome into a response), so the whole path is testable without a server.
Refusals are :class:`WebhookRefused` with the status the route answers:

- 400: the body does not decode (``seamline.ingest.decode_event``: not JSON, not UTF-8, too
  deep, NaN, a key twice ...; a form-encoded body, as Twilio sends, is read as its fields),
  or the signed timestamp is outside the tolerance;
- 401: a signature header is missing, or no signature matches (Postmark: the Basic
  credentials do not);
- 409: the same delivery with the same signed timestamp again (a captured request
  replayed; a vendor's retry is signed anew and is answered 200 ``duplicate``);
- 422: the payload does not fit the integration's input (dead-lettered, receipt kept).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from seamline.contracts import ContractBook
from seamline.edges._form import decode_form, is_form
from seamline.edges._intake import Intake, Prepared, Receipt
from seamline.edges._signatures import WebhookRefused, check_secrets, verify
from seamline.errors import ConfigError, InputInvalid
from seamline.ingest import check_value, decode_event, describe_validation, redact
from seamline.integration import Integration
from seamline.queue import JobQueue
from seamline.runtime import Pipeline, new_event_id
from seamline.store import Store


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    """What the route answers a delivery that was not refused."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Door:
    intake: Intake
    secrets: tuple[str, ...]
    pipeline: Pipeline


class WebhookReceiver:
    """Every webhook source of the served integrations, by name (the last part of the URL)."""

    def __init__(self, integrations: Iterable[Integration], store: Store, queue: JobQueue,
                 pipelines: Mapping[str, Pipeline], *,
                 clock: Callable[[], float] = time.time) -> None:
        self.store, self.clock = store, clock
        contracts = ContractBook(store)
        self._doors: dict[str, _Door] = {}
        for integration in integrations:
            for source in integration.sources:
                if not source.is_webhook:
                    continue
                if source.name in self._doors:
                    raise ConfigError(f"Two webhook sources are named {source.name!r}; each "
                                      "needs its own URL.")
                # Secrets are read now: a missing one (or a SendGrid key that does not
                # parse) stops the server at start, not at the vendor's first delivery.
                secrets = source.secrets()
                check_secrets(source, secrets)
                self._doors[source.name] = _Door(
                    Intake(integration, source, store, queue, contracts), secrets,
                    pipelines[integration.name])

    @property
    def names(self) -> list[str]:
        return sorted(self._doors)

    def has(self, name: str) -> bool:
        return name in self._doors

    def body_limit(self, name: str, default: int) -> int:
        return self._doors[name].intake.source.max_body_bytes or default

    def receive(self, name: str, body: bytes, headers: Mapping[str, str], *, url: str = "",
                method: str = "POST") -> WebhookAnswer:
        """One delivery to its answer; raises :class:`WebhookRefused` (nothing enqueued).

        ``url`` is the full URL the request arrived at (query included) and ``method`` its
        method: Twilio and HubSpot sign them.
        """
        door = self._doors[name]
        intake = door.intake
        lower = {k.lower(): v for k, v in headers.items()}
        verified = verify(intake.source, body, lower, door.secrets, self.clock(), url=url,
                          method=method)
        try:
            payload = _decode(body, lower)  # not UTF-8, too deep, NaN, a key twice ... refused
        except InputInvalid as exc:
            sentence = redact(str(exc)).text  # it may name a key, and a key may be PII
            refused = door.pipeline.refuse(body, f"webhook {name}: {sentence}")
            raise WebhookRefused(400, sentence, event_id=refused.event_id) from None
        if intake.source.kind == "slack" and isinstance(payload, dict) and \
                payload.get("type") == "url_verification":
            # Slack's one-time handshake when the URL is configured: echo the challenge.
            return WebhookAnswer(200, {"challenge": payload.get("challenge")})
        delivery_id = intake.delivery_id(payload, lower, body)
        earlier = intake.receipt(delivery_id)
        if earlier is not None:
            return _again(earlier, delivery_id, verified.signed_at)
        prepared = self._prepare(door, payload, delivery_id, intake.version(payload, lower))
        if prepared.data is None:
            return WebhookAnswer(200, {"ignored": True, "delivery_id": delivery_id})
        self._validate(door, prepared, verified.signed_at)
        event_id = new_event_id()
        with self.store.write() as conn:
            earlier = intake.record(conn, prepared, event_id=event_id,
                                    signed_at=verified.signed_at)
        if earlier is not None:  # the same delivery raced this one in, and won
            return _again(earlier, delivery_id, verified.signed_at)
        return WebhookAnswer(202, {"event_id": event_id, "state": "queued",
                                   "status_url": f"/v1/events/{event_id}",
                                   "delivery_id": delivery_id})

    def _prepare(self, door: _Door, payload: Any, delivery_id: str, version: str) -> Prepared:
        try:
            return door.intake.prepare(payload, delivery_id, version)
        except Exception as exc:  # the user's map function: any failure is a refusal
            sentence = redact(f"the map of source {door.intake.source.name!r} failed: "
                              f"{type(exc).__name__}: {exc}").text
            self._dead_letter(door, Prepared(delivery_id, payload, version), sentence, None)
            raise  # unreachable: _dead_letter raises

    def _validate(self, door: _Door, prepared: Prepared, signed_at: float | None) -> None:
        try:
            # The map's output too meets the decoder's rules: it may make what JSON cannot
            # carry (a NaN, a non-text key), which the queue would refuse to store.
            check_value(prepared.data)
            door.intake.integration.input_schema.model_validate(prepared.data)
        except InputInvalid as exc:
            self._dead_letter(door, prepared, f"the map's output: {exc}", signed_at)
        except ValidationError as exc:
            self._dead_letter(door, prepared, describe_validation(exc), signed_at)

    def _dead_letter(self, door: _Door, prepared: Prepared, sentence: str,
                     signed_at: float | None) -> None:
        """Refuse with 422, keeping the payload as a dead letter and the delivery as received,
        so the vendor's retries of it are answered ``duplicate`` rather than dead-lettered again."""
        refused = door.pipeline.refuse(prepared.data, sentence)
        with self.store.write() as conn:
            door.intake.record(conn, prepared, event_id=refused.event_id, signed_at=signed_at,
                               enqueue=False)
        raise WebhookRefused(422, redact(sentence).text, event_id=refused.event_id)


def _decode(body: bytes, headers: Mapping[str, str]) -> Any:
    """The payload: a form-encoded body's fields (Twilio), else the body's JSON."""
    if is_form(headers):
        fields = decode_form(body)
        check_value(fields)  # the JSON decoder's rules: no NUL, no lone surrogate ...
        return fields
    return decode_event(body)


def _again(earlier: Receipt, delivery_id: str, signed_at: float | None) -> WebhookAnswer:
    if signed_at is not None and earlier.signed_at == signed_at:
        raise WebhookRefused(409, f"delivery {delivery_id} was already received with this same "
                                  "signed timestamp: a replay, refused", event_id=earlier.event_id)
    return WebhookAnswer(200, {"duplicate": True, "event_id": earlier.event_id,
                               "delivery_id": delivery_id})
