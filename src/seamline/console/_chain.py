"""The audit chain's status for the console: verified on demand, the last answer kept.

Verifying recomputes every hash from the first row, which takes a while on a big log;
a page shows the last result and its age, and a button runs it again.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from seamline.audit import VerifyReport, trusted_keys, verify
from seamline.errors import ConfigError
from seamline.store import Store


@dataclass(frozen=True, slots=True)
class ChainStatus:
    """The last verification: ``report`` is None until someone asked for one."""

    report: VerifyReport | None
    checked_at: float | None
    checked_by: str


class ChainCheck:
    """Runs ``seamline.audit.verify`` one at a time and remembers its answer."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._status = ChainStatus(None, None, "")

    @property
    def status(self) -> ChainStatus:
        return self._status

    def run(self, actor: str) -> ChainStatus:
        with self._lock:  # two clicks at once verify once each, not interleaved
            try:  # with a key configured: against its signed checkpoints
                keys, _ = trusted_keys()
            except ConfigError:
                keys = []  # a bad public key setting: the unsigned check, which says so
            report = verify(self._store, keys=keys)
            self._status = ChainStatus(report, time.time(), actor)
        return self._status
