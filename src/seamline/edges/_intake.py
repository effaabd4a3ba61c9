"""What every inbound payload goes through, however it arrived (webhook or poll).

The vendor's id becomes a receipt, the payload's shape is observed against its contract,
the payload is mapped to the integration's input, and the receipt and the job commit in
one transaction: a delivery is either queued exactly once or not recorded at all.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from seamline.contracts import ContractBook, Drift
from seamline.edges._signatures import standard_headers
from seamline.errors import ConfigError
from seamline.integration import Integration, SourceSpec, resolve
from seamline.queue import JobQueue
from seamline.runtime import new_event_id
from seamline.store import Store, insert_ignore
from seamline.store.tables import webhook_receipts

log = logging.getLogger("seamline.edges")

_MAX_ID = 300  # the width of webhook_receipts.delivery_id

# A delivery is identified only by what its signature covers, or a replayed capture
# could pass as new with a fresh unsigned header. Stripe signs "{t}." + body and Slack
# "v0:{t}:" + body: the event's id is in the body. Standard Webhooks signs
# "{webhook-id}.{t}." + body: the id header is signed. GitHub and Shopify sign the body
# alone, so X-GitHub-Delivery and X-Shopify-Webhook-Id are not covered and the body's
# SHA-256 identifies a delivery (their retries resend the same body). Intercom counts its
# delivery_attempts in the body, so the notification's id there is read; Paddle's event_id
# names the event however often it is sent (a replay from Paddle's dashboard too). HubSpot and SendGrid post batches of events
# whose bodies change on retry (HubSpot's attemptNumber): the sorted ids of the batch's
# events identify it. Twilio, Zendesk, Cal.com, Calendly and Postmark send no signed id
# (Twilio's I-Twilio-Idempotency-Token, Zendesk's X-Zendesk-Webhook-Invocation-Id are
# unsigned headers): the body's SHA-256. A generic scheme: its id_field in the body, else
# the body's SHA-256. A signed timestamp is left out of the identity on purpose: a vendor's
# retry is signed anew, and must stay the same delivery; a captured request replayed
# carries the same timestamp, and is refused 409 by it.
_ID_FIELDS = {"stripe": "id", "slack": "event_id", "intercom": "id", "paddle": "event_id",
              "poll": "id"}
_BATCH_ID_FIELDS = {"hubspot": "eventId", "sendgrid": "sg_event_id"}
# Where a vendor says which API version it used for this payload.
_VERSION_HEADERS = {"shopify": "x-shopify-api-version"}
_VERSION_FIELDS = {"stripe": "api_version"}


def purge_receipts(store: Store, older_than_s: float) -> int:
    """Delete webhook receipts older than this; returns how many.

    A receipt answers a vendor's retry of a delivery with "duplicate". Vendors stop
    retrying within days (Stripe: 3), and a captured request replayed later is refused by
    its signed timestamp where the scheme signs one (Stripe, Slack, Standard Webhooks,
    HubSpot, Zendesk, SendGrid, Paddle, Calendly);
    for the others the event's idempotency key still dedupes it. Keep more than the
    longest retry window of your vendors: 30 days by default in ``seamline queue purge``.
    """
    cutoff = time.time() - older_than_s
    with store.write() as conn:
        return conn.execute(webhook_receipts.delete().where(
            webhook_receipts.c.received_at < cutoff)).rowcount


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery already recorded: the event it became, and the timestamp its signature covered."""

    event_id: str
    signed_at: float | None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A payload ready to be recorded: its id, the integration's input (None: ignored), its drift."""

    delivery_id: str
    data: Any
    version: str
    drift: tuple[Drift, ...] = field(default=())


def dotted(payload: Any, path: str) -> Any:
    """``payload["a"]["b"]`` for ``"a.b"``; None where the path does not lead anywhere."""
    value = payload
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _batch_id(payload: Any, field: str) -> str | None:
    """The sorted ids of a batch's events (``"17,18"``); None unless every event has one."""
    if not isinstance(payload, list) or not payload:
        return None
    ids = [item.get(field) if isinstance(item, Mapping) else None for item in payload]
    if any(i is None or i == "" for i in ids):
        return None
    return ",".join(sorted({str(i) for i in ids}))


class Intake:
    """One source's door into its integration's queue."""

    def __init__(self, integration: Integration, source: SourceSpec, store: Store,
                 queue: JobQueue, contracts: ContractBook | None = None) -> None:
        self.integration, self.source, self.store, self.queue = integration, source, store, queue
        self.contracts = contracts or ContractBook(store)
        base = integration.source_path.parent if integration.source_path else Path.cwd()
        self.map_fn = resolve(source.map, base=base, what=f"map of source {source.name!r}")
        if self.map_fn is not None and not callable(self.map_fn):
            raise ConfigError(f"The map of source {source.name!r} is not a function.")

    def delivery_id(self, payload: Any, headers: Mapping[str, str], body: bytes) -> str:
        """The vendor's id for this event, stable across its retries, read only from what
        the signature covers (``headers`` are the verified request's, lower-case); else the
        signed body's digest."""
        s = self.source
        found: Any = None
        path = s.id_field or _ID_FIELDS.get(s.kind)
        if path:
            found = dotted(payload, path)
        elif s.kind == "standard":
            signed = standard_headers(headers)  # the very id the verifier signed with
            found = signed[1] if signed else None
        elif s.kind in _BATCH_ID_FIELDS:
            found = _batch_id(payload, _BATCH_ID_FIELDS[s.kind])
        if found is None or found == "":
            return "sha256:" + hashlib.sha256(body).hexdigest()
        text = str(found)
        return text if len(text) <= _MAX_ID else "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    def version(self, payload: Any, headers: Mapping[str, str]) -> str:
        """The API version the vendor used, else the one the source pins."""
        s = self.source
        header, path = _VERSION_HEADERS.get(s.kind), _VERSION_FIELDS.get(s.kind)
        seen = (headers.get(header) if header else None) or (dotted(payload, path) if path else None)
        seen = str(seen) if seen else ""
        if seen and s.api_version and seen != s.api_version:
            log.warning("source %s sent API version %s; the integration pins %s", s.name, seen,
                        s.api_version)
        return seen or s.api_version

    def receipt(self, delivery_id: str) -> Receipt | None:
        with self.store.read() as conn:
            return self._receipt(conn, delivery_id)

    def _receipt(self, conn: Connection, delivery_id: str) -> Receipt | None:
        row = conn.execute(select(webhook_receipts.c.event_id, webhook_receipts.c.signed_at).where(
            webhook_receipts.c.source == self.source.name,
            webhook_receipts.c.delivery_id == delivery_id)).first()
        return Receipt(row.event_id, row.signed_at) if row else None

    def prepare(self, payload: Any, delivery_id: str, version: str) -> Prepared:
        """Observe the payload's shape, then map it to the integration's input.

        The contract sees the vendor's payload as sent, before mapping: drift is the vendor's.
        A map that fails raises; the caller decides (the webhook route dead-letters).
        """
        drift = self.contracts.observe("inbound", self.source.name, version, payload,
                                       self.source.contract)
        data = self.map_fn(payload) if self.map_fn is not None else payload
        return Prepared(delivery_id, data, version, tuple(drift))

    def record(self, conn: Connection, prepared: Prepared, *, event_id: str | None = None,
               signed_at: float | None = None, enqueue: bool = True) -> Receipt | None:
        """Inside the caller's transaction: the receipt, then the job; the earlier receipt
        (nothing enqueued) when this delivery was recorded before."""
        eid = event_id or new_event_id()
        inserted = insert_ignore(conn, webhook_receipts, {
            "source": self.source.name, "delivery_id": prepared.delivery_id, "event_id": eid,
            "received_at": time.time(), "signed_at": signed_at})
        if not inserted:
            return self._receipt(conn, prepared.delivery_id)
        if enqueue:
            self.queue.enqueue_in(conn, self.integration.name, prepared.data, event_id=eid,
                                  submitted_by=f"webhook:{self.source.name}")
        return None
