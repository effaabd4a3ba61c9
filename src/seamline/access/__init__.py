"""Access control: users with roles, sessions, API keys, CSRF and sign-in rate limiting.

Routes name the least role they need (viewer < reviewer < admin) through
``AccessControl.page`` (HTML) or ``AccessControl.api`` (JSON); every change to users and
every sign-in is in the audit trail with its actor.
"""

from seamline.access._control import AccessControl, AccessRefused
from seamline.access._keys import ENV_KEYS, as_key_roles, key_label, match_key, parse_keys
from seamline.access._passwords import hash_password, verify_password
from seamline.access._roles import Role, User
from seamline.access._users import (
    UserRecord,
    add_user,
    get_user,
    list_users,
    set_disabled,
    set_password,
    set_role,
)

__all__ = [
    "ENV_KEYS",
    "AccessControl",
    "AccessRefused",
    "Role",
    "User",
    "UserRecord",
    "add_user",
    "as_key_roles",
    "get_user",
    "hash_password",
    "key_label",
    "list_users",
    "match_key",
    "parse_keys",
    "set_disabled",
    "set_password",
    "set_role",
    "verify_password",
]
