"""``zendesk``: update a ticket and add a comment (Support API v2).

Zendesk takes no idempotency key on updates, so sends are recorded on our side and
carry the key in the update's audit metadata; after an interrupted attempt the
ticket's audits are searched for it before anything is sent again.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from seamline.connectors._base import Connector, ConnectorOptions, Params, Reply
from seamline.connectors._errors import ConnectorError
from seamline.errors import ConfigError

METADATA_KEY = "seamline_idempotency_key"


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
        body = {"ticket": ticket, "metadata": {"custom": {METADATA_KEY: idempotency_key}}}
        path = f"/api/v2/tickets/{p.id}.json"

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
        """The audit of our update, if the ticket has it (newest first, at most 5 pages)."""
        path: str | None = f"/api/v2/tickets/{ticket_id}/audits.json?sort_order=desc"
        for _ in range(5):
            if not path:
                return None
            try:
                response = self._http.request("GET", path)
                reply = self.reply(response, Reply, "list_audits", proof=("audits",))
            except ConnectorError:
                return None
            data = reply.model_dump()
            for audit in data.get("audits") or []:
                custom = ((audit or {}).get("metadata") or {}).get("custom") or {}
                if custom.get(METADATA_KEY) == key:
                    return {"ticket_id": ticket_id, "audit_id": audit.get("id"), "recovered": True}
            path = data.get("next_page") if isinstance(data.get("next_page"), str) else None
        return None
