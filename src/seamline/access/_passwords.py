"""Password hashing with argon2id (RFC 9106 parameters of argon2-cffi).

Hashes carry their own parameters, so raising the cost later only needs a rehash at the
next successful login (``verify_password`` returns the new hash when one is due).
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from seamline.errors import ConfigError

MIN_LENGTH = 10
MAX_LENGTH = 1024  # argon2 takes any length; a cap keeps a megabyte "password" from being a DoS

_HASHER = PasswordHasher(type=Type.ID)
# Verified against when the username is unknown or disabled, so a failed login costs the
# same time whether or not the account exists.
_DUMMY_HASH = _HASHER.hash("seamline-no-such-user-dummy-password")


def check_password_policy(password: str) -> None:
    """Refuse passwords a user should not be allowed to set, in a sentence."""
    if len(password) < MIN_LENGTH:
        raise ConfigError(f"The password must have at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise ConfigError(f"The password must have at most {MAX_LENGTH} characters.")


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    """An argon2id hash of ``password`` (salted; the string holds the parameters)."""
    return (hasher or _HASHER).hash(password)


def verify_password(stored_hash: str | None, password: str,
                    hasher: PasswordHasher | None = None) -> tuple[bool, str | None]:
    """Whether ``password`` matches; and, when it does and the hash is outdated, a new hash.

    ``stored_hash`` None (no such user) still costs one verification.
    """
    hasher = hasher or _HASHER
    if len(password) > MAX_LENGTH:
        password = password[:MAX_LENGTH + 1]  # still verified (and failing), not refused faster
    try:
        hasher.verify(stored_hash or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if stored_hash is None:
        return False, None
    return True, hasher.hash(password) if hasher.check_needs_rehash(stored_hash) else None
