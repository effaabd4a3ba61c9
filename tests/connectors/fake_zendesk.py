"""A fake Zendesk Support API v2 that keeps tickets and their audits as Zendesk does.

It follows the documented wire format, not our connector:

- Update Ticket, ``PUT /api/v2/tickets/{ticket_id}.json`` with ``{"ticket": {…}}``
  (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-ticket):
  the reply is ``{"ticket": …, "audit": …}``. ``ticket.metadata`` is write only and lands
  in the new audit's ``metadata.custom`` ("Setting Metadata" on the same page); anything
  beside ``ticket`` is ignored; an update that changes nothing creates no audit.
- List Audits for a Ticket, ``GET /api/v2/tickets/{ticket_id}/audits.json``
  (https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_audits/), oldest
  first, with cursor pagination: ``page[size]`` (at most 100), ``page[after]``, and
  ``meta.has_more`` / ``meta.after_cursor`` / ``links.next`` in the reply
  (https://developer.zendesk.com/api-reference/introduction/pagination/).
- Errors: ``{"error": "RecordNotFound", "description": "Not found"}`` with 404.
"""

from __future__ import annotations

import base64
import itertools
import re
from typing import Any

from seamline.connectors.testing import RecordedRequest, Reply, VendorServer

_TICKET = re.compile(r"^/api/v2/tickets/(\d+)\.json$")
_AUDITS = re.compile(r"^/api/v2/tickets/(\d+)/audits\.json$")
NOT_FOUND = Reply(404, {"error": "RecordNotFound", "description": "Not found"})


class FakeZendesk:
    """Tickets and audits behind a :class:`VendorServer`; ``updates`` are the effects it applied."""

    def __init__(self, server: VendorServer, tickets: tuple[int, ...] = (35436,)) -> None:
        self.server = server
        self.tickets: dict[int, dict[str, Any]] = {
            t: {"id": t, "status": "new", "priority": None, "tags": []} for t in tickets}
        self.audits: dict[int, list[dict[str, Any]]] = {t: [] for t in tickets}
        self.updates: list[dict[str, Any]] = []  # one per audit created: the effects
        self._ids = itertools.count(1000)
        server.route("PUT", "/api/v2/tickets/*.json", self._update)
        server.route("GET", "/api/v2/tickets/*/audits.json", self._list_audits)

    def add_audits(self, ticket_id: int, n: int) -> None:
        """``n`` audits of earlier updates by someone else (to push ours onto a later page)."""
        for _ in range(n):
            self._audit(ticket_id, [{"type": "Change", "field_name": "status", "value": "open"}],
                        custom={})

    def _audit(self, ticket_id: int, events: list[dict[str, Any]],
               custom: dict[str, Any]) -> dict[str, Any]:
        audit = {"id": next(self._ids), "ticket_id": ticket_id, "author_id": 35436,
                 "created_at": "2026-11-25T10:00:00Z", "via": {"channel": "api"},
                 "metadata": {"system": {"client": "seamline-test", "ip_address": "127.0.0.1"},
                              "custom": custom},
                 "events": events}
        self.audits[ticket_id].append(audit)
        return audit

    def _update(self, request: RecordedRequest) -> Reply:
        match = _TICKET.match(request.path)
        if not match or int(match.group(1)) not in self.tickets:
            return NOT_FOUND
        body = request.json()
        changes = body.get("ticket") if isinstance(body, dict) else None
        if not isinstance(changes, dict):
            return Reply(400, {"error": "InvalidEndpoint",
                               "description": "The ticket parameter is required."})
        ticket_id = int(match.group(1))
        ticket, changes = self.tickets[ticket_id], dict(changes)
        custom = changes.pop("metadata", None) or {}
        comment = changes.pop("comment", None)
        events = [{"id": next(self._ids), "type": "Change", "field_name": k, "value": v,
                   "previous_value": ticket.get(k)} for k, v in changes.items()
                  if ticket.get(k) != v]
        if isinstance(comment, dict) and comment.get("body"):
            events.append({"id": next(self._ids), "type": "Comment", "body": comment["body"],
                           "public": comment.get("public", True), "attachments": []})
        ticket.update(changes)
        if not events:  # "If your update does not change the ticket, this will not create an Audit"
            return Reply(200, {"ticket": dict(ticket)})
        audit = self._audit(ticket_id, events, custom)
        self.updates.append({"ticket_id": ticket_id, "audit_id": audit["id"], "custom": custom})
        return Reply(200, {"ticket": dict(ticket), "audit": audit})

    def _list_audits(self, request: RecordedRequest) -> Reply:
        match = _AUDITS.match(request.path)
        if not match or int(match.group(1)) not in self.tickets:
            return NOT_FOUND
        ticket_id = int(match.group(1))
        size = min(int((request.query.get("page[size]") or ["100"])[-1]), 100)
        after = request.query.get("page[after]")
        start = int(base64.b64decode(after[-1]).decode()) if after else 0
        audits = self.audits[ticket_id]
        page = audits[start:start + size]
        end = start + len(page)
        has_more = end < len(audits)
        cursor = base64.b64encode(str(end).encode()).decode()
        url = f"{self.server.url}/api/v2/tickets/{ticket_id}/audits.json"
        return Reply(200, {
            "audits": page,
            "meta": {"has_more": has_more, "after_cursor": cursor if has_more else None,
                     "before_cursor": base64.b64encode(str(start).encode()).decode()},
            "links": {"next": f"{url}?page[size]={size}&page[after]={cursor}" if has_more else None,
                      "prev": None}})
