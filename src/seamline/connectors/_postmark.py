"""``postmark``: send an e-mail with Postmark's Email API; once per key on our side.

Postmark takes no idempotency key, so each send is recorded in the send ledger and
carries the key in its ``Metadata``; after an interrupted attempt the Messages API is
searched by that metadata (``metadata_seamline_key=…``) before anything is sent again.
https://postmarkapp.com/developer/api/email-api
https://postmarkapp.com/developer/api/messages-api

Not ``postmarker``: it sends through ``requests`` (our timeouts and Retry-After budget
would not apply) and the API is one JSON POST and one GET; httpx via :class:`VendorHTTP`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from seamline.connectors._base import Connector, ConnectorOptions, Reply
from seamline.connectors._email import EmailParams, short_key
from seamline.connectors._errors import ConnectorError, VendorRejected

METADATA_KEY = "seamline_key"  # Postmark: metadata keys up to 20 characters
MAX_VALUE = 80  # ... and values up to 80


class PostmarkOptions(ConnectorOptions):
    server_token_env: str = "POSTMARK_SERVER_TOKEN"
    sender: str = ""
    message_stream: str = Field("outbound", description="The transactional stream by default.")


class PostmarkSent(Reply):
    MessageID: str | None = None
    ErrorCode: int | None = None
    Message: str | None = None
    To: str | None = None
    SubmittedAt: str | None = None


class PostmarkConnector(Connector):
    """Postmark Email API (server token); idempotency on our side, checked by metadata."""

    name = "postmark"
    api_version = "unversioned"  # Postmark's API has no versions; sent in the User-Agent
    idempotency = "ours"
    operations = ("send_email",)
    Options = PostmarkOptions
    credentials = ("server_token_env",)
    default_base_url = "https://api.postmarkapp.com"
    options: PostmarkOptions

    def __init__(self, options=None, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        token = self.secret("server_token_env")
        self._http = self.http({"X-Postmark-Server-Token": token, "Accept": "application/json"})

    def vendor_message(self, body: Any) -> str:
        if isinstance(body, dict) and isinstance(body.get("Message"), str):
            return f"{body['Message']} (ErrorCode {body.get('ErrorCode')})"
        return ""

    def send_email(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Send one e-mail per key; returns ``{"message_id", "to"}`` (Postmark's MessageID)."""
        p = self.params(EmailParams, params, "send_email")
        tag = short_key(idempotency_key, MAX_VALUE)
        body: dict[str, Any] = {
            "From": p.from_address(self.options.sender, connector=self.name,
                                   operation="send_email"),
            "To": ", ".join(p.recipients()), "Subject": p.subject,
            "MessageStream": self.options.message_stream,
            "Metadata": {**p.tags, METADATA_KEY: tag}}
        for field, wire in (("text", "TextBody"), ("html", "HtmlBody"), ("reply_to", "ReplyTo")):
            if value := getattr(p, field):
                body[wire] = value
        for field, wire in (("cc", "Cc"), ("bcc", "Bcc")):
            if value := getattr(p, field):
                body[wire] = ", ".join(value)

        def send() -> dict[str, Any]:
            response = self._http.request("POST", "/email", json=body)
            reply = self.reply(response, PostmarkSent, "send_email", proof=("MessageID",))
            if reply.ErrorCode not in (0, None):  # a 200 that says it did not send
                raise VendorRejected(f"postmark answered send_email with ErrorCode "
                                     f"{reply.ErrorCode}: {reply.Message}.", connector=self.name,
                                     status=response.status_code)
            return {"message_id": reply.MessageID, "to": reply.To}

        def verify(since: float) -> dict[str, Any] | None:
            return self._find(tag)

        return self.once(idempotency_key, send, verify=verify, what="send_email")

    def _find(self, tag: str) -> dict[str, Any] | None:
        """The outbound message carrying our metadata, if Postmark lists it (None otherwise)."""
        try:
            response = self._http.request("GET", "/messages/outbound", params={
                "count": "50", "offset": "0", f"metadata_{METADATA_KEY}": tag})
            reply = self.reply(response, Reply, "search_messages", proof=("Messages",))
        except ConnectorError:
            return None  # cannot check: the ledger refuses rather than guess
        for message in reply.model_dump().get("Messages") or []:
            if isinstance(message, dict) and \
                    (message.get("Metadata") or {}).get(METADATA_KEY) == tag:
                to = message.get("To") or []
                return {"message_id": message.get("MessageID"),
                        "to": ", ".join(t.get("Email", "") for t in to if isinstance(t, dict)),
                        "recovered": True}
        return None
