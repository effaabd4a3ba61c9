"""``smtp``: send an e-mail (stdlib smtplib), with a Message-ID derived from the idempotency key.

SMTP has no idempotency, so sends are recorded on our side; the stable Message-ID
lets receiving systems and people recognise a duplicate should one ever slip through.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from pydantic import Field

from seamline.connectors._base import Connector, ConnectorOptions, Params
from seamline.connectors._errors import (
    BadParams,
    VendorAuthFailed,
    VendorRejected,
    VendorUnavailable,
)


class SmtpOptions(ConnectorOptions):
    host: str = "localhost"
    port: int = Field(25, gt=0, lt=65536)
    security: str = Field("none", pattern="^(none|starttls|ssl)$")
    sender: str = Field("", description="The From address.")
    username_env: str | None = None
    password_env: str | None = None


class SendEmail(Params):
    to: list[str] | str
    subject: str = Field(min_length=1)
    body: str
    cc: list[str] = Field(default_factory=list)
    reply_to: str | None = None
    sender: str | None = None


def message_id(key: str, sender: str) -> str:
    """A stable Message-ID for an idempotency key: same key, same id."""
    domain = sender.rpartition("@")[2] or "seamline.invalid"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}.seamline@{domain}>"


class SmtpConnector(Connector):
    """E-mail over SMTP (RFC 5321); idempotency on our side."""

    name = "smtp"
    api_version = "rfc5321"
    idempotency = "ours"
    operations = ("send_email",)
    Options = SmtpOptions
    credentials = ("username_env", "password_env")
    options: SmtpOptions

    def __init__(self, options=None, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        o = self.options
        self._login = None
        if o.username_env or o.password_env:
            self._login = (self.secret("username_env"), self.secret("password_env"))

    def send_email(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Send once per key; returns ``{"message_id", "accepted", "refused"}``."""
        p = self.params(SendEmail, params, "send_email")
        sender = p.sender or self.options.sender
        if not sender:
            raise BadParams("smtp.send_email needs a sender, in its params or the connector "
                            "option sender.", connector=self.name)
        to = [p.to] if isinstance(p.to, str) else list(p.to)
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = sender, ", ".join(to), p.subject
        if p.cc:
            msg["Cc"] = ", ".join(p.cc)
        if p.reply_to:
            msg["Reply-To"] = p.reply_to
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = message_id(idempotency_key, sender)
        msg["X-Seamline-Idempotency-Key"] = idempotency_key
        msg.set_content(p.body)

        def send() -> dict[str, Any]:
            refused = self._deliver(msg, sender, to + p.cc)
            reply = {"message_id": msg["Message-ID"],
                     "accepted": [r for r in to + p.cc if r not in refused],
                     "refused": {r: f"{c} {m.decode(errors='replace')}" for r, (c, m) in refused.items()}}
            self.observe("send_email", reply, ("message_id",))
            return reply

        return self.once(idempotency_key, send, what="send_email")

    def _deliver(self, msg: EmailMessage, sender: str, recipients: list[str]) -> dict:
        o = self.options
        where = f"{o.host}:{o.port}"
        try:
            smtp: smtplib.SMTP
            if o.security == "ssl":
                smtp = smtplib.SMTP_SSL(o.host, o.port, timeout=o.timeout_s,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(o.host, o.port, timeout=o.timeout_s)
        except (OSError, smtplib.SMTPException) as exc:
            raise VendorUnavailable(f"smtp could not connect to {where}: {type(exc).__name__}.",
                                    connector=self.name, sent=False) from exc
        sent: bool | None = False  # until DATA is under way nothing can have been delivered
        try:
            with smtp:
                if o.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self._login:
                    smtp.login(*self._login)
                sent = None
                return smtp.send_message(msg, from_addr=sender, to_addrs=recipients)
        except smtplib.SMTPAuthenticationError as exc:
            raise VendorAuthFailed(f"smtp at {where} refused the login ({exc.smtp_code}); check "
                                   "the credentials.", connector=self.name) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise VendorRejected(f"smtp at {where} refused every recipient: "
                                 f"{', '.join(exc.recipients)}.", connector=self.name) from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            code = exc.smtp_code
            text = f"smtp at {where} refused the message ({code})."
            if 400 <= code < 500:  # a temporary refusal: nothing was accepted
                raise VendorUnavailable(text, connector=self.name, sent=False) from exc
            raise VendorRejected(text, connector=self.name) from exc
        except (smtplib.SMTPException, OSError) as exc:  # TimeoutError is an OSError
            raise VendorUnavailable(f"smtp at {where} failed mid-way ({type(exc).__name__}); "
                                    "the message may or may not have been accepted.",
                                    connector=self.name, sent=sent) from exc
