"""The ``calendar`` family: ``calendar.create_event`` on Google Calendar.

The event id derives from the action's idempotency key (the connector's own scheme), so a
retry finds the event it made and reports ``created: false`` instead of making another.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from seamline.connectors._kinds import (
    Adapter,
    Family,
    Kind,
    KindParams,
    KindReply,
    VendorSettings,
    drop_none,
    text_id,
)


class CreateEvent(KindParams):
    """One calendar event, with the people invited to it."""

    title: str = Field(min_length=1, description="What the event is called.")
    start: str = Field(min_length=10, description="RFC 3339 date-time, or YYYY-MM-DD all day.")
    end: str = Field(min_length=10, description="Same form as start.")
    time_zone: str | None = Field(None, description="An IANA zone, e.g. Europe/Paris.")
    description: str | None = Field(None, description="Its text, for the people invited.")
    location: str | None = Field(None, description="Where: an address, a room, a link.")
    attendees: list[str] = Field(default_factory=list, description="E-mail addresses.")


class EventReply(KindReply):
    link: str | None = Field(None, description="Where a person opens the event.")


def _google(p: CreateEvent, s: VendorSettings) -> tuple[str, dict[str, Any]]:
    return "create_event", drop_none({
        "summary": p.title, "start": p.start, "end": p.end, "time_zone": p.time_zone,
        "description": p.description, "location": p.location,
        "attendees": p.attendees or None})


def _scheduled(reply: dict[str, Any]) -> dict[str, Any]:
    return {"id": text_id(reply.get("id")), "created": not reply.get("existing"),
            "link": reply.get("html_link")}


CREATE_EVENT = Kind("calendar.create_event", "Create one calendar event.", CreateEvent,
                    EventReply)

CALENDAR = Family("calendar", (CREATE_EVENT,), (
    Adapter("calendar.create_event", "gcalendar", ("create_event",), _google, _scheduled,
            note="title is summary; the calendar is the connector option calendar_id."),
))

__all__ = ["CALENDAR", "CreateEvent", "EventReply"]
