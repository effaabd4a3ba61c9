"""``resend``: send an e-mail with the Resend API, keyed by the ``Idempotency-Key`` it honours.

Resend keeps a key for 24 hours: a retry with the same key and the same payload gets the
first reply (the same e-mail id) and sends nothing. The same key with another payload is
refused (409 ``invalid_idempotent_request``); the same key while the first request is still
running is 409 ``concurrent_idempotent_requests``, worth retrying.
https://resend.com/docs/api-reference/emails/send-email
https://resend.com/docs/dashboard/emails/idempotency-keys

Not the ``resend`` SDK: it keeps the API key in a module global (one key per process,
while each integration names its own) and sends through ``requests`` with neither our
timeouts nor our Retry-After budget; the API is one JSON POST, so httpx through
:class:`VendorHTTP` it is.
"""

from __future__ import annotations

from typing import Any

import httpx

from seamline.connectors._base import Connector, ConnectorOptions, Reply
from seamline.connectors._email import EmailParams, short_key
from seamline.connectors._errors import VendorRejected, VendorUnavailable

MAX_KEY = 256  # Resend refuses longer keys (400 invalid_idempotency_key)


class ResendOptions(ConnectorOptions):
    api_key_env: str = "RESEND_API_KEY"
    sender: str = ""


class ResendEmail(Reply):
    id: str | None = None


class ResendConnector(Connector):
    """Resend e-mail API (API key); the vendor dedupes on Idempotency-Key for 24 hours."""

    name = "resend"
    api_version = "unversioned"  # Resend's REST API has no versions; sent in the User-Agent
    idempotency = "vendor"
    operations = ("send_email",)
    Options = ResendOptions
    credentials = ("api_key_env",)
    default_base_url = "https://api.resend.com"
    options: ResendOptions

    def __init__(self, options=None, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        key = self.secret("api_key_env")
        self._http = self.http({"Authorization": f"Bearer {key}"})

    def vendor_message(self, body: Any) -> str:
        if isinstance(body, dict):  # {"statusCode": 422, "name": "validation_error", "message": …}
            parts = [body.get(k) for k in ("name", "message")]
            return ": ".join(p for p in parts if isinstance(p, str))
        return ""

    def raise_for_status(self, response: httpx.Response, operation: str) -> None:
        if response.status_code == 409:
            body = self.body(response)
            self.observe(f"{operation}.error", body if isinstance(body, dict) else None)
            said = self.vendor_message(body)
            if "concurrent_idempotent_requests" in said:
                # The first request with this key is still running: retrying replays its result.
                raise VendorUnavailable(f"resend answered 409 to {operation}: {said}.",
                                        connector=self.name, status=409, sent=None)
            raise VendorRejected(f"resend answered 409 to {operation}: {said}. The key was "
                                 "first used with another payload; that e-mail may have been "
                                 "sent.", connector=self.name, status=409, sent=None)
        super().raise_for_status(response, operation)

    def send_email(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Send one e-mail per key (Resend dedupes); returns ``{"id"}``, Resend's e-mail id."""
        p = self.params(EmailParams, params, "send_email")
        body: dict[str, Any] = {
            "from": p.from_address(self.options.sender, connector=self.name,
                                   operation="send_email"),
            "to": p.recipients(), "subject": p.subject}
        for field in ("text", "html", "cc", "bcc", "reply_to"):
            if value := getattr(p, field):
                body[field] = value
        if p.tags:
            body["tags"] = [{"name": k, "value": v} for k, v in p.tags.items()]
        response = self._http.request("POST", "/emails", json=body, headers={
            "Idempotency-Key": short_key(idempotency_key, MAX_KEY)})
        reply = self.reply(response, ResendEmail, "send_email", proof=("id",))
        return {"id": reply.id}
