"""``twilio``: send an SMS (or MMS) with Twilio's Messages API, once per key on our side.

Twilio's Messages create takes no idempotency key (``I-Twilio-Idempotency-Token`` is a
header Twilio puts on the webhooks it sends *to* you, and the official SDK sends none on
create), so each send is recorded in the send ledger. A message carries no metadata of
ours, so after an interrupted attempt the account's messages are listed filtered by
``To`` and ``From``, newest first, and ours is the one outbound message with our body
created since the attempt that no other key has recorded; zero or several such messages
and the send waits for a person rather than guess. ``DateSent`` is not used as a filter:
it stays empty while a message is queued, which is exactly when a crash would look.
https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
https://www.twilio.com/docs/messaging/api/message-resource#read-multiple-message-resources

Form-encoded bodies, HTTP basic auth with the Account SID and auth token, the API version
``2010-04-01`` in the path. Not the ``twilio`` SDK: it pulls ``requests``, ``aiohttp`` and
``PyJWT`` into every deployment and retries with its own policy; this is two endpoints.
"""

from __future__ import annotations

import email.utils
import re
from typing import Any

from pydantic import ConfigDict, Field, model_validator
from sqlalchemy import select

from seamline.connectors._base import Connector, ConnectorOptions, Params, Reply
from seamline.connectors._errors import BadParams, ConnectorError
from seamline.connectors._ledger import SENT
from seamline.connectors._paths import fill
from seamline.errors import ConfigError
from seamline.store.tables import connector_sends

ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
MESSAGES = "/2010-04-01/Accounts/{account_sid}/Messages.json"


class TwilioOptions(ConnectorOptions):
    account_sid_env: str = "TWILIO_ACCOUNT_SID"
    auth_token_env: str = "TWILIO_AUTH_TOKEN"
    from_number: str | None = Field(None, description="Default sender (E.164), unless a "
                                    "messaging service sends.")
    messaging_service_sid: str | None = None
    verify_margin_s: float = Field(300.0, ge=0, description="How far before an interrupted "
                                   "attempt the message list is searched.")
    verify_pages: int = Field(5, ge=1, le=50)


class SendSms(Params):
    model_config = ConfigDict(populate_by_name=True)

    to: str = Field(min_length=1)
    body: str | None = None
    from_: str | None = Field(None, alias="from")
    media_url: list[str] = Field(default_factory=list)
    messaging_service_sid: str | None = None

    @model_validator(mode="after")
    def _has_content(self) -> SendSms:
        if not (self.body or self.media_url):
            raise ValueError("a message needs a body or a media_url")
        return self


class TwilioMessage(Reply):
    sid: str | None = None
    status: str | None = None
    to: str | None = None
    error_code: int | None = None


class TwilioConnector(Connector):
    """Twilio Programmable Messaging (Account SID + auth token); idempotency on our side."""

    name = "twilio"
    api_version = "2010-04-01"  # in every path
    idempotency = "ours"
    operations = ("send_sms",)
    Options = TwilioOptions
    credentials = ("account_sid_env", "auth_token_env")
    default_base_url = "https://api.twilio.com"
    options: TwilioOptions

    def __init__(self, options=None, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        sid, token = self.secret("account_sid_env"), self.secret("auth_token_env")
        if not ACCOUNT_SID.match(sid):
            raise ConfigError(f"The twilio connector reads an Account SID from the environment "
                              f"variable {self.options.account_sid_env}, and its value is not "
                              "one (AC followed by 32 hexadecimal digits).")
        self._path = fill(MESSAGES, {"account_sid": sid}, connector=self.name)
        self._http = self.http({"Accept": "application/json"}, auth=(sid, token))

    def vendor_message(self, body: Any) -> str:
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            code = body.get("code")
            return body["message"] + (f" (Twilio error {code})" if code is not None else "")
        return ""

    def send_sms(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Send one message per key; returns ``{"sid", "status", "to"}``."""
        p = self.params(SendSms, params, "send_sms")
        service = p.messaging_service_sid or self.options.messaging_service_sid
        sender = p.from_ or (None if service else self.options.from_number)
        if not (sender or service):
            raise BadParams("twilio.send_sms needs a sender: from in its params, or the "
                            "connector option from_number or messaging_service_sid.",
                            connector=self.name)
        form: dict[str, Any] = {"To": p.to}
        if sender:
            form["From"] = sender
        if service:
            form["MessagingServiceSid"] = service
        if p.body:
            form["Body"] = p.body
        if p.media_url:
            form["MediaUrl"] = p.media_url  # repeated, as Twilio reads a list

        def send() -> dict[str, Any]:
            response = self._http.request("POST", self._path, data=form)
            reply = self.reply(response, TwilioMessage, "send_sms", proof=("sid", "status"))
            return {"sid": reply.sid, "status": reply.status, "to": reply.to}

        def verify(since: float) -> dict[str, Any] | None:
            return self._find(p, sender, service, idempotency_key,
                              since - self.options.verify_margin_s)

        return self.once(idempotency_key, send, verify=verify, what="send_sms")

    def _find(self, p: SendSms, sender: str | None, service: str | None, key: str,
              oldest: float) -> dict[str, Any] | None:
        """Our message, if exactly one candidate shows up in the list (None otherwise)."""
        query = {"To": p.to, "PageSize": "50", **({"From": sender} if sender else {})}
        path: str | None = self._path
        candidates: list[dict[str, Any]] = []
        for _ in range(self.options.verify_pages):
            if path is None:
                break
            try:
                response = self._http.request("GET", path, params=query if path == self._path
                                              else None)
                page = self.reply(response, Reply, "list_messages", proof=("messages",))
            except ConnectorError:
                return None  # cannot check: the ledger refuses rather than guess
            data = page.model_dump()
            messages = [m for m in data.get("messages") or [] if isinstance(m, dict)]
            candidates += [m for m in messages if _is_ours(m, p, service, oldest)]
            older = [_created(m) for m in messages]
            if not messages or all(t is not None and t < oldest for t in older):
                break
            nxt = data.get("next_page_uri")
            path = nxt if isinstance(nxt, str) and nxt.startswith("/") else None
        mine = [m for m in candidates if not self._recorded_by_another_key(str(m["sid"]), key)]
        if len(mine) != 1:
            return None
        return {"sid": mine[0]["sid"], "status": mine[0].get("status"), "to": mine[0].get("to"),
                "recovered": True}

    def _recorded_by_another_key(self, sid: str, key: str) -> bool:
        """Whether another send of this connector already recorded this message as its own."""
        if self.store is None:
            return False
        with self.store.read() as conn:
            return conn.execute(select(connector_sends.c.idempotency_key).where(
                connector_sends.c.connector == self.name,
                connector_sends.c.idempotency_key != key,
                connector_sends.c.status == SENT,
                connector_sends.c.reply.contains(f'"{sid}"'))).first() is not None


def _created(message: dict[str, Any]) -> float | None:
    """``date_created`` (RFC 2822, as Twilio writes it) in epoch seconds; None if unreadable."""
    try:
        return email.utils.parsedate_to_datetime(str(message.get("date_created"))).timestamp()
    except (TypeError, ValueError):
        return None


def _is_ours(message: dict[str, Any], p: SendSms, service: str | None, oldest: float) -> bool:
    created = _created(message)
    return (isinstance(message.get("sid"), str) and message.get("to") == p.to
            and str(message.get("direction", "")).startswith("outbound")
            and (message.get("body") or None) == p.body
            and (service is None or message.get("messaging_service_sid") == service)
            and created is not None and created >= oldest)
