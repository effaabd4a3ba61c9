"""Contracts learned from traffic, and drift: a field added, a required field missing,
a field whose type changed.

Every inbound payload (per source and API version) and every outbound reply (per
connector and API version) is observed. The first observations teach the contract;
later ones are compared with it. Per the integration, a field may be declared
``required`` (missing is drift), ``optional`` (never drift) or ``ignored`` (not even
recorded); anything undeclared is optional until proven required, but new fields and
changed types are always reported. Each drift is stored (``seamline drift``),
counted in Prometheus, raised as an alert (``seamline.alerts``: stored, logged, sent to
the alert webhook), and handed to any registered hooks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from prometheus_client import Counter
from sqlalchemy import Row, select, update

from seamline.alerts import Alert, raise_alert
from seamline.contracts._shape import shape_of
from seamline.integration import FieldPolicy
from seamline.store import Store, insert_ignore
from seamline.store.tables import contract_fields, contracts, drift_events

log = logging.getLogger("seamline.contracts")

Direction = Literal["inbound", "outbound"]
ADDED, MISSING, TYPE_CHANGED = "added", "missing", "type_changed"

DRIFT_TOTAL = Counter("seamline_contract_drift_total", "Contract drift events observed",
                      ["direction", "contract", "change"])


@dataclass(frozen=True, slots=True)
class Drift:
    direction: str
    contract: str
    version: str
    path: str
    change: str  # added | missing | type_changed
    before: str  # the type(s) known before ("" when added)
    after: str  # the type seen now ("" when missing)

    @property
    def sentence(self) -> str:
        where = f"{self.direction} {self.contract} (version {self.version or '-'})"
        if self.change == ADDED:
            return f"{where}: new field {self.path} ({self.after})"
        if self.change == MISSING:
            return f"{where}: required field {self.path} is missing"
        return f"{where}: field {self.path} changed type from {self.before} to {self.after}"


_hooks: list[Callable[[Drift], None]] = []


def on_drift(hook: Callable[[Drift], None]) -> Callable[[Drift], None]:
    """Register a function called with every new drift (an alert sink)."""
    _hooks.append(hook)
    return hook


class ContractBook:
    """Observes payloads against the contracts stored in one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._known: dict[tuple[str, str, str], dict[str, set[str]]] = {}
        self._lock = threading.Lock()

    def observe(self, direction: Direction, contract: str, version: str, payload: Any,
                policy: FieldPolicy | None = None) -> list[Drift]:
        """Compare one payload with its contract, record what is new; return the drifts."""
        policy = policy or FieldPolicy()
        shape = {p: t for p, t in shape_of(payload).items() if not policy.ignores(p)}
        key = (direction, contract, version)
        known = self._load(key)
        now = time.time()
        first = not known
        drifts: list[Drift] = []
        fresh: dict[str, str] = {}
        for path, kind in shape.items():
            seen = known.get(path)
            if seen is None:
                fresh[path] = kind
                if not first:
                    drifts.append(Drift(direction, contract, version, path, ADDED, "", kind))
            else:
                new_kinds = set(kind.split("|")) - seen - {"null"}
                if new_kinds and seen != {"null"}:
                    drifts.append(Drift(direction, contract, version, path, TYPE_CHANGED,
                                        "|".join(sorted(seen)), kind))
                if set(kind.split("|")) - seen:
                    fresh[path] = "|".join(sorted(seen | set(kind.split("|"))))
        for path in policy.required:
            if path not in shape:
                drifts.append(Drift(direction, contract, version, path, MISSING,
                                    "|".join(sorted(known.get(path, set()))), ""))
        with self.store.write() as conn:
            if first and not insert_ignore(conn, contracts, {
                    "direction": direction, "name": contract, "version": version,
                    "observations": 0, "first_seen": now, "last_seen": now}):
                pass
            conn.execute(update(contracts).where(
                contracts.c.direction == direction, contracts.c.name == contract,
                contracts.c.version == version).values(
                observations=contracts.c.observations + 1, last_seen=now))
            for path, kinds in fresh.items():
                if not insert_ignore(conn, contract_fields, {
                        "direction": direction, "name": contract, "version": version,
                        "path": path, "types": kinds, "first_seen": now}):
                    conn.execute(update(contract_fields).where(
                        contract_fields.c.direction == direction,
                        contract_fields.c.name == contract, contract_fields.c.version == version,
                        contract_fields.c.path == path).values(types=kinds))
            for d in drifts:
                conn.execute(drift_events.insert().values(
                    direction=d.direction, contract=d.contract, version=d.version, path=d.path,
                    change=d.change, before=d.before, after=d.after, at=now))
        with self._lock:
            for path, kinds in fresh.items():
                known[path] = set(kinds.split("|"))
        for d in drifts:
            DRIFT_TOTAL.labels(d.direction, d.contract, d.change).inc()
            raise_alert(self.store, Alert("contract_drift", d.sentence, labels={
                "direction": d.direction, "contract": d.contract, "version": d.version,
                "path": d.path, "change": d.change}))
            for hook in _hooks:
                try:
                    hook(d)
                except Exception:
                    log.exception("a drift alert hook failed")
        return drifts

    def _load(self, key: tuple[str, str, str]) -> dict[str, set[str]]:
        with self._lock:
            cached = self._known.get(key)
        if cached is not None:
            return cached
        direction, contract, version = key
        with self.store.read() as conn:
            rows = conn.execute(select(contract_fields.c.path, contract_fields.c.types).where(
                contract_fields.c.direction == direction, contract_fields.c.name == contract,
                contract_fields.c.version == version)).all()
        loaded = {r.path: set(r.types.split("|")) for r in rows}
        with self._lock:
            return self._known.setdefault(key, loaded)


def drift_report(store: Store, *, contract: str | None = None, since: float | None = None,
                 limit: int = 200) -> Sequence[Row[Any]]:
    """Drift events, newest first."""
    q = select(drift_events).order_by(drift_events.c.id.desc()).limit(limit)
    if contract:
        q = q.where(drift_events.c.contract == contract)
    if since is not None:
        q = q.where(drift_events.c.at >= since)
    with store.read() as conn:
        return conn.execute(q).all()


def contract_list(store: Store) -> Sequence[Row[Any]]:
    with store.read() as conn:
        return conn.execute(select(contracts).order_by(contracts.c.direction, contracts.c.name,
                                                       contracts.c.version)).all()
