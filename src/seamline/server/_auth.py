"""API-key authentication: ``Authorization: Bearer <key>`` or ``X-API-Key``, compared in constant time."""

from __future__ import annotations

import hmac
import os

from seamline.errors import ConfigError

ENV_KEYS = "SEAMLINE_API_KEYS"


def configured_keys(api_keys: set[str] | None, *, allow_anonymous: bool) -> frozenset[str]:
    """The keys the service accepts; refuse to start open unless told to, in so many words."""
    if api_keys is None:
        api_keys = {k.strip() for k in os.environ.get(ENV_KEYS, "").split(",") if k.strip()}
    keys = frozenset(k for k in api_keys if k)
    if not keys and not allow_anonymous:
        raise ConfigError(f"The server has no API keys: set {ENV_KEYS} (comma-separated) or pass "
                          "api_keys; to serve without authentication, say allow_anonymous=True "
                          "(--allow-anonymous).")
    return keys


def key_accepted(presented: str | None, keys: frozenset[str]) -> bool:
    """Compare against every key, without stopping early, so timing says nothing about which matched."""
    if presented is None:
        return False
    given = presented.encode()
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(given, key.encode())
    return ok
