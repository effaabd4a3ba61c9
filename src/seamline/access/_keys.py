"""API keys for service callers: ``key`` (an admin key, as before roles existed) or ``key:role``.

Keys are compared in constant time against every configured key, and are never logged:
a key is named in the audit trail by a short fingerprint of its SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping

from seamline.access._roles import Role

ENV_KEYS = "SEAMLINE_API_KEYS"


def parse_keys(entries: Iterable[str]) -> dict[str, Role]:
    """``["k1", "k2:viewer"]`` -> ``{"k1": admin, "k2": viewer}``.

    Only a suffix naming a role is read as one: a key that happens to contain ':' stays whole.
    """
    keys: dict[str, Role] = {}
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        key, sep, suffix = entry.rpartition(":")
        if sep and key and suffix.strip().lower() in {r.value for r in Role}:
            keys[key.strip()] = Role(suffix.strip().lower())
        else:
            keys[entry] = Role.ADMIN
    return keys


def keys_from_environment() -> dict[str, Role]:
    return parse_keys(os.environ.get(ENV_KEYS, "").split(","))


def as_key_roles(api_keys: Mapping[str, Role | str] | Iterable[str] | None) -> dict[str, Role]:
    """Normalise what callers pass: None (the environment), a set of admin keys, or key -> role."""
    if api_keys is None:
        return keys_from_environment()
    if isinstance(api_keys, Mapping):
        return {k: Role.parse(r) if isinstance(r, str) else r for k, r in api_keys.items() if k}
    return {k: Role.ADMIN for k in api_keys if k}


def match_key(presented: str | None, keys: Mapping[str, Role]) -> Role | None:
    """The role of the presented key, comparing against every key so timing says nothing."""
    if presented is None:
        return None
    given = presented.encode()
    found: Role | None = None
    for key, role in keys.items():
        if hmac.compare_digest(given, key.encode()):
            found = role
    return found


def key_label(key: str) -> str:
    """How a key is named where an actor is recorded: never the key itself."""
    return "api-key:" + hashlib.sha256(key.encode()).hexdigest()[:10]
