"""HubSpot records created, upserted by a unique property, and associated (CRM v3 / v4).

The operations the ``hubspot`` connector exposes as ``create_record``, ``upsert_record``
and ``associate``, kept here as functions of the connector so its own module stays small:

- ``upsert_record`` is HubSpot's batch upsert with one input, keyed by a property whose
  values are unique (``email`` for contacts, or a custom unique property): the vendor
  keeps one record per value, so a rerun updates what the first attempt created;
- ``associate`` is a v4 PUT, which HubSpot treats as a set: associating twice leaves one;
- ``create_record`` takes no key, so it is recorded on our side; after an interrupted
  attempt HubSpot's search looks for a record holding the same values, created since
  the attempt began (prefer ``upsert_record`` when the record has a unique property).

Docs: https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/upsert-contacts ,
https://developers.hubspot.com/docs/guides/api/crm/search ,
https://developers.hubspot.com/docs/guides/api/crm/associations/associations-v4 .
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field

from seamline.connectors._base import Connector, Params, Reply
from seamline.connectors._errors import ConnectorError, VendorRejected
from seamline.connectors._paths import fill
from seamline.connectors._transport import VendorHTTP

SKEW_S = 120.0  # the vendor's clock against ours, when matching "created since the attempt"
MAX_FILTERS = 6  # per filter group, HubSpot's search limit
LOOKUP_PAGES = 3


class Association(Params):
    to_id: str | int
    type_id: int = Field(description="The association type id (e.g. 279 contact→company).")
    category: Literal["HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED"] = "HUBSPOT_DEFINED"


class CreateRecord(Params):
    properties: dict[str, Any] = Field(min_length=1)
    object_type: str | None = None
    associations: list[Association] = Field(default_factory=list)


class UpsertRecord(Params):
    id_property: str = Field(min_length=1, description="A property with unique values.")
    id: str | int = Field(description="Its value: names the record.")
    properties: dict[str, Any] = Field(default_factory=dict)
    object_type: str | None = None


class Associate(Params):
    from_type: str = Field(min_length=1)
    from_id: str | int
    to_type: str = Field(min_length=1)
    to_id: str | int
    type_id: int | None = Field(None, description="A labelled association; none: the default.")
    category: Literal["HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED"] = "HUBSPOT_DEFINED"


class HubSpotBatch(Reply):
    status: str | None = None
    results: list[dict[str, Any]] | None = None
    errors: list[dict[str, Any]] | None = None
    numErrors: int | None = None


def create_record(c: Connector, http: VendorHTTP, default_type: str, params: dict[str, Any],
                  key: str) -> dict[str, Any]:
    """Create one record (with associations) per key; returns ``{"id"}``."""
    p = c.params(CreateRecord, params, "create_record")
    object_type = p.object_type or default_type
    path = fill("/crm/v3/objects/{object_type}", {"object_type": object_type}, connector=c.name)
    body: dict[str, Any] = {"properties": p.properties}
    if p.associations:
        body["associations"] = [{"to": {"id": str(a.to_id)}, "types": [
            {"associationCategory": a.category, "associationTypeId": a.type_id}]}
            for a in p.associations]

    def send() -> dict[str, Any]:
        response = http.request("POST", path, json=body)
        return {"id": c.reply(response, Reply, "create_record", proof=("id",)).model_dump()["id"]}

    def verify(since: float) -> dict[str, Any] | None:
        return _find_created(c, http, f"{path}/search", p.properties, since)

    scalar = {k: v for k, v in p.properties.items() if isinstance(v, str | int | float | bool)}
    return c.once(key, send, verify=verify if scalar else None, what="create_record")


def upsert_record(c: Connector, http: VendorHTTP, default_type: str, params: dict[str, Any],
                  key: str) -> dict[str, Any]:
    """Create or update the record whose ``id_property`` is ``id``; returns ``{"id", "created"}``."""
    p = c.params(UpsertRecord, params, "upsert_record")
    path = fill("/crm/v3/objects/{object_type}/batch/upsert",
                {"object_type": p.object_type or default_type}, connector=c.name)
    response = http.request("POST", path, json={"inputs": [
        {"idProperty": p.id_property, "id": str(p.id), "properties": p.properties}]})
    batch = c.reply(response, HubSpotBatch, "upsert_record", proof=("results",))
    if batch.errors or not batch.results:
        said = "; ".join(str(e.get("message")) for e in batch.errors or [] if isinstance(e, dict))
        raise VendorRejected(f"hubspot refused upsert_record: {said or 'no record in the reply'}.",
                             connector=c.name, status=response.status_code)
    record = batch.results[0]
    return {"id": record.get("id"), "created": bool(record.get("new"))}


def associate(c: Connector, http: VendorHTTP, params: dict[str, Any], key: str) -> dict[str, Any]:
    """Associate two records (the default association, or the labelled ``type_id``).

    A v4 PUT: the association is a set, so doing it again leaves one. Returns
    ``{"from_id", "to_id"}``.
    """
    p = c.params(Associate, params, "associate")
    values = {"from_type": p.from_type, "from_id": p.from_id, "to_type": p.to_type,
              "to_id": p.to_id}
    if p.type_id is None:
        path = fill("/crm/v4/objects/{from_type}/{from_id}/associations/default/{to_type}/{to_id}",
                    values, connector=c.name)
        c.reply(http.request("PUT", path), HubSpotBatch, "associate", proof=("results",))
    else:
        path = fill("/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}/{to_id}",
                    values, connector=c.name)
        c.reply(http.request("PUT", path, json=[
            {"associationCategory": p.category, "associationTypeId": p.type_id}]),
            Reply, "associate_labelled", proof=("fromObjectId",))
    return {"from_id": str(p.from_id), "to_id": str(p.to_id)}


def _find_created(c: Connector, http: VendorHTTP, path: str, properties: dict[str, Any],
                  since: float) -> dict[str, Any] | None:
    """A record holding these values, created since ``since``, via CRM search (paged)."""
    filters = [{"propertyName": k, "operator": "EQ", "value": str(v)}
               for k, v in properties.items() if isinstance(v, str | int | float | bool)]
    body: dict[str, Any] = {"filterGroups": [{"filters": filters[:MAX_FILTERS]}],
                            "properties": list(properties), "limit": 100}
    for _ in range(LOOKUP_PAGES):
        try:
            found = c.reply(http.request("POST", path, json=body), Reply, "search_records",
                            proof=("results",)).model_dump()
        except ConnectorError:
            return None
        for record in found.get("results") or []:
            created = _epoch(record.get("createdAt"))
            if created is not None and created >= since - SKEW_S and record.get("id"):
                return {"id": record["id"], "recovered": True}
        after = (((found.get("paging") or {}).get("next")) or {}).get("after")
        if not after:
            return None
        body["after"] = after
    return None


def _epoch(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()
