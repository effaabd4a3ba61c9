"""``salesforce``: sObject create, update, upsert by external id, and composite (REST API v62.0).

Salesforce takes no idempotency key, but an upsert by an External ID field is one: the
same value names the same record, so a retry updates what the first attempt created.
``upsert_record`` and ``composite`` (upserts and updates only) lean on that; ``create_record``
does too when the option ``key_field`` names an External ID field to hold the action's
key, and otherwise is recorded on our side and refused after a crash (nothing can find
the record again). ``update_record`` is recorded on our side and confirmed after a crash
by reading the record back.

No official Python SDK (simple-salesforce is a community one with its own session and
retry handling), so it goes through the shared transport. Docs:
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/ (dsl_upsert.htm,
resources_composite_composite.htm, errorcodes.htm).

With ``auth: oauth`` the token comes from an OAuth credential (a connected app's web
server flow, refreshed on a 401: Salesforce's token response carries no ``expires_in``),
and the API host follows the token: Salesforce answers every token request with the org's
``instance_url``, the only host that token works on, and it can change when the org
moves
(https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import Field, model_validator

from seamline.connectors._base import Connector, ConnectorOptions, Params, Reply
from seamline.connectors._errors import (
    BadParams,
    ConnectorError,
    UnexpectedReply,
    VendorRejected,
    VendorUnavailable,
)
from seamline.connectors._oauth import BearerAuth
from seamline.connectors._paths import fill
from seamline.connectors._transport import VendorHTTP
from seamline.errors import ConfigError

API_VERSION = "v62.0"  # Winter '25
MAX_SUBREQUESTS = 25  # composite's documented limit


class SalesforceOptions(ConnectorOptions):
    # With auth: oauth, base_url is only the fallback when the token endpoint names no
    # instance_url; the token's instance wins.
    token_env: str = "SALESFORCE_ACCESS_TOKEN"
    api_version: str = Field(API_VERSION, pattern=r"^v\d{2,3}\.\d$")
    key_field: str | None = Field(
        None, description="An External ID text field on each object create_record writes "
        "(e.g. Seamline_Key__c): it holds the action's key, so create becomes an upsert.")


class CreateRecord(Params):
    sobject: str = Field(min_length=1)
    fields: dict[str, Any] = Field(min_length=1)


class UpdateRecord(CreateRecord):
    id: str = Field(min_length=1)


class UpsertRecord(CreateRecord):
    external_id_field: str = Field(min_length=1)
    external_id: str | int


class Subrequest(Params):
    """One composite step: an upsert by external id, or an update by record id."""

    reference_id: str = Field(min_length=1, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    method: Literal["upsert", "update"]
    sobject: str = Field(min_length=1)
    fields: dict[str, Any] = Field(min_length=1)
    external_id_field: str | None = None
    external_id: str | int | None = None
    id: str | None = None

    @model_validator(mode="after")
    def _names_its_record(self) -> Subrequest:
        if self.method == "upsert" and (not self.external_id_field or self.external_id is None):
            raise ValueError("an upsert names external_id_field and external_id")
        if self.method == "update" and not self.id:
            raise ValueError("an update names id")
        return self


class Composite(Params):
    requests: list[Subrequest] = Field(min_length=1, max_length=MAX_SUBREQUESTS)
    all_or_none: bool = True


class SaveResult(Reply):
    id: str | None = None
    success: bool | None = None
    errors: list[Any] | None = None
    created: bool | None = None


class CompositeReply(Reply):
    compositeResponse: list[dict[str, Any]] | None = None


class SalesforceConnector(Connector):
    """Salesforce REST API (OAuth access token); upserts by external id keep actions once."""

    name = "salesforce"
    api_version = API_VERSION  # in every path: /services/data/v62.0/…
    idempotency = "ours"  # create/update are recorded here; upserts the vendor dedupes
    operations = ("create_record", "update_record", "upsert_record", "composite")
    Options = SalesforceOptions
    credentials = ("token_env",)
    supports_oauth = True  # a connected app's token; the API host is its instance_url
    options: SalesforceOptions

    def __init__(self, options=None, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self._by_instance: dict[str, VendorHTTP] = {}
        self._static: VendorHTTP | None = None
        if self.oauth is None:
            token = self.secret("token_env")
            # base_url is the org's instance (https://MyDomain.my.salesforce.com): no default.
            self._static = self.http({"Authorization": f"Bearer {token}",
                                      "Accept": "application/json"})

    @property
    def _http(self) -> VendorHTTP:
        """The client for the org's API: with OAuth, on the host the current token names."""
        if self._static is not None:
            return self._static
        assert self.oauth is not None
        self.oauth.access_token()  # refreshed first if due: a refresh may move the org
        base = self.oauth.instance_url() or self.options.base_url
        if not base:
            raise ConfigError("The salesforce connector's token endpoint named no "
                              "instance_url and the option base_url is not set; set base_url "
                              "to the org's https://MyDomain.my.salesforce.com.")
        client = self._by_instance.get(base)
        if client is None:
            client = self._by_instance[base] = self.http(
                {"Accept": "application/json"}, base_url=_instance(base),
                auth=_FollowInstance(self.oauth))
        return client

    # -- wire format -------------------------------------------------------------------

    def vendor_message(self, body: Any) -> str:
        """Salesforce errors are a JSON array of ``{message, errorCode, fields}``."""
        if isinstance(body, list) and body and all(isinstance(e, dict) for e in body):
            return "; ".join(_error_text(e) for e in body[:5])
        if isinstance(body, list) and body and all(isinstance(e, str) for e in body):
            return (f"the external id matches {len(body)} records, so Salesforce updated none "
                    "(make the field unique)")
        return super().vendor_message(body)

    def raise_for_status(self, response: httpx.Response, operation: str) -> None:
        body = self.body(response)
        codes = {e.get("errorCode") for e in body if isinstance(e, dict)} \
            if isinstance(body, list) else set()
        if response.status_code == 403 and "REQUEST_LIMIT_EXCEEDED" in codes:
            # The org's rolling 24-hour API allowance is spent: nothing acted, try later.
            self.observe(f"{operation}.error", body)
            raise VendorUnavailable(
                f"salesforce answered 403 to {operation}: {self.vendor_message(body)}; the "
                "org's API request allowance is used up, so the action will be retried later.",
                connector=self.name, status=403, sent=False)
        super().raise_for_status(response, operation)

    def _path(self, template: str, **values: Any) -> str:
        return fill("/services/data/{version}" + template, {"version": self.version, **values},
                    connector=self.name)

    # -- operations --------------------------------------------------------------------

    def create_record(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Create one record per key; returns ``{"id", "created"}``.

        With the option ``key_field`` this is an upsert on that External ID field with the
        key as its value (a retry finds the same record); without it the send is recorded
        here, and an interrupted one is refused rather than risking a second record.
        """
        p = self.params(CreateRecord, params, "create_record")
        if self.options.key_field:
            return self._upsert(p.sobject, self.options.key_field, idempotency_key, p.fields,
                                "create_record")
        path = self._path("/sobjects/{sobject}/", sobject=p.sobject)

        def send() -> dict[str, Any]:
            response = self._http.request("POST", path, json=p.fields)
            reply = self._saved(response, "create_record")
            return {"id": reply.id, "created": True}

        return self.once(idempotency_key, send, what="create_record")

    def update_record(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Set fields on a record once per key (PATCH, 204); returns ``{"id"}``.

        After an interrupted attempt the record is read back: holding the values means
        our update landed, and it is not sent again.
        """
        p = self.params(UpdateRecord, params, "update_record")
        path = self._path("/sobjects/{sobject}/{id}", sobject=p.sobject, id=p.id)

        def send() -> dict[str, Any]:
            response = self._http.request("PATCH", path, json=p.fields)
            self.raise_for_status(response, "update_record")
            if response.status_code != 204:
                self.reply(response, Reply, "update_record", proof=())
            return {"id": p.id}

        def verify(since: float) -> dict[str, Any] | None:
            try:
                response = self._http.request("GET", path, params={"fields": ",".join(p.fields)})
                record = self.reply(response, Reply, "read_record", proof=("Id",)).model_dump()
            except ConnectorError:
                return None
            if all(_same(record.get(k), v) for k, v in p.fields.items()):
                return {"id": p.id, "recovered": True}
            return None

        return self.once(idempotency_key, send, verify=verify, what="update_record")

    def upsert_record(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Create or update the record whose External ID field holds ``external_id``.

        The vendor dedupes: a retry with the same value updates the record the first
        attempt created. Returns ``{"id", "created"}``.
        """
        p = self.params(UpsertRecord, params, "upsert_record")
        return self._upsert(p.sobject, p.external_id_field, p.external_id, p.fields,
                            "upsert_record")

    def composite(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Up to 25 upserts/updates in one call, rolled back together (``all_or_none``).

        Steps may refer to earlier ones in their fields (``"AccountId": "@{acct.id}"``), not
        in their record ids (those are path segments, encoded as given).
        Only upserts by external id and updates are allowed, so running it again after a
        crash changes nothing more. Returns ``{"results": [{"reference_id", "id", "status"}]}``.
        """
        p = self.params(Composite, params, "composite")
        steps = []
        for step in p.requests:
            if step.method == "upsert":
                url = self._path("/sobjects/{sobject}/{field}/{value}", sobject=step.sobject,
                                 field=step.external_id_field, value=step.external_id)
            else:
                url = self._path("/sobjects/{sobject}/{id}", sobject=step.sobject, id=step.id)
            steps.append({"method": "PATCH", "url": url, "referenceId": step.reference_id,
                          "body": step.fields})
        if len({s["referenceId"] for s in steps}) != len(steps):
            raise BadParams("salesforce.composite needs a distinct reference_id per step.",
                            connector=self.name)
        response = self._http.request("POST", self._path("/composite"), json={
            "allOrNone": p.all_or_none, "compositeRequest": steps})
        reply = self.reply(response, CompositeReply, "composite", proof=("compositeResponse",))
        return self._composite_results(reply.compositeResponse or [], len(steps), p.all_or_none)

    # -- helpers -----------------------------------------------------------------------

    def _upsert(self, sobject: str, field: str, value: str | int, fields: dict[str, Any],
                operation: str) -> dict[str, Any]:
        if field in fields:
            raise BadParams(f"salesforce.{operation} names {field} in the path; leave it out of "
                            "fields.", connector=self.name)
        path = self._path("/sobjects/{sobject}/{field}/{value}", sobject=sobject, field=field,
                          value=value)
        reply = self._saved(self._http.request("PATCH", path, json=fields), operation)
        return {"id": reply.id, "created": bool(reply.created)}

    def _saved(self, response: httpx.Response, operation: str) -> SaveResult:
        reply = self.reply(response, SaveResult, operation, proof=("id",))
        if reply.success is False:
            raise VendorRejected(f"salesforce answered {operation} with success false: "
                                 f"{self.vendor_message(reply.errors)}.", connector=self.name,
                                 status=response.status_code)
        return reply

    def _composite_results(self, answers: list[dict[str, Any]], asked: int,
                           all_or_none: bool) -> dict[str, Any]:
        if len(answers) != asked:
            raise UnexpectedReply(f"salesforce answered composite with {len(answers)} results "
                                  f"for {asked} steps; the action is not counted as done.",
                                  connector=self.name, status=200)
        results, failed = [], []
        for answer in answers:
            status = answer.get("httpStatusCode")
            body = answer.get("body")
            ok = isinstance(status, int) and 200 <= status < 300
            results.append({"reference_id": answer.get("referenceId"), "status": status,
                            "id": body.get("id") if isinstance(body, dict) else None})
            if not ok and not _halted(body):
                failed.append(f"{answer.get('referenceId')}: {self.vendor_message(body)}")
        if failed or any(not (200 <= (r["status"] or 0) < 300) for r in results):
            rolled = ("Salesforce rolled every step back" if all_or_none else
                      "the other steps were kept; running it again repeats them harmlessly")
            raise VendorRejected(f"salesforce refused composite step(s) {'; '.join(failed)}; "
                                 f"{rolled}.", connector=self.name, status=400)
        return {"results": results}


class _FollowInstance(BearerAuth):
    """The bearer token on each request; on a 401 a new token, and the request sent again
    to the instance that token names (the org moved while its session was dead)."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.credential.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        request.headers["Authorization"] = f"Bearer {self.credential.access_token(replacing=token)}"
        moved = self.credential.instance_url()
        if moved:
            base = httpx.URL(_instance(moved))
            if (base.scheme, base.host, base.port) != (request.url.scheme, request.url.host,
                                                       request.url.port):
                request.url = request.url.copy_with(scheme=base.scheme, host=base.host,
                                                    port=base.port)
                request.headers["Host"] = request.url.netloc.decode("ascii")
        yield request


def _instance(url: str) -> str:
    """The token's instance_url as a base URL: https, or http on a loopback address (a
    local test server); anything else is refused before a request carries the token."""
    split = urlsplit(url)
    loopback = split.hostname in ("127.0.0.1", "localhost", "::1")
    if split.scheme != "https" and not (split.scheme == "http" and loopback) or \
            not split.hostname or split.query or split.fragment:
        raise UnexpectedReply(f"The salesforce token endpoint named the instance_url {url!r}, "
                              "which is not an https URL of a host; nothing was sent.",
                              connector="salesforce", sent=False)
    return url.rstrip("/")


def _error_text(error: dict[str, Any]) -> str:
    text = f"{error.get('errorCode', 'ERROR')}: {error.get('message', '')}".strip()
    fields = error.get("fields")
    if isinstance(fields, list) and fields:
        text += f" (fields {', '.join(map(str, fields))})"
    return text


def _halted(body: Any) -> bool:
    """A step Salesforce did not run because another failed (allOrNone), not a cause."""
    return isinstance(body, list) and any(
        isinstance(e, dict) and e.get("errorCode") == "PROCESSING_HALTED" for e in body)


def _same(now: Any, wanted: Any) -> bool:
    return now == wanted or (now is not None and str(now) == str(wanted))
