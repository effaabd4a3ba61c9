"""API-key authentication: ``Authorization: Bearer <key>`` or ``X-API-Key``, compared in constant time.

``SEAMLINE_API_KEYS`` entries are ``key`` (an admin key) or ``key:role``; the checks
themselves live in ``seamline.access`` (``AccessControl.api``), shared with the console.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from seamline.access import ENV_KEYS, Role, as_key_roles, match_key
from seamline.errors import ConfigError

__all__ = ["ENV_KEYS", "configured_key_roles", "configured_keys", "key_accepted"]


def configured_key_roles(api_keys: Mapping[str, Role | str] | Iterable[str] | None, *,
                         allow_anonymous: bool) -> dict[str, Role]:
    """Key -> role the service accepts; refuse to start open unless told to, in so many words."""
    keys = as_key_roles(api_keys)
    if not keys and not allow_anonymous:
        raise ConfigError(f"The server has no API keys: set {ENV_KEYS} (comma-separated, each "
                          "'key' or 'key:role') or pass api_keys; to serve without "
                          "authentication, say allow_anonymous=True (--allow-anonymous).")
    return keys


def configured_keys(api_keys: Mapping[str, Role | str] | Iterable[str] | None, *,
                    allow_anonymous: bool) -> frozenset[str]:
    """The keys the service accepts, whatever their roles."""
    return frozenset(configured_key_roles(api_keys, allow_anonymous=allow_anonymous))


def key_accepted(presented: str | None, keys: Iterable[str]) -> bool:
    """Compare against every key, without stopping early, so timing says nothing about which matched."""
    return match_key(presented, dict.fromkeys(keys, Role.VIEWER)) is not None
