"""``intercom``: contacts upserted by external id and updated, conversation replies and notes.

Intercom-Version is pinned (2.11) on every request. A contact's ``external_id`` is unique
per workspace, so ``upsert_contact`` searches for it and updates, or creates (a 409
conflict names the contact that won a race, which is then updated): a rerun finds what
the first attempt made. Replies, notes and updates take no key, so they are recorded on
our side; after an interrupted reply or note the conversation's parts are read (as plain
text) for one of ours — same type, same admin, same text, made since the attempt began —
and an interrupted update is confirmed by reading the contact back.

The official SDK (python-intercom) brings its own client and retries, so this goes
through the shared transport. Docs: https://developers.intercom.com/docs/references/rest-api/api.intercom.io/
(Contacts: createContact, SearchContacts, UpdateContact; Conversations: replyConversation,
retrieveConversation; rate limits: X-RateLimit-Reset is a Unix time).
"""

from __future__ import annotations

import re
from typing import Any, Literal

import httpx
from pydantic import Field

from seamline.connectors import _ratelimit
from seamline.connectors._base import Connector, ConnectorOptions, Params, Reply
from seamline.connectors._errors import BadParams, ConnectorError, UnexpectedReply
from seamline.connectors._paths import fill
from seamline.connectors._text import same_text

API_VERSION = "2.11"
REGIONS = {"us": "https://api.intercom.io", "eu": "https://api.eu.intercom.io",
           "au": "https://api.au.intercom.io"}
SKEW_S = 120.0  # the vendor's clock against ours, when matching "made since the attempt"
_CONFLICT_ID = re.compile(r"\bid=([0-9a-f]+)\b")


class IntercomOptions(ConnectorOptions):
    token_env: str = "INTERCOM_ACCESS_TOKEN"
    api_version: str = Field(API_VERSION, pattern=r"^\d+\.\d+$")
    region: Literal["us", "eu", "au"] = "us"
    admin_id: str | None = Field(None, description="The admin who replies and notes, "
                                 "unless params name one.")


class ContactFields(Params):
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    owner_id: int | None = None
    unsubscribed_from_emails: bool | None = None
    custom_attributes: dict[str, Any] | None = None


class UpsertContact(ContactFields):
    external_id: str = Field(min_length=1)
    role: Literal["user", "lead"] = "user"


class UpdateContact(ContactFields):
    id: str = Field(min_length=1)


class ConversationPart(Params):
    id: str = Field(min_length=1, description="The conversation.")
    body: str = Field(min_length=1)
    admin_id: str | None = None
    attachment_urls: list[str] | None = Field(None, max_length=10)


class IntercomObject(Reply):
    type: str | None = None
    id: str | None = None


class IntercomConnector(Connector):
    """Intercom REST API (access token, Intercom-Version pinned)."""

    name = "intercom"
    api_version = API_VERSION  # sent as Intercom-Version
    idempotency = "ours"  # replies, notes, updates; contacts dedupe on external_id
    operations = ("upsert_contact", "update_contact", "reply_to_conversation",
                  "add_conversation_note")
    Options = IntercomOptions
    credentials = ("token_env",)
    options: IntercomOptions

    def __init__(self, options=None, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        token = self.secret("token_env")
        self._http = self.http({"Authorization": f"Bearer {token}", "Accept": "application/json",
                                "Intercom-Version": self.version},
                               default_base_url=REGIONS[self.options.region])
        _ratelimit.install(self._http.client, "epoch")  # X-RateLimit-Reset: a Unix time

    def vendor_message(self, body: Any) -> str:
        """Intercom errors: ``{"type": "error.list", "errors": [{"code", "message"}]}``."""
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list):
            return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors[:5]
                             if isinstance(e, dict))
        return super().vendor_message(body)

    # -- contacts ----------------------------------------------------------------------

    def upsert_contact(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Create or update the contact with this ``external_id``; returns ``{"id", "created"}``.

        The vendor keeps one contact per external id, so a rerun updates what an earlier
        attempt created instead of making a second one.
        """
        p = self.params(UpsertContact, params, "upsert_contact")
        fields = p.model_dump(exclude_none=True, exclude={"external_id", "role"})
        found = self._search_external_id(p.external_id)
        if found is not None:
            return {"id": self._put_contact(found, fields, "upsert_contact"), "created": False}
        response = self._http.request("POST", "/contacts", json={
            "role": p.role, "external_id": p.external_id, **fields})
        if response.status_code == 409 and (match := _CONFLICT_ID.search(
                self.vendor_message(self.body(response)))):
            # Created meanwhile (search lags writes, or a crashed attempt): update that one.
            self.observe("upsert_contact.error", self.body(response))
            return {"id": self._put_contact(match.group(1), fields, "upsert_contact"),
                    "created": False}
        # any other refusal (a 409 naming no contact too) raises here with its sentence
        contact = self.reply(response, IntercomObject, "upsert_contact", proof=("id",))
        return {"id": contact.id, "created": True}

    def update_contact(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Set a contact's fields once per key; returns ``{"id"}``.

        After an interrupted attempt the contact is read back: holding the values means
        our update landed, and it is not sent again.
        """
        p = self.params(UpdateContact, params, "update_contact")
        fields = p.model_dump(exclude_none=True, exclude={"id"})
        if not fields:
            raise BadParams("intercom.update_contact needs at least one field to set.",
                            connector=self.name)
        path = fill("/contacts/{id}", {"id": p.id}, connector=self.name)

        def send() -> dict[str, Any]:
            return {"id": self._put_contact(p.id, fields, "update_contact")}

        def verify(since: float) -> dict[str, Any] | None:
            try:
                contact = self.reply(self._http.request("GET", path), IntercomObject,
                                     "get_contact", proof=("id",)).model_dump()
            except ConnectorError:
                return None
            custom = contact.get("custom_attributes") or {}
            wanted = dict(fields)
            if all(custom.get(k) == v for k, v in (wanted.pop("custom_attributes", {})).items()) \
                    and all(contact.get(k) == v for k, v in wanted.items()):
                return {"id": contact["id"], "recovered": True}
            return None

        return self.once(idempotency_key, send, verify=verify, what="update_contact")

    # -- conversations -----------------------------------------------------------------

    def reply_to_conversation(self, params: dict[str, Any], *,
                              idempotency_key: str) -> dict[str, Any]:
        """Reply to the customer as an admin, once per key; returns ``{"conversation_id", "part_id"}``."""
        return self._part("comment", "reply_to_conversation", params, idempotency_key)

    def add_conversation_note(self, params: dict[str, Any], *,
                              idempotency_key: str) -> dict[str, Any]:
        """Add an internal note (teammates only), once per key; returns ``{"conversation_id", "part_id"}``."""
        return self._part("note", "add_conversation_note", params, idempotency_key)

    def _part(self, kind: Literal["comment", "note"], operation: str, params: dict[str, Any],
              key: str) -> dict[str, Any]:
        p = self.params(ConversationPart, params, operation)
        admin = p.admin_id or self.options.admin_id
        if not admin:
            raise BadParams(f"intercom.{operation} needs admin_id (in params or options).",
                            connector=self.name)
        body: dict[str, Any] = {"message_type": kind, "type": "admin", "admin_id": admin,
                                "body": p.body}
        if p.attachment_urls:
            body["attachment_urls"] = p.attachment_urls
        path = fill("/conversations/{id}", {"id": p.id}, connector=self.name)

        def send() -> dict[str, Any]:
            response = self._http.request("POST", f"{path}/reply", json=body)
            conversation = self.reply(response, IntercomObject, operation,
                                      proof=("id", "conversation_parts")).model_dump()
            parts = _parts(conversation)
            return {"conversation_id": conversation["id"],
                    "part_id": parts[-1].get("id") if parts else None}

        def verify(since: float) -> dict[str, Any] | None:
            try:
                response = self._http.request("GET", path, params={"display_as": "plaintext"})
                conversation = self.reply(response, IntercomObject, "get_conversation",
                                          proof=("id",)).model_dump()
            except ConnectorError:
                return None
            for part in reversed(_parts(conversation)):
                author = part.get("author") or {}
                made = part.get("created_at")
                if (part.get("part_type") == kind and str(author.get("id")) == admin
                        and isinstance(made, int | float) and made >= since - SKEW_S
                        and same_text(part.get("body"), p.body)):
                    return {"conversation_id": conversation["id"], "part_id": part.get("id"),
                            "recovered": True}
            return None

        return self.once(key, send, verify=verify, what=operation)

    # -- helpers -----------------------------------------------------------------------

    def _search_external_id(self, external_id: str) -> str | None:
        response = self._http.request("POST", "/contacts/search", json={
            "query": {"field": "external_id", "operator": "=", "value": external_id}})
        found = self.reply(response, IntercomObject, "search_contacts", proof=("data",))
        data = found.model_dump().get("data")
        matches = [c for c in data if isinstance(c, dict) and c.get("id")] \
            if isinstance(data, list) else []
        if len(matches) > 1:
            raise UnexpectedReply(f"intercom has {len(matches)} contacts with external_id "
                                  f"{external_id!r}, which should be unique; nothing was "
                                  "changed.", connector=self.name, status=200, sent=False)
        return str(matches[0]["id"]) if matches else None

    def _put_contact(self, contact_id: str, fields: dict[str, Any], operation: str) -> str:
        path = fill("/contacts/{id}", {"id": contact_id}, connector=self.name)
        response: httpx.Response = self._http.request("PUT", path, json=fields)
        contact = self.reply(response, IntercomObject, operation, proof=("id",))
        return str(contact.id)


def _parts(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    parts = (conversation.get("conversation_parts") or {})
    listed = parts.get("conversation_parts") if isinstance(parts, dict) else None
    return [x for x in listed if isinstance(x, dict)] if isinstance(listed, list) else []
