"""``sendgrid``: send an e-mail with SendGrid's Mail Send v3; once per key on our side.

Mail Send takes no idempotency key, so each send is recorded in the send ledger and carries
the key in ``custom_args`` (it comes back on every event webhook for the message). After an
interrupted attempt nothing can be looked up: the Email Activity API that could search by
``custom_args`` is a paid add-on most accounts lack, so the send waits for a person
(``OutcomeUnknown``), as the outbox does for any action it cannot check.
https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send

A success is ``202 Accepted`` with an empty body; what proves it is the ``X-Message-Id``
header. A 429 says when to come back in ``X-RateLimit-Reset`` (a Unix time), not Retry-After. Not the ``sendgrid`` SDK: it sends through its own urllib client, outside our
timeouts and Retry-After budget, for one JSON POST.
"""

from __future__ import annotations

from typing import Any

import httpx

from seamline.alerts import Alert, raise_alert
from seamline.connectors import _ratelimit
from seamline.connectors._base import Connector, ConnectorOptions
from seamline.connectors._email import EmailParams, split_address
from seamline.connectors._errors import UnexpectedReply

CUSTOM_ARG = "seamline_idempotency_key"


class SendGridOptions(ConnectorOptions):
    api_key_env: str = "SENDGRID_API_KEY"
    sender: str = ""


class SendGridConnector(Connector):
    """SendGrid Mail Send v3 (API key); idempotency on our side, no lookup after a crash."""

    name = "sendgrid"
    api_version = "v3"  # in every path: /v3/…
    idempotency = "ours"
    operations = ("send_email",)
    Options = SendGridOptions
    credentials = ("api_key_env",)
    default_base_url = "https://api.sendgrid.com"
    options: SendGridOptions

    def __init__(self, options=None, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        key = self.secret("api_key_env")
        self._http = self.http({"Authorization": f"Bearer {key}"})
        _ratelimit.install(self._http.client, "epoch")  # a 429's X-RateLimit-Reset: a Unix time

    def vendor_message(self, body: Any) -> str:
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list):  # {"errors": [{"message", "field", "help"}]}
            return "; ".join(
                (f"{e['field']}: " if isinstance(e.get("field"), str) else "") + e["message"]
                for e in errors if isinstance(e, dict) and isinstance(e.get("message"), str))
        return ""

    def send_email(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Send one e-mail per key; returns ``{"message_id"}`` (SendGrid's X-Message-Id)."""
        p = self.params(EmailParams, params, "send_email")
        personalization: dict[str, Any] = {"to": [split_address(a) for a in p.recipients()]}
        for field in ("cc", "bcc"):
            if value := getattr(p, field):
                personalization[field] = [split_address(a) for a in value]
        # SendGrid wants text/plain before text/html.
        content = [{"type": kind, "value": value} for kind, value in
                   (("text/plain", p.text), ("text/html", p.html)) if value]
        body: dict[str, Any] = {
            "personalizations": [personalization],
            "from": split_address(p.from_address(self.options.sender, connector=self.name,
                                                 operation="send_email")),
            "subject": p.subject, "content": content,
            "custom_args": {**p.tags, CUSTOM_ARG: idempotency_key}}
        if p.reply_to:
            body["reply_to"] = split_address(p.reply_to)

        def send() -> dict[str, Any]:
            response = self._http.request("POST", "/v3/mail/send", json=body)
            return {"message_id": self._message_id(response)}

        return self.once(idempotency_key, send, what="send_email")

    def _message_id(self, response: httpx.Response) -> str:
        """The X-Message-Id of a 2xx, or an UnexpectedReply (recorded as drift, alerted)."""
        self.raise_for_status(response, "send_email")
        message_id = response.headers.get("x-message-id")
        seen = {"status": response.status_code, **({"x_message_id": message_id}
                                                    if message_id else {})}
        self.observe("send_email", seen, ("x_message_id",))
        if message_id:
            return message_id
        error = UnexpectedReply(
            f"sendgrid answered send_email with HTTP {response.status_code} but without the "
            "X-Message-Id header, which would prove it accepted the e-mail; the reply was "
            f"recorded as drift of contract sendgrid.send_email (API {self.version}) and the "
            "action is not counted as done.", connector=self.name, status=response.status_code)
        raise_alert(self._contracts.store if self._contracts else None, Alert(
            "unexpected_reply", str(error), "critical",
            {"connector": self.name, "operation": "send_email", "version": self.version}))
        raise error
