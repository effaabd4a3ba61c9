"""Replaying a recorded event with another prompt version or model, without acting."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from seamline.audit import AuditEntry, append
from seamline.errors import NotFound
from seamline.inference import Provider, reads_prompt
from seamline.ingest import IngestedEvent
from seamline.integration import Integration
from seamline.runtime._pipeline import Pipeline
from seamline.runtime._types import Admission
from seamline.store import Store
from seamline.store.tables import events


@dataclass(frozen=True, slots=True)
class ReplayResult:
    event_id: str
    old_version: str
    new_version: str
    old_model: str
    new_model: str
    old_output: dict[str, Any] | None
    new_output: dict[str, Any] | None
    error: str
    notes: tuple[str, ...] = ()  # what the replay cannot show (a prompt the model never reads)

    @property
    def changed_fields(self) -> list[str]:
        old, new = self.old_output or {}, self.new_output or {}
        return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def replay(store: Store, event_id: str, integration: Integration, *,
           provider: Provider | None = None) -> ReplayResult:
    """Ask the model again for a recorded event with ``integration`` as given (another
    prompt, another model), act on nothing, and say which output fields changed."""
    with store.read() as conn:
        row = conn.execute(select(events).where(events.c.id == event_id)).first()
    if row is None:
        raise NotFound(f"There is no event {event_id}.")
    if row.input is None or not row.path:
        raise NotFound(f"Event {event_id} is {row.state} ({row.reason or 'no reason'}); only "
                       "events that passed ingest can be replayed.")
    data = json.loads(row.input)
    pipeline = Pipeline(integration, store, provider=provider, dry_run=True)
    rendered = pipeline.stages.prompt.render(data)
    ev = IngestedEvent(data=data, secrets={}, idempotency_key=row.idempotency_key, tenant=row.tenant)
    inf = pipeline.stages.infer.run(Admission(event_id, ev, data, rendered, None))
    old_output = json.loads(row.output) if row.output else None
    result = ReplayResult(event_id, row.prompt_version, rendered.version, row.model,
                          integration.model.model, old_output, inf.output, inf.error,
                          _notes(integration, row.prompt_version, rendered.version))
    with store.write() as conn:
        append(conn, [AuditEntry(event_id, integration.name, "replay", {
            "prompt_version": rendered.version, "model": integration.model.model,
            "output": inf.output, "error": inf.error, "changed_fields": result.changed_fields,
            "calls": inf.calls, **({"notes": list(result.notes)} if result.notes else {})})],
            now=time.time())
    return result


def _notes(integration: Integration, old_version: str, new_version: str) -> tuple[str, ...]:
    """Plain words for what a replay with this route cannot show."""
    route = integration.model
    if reads_prompt(route):
        return ()
    changed = (f"The prompt changed ({old_version or '-'} -> {new_version}), but the "
               if old_version != new_version else "The ")
    note = (f"{changed}on-device model ({route.model}) does not read the prompt: a prompt "
            "change cannot change its answer. Replay with a remote route (model.provider: "
            "anthropic, openai or openai-compatible) to see what a prompt does.")
    return (note,)
