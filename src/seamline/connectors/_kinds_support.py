"""The ``ticket`` family: ``ticket.comment`` on Zendesk and Intercom.

A public comment is one the customer sees (Zendesk's public comment, Intercom's reply);
a private one is for teammates (a private comment, an Intercom note). The ticket is the
vendor's id of it: a Zendesk ticket number, an Intercom conversation id.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from seamline.connectors._kinds import (
    Adapter,
    Family,
    Kind,
    KindParams,
    KindReply,
    VendorSettings,
    text_id,
    whole_number,
)


class Comment(KindParams):
    """A comment on a support ticket or conversation."""

    ticket_id: str = Field(min_length=1, description="The vendor's id of the ticket.")
    body: str = Field(min_length=1, description="The comment's text.")
    public: bool = Field(False, description="True: the customer sees it; False: teammates only.")


class CommentReply(KindReply):
    ticket_id: str | None = Field(None, description="The ticket (conversation) commented on.")


def _zendesk(p: Comment, s: VendorSettings) -> tuple[str, dict[str, Any]]:
    return "add_comment", {"id": whole_number(p.ticket_id, vendor="zendesk",
                                              what="the ticket of ticket.comment"),
                           "comment": p.body, "public": p.public}


def _intercom(p: Comment, s: VendorSettings) -> tuple[str, dict[str, Any]]:
    operation = "reply_to_conversation" if p.public else "add_conversation_note"
    return operation, {"id": p.ticket_id, "body": p.body}


def _zendesk_reply(reply: dict[str, Any]) -> dict[str, Any]:
    return {"id": text_id(reply.get("audit_id")), "created": True,
            "ticket_id": text_id(reply.get("ticket_id"))}


def _intercom_reply(reply: dict[str, Any]) -> dict[str, Any]:
    return {"id": text_id(reply.get("part_id")), "created": True,
            "ticket_id": text_id(reply.get("conversation_id"))}


COMMENT = Kind("ticket.comment", "Comment on a support ticket, publicly or privately.",
               Comment, CommentReply)

TICKET = Family("ticket", (COMMENT,), (
    Adapter("ticket.comment", "zendesk", ("add_comment",), _zendesk, _zendesk_reply,
            note="The id is the audit of the update; the key rides in its metadata."),
    Adapter("ticket.comment", "intercom", ("reply_to_conversation", "add_conversation_note"),
            _intercom, _intercom_reply,
            note="public: a reply as the option admin_id; private: a note."),
))

__all__ = ["TICKET", "Comment", "CommentReply"]
