"""``pipedrive``: persons, organizations and deals created and updated, and notes (API v2 / v1).

Pipedrive takes no idempotency key, so every send is recorded on our side, and after an
interrupted attempt the vendor is asked whether it acted:

- a create writes the action's key into a custom text field named per entity by the
  option ``key_fields`` (``{"persons": "<field key>"}``), and is found again with an exact
  search on custom fields; without a key field an interrupted create is refused;
- an update is confirmed by reading the item back (it holds the values);
- a note is found among the target's notes, newest first, paging until older than the
  attempt: same text, added since the attempt started.

No official Python SDK (the PyPI ones are community wrappers with their own retries), so
it goes through the shared transport. Docs: https://developers.pipedrive.com/docs/api/v1
(Persons, Organizations, Deals in v2; Notes in v1; rate limits:
https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, model_validator

from seamline.connectors import _ratelimit
from seamline.connectors._base import Connector, ConnectorOptions, Params, Reply
from seamline.connectors._errors import BadParams, ConnectorError, VendorRejected
from seamline.connectors._paths import fill
from seamline.connectors._text import same_text
from seamline.errors import ConfigError

Entity = Literal["persons", "organizations", "deals"]
REQUIRED: dict[str, str] = {"persons": "name", "organizations": "name", "deals": "title"}
NOTE_TARGETS = ("deal_id", "person_id", "org_id", "lead_id")
SKEW_S = 120.0  # the vendor's clock against ours, when matching "added since the attempt"
LOOKUP_PAGES = 5


class PipedriveOptions(ConnectorOptions):
    token_env: str = "PIPEDRIVE_API_TOKEN"
    company_domain: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9-]*$",
                                       description="acme for https://acme.pipedrive.com")
    key_fields: dict[Entity, str] = Field(
        default_factory=dict, description="Per entity, the key of a custom text field that "
        "holds the action's key, so an interrupted create can be found again.")


class CreateItem(Params):
    fields: dict[str, Any] = Field(min_length=1, description="The v2 body: name, emails, …")
    custom_fields: dict[str, Any] = Field(default_factory=dict)


class UpdateItem(Params):
    id: int | str
    fields: dict[str, Any] = Field(default_factory=dict)
    custom_fields: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _changes_something(self) -> UpdateItem:
        if not self.fields and not self.custom_fields:
            raise ValueError("an update sets fields or custom_fields")
        return self


class AddNote(Params):
    content: str = Field(min_length=1)
    deal_id: int | None = None
    person_id: int | None = None
    org_id: int | None = None
    lead_id: str | None = None

    @model_validator(mode="after")
    def _has_a_target(self) -> AddNote:
        if all(getattr(self, t) is None for t in NOTE_TARGETS):
            raise ValueError(f"a note is attached to one of {', '.join(NOTE_TARGETS)}")
        return self


class Envelope(Reply):
    success: bool | None = None
    data: Any = None
    additional_data: Any = None


class PipedriveConnector(Connector):
    """Pipedrive (API token); idempotency on our side, checked against the vendor."""

    name = "pipedrive"
    api_version = "v2"  # in every path: /api/v2/… (notes: /api/v1/…)
    idempotency = "ours"
    operations = ("create_person", "update_person", "create_organization",
                  "update_organization", "create_deal", "update_deal", "add_note")
    Options = PipedriveOptions
    credentials = ("token_env",)
    options: PipedriveOptions

    def __init__(self, options=None, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        if not self.options.base_url and not self.options.company_domain:
            raise ConfigError("The pipedrive connector needs the option company_domain "
                              "(or base_url).")
        token = self.secret("token_env")
        self._http = self.http(
            {"x-api-token": str(token), "Accept": "application/json"},
            default_base_url=f"https://{self.options.company_domain}.pipedrive.com")
        _ratelimit.install(self._http.client, "seconds")  # x-ratelimit-reset: seconds left

    @classmethod
    def option_problems(cls, options: ConnectorOptions) -> list[str]:
        if not options.base_url and not getattr(options, "company_domain", None):
            return ["The pipedrive connector needs the option company_domain (or base_url)."]
        return []

    def vendor_message(self, body: Any) -> str:
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            code = body.get("code")
            return body["error"] + (f" ({code})" if isinstance(code, str) else "")
        return super().vendor_message(body)

    # -- operations (thin: the entity is the only difference) --------------------------

    def create_person(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Create a person (``fields.name`` required) once per key; returns ``{"id"}``."""
        return self._create("persons", params, idempotency_key)

    def update_person(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Update a person's fields once per key; returns ``{"id"}``."""
        return self._update("persons", params, idempotency_key)

    def create_organization(self, params: dict[str, Any], *,
                            idempotency_key: str) -> dict[str, Any]:
        """Create an organization (``fields.name`` required) once per key; returns ``{"id"}``."""
        return self._create("organizations", params, idempotency_key)

    def update_organization(self, params: dict[str, Any], *,
                            idempotency_key: str) -> dict[str, Any]:
        """Update an organization's fields once per key; returns ``{"id"}``."""
        return self._update("organizations", params, idempotency_key)

    def create_deal(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Create a deal (``fields.title`` required) once per key; returns ``{"id"}``."""
        return self._create("deals", params, idempotency_key)

    def update_deal(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Update a deal's fields once per key; returns ``{"id"}``."""
        return self._update("deals", params, idempotency_key)

    def add_note(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Attach a note to a deal, person, organization or lead once per key; returns ``{"id"}``.

        After an interrupted attempt the target's notes are searched (newest first) for
        one with the same text added since the attempt began.
        """
        p = self.params(AddNote, params, "add_note")
        body = p.model_dump(exclude_none=True)

        def send() -> dict[str, Any]:
            response = self._http.request("POST", "/api/v1/notes", json=body)
            return {"id": self._data(response, "add_note")["id"]}

        def verify(since: float) -> dict[str, Any] | None:
            target = next(t for t in NOTE_TARGETS if getattr(p, t) is not None)
            return self._find_note(target, getattr(p, target), p.content, since)

        return self.once(idempotency_key, send, verify=verify, what="add_note")

    # -- the shared work ---------------------------------------------------------------

    def _create(self, entity: Entity, params: dict[str, Any], key: str) -> dict[str, Any]:
        operation = f"create_{entity.removesuffix('s')}"
        p = self.params(CreateItem, params, operation)
        need = REQUIRED[entity]
        if not p.fields.get(need):
            raise BadParams(f"pipedrive.{operation} needs fields.{need}.", connector=self.name)
        custom = dict(p.custom_fields)
        key_field = self.options.key_fields.get(entity)
        if key_field:
            custom[key_field] = key
        body = {**p.fields, **({"custom_fields": custom} if custom else {})}

        def send() -> dict[str, Any]:
            response = self._http.request("POST", f"/api/v2/{entity}", json=body)
            return {"id": self._data(response, operation)["id"]}

        def verify(since: float) -> dict[str, Any] | None:
            try:
                response = self._http.request("GET", f"/api/v2/{entity}/search", params={
                    "term": key, "fields": "custom_fields", "exact_match": "true", "limit": 2})
                data = self._data(response, f"search_{entity}", proof="data.items")
            except ConnectorError:
                return None
            # The key is ours alone: an exact match on a custom field is our item.
            for found in data.get("items") or []:
                item = (found or {}).get("item") or {}
                if item.get("id") is not None:
                    return {"id": item["id"], "recovered": True}
            return None

        return self.once(key, send, verify=verify if key_field else None, what=operation)

    def _update(self, entity: Entity, params: dict[str, Any], key: str) -> dict[str, Any]:
        operation = f"update_{entity.removesuffix('s')}"
        p = self.params(UpdateItem, params, operation)
        path = fill("/api/v2/{entity}/{id}", {"entity": entity, "id": p.id}, connector=self.name)
        body = {**p.fields, **({"custom_fields": p.custom_fields} if p.custom_fields else {})}

        def send() -> dict[str, Any]:
            response = self._http.request("PATCH", path, json=body)
            return {"id": self._data(response, operation)["id"]}

        def verify(since: float) -> dict[str, Any] | None:
            try:
                item = self._data(self._http.request("GET", path), f"get_{entity}")
            except ConnectorError:
                return None
            custom = item.get("custom_fields") or {}
            if all(_same(item.get(k), v) for k, v in p.fields.items()) and all(
                    _same(custom.get(k), v) for k, v in p.custom_fields.items()):
                return {"id": item["id"], "recovered": True}
            return None

        return self.once(key, send, verify=verify, what=operation)

    def _data(self, response: Any, operation: str, *, proof: str = "data.id") -> dict[str, Any]:
        """The ``data`` of a Pipedrive envelope, which must hold ``proof``."""
        reply = self.reply(response, Envelope, operation, proof=(proof,))
        if reply.success is False:
            raise VendorRejected(f"pipedrive answered {operation} with success false: "
                                 f"{self.vendor_message(reply.model_dump())}.",
                                 connector=self.name, status=response.status_code)
        return reply.data

    def _find_note(self, target: str, target_id: int | str, content: str,
                   since: float) -> dict[str, Any] | None:
        start: int | None = 0
        for _ in range(LOOKUP_PAGES):
            if start is None:
                return None
            try:
                response = self._http.request("GET", "/api/v1/notes", params={
                    target: target_id, "sort": "add_time DESC", "start": start, "limit": 100})
                reply = self.reply(response, Envelope, "list_notes", proof=("success",))
            except ConnectorError:
                return None
            for note in reply.data or []:
                added = _epoch(note.get("add_time"))
                if added is not None and added < since - SKEW_S:
                    return None  # newest first: the rest are older than our attempt
                if same_text(note.get("content"), content):
                    return {"id": note.get("id"), "recovered": True}
            paging = ((reply.additional_data or {}).get("pagination") or {})
            start = paging.get("next_start") if paging.get("more_items_in_collection") else None
        return None


def _epoch(value: Any) -> float | None:
    """Pipedrive's ``2026-11-25 10:00:00`` (UTC) or ISO-8601 as a Unix time; None if garbled."""
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value)  # 3.11+ reads a trailing Z
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


def _same(now: Any, wanted: Any) -> bool:
    return now == wanted or (now is not None and not isinstance(wanted, dict | list)
                             and str(now) == str(wanted))
