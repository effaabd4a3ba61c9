"""Who may do what: three roles in one order, and the user a request acts as.

Roles are ordered (viewer < reviewer < admin) so a route names the least role it
needs and every higher role passes; there are no per-permission tables to drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """A user's or an API key's role; compare with ``<``/``>=`` by privilege, not alphabet."""

    VIEWER = "viewer"
    REVIEWER = "reviewer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    # str ordering would put "admin" first: privilege order is what every check means.
    def __lt__(self, other: object) -> bool:
        return self.rank < Role(other).rank  # type: ignore[arg-type]

    def __le__(self, other: object) -> bool:
        return self.rank <= Role(other).rank  # type: ignore[arg-type]

    def __gt__(self, other: object) -> bool:
        return self.rank > Role(other).rank  # type: ignore[arg-type]

    def __ge__(self, other: object) -> bool:
        return self.rank >= Role(other).rank  # type: ignore[arg-type]

    @classmethod
    def parse(cls, text: str) -> Role:
        """The role named by ``text``, or a ConfigError that lists the roles there are."""
        from seamline.errors import ConfigError

        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ConfigError(f"There is no role {text!r}; the roles are "
                              f"{', '.join(r.value for r in cls)}.") from None


_RANK = {Role.VIEWER: 0, Role.REVIEWER: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class User:
    """Who a request acts as; ``via`` says how it proved it: "session", "api_key" or "anonymous"."""

    username: str
    role: Role
    via: str

    def may(self, role: Role) -> bool:
        """Whether this user holds ``role`` or a higher one."""
        return self.role >= role
