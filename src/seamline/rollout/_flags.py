"""Layer 7, rollout: a flag per integration, off, on or a sticky percentage.

The flag's state lives in the store, so a flip takes effect without a deploy;
each process re-reads it at most every ``ttl`` seconds.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from sqlalchemy import insert, select, update

from seamline.audit import AuditEntry, append
from seamline.errors import ConfigError
from seamline.store import Store
from seamline.store.tables import flags


@dataclass(frozen=True, slots=True)
class FlagState:
    name: str
    mode: str  # on | off | percent
    percent: float = 100.0

    def admits(self, key: str) -> bool:
        """Whether the event with this sticky key takes the AI path."""
        if self.mode == "on":
            return True
        if self.mode == "off":
            return False
        return bucket(self.name, key) < self.percent


def bucket(flag: str, key: str) -> float:
    """A stable position in [0, 100) for a key: the same key always lands in the same place."""
    digest = hashlib.sha256(f"{flag}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100


def parse_state(name: str, value: str | float) -> FlagState:
    if isinstance(value, str) and value.strip().lower() in {"on", "off"}:
        return FlagState(name, value.strip().lower(), 100.0 if value.strip().lower() == "on" else 0.0)
    try:
        pct = float(str(value).rstrip("%"))
    except ValueError:
        raise ConfigError(f"A flag is 'on', 'off' or a percentage, not {value!r}.") from None
    if not 0 <= pct <= 100:
        raise ConfigError(f"A flag percentage must be between 0 and 100, not {pct}.")
    return FlagState(name, "percent", pct)


class Flags:
    def __init__(self, store: Store, *, ttl: float = 1.0) -> None:
        self.store, self.ttl = store, ttl
        self._cache: dict[str, tuple[float, FlagState]] = {}

    def get(self, name: str, default: str | float = "on") -> FlagState:
        hit = self._cache.get(name)
        now = time.monotonic()
        if hit and now - hit[0] < self.ttl:
            return hit[1]
        with self.store.read() as conn:
            row = conn.execute(select(flags.c.mode, flags.c.percent).where(flags.c.name == name)).first()
        state = FlagState(name, row.mode, row.percent) if row else parse_state(name, default)
        self._cache[name] = (now, state)
        return state

    def set(self, name: str, value: str | float, *, reason: str, integration: str = "",
            actor: str = "cli") -> FlagState:
        """Flip a flag at once, with its reason in the audit trail."""
        state = parse_state(name, value)
        now = time.time()
        with self.store.write() as conn:
            values = {"mode": state.mode, "percent": state.percent, "reason": reason, "updated_at": now}
            if conn.execute(update(flags).where(flags.c.name == name).values(**values)).rowcount == 0:
                conn.execute(insert(flags).values(name=name, **values))
            append(conn, [AuditEntry("-", integration, "flag", {
                "flag": name, "mode": state.mode, "percent": state.percent,
                "reason": reason, "actor": actor})], now=now)
        self.invalidate(name)
        return state

    def invalidate(self, name: str) -> None:
        """Forget this process's cached state of a flag (it was changed by other means)."""
        self._cache.pop(name, None)

    def all(self) -> list[tuple[str, str, float, str, float]]:
        with self.store.read() as conn:
            return [tuple(r) for r in conn.execute(
                select(flags.c.name, flags.c.mode, flags.c.percent, flags.c.reason, flags.c.updated_at)
                .order_by(flags.c.name)).all()]
