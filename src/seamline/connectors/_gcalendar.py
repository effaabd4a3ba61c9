"""``gcalendar``: create a Google Calendar event whose id is derived from the idempotency key.

Events insert accepts a client-chosen ``id`` (base32hex: ``a``–``v`` and ``0``–``9``, 5 to
1024 characters, unique per calendar, kept even after the event is deleted). The id is the
base32hex SHA-256 of the key, so a retry inserts the same id, Google answers ``409``
``duplicate``, and the connector fetches the event that already exists and reports it as
done: at most one event per key, even across crashes, with nothing kept on our side.
https://developers.google.com/calendar/api/v3/reference/events/insert
https://developers.google.com/calendar/api/guides/errors

Auth is an OAuth 2.0 access token: ``auth: oauth`` (the OAuth client refreshes it before it
expires) or, for a short-lived script, a token in the environment. Not ``google-api-python-client``: it brings ``google-auth``, ``httplib2`` and discovery
documents into every deployment for two endpoints, outside our timeouts and Retry-After budget.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any, Literal

import httpx
from pydantic import Field

from seamline.connectors._base import Connector, ConnectorOptions, Params, Reply
from seamline.connectors._errors import VendorUnavailable
from seamline.connectors._paths import fill

EVENTS = "/calendar/v3/calendars/{calendar_id}/events"
EVENT = "/calendar/v3/calendars/{calendar_id}/events/{event_id}"
# 403 reasons that mean "slow down", not "forbidden" (the errors guide).
_RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}


def event_id(key: str) -> str:
    """The event id for an idempotency key: lower-case base32hex of its SHA-256 (52 chars)."""
    digest = hashlib.sha256(f"seamline:{key}".encode()).digest()
    return base64.b32hexencode(digest).decode().rstrip("=").lower()


class CalendarOptions(ConnectorOptions):
    token_env: str = "GOOGLE_CALENDAR_ACCESS_TOKEN"
    calendar_id: str = Field("primary", description="Default calendar when params name none.")
    send_updates: Literal["all", "externalOnly", "none"] = "none"


class CreateEvent(Params):
    summary: str = Field(min_length=1)
    start: str = Field(min_length=10, description="RFC 3339 date-time, or YYYY-MM-DD all day.")
    end: str = Field(min_length=10)
    time_zone: str | None = None
    description: str | None = None
    location: str | None = None
    attendees: list[str] = Field(default_factory=list)
    calendar_id: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict, description="Other event fields.")


class CalendarEvent(Reply):
    id: str | None = None
    status: str | None = None
    htmlLink: str | None = None


class GoogleCalendarConnector(Connector):
    """Google Calendar API v3 (OAuth access token); the event id carries the idempotency key."""

    name = "gcalendar"
    api_version = "v3"  # in every path: /calendar/v3/…
    idempotency = "vendor"
    operations = ("create_event",)
    Options = CalendarOptions
    credentials = ("token_env",)
    default_base_url = "https://www.googleapis.com"
    supports_oauth = True  # ``auth: oauth`` refreshes the access token before it expires
    options: CalendarOptions

    def __init__(self, options=None, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        headers = {} if self.oauth else {"Authorization": f"Bearer {self.secret('token_env')}"}
        self._http = self.http(headers)

    def vendor_message(self, body: Any) -> str:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            named = _reasons(body)
            return error["message"] + (f" ({', '.join(named)})" if named else "")
        return ""

    def raise_for_status(self, response: httpx.Response, operation: str) -> None:
        if response.status_code == 403:
            body = self.body(response)
            if set(_reasons(body)) & _RATE_REASONS:
                said = self.vendor_message(body)
                self.observe(f"{operation}.error", body)
                raise VendorUnavailable(f"gcalendar answered 403 to {operation}: {said}; the "
                                        "action will be retried later.", connector=self.name,
                                        status=403, sent=False)
        super().raise_for_status(response, operation)

    def create_event(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Create one event per key; returns ``{"id", "status", "html_link", "existing"}``.

        ``existing`` is true when the event was already there (an earlier attempt made it).
        """
        p = self.params(CreateEvent, params, "create_event")
        # An empty calendar_id from the params is refused, never taken for the default.
        ids = {"calendar_id": self.options.calendar_id if p.calendar_id is None
               else p.calendar_id,
               "event_id": event_id(idempotency_key)}
        event: dict[str, Any] = {**p.fields, "id": ids["event_id"], "summary": p.summary,
                                 "start": _when(p.start, p.time_zone),
                                 "end": _when(p.end, p.time_zone)}
        for field in ("description", "location"):
            if value := getattr(p, field):
                event[field] = value
        if p.attendees:
            event["attendees"] = [{"email": a} for a in p.attendees]
        response = self._http.request("POST", fill(EVENTS, ids, connector=self.name), json=event,
                                      params={"sendUpdates": self.options.send_updates})
        existing = response.status_code == 409 and "duplicate" in _reasons(self.body(response))
        if existing:  # an earlier attempt created it: fetch it rather than fail
            response = self._http.request("GET", fill(EVENT, ids, connector=self.name))
            operation = "get_event"
        else:
            operation = "create_event"
        reply = self.reply(response, CalendarEvent, operation, proof=("id",))
        return {"id": reply.id, "status": reply.status, "html_link": reply.htmlLink,
                "existing": existing}


def _reasons(body: Any) -> list[str]:
    """The ``reason`` of each entry of a Google error body (``duplicate``, ``rateLimitExceeded``)."""
    error = body.get("error") if isinstance(body, dict) else None
    errors = error.get("errors") if isinstance(error, dict) else None
    return [e["reason"] for e in errors or [] if isinstance(e, dict)
            and isinstance(e.get("reason"), str)]


def _when(value: str, time_zone: str | None) -> dict[str, str]:
    """Google's start/end object: ``date`` for an all-day value, ``dateTime`` otherwise."""
    when = {"date": value} if len(value) == 10 else {"dateTime": value}
    return {**when, "timeZone": time_zone} if time_zone else when
