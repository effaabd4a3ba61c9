"""Stateful local fakes of CRM and support vendors, speaking their documented wire formats.

Each fake mounts on a :class:`~seamline.connectors.testing.VendorServer` (real HTTP on
127.0.0.1) and keeps records like the vendor does, so tests count *effects at the vendor*
(``fake.effects``: what was created or changed) rather than requests: a crash-recovery
test passes only when a rerun leaves no second effect. Each class names the documentation
page it follows. Paths are read raw and split on ``/`` before decoding, as a vendor's router
does, so an id that was not encoded as one segment shows up as a different path.

Test modules star-import it, which registers ``crm_credentials`` (autouse).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import unquote

import pytest

from seamline.connectors.testing import RecordedRequest, Reply, VendorServer

__all__ = ["FakeHubSpot", "FakeIntercom", "FakePipedrive", "FakeSalesforce", "crm_credentials"]

TOKENS = {"SALESFORCE_ACCESS_TOKEN": "sf-token", "PIPEDRIVE_API_TOKEN": "pd-token",
          "INTERCOM_ACCESS_TOKEN": "ic-token"}


@pytest.fixture(autouse=True)
def crm_credentials(monkeypatch):
    for name, value in TOKENS.items():
        monkeypatch.setenv(name, value)


def segments(path: str) -> list[str]:
    """The path's segments, split before decoding (``a%2Fb`` stays one segment ``a/b``)."""
    return [unquote(s) for s in path.split("/")[1:]]


class FakeVendor:
    """Shared plumbing: a lock, an effect log, and replies queued ahead of the vendor logic."""

    def __init__(self, server: VendorServer) -> None:
        self.server = server
        self.effects: list[tuple[str, ...]] = []
        self._lock = threading.RLock()
        self._ahead: list[Reply] = []
        self._ids = itertools.count(1)

    def interrupt(self, *replies: Reply) -> None:
        """Answer the next requests with these (a 429, a 503…) before the vendor logic runs."""
        self._ahead.extend(replies)

    def _next_reply(self) -> Reply | None:
        with self._lock:
            return self._ahead.pop(0) if self._ahead else None

    def count(self, kind: str) -> int:
        return sum(1 for e in self.effects if e[0] == kind)


class FakeSalesforce(FakeVendor):
    """Salesforce REST API v62.0, as documented at
    https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/ :

    - create ``POST /services/data/vXX.X/sobjects/{SObject}/`` → 201
      ``{"id", "success": true, "errors": []}`` (dome_sobject_create.htm);
    - update ``PATCH …/sobjects/{SObject}/{id}`` → 204, no body (dome_update_fields.htm);
    - upsert ``PATCH …/sobjects/{SObject}/{ExtIdField}/{value}`` → 201 ``created: true``,
      200 ``created: false``, 300 with an array of record URLs when the value matches
      several, 404 ``NOT_FOUND`` for a field that is not an External ID (dsl_upsert.htm);
    - read ``GET …/sobjects/{SObject}/{id}?fields=a,b`` → the record with ``attributes``;
    - composite ``POST …/composite`` ``{"allOrNone", "compositeRequest": [{method, url,
      referenceId, body}]}`` → 200 ``{"compositeResponse": [{body, httpHeaders,
      httpStatusCode, referenceId}]}``; ``@{ref.id}`` in a body refers to an earlier step;
      with allOrNone a failure rolls all back and the others answer ``PROCESSING_HALTED``
      (resources_composite_composite.htm);
    - errors are a JSON array of ``{message, errorCode, fields}`` (errorcodes.htm): 401
      ``INVALID_SESSION_ID``, 400 ``REQUIRED_FIELD_MISSING``, 403 ``REQUEST_LIMIT_EXCEEDED``;
      every reply carries ``Sforce-Limit-Info: api-usage=N/15000``.
    """

    REQUIRED: ClassVar[dict[str, str]] = {"Account": "Name", "Contact": "LastName"}
    PREFIX: ClassVar[dict[str, str]] = {"Account": "001", "Contact": "003"}

    def __init__(self, server: VendorServer, *, token: str | Callable[[str], bool] = "sf-token",
                 version: str = "v62.0",
                 external_ids: tuple[str, ...] = ("Ext__c", "Seamline_Key__c")) -> None:
        super().__init__(server)
        self.token, self.version, self.external_ids = token, version, external_ids
        self.records: dict[str, dict[str, Any]] = {}  # id -> fields (with "sobject")
        self.usage = 0
        for method in ("GET", "POST", "PATCH"):
            server.route(method, "/services/data/*", self._handle)

    def add(self, sobject: str, **fields: Any) -> str:
        rid = f"{self.PREFIX.get(sobject, 'a00')}{next(self._ids):015d}"
        self.records[rid] = {"sobject": sobject, **fields}
        return rid

    def of(self, sobject: str) -> list[dict[str, Any]]:
        return [{"Id": k, **v} for k, v in self.records.items() if v["sobject"] == sobject]

    # -- the wire ----------------------------------------------------------------------

    def _handle(self, request: RecordedRequest) -> Reply:
        if (ahead := self._next_reply()) is not None:
            return ahead
        self.usage += 1
        limit = {"Sforce-Limit-Info": f"api-usage={self.usage}/15000"}
        presented = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not (self.token(presented) if callable(self.token) else presented == self.token):
            return Reply(401, [{"message": "Session expired or invalid",
                                "errorCode": "INVALID_SESSION_ID"}], headers=limit)
        body = request.json() if request.body else None
        with self._lock:
            status, answer = self._dispatch(request.method, request.path, body, request.query)
        return Reply(status, answer, headers=limit) if answer is not None else \
            Reply(status, text="", headers=limit)

    def _dispatch(self, method: str, path: str, body: Any,
                  query: dict[str, list[str]]) -> tuple[int, Any]:
        parts = segments(path)
        if parts[:3] != ["services", "data", self.version]:
            return 404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
        rest = parts[3:]
        if method == "POST" and rest == ["composite"]:
            return self._composite(body)
        if rest[:1] != ["sobjects"] or len(rest) < 2:
            return 404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
        sobject, tail = rest[1], [t for t in rest[2:]]
        if method == "POST" and tail in ([], [""]):
            return self._create(sobject, body or {})
        if method == "PATCH" and len(tail) == 1:
            return self._update(sobject, tail[0], body or {})
        if method == "PATCH" and len(tail) == 2:
            return self._upsert(sobject, tail[0], tail[1], body or {})
        if method == "GET" and len(tail) == 1:
            return self._read(sobject, tail[0], query)
        return 404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]

    def _missing(self, sobject: str, fields: dict[str, Any]) -> tuple[int, Any] | None:
        need = self.REQUIRED.get(sobject)
        if need and not fields.get(need):
            return 400, [{"message": f"Required fields are missing: [{need}]",
                          "errorCode": "REQUIRED_FIELD_MISSING", "fields": [need]}]
        return None

    def _create(self, sobject: str, fields: dict[str, Any]) -> tuple[int, Any]:
        if (refused := self._missing(sobject, fields)) is not None:
            return refused
        rid = self.add(sobject, **fields)
        self.effects.append(("create", sobject, rid))
        return 201, {"id": rid, "success": True, "errors": []}

    def _update(self, sobject: str, rid: str, fields: dict[str, Any]) -> tuple[int, Any]:
        record = self.records.get(rid)
        if record is None or record["sobject"] != sobject:
            return 404, [{"errorCode": "NOT_FOUND",
                          "message": "The requested resource does not exist"}]
        record.update(fields)
        self.effects.append(("update", sobject, rid))
        return 204, None

    def _upsert(self, sobject: str, field: str, value: str,
                fields: dict[str, Any]) -> tuple[int, Any]:
        if field not in self.external_ids:
            return 404, [{"errorCode": "NOT_FOUND", "message": "Provided external ID field does "
                          f"not exist or is not accessible: {field}"}]
        matches = [r for r in self.of(sobject) if str(r.get(field)) == value]
        if len(matches) > 1:
            return 300, [f"/services/data/{self.version}/sobjects/{sobject}/{m['Id']}"
                         for m in matches]
        if matches:
            rid = matches[0]["Id"]
            self.records[rid].update(fields)
            self.effects.append(("update", sobject, rid))
            return 200, {"id": rid, "success": True, "errors": [], "created": False}
        status, answer = self._create(sobject, {**fields, field: value})
        if status == 201:
            answer["created"] = True
        return status, answer

    def _read(self, sobject: str, rid: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        record = self.records.get(rid)
        if record is None or record["sobject"] != sobject:
            return 404, [{"errorCode": "NOT_FOUND",
                          "message": "The requested resource does not exist"}]
        wanted = (query.get("fields") or [""])[0].split(",")
        fields = {k: record.get(k) for k in wanted if k} or {
            k: v for k, v in record.items() if k != "sobject"}
        return 200, {"attributes": {"type": sobject, "url": f"/services/data/{self.version}/"
                                    f"sobjects/{sobject}/{rid}"}, "Id": rid, **fields}

    def _composite(self, body: dict[str, Any]) -> tuple[int, Any]:
        before = ({k: dict(v) for k, v in self.records.items()}, list(self.effects))
        ids: dict[str, str] = {}
        answers: list[dict[str, Any]] = []
        for step in body["compositeRequest"]:
            def refer(value: Any) -> Any:
                if isinstance(value, str):
                    return re.sub(r"@\{(\w+)\.id\}", lambda m: ids.get(m.group(1), m.group(0)),
                                  value)
                return value
            fields = {k: refer(v) for k, v in (step.get("body") or {}).items()}
            status, answer = self._dispatch(step["method"], step["url"], fields, {})
            if isinstance(answer, dict) and answer.get("id"):
                ids[step["referenceId"]] = answer["id"]
            answers.append({"body": answer, "httpHeaders": {}, "httpStatusCode": status,
                            "referenceId": step["referenceId"]})
        if body.get("allOrNone") and any(a["httpStatusCode"] >= 300 for a in answers):
            self.records, self.effects = before
            for a in answers:
                if a["httpStatusCode"] < 300:
                    a.update(httpStatusCode=400, body=[{
                        "errorCode": "PROCESSING_HALTED",
                        "message": "The transaction was rolled back since another operation "
                                   "in the same transaction failed."}])
        return 200, {"compositeResponse": answers}


def wire_time(ts: float) -> str:
    """An ISO-8601 UTC timestamp as vendors write them."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def dumps(value: Any) -> str:
    return json.dumps(value)


def pipedrive_time(ts: float) -> str:
    """Pipedrive's v1 timestamps: ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


class FakePipedrive(FakeVendor):
    """Pipedrive, as documented at https://developers.pipedrive.com/docs/api/v1 (and the v2
    pages it links, e.g. https://developers.pipedrive.com/docs/api/v1/Persons#addPerson):

    - ``POST /api/v2/{persons|organizations|deals}`` → 200 ``{"success": true, "data": {…,
      "id", "add_time", "custom_fields": {…}}}``; a missing name/title → 400
      ``{"success": false, "error": "Validation failed: …", "code": "ERR_SCHEMA_VALIDATION_FAILED"}``;
    - ``PATCH``/``GET /api/v2/{entity}/{id}`` → the item, or 404 ``"Person not found"``;
    - ``GET /api/v2/{entity}/search?term=&fields=custom_fields&exact_match=true`` →
      ``{"data": {"items": [{"result_score", "item": {"id", "type", "name", "custom_fields": [values]}}]},
      "additional_data": {"next_cursor": null}}``;
    - ``POST /api/v1/notes`` → 201 ``{"success": true, "data": {"id", "content", "add_time"}}``;
      ``GET /api/v1/notes?deal_id=&sort=add_time DESC&start=&limit=`` → ``data`` (null when
      none) and ``additional_data.pagination {start, limit, more_items_in_collection, next_start}``;
    - auth by the ``x-api-token`` header, else 401 ``"unauthorized access"``; rate limits
      (https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting): 429 with
      ``x-ratelimit-limit``, ``x-ratelimit-remaining`` and ``x-ratelimit-reset`` (seconds).
    """

    ENTITIES: ClassVar[dict[str, tuple[str, str]]] = {"persons": ("person", "name"), "organizations": ("organization", "name"),
                                                      "deals": ("deal", "title")}

    def __init__(self, server: VendorServer, *, token: str = "pd-token") -> None:
        super().__init__(server)
        self.token = token
        self.items: dict[str, dict[int, dict[str, Any]]] = {e: {} for e in self.ENTITIES}
        self.notes: list[dict[str, Any]] = []
        for method in ("GET", "POST", "PATCH"):
            server.route(method, "/api/*", self._handle)

    def throttle(self, reset_s: int) -> None:
        """Answer the next request with Pipedrive's 429 (no Retry-After, only x-ratelimit-*)."""
        self.interrupt(Reply(429, {"success": False, "error": "Request over limit",
                                   "errorCode": 429}, headers={
            "x-ratelimit-limit": "80", "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(reset_s)}))

    def add_note(self, content: str, added: float, **target: Any) -> dict[str, Any]:
        note = {"id": next(self._ids), "content": content, "add_time": pipedrive_time(added),
                **target}
        self.notes.append(note)
        return note

    def _handle(self, request: RecordedRequest) -> Reply:
        if (ahead := self._next_reply()) is not None:
            return ahead
        if request.headers.get("x-api-token") != self.token:
            return Reply(401, {"success": False, "error": "unauthorized access",
                               "errorCode": 401, "error_info": "Please check developers."
                               "pipedrive.com for more information about Pipedrive API."})
        parts = segments(request.path)
        body = request.json() if request.body else {}
        query = {k: v[-1] for k, v in request.query.items()}
        with self._lock:
            if parts[:2] == ["api", "v1"] and parts[2:] == ["notes"]:
                return self._notes(request.method, body, query)
            if parts[:2] != ["api", "v2"] or len(parts) < 3 or parts[2] not in self.ENTITIES:
                return Reply(404, {"success": False, "error": "Unknown method ."})
            entity, rest = parts[2], parts[3:]
            if request.method == "POST" and not rest:
                return self._create(entity, body)
            if request.method == "GET" and rest == ["search"]:
                return self._search(entity, query)
            if len(rest) == 1 and request.method in ("GET", "PATCH"):
                return self._item(entity, rest[0], body if request.method == "PATCH" else None)
        return Reply(404, {"success": False, "error": "Unknown method ."})

    def _create(self, entity: str, body: dict[str, Any]) -> Reply:
        _, need = self.ENTITIES[entity]
        if not str(body.get(need) or "").strip():
            return Reply(400, {"success": False, "error": f"Validation failed: {need}: "
                               "Parameter is required", "code": "ERR_SCHEMA_VALIDATION_FAILED",
                               "error_info": "Please check developers.pipedrive.com"})
        iid = next(self._ids)
        item = {"id": iid, **body, "custom_fields": body.get("custom_fields") or {},
                "add_time": wire_time(time.time()), "update_time": None}
        self.items[entity][iid] = item
        self.effects.append(("create", entity, str(iid)))
        return Reply(200, {"success": True, "data": item})

    def _item(self, entity: str, raw_id: str, changes: dict[str, Any] | None) -> Reply:
        item = self.items[entity].get(int(raw_id)) if raw_id.isdigit() else None
        if item is None:
            kind = self.ENTITIES[entity][0]
            return Reply(404, {"success": False, "error": f"{kind.capitalize()} not found",
                               "error_info": "Please check developers.pipedrive.com"})
        if changes is not None:
            custom = {**item["custom_fields"], **(changes.pop("custom_fields", None) or {})}
            item.update(changes, custom_fields=custom, update_time=wire_time(time.time()))
            self.effects.append(("update", entity, raw_id))
        return Reply(200, {"success": True, "data": item})

    def _search(self, entity: str, query: dict[str, str]) -> Reply:
        term, exact = query.get("term", ""), query.get("exact_match") == "true"
        fields = query.get("fields", "custom_fields").split(",")
        hits = []
        for item in self.items[entity].values():
            values = [str(v) for v in item["custom_fields"].values()] \
                if "custom_fields" in fields else []
            values += [str(item.get(f)) for f in fields if f != "custom_fields"]
            if any((v.lower() == term.lower()) if exact else (term.lower() in v.lower())
                   for v in values):
                hits.append({"result_score": 1.0, "item": {
                    "id": item["id"], "type": self.ENTITIES[entity][0],
                    "name": item.get("name") or item.get("title"),
                    "custom_fields": list(map(str, item["custom_fields"].values()))}})
        return Reply(200, {"success": True, "data": {"items": hits},
                           "additional_data": {"next_cursor": None}})

    def _notes(self, method: str, body: dict[str, Any], query: dict[str, str]) -> Reply:
        if method == "POST":
            if not body.get("content"):
                return Reply(400, {"success": False, "error": "Note content is required."})
            note = self.add_note(body["content"], time.time(),
                                 **{k: v for k, v in body.items() if k != "content"})
            self.effects.append(("note", str(note["id"])))
            return Reply(201, {"success": True, "data": note})
        targets = {k: v for k, v in query.items() if k.endswith("_id")}
        found = [n for n in self.notes if all(str(n.get(k)) == v for k, v in targets.items())]
        found.sort(key=lambda n: (n["add_time"], n["id"]), reverse=True)
        start, limit = int(query.get("start", 0)), int(query.get("limit", 100))
        page = found[start:start + limit]
        more = start + limit < len(found)
        return Reply(200, {"success": True, "data": page or None, "additional_data": {
            "pagination": {"start": start, "limit": limit, "more_items_in_collection": more,
                           **({"next_start": start + limit} if more else {})}}})


class FakeIntercom(FakeVendor):
    """Intercom REST API 2.11, as documented at
    https://developers.intercom.com/docs/references/rest-api/api.intercom.io/ :

    - ``POST /contacts`` → the contact (``{"type": "contact", "id", "external_id", "role",
      "custom_attributes", "created_at"}``); an external_id (or a user's email) already taken
      → 409 ``conflict`` "A contact matching those details already exists with id=…";
    - ``POST /contacts/search`` ``{"query": {"field", "operator": "=", "value"}}`` →
      ``{"type": "list", "data": [...], "total_count", "pages"}`` (with ``search_lag`` new
      contacts are not searchable yet, as the docs warn for freshly written data);
    - ``GET``/``PUT /contacts/{id}``; 404 ``not_found`` "User Not Found";
    - ``POST /conversations/{id}/reply`` ``{"message_type": "comment"|"note", "type": "admin",
      "admin_id", "body"}`` → the conversation with ``conversation_parts`` (bodies stored as
      HTML ``<p>…</p>``); ``GET /conversations/{id}?display_as=plaintext`` shows them as text;
    - errors ``{"type": "error.list", "request_id", "errors": [{"code", "message"}]}``: 401
      ``unauthorized`` "Access Token Invalid"; 429 ``rate_limit_exceeded`` with
      ``X-RateLimit-Limit``, ``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` (a Unix time).
    """

    def __init__(self, server: VendorServer, *, token: str = "ic-token",
                 admins: tuple[str, ...] = ("814860",)) -> None:
        super().__init__(server)
        self.token, self.admins = token, admins
        self.contacts: dict[str, dict[str, Any]] = {}
        self.conversations: dict[str, list[dict[str, Any]]] = {}
        self.search_lag = False
        self.versions: list[str | None] = []
        for method in ("GET", "POST", "PUT"):
            server.route(method, "/*", self._handle)

    def throttle(self, reset_in_s: int) -> None:
        self.interrupt(Reply(429, self._errors("rate_limit_exceeded", "Rate Limit Exceeded"),
                             headers={"X-RateLimit-Limit": "10000", "X-RateLimit-Remaining": "0",
                                      "X-RateLimit-Reset": str(int(time.time()) + reset_in_s)}))

    def conversation(self, cid: str) -> list[dict[str, Any]]:
        return self.conversations.setdefault(cid, [])

    def add_part(self, cid: str, kind: str, body: str, admin: str, made: float) -> dict[str, Any]:
        part = {"type": "conversation_part", "id": str(next(self._ids)), "part_type": kind,
                "body": f"<p>{body}</p>", "created_at": int(made), "updated_at": int(made),
                "author": {"type": "admin", "id": admin, "name": "Support", "email": "s@x.io"},
                "attachments": []}
        self.conversation(cid).append(part)
        return part

    @staticmethod
    def _errors(code: str, message: str) -> dict[str, Any]:
        return {"type": "error.list", "request_id": "req-1",
                "errors": [{"code": code, "message": message}]}

    def _handle(self, request: RecordedRequest) -> Reply:
        if (ahead := self._next_reply()) is not None:
            return ahead
        self.versions.append(request.headers.get("intercom-version"))
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, self._errors("unauthorized", "Access Token Invalid"))
        parts, body = segments(request.path), (request.json() if request.body else {})
        with self._lock:
            if parts == ["contacts"] and request.method == "POST":
                return self._create(body)
            if parts == ["contacts", "search"] and request.method == "POST":
                return self._search(body)
            if len(parts) == 2 and parts[0] == "contacts" and request.method in ("GET", "PUT"):
                return self._contact(parts[1], body if request.method == "PUT" else None)
            if len(parts) == 3 and parts[0] == "conversations" and parts[2] == "reply" \
                    and request.method == "POST":
                return self._reply(parts[1], body)
            if len(parts) == 2 and parts[0] == "conversations" and request.method == "GET":
                plain = request.query.get("display_as") == ["plaintext"]
                return self._show(parts[1], plain)
        return Reply(404, self._errors("not_found", "Resource Not Found"))

    def _create(self, body: dict[str, Any]) -> Reply:
        if body.get("role") not in ("user", "lead"):
            return Reply(400, self._errors("parameter_invalid", "role must be user or lead"))
        for c in self.contacts.values():
            if (body.get("external_id") and c.get("external_id") == body["external_id"]) or (
                    body.get("email") and c.get("email") == body["email"] and c["role"] == "user"):
                return Reply(409, self._errors(
                    "conflict", f"A contact matching those details already exists with id={c['id']}"))
        cid = f"{next(self._ids):024x}"
        contact = {"type": "contact", "id": cid, "workspace_id": "ecahpwf5",
                   "custom_attributes": {}, "created_at": int(time.time()), **body,
                   "searchable": not self.search_lag}
        self.contacts[cid] = contact
        self.effects.append(("create", cid))
        return Reply(200, {k: v for k, v in contact.items() if k != "searchable"})

    def _search(self, body: dict[str, Any]) -> Reply:
        q = body.get("query") or {}
        if q.get("operator") != "=":
            return Reply(400, self._errors("parameter_invalid", "operator not supported here"))
        found = [{k: v for k, v in c.items() if k != "searchable"} for c in self.contacts.values()
                 if c["searchable"] and str(c.get(q.get("field"))) == str(q.get("value"))]
        return Reply(200, {"type": "list", "data": found, "total_count": len(found),
                           "pages": {"type": "pages", "page": 1, "per_page": 50,
                                     "total_pages": 1}})

    def _contact(self, cid: str, changes: dict[str, Any] | None) -> Reply:
        contact = self.contacts.get(cid)
        if contact is None:
            return Reply(404, self._errors("not_found", "User Not Found"))
        if changes is not None:
            custom = {**contact["custom_attributes"], **(changes.pop("custom_attributes", None)
                                                         or {})}
            contact.update(changes, custom_attributes=custom)
            self.effects.append(("update", cid))
        return Reply(200, {k: v for k, v in contact.items() if k != "searchable"})

    def _reply(self, cid: str, body: dict[str, Any]) -> Reply:
        if cid not in self.conversations:
            return Reply(404, self._errors("not_found", "Resource Not Found"))
        if body.get("type") != "admin" or body.get("message_type") not in ("comment", "note"):
            return Reply(400, self._errors("parameter_invalid", "message_type is invalid"))
        if body.get("admin_id") not in self.admins:
            return Reply(404, self._errors("admin_not_found", "Admin not found"))
        part = self.add_part(cid, body["message_type"], body.get("body", ""), body["admin_id"],
                             time.time())
        self.effects.append((body["message_type"], cid, part["id"]))
        return self._show(cid, plain=False)

    def _show(self, cid: str, plain: bool) -> Reply:
        if cid not in self.conversations:
            return Reply(404, self._errors("not_found", "Resource Not Found"))
        parts = [dict(p, body=re.sub(r"</?p>", "", p["body"])) if plain else p
                 for p in self.conversations[cid]]
        return Reply(200, {"type": "conversation", "id": cid, "state": "open",
                           "conversation_parts": {"type": "conversation_part.list",
                                                  "conversation_parts": parts,
                                                  "total_count": len(parts)}})


CRASH_AFTER_CHILD = """
import json, os, sys
from seamline.connectors import installed
from seamline.store import open_store
import seamline.connectors._transport as transport

connector, operation, options, params, key, url, method, path = json.loads(sys.argv[1])
original = transport.VendorHTTP.request
def request_then_die(self, verb, where, *args, **kwargs):
    response = original(self, verb, where, *args, **kwargs)
    if verb == method and where.endswith(path):
        os._exit(17)
    return response
transport.VendorHTTP.request = request_then_die
installed()[connector](options, store=open_store(url)).call(operation, params, idempotency_key=key)
os._exit(0)
"""


def crash_after(store, connector: str, operation: str, options: dict, params: dict, key: str,
                *, method: str, path: str) -> None:
    """Like crash.send_then_crash, but the child dies right after the vendor answered the
    request ``method`` to a path ending in ``path`` (an upsert searches before it writes)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", CRASH_AFTER_CHILD, json.dumps(
        [connector, operation, options, params, key, store.url, method, path])],
        check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 17, f"the child did not crash where planned: {done.stderr[-2000:]}"


class FakeHubSpot(FakeVendor):
    """HubSpot CRM v3 objects and v4 associations, as documented at
    https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/upsert-contacts ,
    https://developers.hubspot.com/docs/guides/api/crm/search and
    https://developers.hubspot.com/docs/guides/api/crm/associations/associations-v4 :

    - ``POST /crm/v3/objects/{type}`` ``{"properties", "associations"}`` → 201 the record
      ``{"id", "properties", "createdAt", "updatedAt", "archived"}``;
    - ``POST /crm/v3/objects/{type}/batch/upsert`` ``{"inputs": [{"idProperty", "id",
      "properties"}]}`` → 200 ``{"status": "COMPLETE", "results": [{…, "new": bool}]}``, or 207
      with ``errors``/``numErrors`` when ``idProperty`` is not a unique property;
    - ``POST /crm/v3/objects/{type}/search`` ``{"filterGroups": [{"filters": [{"propertyName",
      "operator": "EQ", "value"}]}], "limit", "after"}`` → ``{"total", "results", "paging":
      {"next": {"after"}}}``;
    - ``PUT /crm/v4/objects/{from}/{id}/associations/default/{to}/{id}`` → 200 batch result;
      ``PUT …/associations/{to}/{id}`` ``[{"associationCategory", "associationTypeId"}]`` →
      201 ``{"fromObjectTypeId", "fromObjectId", "toObjectTypeId", "toObjectId", "labels"}``;
    - errors ``{"status": "error", "message", "correlationId", "category"}``; a 429 carries
      ``X-HubSpot-RateLimit-*`` headers and no Retry-After.
    """

    UNIQUE: ClassVar[dict[str, set[str]]] = {"contacts": {"email", "external_id"}, "companies": {"external_id"},
                                              "deals": {"external_id"}}
    TYPE_IDS: ClassVar[dict[str, str]] = {"contacts": "0-1", "companies": "0-2", "deals": "0-3", "tickets": "0-5"}

    def __init__(self, server: VendorServer, *, token: str = "pat-test") -> None:
        super().__init__(server)
        self.token = token
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        self.associations: set[tuple[str, str, str, str, int]] = set()
        for method in ("POST", "PUT"):
            server.route(method, "/crm/*", self._handle)

    def of(self, object_type: str) -> list[dict[str, Any]]:
        return list(self.records.get(object_type, {}).values())

    def add(self, object_type: str, created: float, **properties: Any) -> dict[str, Any]:
        rid = str(next(self._ids) + 500)
        record = {"id": rid, "properties": {**properties, "hs_object_id": rid},
                  "createdAt": wire_time(created), "updatedAt": wire_time(created),
                  "archived": False}
        self.records.setdefault(object_type, {})[rid] = record
        return record

    @staticmethod
    def _error(status: int, message: str, category: str) -> Reply:
        return Reply(status, {"status": "error", "message": message, "correlationId": "c-1",
                              "category": category})

    def _handle(self, request: RecordedRequest) -> Reply:
        if (ahead := self._next_reply()) is not None:
            return ahead
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._error(401, "Authentication credentials not found.",
                               "INVALID_AUTHENTICATION")
        parts, body = segments(request.path), (request.json() if request.body else None)
        with self._lock:
            if parts[:3] == ["crm", "v3", "objects"] and request.method == "POST":
                if len(parts) == 4:
                    return self._create(parts[3], body or {})
                if parts[4:] == ["search"]:
                    return self._search(parts[3], body or {})
                if parts[4:] == ["batch", "upsert"]:
                    return self._upsert(parts[3], body or {})
            if parts[:3] == ["crm", "v4", "objects"] and request.method == "PUT" \
                    and len(parts) in (8, 9) and parts[5] == "associations":
                return self._associate(parts, body)
        return self._error(404, "resource not found", "OBJECT_NOT_FOUND")

    def _create(self, object_type: str, body: dict[str, Any]) -> Reply:
        record = self.add(object_type, time.time(), **body.get("properties", {}))
        self.effects.append(("create", object_type, record["id"]))
        for a in body.get("associations") or []:
            for t in a["types"]:
                self.associations.add((object_type, record["id"], "?", str(a["to"]["id"]),
                                       t["associationTypeId"]))
        return Reply(201, record)

    def _search(self, object_type: str, body: dict[str, Any]) -> Reply:
        filters = [f for g in body.get("filterGroups", []) for f in g["filters"]]
        if len(filters) > 6:
            return self._error(400, "There was a problem with the request.", "VALIDATION_ERROR")
        hits = [r for r in self.of(object_type) if all(
            str(r["properties"].get(f["propertyName"])) == f["value"] for f in filters)]
        start, limit = int(body.get("after") or 0), int(body.get("limit") or 10)
        page = hits[start:start + limit]
        paging = {"paging": {"next": {"after": str(start + limit)}}} \
            if start + limit < len(hits) else {}
        return Reply(200, {"total": len(hits), "results": page, **paging})

    def _upsert(self, object_type: str, body: dict[str, Any]) -> Reply:
        results, errors = [], []
        for item in body["inputs"]:
            prop = item["idProperty"]
            if prop not in self.UNIQUE.get(object_type, set()):
                errors.append({"status": "error", "category": "VALIDATION_ERROR",
                               "message": f"Property {prop} is not a unique identifier "
                                          f"property for {object_type}", "context": {}})
                continue
            match = next((r for r in self.of(object_type)
                          if str(r["properties"].get(prop)) == item["id"]), None)
            if match is None:
                match = self.add(object_type, time.time(), **item["properties"],
                                 **{prop: item["id"]})
                self.effects.append(("create", object_type, match["id"]))
                results.append({**match, "new": True})
            else:
                match["properties"].update(item["properties"])
                self.effects.append(("update", object_type, match["id"]))
                results.append({**match, "new": False})
        stamp = {"startedAt": wire_time(time.time()), "completedAt": wire_time(time.time())}
        if errors:
            return Reply(207, {"status": "COMPLETE", "results": results, "errors": errors,
                               "numErrors": len(errors), **stamp})
        return Reply(200, {"status": "COMPLETE", "results": results, **stamp})

    def _associate(self, parts: list[str], body: Any) -> Reply:
        from_type, from_id = parts[3], parts[4]
        labelled = len(parts) == 8
        to_type, to_id = (parts[6], parts[7]) if labelled else (parts[7], parts[8])
        if not labelled and parts[6] != "default":
            return self._error(404, "resource not found", "OBJECT_NOT_FOUND")
        for t, i in ((from_type, from_id), (to_type, to_id)):
            if i not in self.records.get(t, {}):
                return self._error(400, f"{t} {i} does not exist", "VALIDATION_ERROR")
        type_ids = [b["associationTypeId"] for b in body] if labelled else [279]
        for type_id in type_ids:
            link = (from_type, from_id, to_type, to_id, type_id)
            if link not in self.associations:
                self.associations.add(link)
                self.effects.append(("associate", *map(str, link)))
        if labelled:
            return Reply(201, {"fromObjectTypeId": self.TYPE_IDS.get(from_type, from_type),
                               "fromObjectId": int(from_id),
                               "toObjectTypeId": self.TYPE_IDS.get(to_type, to_type),
                               "toObjectId": int(to_id), "labels": []})
        return Reply(200, {"status": "COMPLETE", "results": [{
            "from": {"id": from_id}, "to": {"id": to_id}, "associationSpec": {
                "associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}}],
            "startedAt": wire_time(time.time()), "completedAt": wire_time(time.time())})
