"""Agents: a run's state in the store, so a paused or crashed run goes on where it stopped.

Status changes are compare-and-set on the stored status: two resumes of one run cannot
both claim it, so an approved tool runs once. While a process drives a run, the row's
``updated_at`` is its heartbeat and its fencing token (see ``_lease.py``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select

from seamline.agents._client import ToolCall, Turn
from seamline.agents._limits import RunUsage
from seamline.errors import NotFound
from seamline.store import Store
from seamline.store.tables import agent_runs

RUNNING, AWAITING, COMPLETED, STOPPED, FAILED = (
    "running", "awaiting_approval", "completed", "stopped", "failed")


@dataclass(slots=True)
class Pending:
    """The tool call waiting for a person, and the calls of the same step still to make."""

    outbox_id: int
    call: ToolCall
    remaining: list[ToolCall] = field(default_factory=list)
    # Held after a crash: the call may already have acted; a person says whether to run it again.
    in_doubt: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"outbox_id": self.outbox_id, "call": self.call.to_dict(),
                "remaining": [c.to_dict() for c in self.remaining], "in_doubt": self.in_doubt}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Pending:
        return cls(int(d["outbox_id"]), ToolCall.from_dict(d["call"]),
                   [ToolCall.from_dict(c) for c in d.get("remaining", [])],
                   bool(d.get("in_doubt")))


@dataclass(slots=True)
class RunState:
    """Everything a run needs to go on: its conversation, usage and the pending call."""

    id: str
    agent: str
    task: str
    status: str = RUNNING
    stop_reason: str = ""
    answer: str = ""
    turns: list[Turn] = field(default_factory=list)
    usage: RunUsage = field(default_factory=RunUsage)
    pending: Pending | None = None
    created_at: float = 0.0
    # Crash recovery (kept in the state JSON, no column of their own): who drives the run and
    # how long its heartbeat may be silent before the run counts as abandoned; the model or
    # side-effecting tool call in flight (written before the call, cleared with its outcome);
    # how many times the run was recovered. ``updated_at`` is the row's, read back on load.
    owner: str = ""
    lease_s: float = 60.0
    inflight: dict[str, Any] | None = None
    recoveries: int = 0
    updated_at: float = 0.0

    def state_json(self) -> str:
        return json.dumps({"turns": [t.to_dict() for t in self.turns],
                           "usage": self.usage.to_dict(),
                           "pending": self.pending.to_dict() if self.pending else None,
                           "owner": self.owner, "lease_s": self.lease_s,
                           "inflight": self.inflight, "recoveries": self.recoveries},
                          ensure_ascii=False, default=str)

    def row(self, now: float) -> dict[str, Any]:
        return {"agent": self.agent, "status": self.status, "stop_reason": self.stop_reason,
                "task": self.task, "answer": self.answer, "state": self.state_json(),
                "steps": self.usage.steps, "tokens": self.usage.tokens,
                "cost_usd": self.usage.cost_usd, "updated_at": now}


def insert_run(conn: Any, state: RunState) -> None:
    now = time.time()
    state.created_at = state.updated_at = now
    conn.execute(insert(agent_runs).values(id=state.id, created_at=now, **state.row(now)))


def load_run(store: Store, run_id: str) -> RunState:
    with store.read() as conn:
        r = conn.execute(select(agent_runs).where(agent_runs.c.id == run_id)).first()
    if r is None:
        raise NotFound(f"There is no agent run with id {run_id!r}.")
    data = json.loads(r.state)
    return RunState(
        id=r.id, agent=r.agent, task=r.task, status=r.status, stop_reason=r.stop_reason,
        answer=r.answer, turns=[Turn.from_dict(t) for t in data.get("turns", [])],
        usage=RunUsage.from_dict(data.get("usage", {})),
        pending=Pending.from_dict(data["pending"]) if data.get("pending") else None,
        created_at=r.created_at, owner=data.get("owner", ""),
        lease_s=float(data.get("lease_s", 60.0)), inflight=data.get("inflight"),
        recoveries=int(data.get("recoveries", 0)), updated_at=r.updated_at)


def list_runs(store: Store, agent: str | None = None, limit: int = 50) -> list[Any]:
    q = select(agent_runs).order_by(agent_runs.c.created_at.desc()).limit(limit)
    if agent:
        q = q.where(agent_runs.c.agent == agent)
    with store.read() as conn:
        return list(conn.execute(q).all())


def decided_runs(store: Store, agent: str) -> list[str]:
    """Runs of ``agent`` waiting for an approval that has since been decided (oldest first).

    A reviewer decides in the console or with ``seamline approvals``; the run itself goes on
    when something resumes it: ``seamline agent resume AGENT --decided [--watch 10]``.
    """
    from seamline.actions import AWAITING as OUTBOX_AWAITING
    from seamline.store.tables import outbox

    with store.read() as conn:
        rows = conn.execute(select(agent_runs.c.id, agent_runs.c.state).where(
            agent_runs.c.agent == agent, agent_runs.c.status == AWAITING)
            .order_by(agent_runs.c.created_at)).all()
        waiting = {r.id: (json.loads(r.state).get("pending") or {}).get("outbox_id")
                   for r in rows}
        ids = [i for i in waiting.values() if i is not None]
        still = set(conn.execute(select(outbox.c.id).where(
            outbox.c.id.in_(ids), outbox.c.status == OUTBOX_AWAITING)).scalars()) if ids else set()
    return [run for run, box in waiting.items() if box is not None and box not in still]
