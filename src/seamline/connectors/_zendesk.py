"""``zendesk``: update a ticket and add a comment (Support API v2).

Zendesk takes no idempotency key on updates, so sends are recorded on our side and
carry the key in the update's audit metadata; after an interrupted attempt the
ticket's audits are searched for it before anything is sent again.

Where the key goes, per https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/
("metadata": write only, *inside* the ticket of the update; "Setting Metadata"): Zendesk
stores it on the audit the update creates, under ``metadata.custom``
(https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_audits/). A
``metadata`` beside ``ticket`` is ignored, and an update that changes nothing creates no
audit; every update here carries a change, as a comment always is one.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from seamline.connectors._base import Connector, ConnectorOptions, Params, Reply
from seamline.connectors._errors import ConnectorError
from seamline.connectors._paths import fill
from seamline.errors import ConfigError

METADATA_KEY = "seamline_idempotency_key"
AUDIT_PAGES, AUDIT_PAGE_SIZE = 10, 100  # 100 is the most a page of audits holds


class ZendeskOptions(ConnectorOptions):
    subdomain: str | None = Field(None, description="acme for https://acme.zendesk.com")
    email_env: str = "ZENDESK_EMAIL"
    token_env: str = "ZENDESK_API_TOKEN"


class UpdateTicket(Params):
    id: int
    comment: str | None = None
    public: bool = False
    status: str | None = None
    priority: str | None = None
    tags: list[str] | None = None
    fields: dict[str, Any] = Field(default_factory=dict, description="Other ticket fields.")


class ZendeskReply(Reply):
    ticket: dict[str, Any] | None = None
    audit: dict[str, Any] | None = None


class ZendeskConnector(Connector):
    """Zendesk Support API v2 (API token auth); idempotency on our side."""

    name = "zendesk"
    api_version = "v2"  # in every path: /api/v2/…
    idempotency = "ours"
    operations = ("update_ticket", "add_comment")
    Options = ZendeskOptions
    credentials = ("email_env", "token_env")
    options: ZendeskOptions

    def __init__(self, options=None, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        if not self.options.base_url and not self.options.subdomain:
            raise ConfigError("The zendesk connector needs the option subdomain (or base_url).")
        email, token = self.secret("email_env"), self.secret("token_env")
        self._http = self.http({}, auth=(f"{email}/token", str(token)),
                               default_base_url=f"https://{self.options.subdomain}.zendesk.com")

    def vendor_message(self, body: Any) -> str:
        if isinstance(body, dict):
            error, description = body.get("error"), body.get("description")
            if isinstance(error, dict):  # {"error": {"title", "message"}} on some endpoints
                error = error.get("message") or error.get("title")
            parts = [x for x in (error, description) if isinstance(x, str)]
            details = body.get("details")
            if isinstance(details, dict):
                parts += [desc for v in details.values() if isinstance(v, list)
                          for d in v if isinstance(d, dict)
                          and isinstance(desc := d.get("description"), str)]
            return ": ".join(parts)
        return ""

    def update_ticket(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Update the ticket (and add the comment) once per key; returns ``{"ticket_id", "audit_id"}``."""
        p = self.params(UpdateTicket, params, "update_ticket")
        ticket: dict[str, Any] = {**p.fields, **p.model_dump(
            include={"status", "priority", "tags"}, exclude_none=True)}
        if p.comment:
            ticket["comment"] = {"body": p.comment, "public": p.public}
        given = ticket.get("metadata")
        theirs: dict[str, Any] = given if isinstance(given, dict) else {}
        # Inside the ticket: Zendesk keeps it on this update's audit, in metadata.custom.
        ticket["metadata"] = {**theirs, METADATA_KEY: idempotency_key}
        body = {"ticket": ticket}
        path = fill("/api/v2/tickets/{id}.json", {"id": p.id}, connector=self.name)

        def send() -> dict[str, Any]:
            response = self._http.request("PUT", path, json=body)
            reply = self.reply(response, ZendeskReply, "update_ticket", proof=("ticket.id",))
            return {"ticket_id": (reply.ticket or {}).get("id"),
                    "audit_id": (reply.audit or {}).get("id")}

        def verify(since: float) -> dict[str, Any] | None:
            return self._find(p.id, idempotency_key)

        return self.once(idempotency_key, send, verify=verify, what="update_ticket")

    def add_comment(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Add a comment (private unless ``public``) once per key: an update with only a comment."""
        if not params.get("comment"):
            params = {**params, "comment": params.get("body")}
            params.pop("body", None)
        return self.update_ticket(params, idempotency_key=idempotency_key)

    def _find(self, ticket_id: int, key: str) -> dict[str, Any] | None:
        """The audit of our update, if the ticket has it (None when absent or unreadable).

        Lists the ticket's audits with cursor pagination (``page[size]``, ``page[after]``,
        ``meta.has_more``: https://developer.zendesk.com/api-reference/introduction/pagination/),
        at most ``AUDIT_PAGES`` pages, looking for our key in each audit's ``metadata.custom``.
        """
        path = fill("/api/v2/tickets/{id}/audits.json", {"id": ticket_id}, connector=self.name)
        query = {"page[size]": str(AUDIT_PAGE_SIZE)}
        for _ in range(AUDIT_PAGES):
            try:
                response = self._http.request("GET", path, params=query)
                reply = self.reply(response, Reply, "list_audits", proof=("audits",))
            except ConnectorError:
                return None  # cannot check: the ledger refuses rather than guess
            data = reply.model_dump()
            for audit in data.get("audits") or []:
                metadata = audit.get("metadata") if isinstance(audit, dict) else None
                custom = metadata.get("custom") if isinstance(metadata, dict) else None
                if isinstance(custom, dict) and custom.get(METADATA_KEY) == key:
                    return {"ticket_id": ticket_id, "audit_id": audit.get("id"), "recovered": True}
            meta = data.get("meta")
            cursor = meta.get("after_cursor") if isinstance(meta, dict) else None
            if not (isinstance(meta, dict) and meta.get("has_more") and isinstance(cursor, str)
                    and cursor):
                return None
            query = {"page[size]": str(AUDIT_PAGE_SIZE), "page[after]": cursor}
        return None
