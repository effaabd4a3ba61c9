"""What both wire formats share: the refusal a validator raises and how ids are minted."""

from __future__ import annotations

import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class WireError(Exception):
    """A request the provider would refuse: status, error type and the provider's message."""

    status: int
    type: str
    message: str
    param: str | None = None
    code: str | None = None


def invalid(message: str, param: str | None = None, code: str | None = None) -> WireError:
    return WireError(400, "invalid_request_error", message, param, code)


def new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(12)}"
