"""The runtime's vocabulary: terminal states and what processing one event returns."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

SUCCEEDED = "succeeded"
DEAD_LETTERED = "dead_lettered"
AWAITING_APPROVAL = "awaiting_approval"
OVER_BUDGET = "over_budget"
BASELINE = "baseline"
DUPLICATE = "duplicate"
REJECTED = "rejected"
# Not terminal: an event is here only while a process works on it (or crashed doing so).
PROCESSING = "processing"
ACTING = "acting"
# Not terminal: a transient failure (the provider down, an action's system down) that a
# worker will try again after a backoff; the job queue holds the retry.
RETRYING = "retrying"

# An action waits for a connector's credential (seamline.actions.WAITING_CREDENTIALS): terminal
# for the queue (nothing to retry until a person re-authorizes), resumed when it is fixed.
WAITING_CREDENTIALS = "waiting_credentials"

TERMINAL = (SUCCEEDED, DEAD_LETTERED, AWAITING_APPROVAL, OVER_BUDGET, BASELINE, DUPLICATE, REJECTED,
            WAITING_CREDENTIALS)
LAYERS = ("ingest", "prompt", "inference", "outputs", "actions", "store")


def dumps(value: Any) -> str:
    """JSON for the store's text columns: unicode kept, anything else as its str()."""
    return json.dumps(value, ensure_ascii=False, default=str)


def new_event_id() -> str:
    """Time-ordered and unique across processes: milliseconds, then 48 random bits."""
    return f"evt_{int(time.time() * 1000):011x}{secrets.token_hex(6)}"


@dataclass(frozen=True, slots=True)
class EventResult:
    event_id: str
    state: str
    reason: str = ""
    stage: str = ""
    path: str = ""  # "ai" or "baseline"
    output: dict[str, Any] | None = None
    fallback_output: dict[str, Any] | None = None
    duplicate_of: str | None = None
    cost_usd: float = 0.0
    timings_ms: dict[str, float] = field(default_factory=dict)
    awaiting: int = 0

    @property
    def answer(self) -> dict[str, Any] | None:
        """What a caller is told: the output, or the baseline's answer after a failure."""
        return self.output if self.output is not None else self.fallback_output

