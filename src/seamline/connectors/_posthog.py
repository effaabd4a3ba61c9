"""``posthog``: capture an analytics event whose ``uuid`` is derived from the idempotency key.

PostHog keeps one event per (UTC day of ``timestamp``, ``event``, ``distinct_id``, ``uuid``):
its events table is a ReplacingMergeTree on that key, so a retried capture with the same
uuid and timestamp collapses into the first. Hence the uuid is a UUIDv5 of the key, and the
timestamp is required by default: one taken at send time could fall on another day on a
retry and count twice. The collapse happens when PostHog merges storage, so a raw query can
briefly see both copies; insights and exports count one.
https://posthog.com/docs/api/capture

Not the ``posthog`` SDK: it queues events for a background thread and sends them later,
so an action would be "done" before PostHog had it; one synchronous POST through
:class:`VendorHTTP` reports the real outcome.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from seamline.connectors._base import Connector, ConnectorOptions, Params, Reply
from seamline.connectors._errors import BadParams

NAMESPACE = uuid.UUID("6f1c2b7e-3d0a-5a8e-9c41-2f5b8e7d9a10")  # seamline's, fixed forever


def event_uuid(key: str) -> str:
    """The event's uuid for an idempotency key: the same key always gives the same uuid."""
    return str(uuid.uuid5(NAMESPACE, key))


class PostHogOptions(ConnectorOptions):
    api_key_env: str = "POSTHOG_PROJECT_API_KEY"
    require_timestamp: bool = Field(True, description="Refuse events without a timestamp, "
                                    "which PostHog needs to dedupe a retry on another day.")


class Capture(Params):
    event: str = Field(min_length=1)
    distinct_id: str = Field(min_length=1)
    properties: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime | None = None


class Captured(Reply):
    status: int | None = None


class PostHogConnector(Connector):
    """PostHog capture API (project API key); PostHog dedupes on the uuid we derive."""

    name = "posthog"
    api_version = "i-v0"  # the capture endpoint's version, in the path: /i/v0/e/
    idempotency = "vendor"
    operations = ("capture",)
    Options = PostHogOptions
    credentials = ("api_key_env",)
    default_base_url = "https://us.i.posthog.com"
    options: PostHogOptions

    def __init__(self, options=None, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self._api_key = self.secret("api_key_env")  # capture takes it in the body
        self._http = self.http({})

    def vendor_message(self, body: Any) -> str:
        if isinstance(body, dict) and isinstance(body.get("detail"), str):
            code = body.get("code")
            return body["detail"] + (f" ({code})" if isinstance(code, str) else "")
        return super().vendor_message(body)

    def capture(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Capture one event per key; returns ``{"uuid", "event"}``."""
        p = self.params(Capture, params, "capture")
        if p.timestamp is None and self.options.require_timestamp:
            raise BadParams("posthog.capture needs a timestamp (the event's own time, such as "
                            "input.received_at): PostHog dedupes a retry only on the same UTC "
                            "day; set the option require_timestamp: false to send the time of "
                            "sending instead.", connector=self.name)
        when = p.timestamp or datetime.now(UTC)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        body = {"api_key": self._api_key, "event": p.event, "distinct_id": p.distinct_id,
                "properties": p.properties, "timestamp": when.isoformat(),
                "uuid": event_uuid(idempotency_key)}
        response = self._http.request("POST", "/i/v0/e/", json=body)
        self.reply(response, Captured, "capture", proof=("status",))
        return {"uuid": body["uuid"], "event": p.event}
