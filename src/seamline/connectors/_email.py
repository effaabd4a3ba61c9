"""The params an e-mail API connector takes (Resend, Postmark, SendGrid), spelled once.

The three vendors name the same things differently (``from`` / ``From`` / ``from.email``);
actions name them one way, so switching vendors is an options change, not a rewrite.
"""

from __future__ import annotations

import hashlib
from email.utils import parseaddr

from pydantic import Field, model_validator

from seamline.connectors._base import Params
from seamline.connectors._errors import BadParams


class EmailParams(Params):
    """One e-mail: ``to`` (one or a list), ``subject``, ``text`` and/or ``html``, and the rest."""

    to: list[str] | str
    subject: str = Field(min_length=1)
    text: str | None = None
    html: str | None = None
    cc: list[str] = Field(default_factory=list)
    bcc: list[str] = Field(default_factory=list)
    reply_to: str | None = None
    sender: str | None = Field(None, description="The From address (or the option sender).")
    tags: dict[str, str] = Field(default_factory=dict, description="Vendor tags or metadata.")

    @model_validator(mode="after")
    def _has_a_body(self) -> EmailParams:
        if not (self.text or self.html):
            raise ValueError("an e-mail needs text or html (or both)")
        if not self.recipients():
            raise ValueError("an e-mail needs at least one address in to")
        return self

    def recipients(self) -> list[str]:
        """``to`` as a list, blanks dropped."""
        return [a for a in ([self.to] if isinstance(self.to, str) else self.to) if a.strip()]

    def from_address(self, default: str, *, connector: str, operation: str) -> str:
        """The sender from the params or the option, or a BadParams sentence."""
        sender = self.sender or default
        if not sender:
            raise BadParams(f"{connector}.{operation} needs a sender, in its params or the "
                            "connector option sender.", connector=connector)
        return sender


def split_address(address: str) -> dict[str, str]:
    """``"Ann <ann@x.io>"`` -> ``{"email": "ann@x.io", "name": "Ann"}`` (SendGrid's shape)."""
    name, email = parseaddr(address)
    if "@" not in email:  # not an address: send it as given, for the vendor to refuse in words
        return {"email": address}
    return {"email": email, **({"name": name} if name else {})}


def short_key(key: str, limit: int) -> str:
    """The idempotency key itself when it fits the vendor's limit, else a stable digest of it."""
    if len(key) <= limit:
        return key
    return "sha256-" + hashlib.sha256(key.encode()).hexdigest()[: max(8, limit - 7)]


__all__ = ["EmailParams", "short_key", "split_address"]
