"""``http``: any JSON API that dedupes on an ``Idempotency-Key`` header (or one you name).

The action's params are the JSON body; the path may name params (``/orders/{order_id}``),
each filled in as one percent-encoded segment. The connector reaches only the hosts its
integration lists in ``allow_hosts``, and no private, loopback or link-local address unless
the integration allows it (see ``_egress``): the base URL is configuration, but nothing
it resolves to later may turn the connector into a way into the internal network.
A 2xx with an empty body is a success unless ``require`` names fields that prove it.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import Field, field_validator

from seamline.connectors._base import Connector, ConnectorOptions, Reply
from seamline.connectors._egress import GuardedTransport, HostPolicy, normalise_host, parse_entry
from seamline.connectors._paths import fill
from seamline.errors import ConfigError


class HttpOptions(ConnectorOptions):
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    path: str = ""
    headers: dict[str, str] = Field(default_factory=dict)
    auth_env: str | None = Field(None, description="Environment variable holding a token.")
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"
    api_version: str = ""
    version_header: str | None = None
    idempotency_header: str = "Idempotency-Key"
    require: tuple[str, ...] = Field((), description="Reply fields that prove the call acted.")
    allow_hosts: tuple[str, ...] = Field((), description="Hosts the connector may reach: names, "
                                         "*.suffixes, IP addresses or networks.")
    allow_private: bool = Field(False, description="Also reach private, loopback and link-local "
                                "addresses (an internal service).")

    @field_validator("allow_hosts")
    @classmethod
    def _hosts(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        for entry in hosts:
            parse_entry(entry)  # a ValueError names the entry
        return hosts


class HttpConnector(Connector):
    """Generic JSON over HTTP to allowed hosts; the vendor dedupes on the idempotency header."""

    name = "http"
    api_version = "per-action"  # declared with the option api_version (and version_header)
    idempotency = "vendor"
    operations = ("send",)
    Options = HttpOptions
    credentials = ("auth_env",)
    options: HttpOptions

    def __init__(self, options=None, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        o = self.options
        problems = self.option_problems(o)
        if problems:
            raise ConfigError(problems[0])
        headers = {**o.headers, "Accept": "application/json"}
        token = self.secret("auth_env") if o.auth_env else None
        if token:
            headers[o.auth_header] = f"{o.auth_scheme} {token}".strip()
        if o.version_header and o.api_version:
            headers[o.version_header] = o.api_version
        self.policy = HostPolicy(self.name, o.allow_hosts, allow_private=o.allow_private)
        # A transport handed in is a test's seam; every other connection passes the policy.
        self._transport = self._transport or GuardedTransport(self.policy)
        self._http = self.http(headers)

    @classmethod
    def option_problems(cls, options: ConnectorOptions) -> list[str]:
        """What is wrong with where this action would send: no allow-list, a base URL off it."""
        said = _destination_problem(options) if isinstance(options, HttpOptions) else None
        return [said] if said else []

    def send(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Send the params as the JSON body with the idempotency key; returns the reply body."""
        o = self.options
        path = fill(o.path, params, connector=self.name) or "/"
        response = self._http.request(o.method, path, json=params,
                                      headers={o.idempotency_header: idempotency_key})
        if not response.content and not o.require:
            self.raise_for_status(response, "send")
            self.observe("send", None)
            return {"status": response.status_code}
        reply = self.reply(response, Reply, "send", proof=o.require)
        return {"status": response.status_code, "body": reply.model_dump()}


def _destination_problem(options: HttpOptions) -> str | None:
    """The one sentence ``seamline check`` says about the base URL and allow-list, if any."""
    if not options.base_url:
        return "The http connector needs the option base_url."
    try:
        url = httpx.URL(options.base_url)
        host = normalise_host(url.host)
    except (httpx.InvalidURL, ValueError) as exc:
        return f"The base_url {options.base_url!r} of the http connector is not a valid URL ({exc})."
    if url.scheme not in ("http", "https") or not host:
        return (f"The base_url {options.base_url!r} of the http connector must be an http:// or "
                "https:// URL with a host.")
    if not options.allow_hosts:
        return ("The http connector talks only to hosts listed in its option allow_hosts, and "
                f"this action lists none; add allow_hosts: [{host}] if {host} is meant.")
    policy = HostPolicy(HttpConnector.name, options.allow_hosts,
                        allow_private=options.allow_private)
    if not policy.host_allowed(host):
        return (f"The host {host} of the http connector's base_url is not in its allow_hosts "
                f"({', '.join(options.allow_hosts)}).")
    # An address literal is allowed only by listing it (or its network), which also allows
    # it as an address; a name is checked for what it resolves to at every connection.
    return None
