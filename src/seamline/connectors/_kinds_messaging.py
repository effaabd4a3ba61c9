"""The ``email`` and ``sms`` families: ``email.send`` on Resend, Postmark, SendGrid and SMTP,
``sms.send`` on Twilio.

The e-mail API connectors already take one params shape (``_email.EmailParams``), so their
adapters pass it through; SMTP takes a plain-text ``body`` and has no HTML part, Bcc or
tags, and refuses those rather than drop them.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from seamline.connectors._kinds import (
    Adapter,
    Family,
    Kind,
    KindParams,
    KindReply,
    VendorSettings,
    drop_none,
    text_id,
)


class SendEmail(KindParams):
    """One e-mail to one or more people."""

    to: list[str] | str = Field(description="One address or a list of them.")
    subject: str = Field(min_length=1, description="The subject line.")
    text: str | None = Field(None, description="The plain-text body.")
    html: str | None = Field(None, description="The HTML body.")
    cc: list[str] = Field(default_factory=list, description="Copied addresses.")
    bcc: list[str] = Field(default_factory=list, description="Blind-copied addresses.")
    reply_to: str | None = Field(None, description="Where replies go, if not the sender.")
    sender: str | None = Field(None, description="The From address (else the vendor's "
                               "option sender).")
    tags: dict[str, str] = Field(default_factory=dict, description="Vendor tags or metadata.")

    @model_validator(mode="after")
    def _has_a_body(self) -> SendEmail:
        if not (self.text or self.html):
            raise ValueError("an e-mail needs text or html (or both)")
        return self


class SendSms(KindParams):
    """One text message (MMS when it carries media)."""

    to: str = Field(min_length=1, description="The recipient's number, E.164.")
    body: str | None = Field(None, description="The text.")
    sender: str | None = Field(None, description="The sending number (else the vendor's "
                               "default sender).")
    media_urls: list[str] = Field(default_factory=list, description="Images and the like.")

    @model_validator(mode="after")
    def _has_content(self) -> SendSms:
        if not (self.body or self.media_urls):
            raise ValueError("a message needs a body or media_urls")
        return self


class SmsReply(KindReply):
    status: str | None = Field(None, description="The vendor's delivery status (queued…).")


def _email_api(p: SendEmail, s: VendorSettings) -> tuple[str, dict[str, Any]]:
    return "send_email", p.model_dump(exclude_none=True)


def _smtp(p: SendEmail, s: VendorSettings) -> tuple[str, dict[str, Any]]:
    return "send_email", drop_none({"to": p.to, "subject": p.subject, "body": p.text,
                                    "cc": p.cc, "reply_to": p.reply_to, "sender": p.sender})


def _sent(reply: dict[str, Any]) -> dict[str, Any]:
    return {"id": text_id(reply.get("id") or reply.get("message_id")), "created": True}


def _twilio(p: SendSms, s: VendorSettings) -> tuple[str, dict[str, Any]]:
    return "send_sms", drop_none({"to": p.to, "body": p.body, "from": p.sender,
                                  "media_url": p.media_urls or None})


def _texted(reply: dict[str, Any]) -> dict[str, Any]:
    return {"id": text_id(reply.get("sid")), "created": True, "status": reply.get("status")}


SEND_EMAIL = Kind("email.send", "Send one e-mail.", SendEmail)
SEND_SMS = Kind("sms.send", "Send one text message.", SendSms, SmsReply)

_SMTP_LACKS = {"html": "the smtp connector sends a plain-text body only",
               "bcc": "the smtp connector sends no Bcc",
               "tags": "SMTP has no tags or metadata"}

EMAIL = Family("email", (SEND_EMAIL,), (
    Adapter("email.send", "resend", ("send_email",), _email_api, _sent,
            note="Resend dedupes on the Idempotency-Key for 24 hours."),
    Adapter("email.send", "postmark", ("send_email",), _email_api, _sent,
            note="The key rides in Metadata and is looked up after a crash."),
    Adapter("email.send", "sendgrid", ("send_email",), _email_api, _sent,
            note="An interrupted send waits for a person (no lookup without a paid add-on)."),
    Adapter("email.send", "smtp", ("send_email",), _smtp, _sent, unsupported=_SMTP_LACKS,
            note="text becomes the body; the Message-ID derives from the key."),
))
SMS = Family("sms", (SEND_SMS,), (
    Adapter("sms.send", "twilio", ("send_sms",), _twilio, _texted,
            note="sender is From; media_urls become MediaUrl."),
))

__all__ = ["EMAIL", "SMS", "SendEmail", "SendSms", "SmsReply"]
