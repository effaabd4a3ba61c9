"""Local fakes of the messaging, calendar and analytics vendors, speaking their documented wire formats.

Each fake registers routes on a :class:`VendorServer` and keeps the vendor's own state
(sent e-mails, messages, events), so tests count *effects at the vendor*, not requests:
a crash-recovery test passes only if the vendor acted once. Each checks auth and the
request shape the way its docs say, and answers with the vendor's own error bodies.
``fail_next(*replies)`` answers the next requests with scripted replies (a 429 with its
rate-limit headers, a 500) before the fake's own logic resumes.

Test modules star-import it for the ``messaging_credentials`` fixture (autouse).
"""

from __future__ import annotations

import base64
import re
import threading
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote, urlencode

import pytest

from seamline.connectors.testing import RecordedRequest, Reply, VendorServer

__all__ = ["messaging_credentials"]

TWILIO_SID = "AC" + "0123456789abcdef" * 2
CREDENTIALS = {"RESEND_API_KEY": "re_test_123", "POSTMARK_SERVER_TOKEN": "pm-server-test",
               "SENDGRID_API_KEY": "SG.test-key", "TWILIO_ACCOUNT_SID": TWILIO_SID,
               "TWILIO_AUTH_TOKEN": "tw-auth-test", "GOOGLE_CALENDAR_ACCESS_TOKEN": "ya29.test",
               "POSTHOG_PROJECT_API_KEY": "phc_test_123"}


@pytest.fixture(autouse=True)
def messaging_credentials(monkeypatch):
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)


class Fake:
    """What every fake shares: a lock, scripted failures served first, the requests it saw."""

    def __init__(self, vendor: VendorServer) -> None:
        self.vendor = vendor
        self._lock = threading.Lock()
        self._next: list[Reply] = []

    def fail_next(self, *replies: Reply) -> None:
        with self._lock:
            self._next.extend(replies)

    def _scripted(self) -> Reply | None:
        with self._lock:
            return self._next.pop(0) if self._next else None

    def _guard(self, handler):
        def answer(request: RecordedRequest) -> Reply:
            scripted = self._scripted()
            if scripted is not None:
                return scripted
            with self._lock:
                return handler(request)
        return answer


class ResendFake(Fake):
    """Resend's send-email endpoint with its idempotency keys.

    https://resend.com/docs/api-reference/emails/send-email
    https://resend.com/docs/dashboard/emails/idempotency-keys
    https://resend.com/docs/api-reference/errors

    Same key + same payload within 24 hours: the first reply again, nothing sent; same key
    + another payload: 409 ``invalid_idempotent_request``; a key over 256 characters: 400.
    """

    def __init__(self, vendor: VendorServer, api_key: str = CREDENTIALS["RESEND_API_KEY"]) -> None:
        super().__init__(vendor)
        self.api_key, self.sent = api_key, []  # sent: the e-mails Resend actually sent
        self._keys: dict[str, tuple[Any, str]] = {}
        vendor.route("POST", "/emails", self._guard(self._send))

    @staticmethod
    def error(status: int, name: str, message: str) -> Reply:
        return Reply(status, {"statusCode": status, "name": name, "message": message})

    def _send(self, r: RecordedRequest) -> Reply:
        auth = r.headers.get("authorization", "")
        if not auth:
            return self.error(401, "missing_api_key", "Missing API key in the authorization "
                              "header. Include the following header in the request: "
                              "Authorization: Bearer YOUR_API_KEY")
        if auth != f"Bearer {self.api_key}":
            return self.error(403, "invalid_api_key", "API key is invalid")
        body = r.json()
        for field in ("from", "to", "subject"):
            if not body.get(field):
                return self.error(422, "missing_required_field", f"Missing `{field}` field.")
        if not (body.get("text") or body.get("html")):
            return self.error(422, "validation_error", "Missing `html` or `text` field.")
        key = r.headers.get("idempotency-key")
        if key is not None:
            if not 1 <= len(key) <= 256:
                return self.error(400, "invalid_idempotency_key", "The key must be between 1-256 "
                                  "chars.")
            if key in self._keys:
                first, email_id = self._keys[key]
                if first != body:
                    return self.error(409, "invalid_idempotent_request", "Same idempotency key "
                                      "used with a different request payload.")
                return Reply(200, {"id": email_id})
        email_id = str(uuid.uuid4())
        self.sent.append({**body, "id": email_id})
        if key is not None:
            self._keys[key] = (body, email_id)
        return Reply(200, {"id": email_id})


class PostmarkFake(Fake):
    """Postmark's Email API (send) and Messages API (outbound search by metadata).

    https://postmarkapp.com/developer/api/email-api
    https://postmarkapp.com/developer/api/messages-api
    https://postmarkapp.com/developer/api/overview#error-codes
    """

    def __init__(self, vendor: VendorServer,
                 token: str = CREDENTIALS["POSTMARK_SERVER_TOKEN"]) -> None:
        super().__init__(vendor)
        self.token, self.sent = token, []
        self.inactive: set[str] = set()  # recipients Postmark will not send to (ErrorCode 406)
        vendor.route("POST", "/email", self._guard(self._send))
        vendor.route("GET", "/messages/outbound", self._guard(self._search))

    @staticmethod
    def error(status: int, code: int, message: str) -> Reply:
        return Reply(status, {"ErrorCode": code, "Message": message})

    def _authorised(self, r: RecordedRequest) -> bool:
        return r.headers.get("x-postmark-server-token") == self.token

    def _send(self, r: RecordedRequest) -> Reply:
        if not self._authorised(r):
            return self.error(401, 10, "Request does not contain a valid Server token.")
        body = r.json()
        if not body.get("From") or not body.get("To"):
            return self.error(422, 300, "Invalid email request")
        if not (body.get("TextBody") or body.get("HtmlBody")):
            return self.error(422, 300, "Provide either email TextBody or HtmlBody or both.")
        metadata = body.get("Metadata") or {}
        if any(len(k) > 20 or len(str(v)) > 80 for k, v in metadata.items()):
            return self.error(422, 300, "Metadata keys are limited to 20 characters and values "
                              "to 80.")
        to = [a.strip() for a in body["To"].split(",")]
        if self.inactive & set(to):
            return self.error(422, 406, "You tried to send to recipient(s) that have been "
                              "marked as inactive.")
        message_id = str(uuid.uuid4())
        now = datetime.now(UTC).isoformat()
        self.sent.append({**body, "MessageID": message_id, "ReceivedAt": now})
        return Reply(200, {"To": body["To"], "SubmittedAt": now, "MessageID": message_id,
                           "ErrorCode": 0, "Message": "OK"})

    def _search(self, r: RecordedRequest) -> Reply:
        if not self._authorised(r):
            return self.error(401, 10, "Request does not contain a valid Server token.")
        count, offset = r.query.get("count", [""])[0], r.query.get("offset", [""])[0]
        if not count.isdigit() or not offset.isdigit() or not 0 < int(count) <= 500:
            return self.error(422, 0, "The 'count' and 'offset' parameters are required; "
                              "count is at most 500.")
        wanted = {k.removeprefix("metadata_"): v[0] for k, v in r.query.items()
                  if k.startswith("metadata_")}
        found = [m for m in reversed(self.sent)
                 if all((m.get("Metadata") or {}).get(k) == v for k, v in wanted.items())]
        page = found[int(offset):int(offset) + int(count)]
        return Reply(200, {"TotalCount": len(found), "Messages": [{
            "Tag": m.get("Tag", ""), "MessageID": m["MessageID"],
            "MessageStream": m.get("MessageStream", "outbound"),
            "To": [{"Email": a.strip(), "Name": None} for a in m["To"].split(",")],
            "Cc": [], "Bcc": [], "Recipients": [a.strip() for a in m["To"].split(",")],
            "ReceivedAt": m["ReceivedAt"], "From": m["From"], "Subject": m.get("Subject", ""),
            "Attachments": [], "Status": "Sent", "TrackOpens": False, "TrackLinks": "None",
            "Metadata": m.get("Metadata") or {}, "Sandboxed": False} for m in page]})


class SendGridFake(Fake):
    """SendGrid's Mail Send v3: 202 with an empty body and ``X-Message-Id``.

    https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send
    https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/responses
    """

    def __init__(self, vendor: VendorServer, key: str = CREDENTIALS["SENDGRID_API_KEY"]) -> None:
        super().__init__(vendor)
        self.key, self.sent = key, []
        vendor.route("POST", "/v3/mail/send", self._guard(self._send))

    @staticmethod
    def error(status: int, message: str, field: str | None = None) -> Reply:
        return Reply(status, {"errors": [{"message": message, "field": field, "help": None}]})

    def _send(self, r: RecordedRequest) -> Reply:
        if r.headers.get("authorization") != f"Bearer {self.key}":
            return self.error(401, "The provided authorization grant is invalid, expired, or "
                              "revoked")
        body = r.json()
        people = body.get("personalizations")
        if not isinstance(people, list) or not people or not all(p.get("to") for p in people):
            return self.error(400, "The personalizations field is required and must have at "
                              "least one personalization.", "personalizations")
        if "@" not in str((body.get("from") or {}).get("email", "")):
            return self.error(400, "The from email does not contain a valid address.",
                              "from.email")
        if not body.get("subject") and not all(p.get("subject") for p in people):
            return self.error(400, "The subject is required. You can get around this "
                              "requirement if you use a template with a subject defined or if "
                              "every personalization has a subject defined.", "subject")
        content = body.get("content") or []
        if not content or any(not c.get("value") for c in content):
            return self.error(400, "Unless a valid template_id is provided, the content "
                              "parameter is required.", "content")
        if [c["type"] for c in content][1:].count("text/plain"):
            return self.error(400, "If present, text/plain content must be first.", "content")
        message_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self.sent.append({**body, "message_id": message_id})
        return Reply(202, text="", headers={"X-Message-Id": message_id})


class TwilioFake(Fake):
    """Twilio's Message resource: create (form-encoded, basic auth) and list with filters.

    https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
    https://www.twilio.com/docs/messaging/api/message-resource#read-multiple-message-resources
    https://www.twilio.com/docs/usage/twilios-response
    https://www.twilio.com/docs/api/errors
    """

    E164 = re.compile(r"^\+[1-9]\d{1,14}$")

    def __init__(self, vendor: VendorServer, sid: str = TWILIO_SID,
                 token: str = CREDENTIALS["TWILIO_AUTH_TOKEN"]) -> None:
        super().__init__(vendor)
        self.sid, self.token, self.messages = sid, token, []  # messages: newest last
        self.path = f"/2010-04-01/Accounts/{sid}/Messages.json"
        vendor.route("POST", "/2010-04-01/Accounts/*/Messages.json", self._guard(self._create))
        vendor.route("GET", "/2010-04-01/Accounts/*/Messages.json", self._guard(self._list))

    @staticmethod
    def error(status: int, code: int, message: str) -> Reply:
        return Reply(status, {"code": code, "message": message,
                              "more_info": f"https://www.twilio.com/docs/errors/{code}",
                              "status": status})

    def _denied(self, r: RecordedRequest) -> Reply | None:
        want = "Basic " + base64.b64encode(f"{self.sid}:{self.token}".encode()).decode()
        if r.headers.get("authorization") != want:
            return self.error(401, 20003, "Authenticate")
        if r.path != self.path:
            return self.error(404, 20404, f"The requested resource {r.path} was not found")
        return None

    def add(self, *, to: str, from_: str, body: str, created: datetime,
            direction: str = "outbound-api", service: str | None = None) -> dict[str, Any]:
        """A message already in the account (sent by someone else, or earlier)."""
        sid = "SM" + uuid.uuid4().hex
        message = {
            "account_sid": self.sid, "api_version": "2010-04-01", "body": body,
            "date_created": format_datetime(created, usegmt=True),
            "date_sent": None, "date_updated": format_datetime(created, usegmt=True),
            "direction": direction, "error_code": None, "error_message": None, "from": from_,
            "messaging_service_sid": service, "num_media": "0", "num_segments": "1",
            "price": None, "price_unit": "USD", "sid": sid, "status": "queued",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{self.sid}/Messages/{sid}/"
                                          "Media.json"},
            "to": to, "uri": f"/2010-04-01/Accounts/{self.sid}/Messages/{sid}.json"}
        self.messages.append(message)
        return message

    def _create(self, r: RecordedRequest) -> Reply:
        if (denied := self._denied(r)) is not None:
            return denied
        form = r.form()
        if not form.get("To"):
            return self.error(400, 21604, "A 'To' phone number is required.")
        if not self.E164.match(form["To"]):
            return self.error(400, 21211, f"Invalid 'To' Phone Number: {form['To']}")
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return self.error(400, 21603, "A 'From' phone number is required.")
        if not (form.get("Body") or form.get("MediaUrl")):
            return self.error(400, 21602, "Message body is required.")
        message = self.add(to=form["To"], from_=form.get("From", "+15550000000"),
                           body=form.get("Body", ""), created=datetime.now(UTC),
                           service=form.get("MessagingServiceSid"))
        return Reply(201, message)

    def _list(self, r: RecordedRequest) -> Reply:
        if (denied := self._denied(r)) is not None:
            return denied
        q = {k: v[0] for k, v in r.query.items()}
        found = [m for m in reversed(self.messages)
                 if (not q.get("To") or m["to"] == q["To"])
                 and (not q.get("From") or m["from"] == q["From"])]
        size, page = int(q.get("PageSize", "50")), int(q.get("Page", "0"))
        chunk = found[page * size:(page + 1) * size]
        base = {k: v for k, v in q.items() if k in ("To", "From", "PageSize")}
        more = (page + 1) * size < len(found)
        return Reply(200, {
            "messages": chunk, "start": page * size, "end": page * size + max(len(chunk) - 1, 0),
            "page": page, "page_size": size, "uri": f"{self.path}?{urlencode(q)}",
            "first_page_uri": f"{self.path}?{urlencode({**base, 'Page': 0})}",
            "previous_page_uri": None,
            "next_page_uri": (f"{self.path}?{urlencode({**base, 'Page': page + 1, 'PageToken': f'PA{page + 1}'})}"
                              if more else None)})


class CalendarFake(Fake):
    """Google Calendar v3 events insert and get, with client-chosen ids.

    https://developers.google.com/calendar/api/v3/reference/events/insert
    https://developers.google.com/calendar/api/v3/reference/events/get
    https://developers.google.com/calendar/api/guides/errors
    """

    ID = re.compile(r"^[a-v0-9]{5,1024}$")

    def __init__(self, vendor: VendorServer, token: str = CREDENTIALS[
            "GOOGLE_CALENDAR_ACCESS_TOKEN"],
                 calendars: tuple[str, ...] = ("primary", "team@group.calendar.google.com")) -> None:
        super().__init__(vendor)
        self.token, self.inserts = token, 0  # inserts: events actually created
        self.events: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in calendars}
        vendor.route("POST", "/calendar/v3/calendars/*/events", self._guard(self._insert))
        vendor.route("GET", "/calendar/v3/calendars/*/events/*", self._guard(self._get))

    @staticmethod
    def error(status: int, reason: str, message: str) -> Reply:
        return Reply(status, {"error": {"errors": [{"domain": "global", "reason": reason,
                                                    "message": message}],
                                        "code": status, "message": message}})

    def _calendar(self, r: RecordedRequest, parts: int) -> tuple[str | None, Reply | None]:
        if r.headers.get("authorization") != f"Bearer {self.token}":
            return None, Reply(401, {"error": {"code": 401, "message": "Request had invalid "
                                               "authentication credentials. Expected OAuth 2 "
                                               "access token.", "errors": [{
                                                   "message": "Invalid Credentials",
                                                   "domain": "global", "reason": "authError",
                                                   "location": "Authorization",
                                                   "locationType": "header"}],
                                               "status": "UNAUTHENTICATED"}})
        segments = r.path.split("/")  # ['', 'calendar', 'v3', 'calendars', ID, 'events', ...]
        if len(segments) != parts:
            return None, self.error(404, "notFound", "Not Found")
        calendar = unquote(segments[4])
        if calendar not in self.events:
            return None, self.error(404, "notFound", "Not Found")
        return calendar, None

    def _insert(self, r: RecordedRequest) -> Reply:
        calendar, denied = self._calendar(r, 6)
        if denied is not None or calendar is None:
            return denied or self.error(404, "notFound", "Not Found")
        event = r.json()
        if "id" in event and not self.ID.match(str(event["id"])):
            return self.error(400, "invalid", "Invalid resource id value.")
        for when in ("start", "end"):
            if not isinstance(event.get(when), dict) or not (
                    event[when].get("dateTime") or event[when].get("date")):
                return self.error(400, "required", f"Missing {when} time.")
        event_id = event.get("id") or uuid.uuid4().hex
        if event_id in self.events[calendar]:
            return self.error(409, "duplicate", "The requested identifier already exists.")
        self.inserts += 1
        stored = {"kind": "calendar#event", "etag": f'"{self.inserts}"', **event,
                  "id": event_id, "status": "confirmed",
                  "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
                  "created": datetime.now(UTC).isoformat()}
        self.events[calendar][event_id] = stored
        return Reply(200, stored)

    def _get(self, r: RecordedRequest) -> Reply:
        calendar, denied = self._calendar(r, 7)
        if denied is not None or calendar is None:
            return denied or self.error(404, "notFound", "Not Found")
        event = self.events[calendar].get(unquote(r.path.split("/")[6]))
        return Reply(200, event) if event else self.error(404, "notFound", "Not Found")


class PostHogFake(Fake):
    """PostHog's capture endpoint, and its events table's dedupe.

    https://posthog.com/docs/api/capture
    The events table is a ReplacingMergeTree ordered by (team_id, toDate(timestamp), event,
    cityHash64(distinct_id), cityHash64(uuid)): rows equal on those collapse into one
    (posthog/models/event/sql.py). An invalid uuid is replaced by a fresh one.
    """

    def __init__(self, vendor: VendorServer,
                 api_key: str = CREDENTIALS["POSTHOG_PROJECT_API_KEY"]) -> None:
        super().__init__(vendor)
        self.api_key, self.received = api_key, []  # received: every accepted capture
        vendor.route("POST", "/i/v0/e/", self._guard(self._capture))

    def events(self) -> list[dict[str, Any]]:
        """The events after PostHog's merge: one per dedupe key, as queries count them."""
        merged: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        for e in self.received:
            day = datetime.fromisoformat(e["timestamp"]).astimezone(UTC).date().isoformat()
            merged[(day, e["event"], e["distinct_id"], e["uuid"])] = e
        return list(merged.values())

    def _capture(self, r: RecordedRequest) -> Reply:
        body = r.json()
        if body.get("api_key") != self.api_key:
            return Reply(401, {"type": "authentication_error", "code": "invalid_api_key",
                               "detail": "Project API key invalid. You can find your project "
                                         "API key in PostHog project settings.", "attr": None})
        for field in ("event", "distinct_id"):
            if not body.get(field):
                return Reply(400, {"type": "validation_error", "code": "invalid_payload",
                                   "detail": f"Invalid payload: {field} is required.",
                                   "attr": field})
        try:
            event_uuid = str(uuid.UUID(str(body.get("uuid"))))
        except ValueError:
            event_uuid = str(uuid.uuid4())
        self.received.append({**body, "uuid": event_uuid,
                              "timestamp": body.get("timestamp") or datetime.now(UTC).isoformat()})
        return Reply(200, {"status": 1})
