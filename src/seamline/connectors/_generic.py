"""``http``: any JSON API that dedupes on an ``Idempotency-Key`` header (or one you name).

The action's params are the JSON body; the path may name params (``/orders/{order_id}``).
A 2xx with an empty body is a success unless ``require`` names fields that prove it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from seamline.connectors._base import Connector, ConnectorOptions, Reply
from seamline.connectors._errors import BadParams


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


class HttpConnector(Connector):
    """Generic JSON over HTTP; the vendor dedupes on the idempotency header."""

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
        headers = {**o.headers, "Accept": "application/json"}
        token = self.secret("auth_env") if o.auth_env else None
        if token:
            headers[o.auth_header] = f"{o.auth_scheme} {token}".strip()
        if o.version_header and o.api_version:
            headers[o.version_header] = o.api_version
        self._http = self.http(headers)

    def send(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Send the params as the JSON body with the idempotency key; returns the reply body."""
        o = self.options
        try:
            path = o.path.format(**params)
        except (KeyError, IndexError) as exc:
            raise BadParams(f"The path {o.path!r} of the http connector names {exc}, which is "
                            "not among the action's params.", connector=self.name) from None
        response = self._http.request(o.method, path, json=params,
                                      headers={o.idempotency_header: idempotency_key})
        if not response.content and not o.require:
            self.raise_for_status(response, "send")
            self.observe("send", None)
            return {"status": response.status_code}
        reply = self.reply(response, Reply, "send", proof=o.require)
        return {"status": response.status_code, "body": reply.model_dump()}
