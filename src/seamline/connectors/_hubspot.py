"""``hubspot``: update a CRM record and add a note to one (CRM API v3).

HubSpot takes no idempotency key, so sends are recorded on our side. After an
interrupted update the record is read back: if it already holds the values, that was
our update; a note cannot be found again, so an interrupted one is left to a person.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from seamline.connectors import _hubspot_objects as objects
from seamline.connectors._base import Connector, ConnectorOptions, Params, Reply
from seamline.connectors._errors import BadParams, ConnectorError
from seamline.connectors._paths import fill

# HubSpot-defined association types from a note to each object type.
NOTE_ASSOCIATION = {"contacts": 202, "companies": 190, "deals": 214, "tickets": 228}


class HubSpotOptions(ConnectorOptions):
    token_env: str = "HUBSPOT_ACCESS_TOKEN"
    object_type: str = Field("contacts", description="Default object type when params name none.")


class UpdateRecord(Params):
    id: str = Field(min_length=1)
    properties: dict[str, Any] = Field(min_length=1)
    object_type: str | None = None


class AddNote(Params):
    id: str = Field(min_length=1, description="The record the note is attached to.")
    body: str = Field(min_length=1)
    object_type: str | None = None
    timestamp_ms: int | None = None


class HubSpotObject(Reply):
    id: str | None = None
    properties: dict[str, Any] | None = None
    updatedAt: str | None = None
    createdAt: str | None = None


class HubSpotConnector(Connector):
    """HubSpot CRM v3 (private app token); idempotency on our side."""

    name = "hubspot"
    api_version = "crm-v3"  # in every path: /crm/v3/…
    idempotency = "ours"
    operations = ("update_record", "add_note", "create_record", "upsert_record", "associate")
    Options = HubSpotOptions
    credentials = ("token_env",)
    default_base_url = "https://api.hubapi.com"
    supports_oauth = True  # a public app's OAuth token instead of a private app token
    options: HubSpotOptions

    def __init__(self, options=None, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        # auth: oauth puts a fresh bearer token on every request (see Connector.http)
        headers = {} if self.oauth else {"Authorization": f"Bearer {self.secret('token_env')}"}
        self._http = self.http(headers)

    def vendor_message(self, body: Any) -> str:
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            category = body.get("category")
            return body["message"] + (f" ({category})" if isinstance(category, str) else "")
        return super().vendor_message(body)

    def update_record(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """PATCH the record's properties once per key; returns ``{"id", "updated_at"}``."""
        p = self.params(UpdateRecord, params, "update_record")
        path = fill("/crm/v3/objects/{object_type}/{id}", {
            "object_type": p.object_type or self.options.object_type, "id": p.id},
            connector=self.name)

        def send() -> dict[str, Any]:
            response = self._http.request("PATCH", path, json={"properties": p.properties})
            reply = self.reply(response, HubSpotObject, "update_record", proof=("id",))
            return {"id": reply.id, "updated_at": reply.updatedAt}

        def verify(since: float) -> dict[str, Any] | None:
            try:
                response = self._http.request("GET", path,
                                              params={"properties": ",".join(p.properties)})
                reply = self.reply(response, HubSpotObject, "read_record", proof=("id",))
            except ConnectorError:
                return None
            now = reply.properties or {}
            if all(str(now.get(k)) == str(v) for k, v in p.properties.items()):
                return {"id": reply.id, "updated_at": reply.updatedAt, "recovered": True}
            return None

        return self.once(idempotency_key, send, verify=verify, what="update_record")

    def add_note(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Create a note associated with the record, once per key; returns ``{"id"}``."""
        p = self.params(AddNote, params, "add_note")
        object_type = p.object_type or self.options.object_type
        type_id = NOTE_ASSOCIATION.get(object_type)
        if type_id is None:
            raise BadParams(f"hubspot.add_note can attach a note to {', '.join(NOTE_ASSOCIATION)}, "
                            f"not {object_type!r}.", connector=self.name)
        body = {
            "properties": {"hs_note_body": p.body,
                           "hs_timestamp": str(p.timestamp_ms or int(time.time() * 1000))},
            "associations": [{"to": {"id": p.id}, "types": [
                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}],
        }

        def send() -> dict[str, Any]:
            response = self._http.request("POST", "/crm/v3/objects/notes", json=body)
            reply = self.reply(response, HubSpotObject, "add_note", proof=("id",))
            return {"id": reply.id}

        return self.once(idempotency_key, send, what="add_note")

    # create, upsert by a unique property, associate: see _hubspot_objects

    def create_record(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Create a record (with associations) once per key; returns ``{"id"}``."""
        return objects.create_record(self, self._http, self.options.object_type, params,
                                     idempotency_key)

    def upsert_record(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Create or update the record whose unique ``id_property`` is ``id``; ``{"id", "created"}``."""
        return objects.upsert_record(self, self._http, self.options.object_type, params,
                                     idempotency_key)

    def associate(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Associate two records (v4 PUT, a set: twice leaves one); ``{"from_id", "to_id"}``."""
        return objects.associate(self, self._http, params, idempotency_key)
