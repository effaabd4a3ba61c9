"""Stage 5b and the third commit: run the event's pending actions and settle its state.

Also where an event left ``acting`` (a crash, an approval, a redrive) goes on: the
outbox says what is still pending, and each action's idempotency key keeps it single.
"""

from __future__ import annotations

import time

from sqlalchemy.engine import Connection

from seamline.actions import (
    AWAITING,
    DONE,
    FAILED,
    PENDING,
    WAITING_CREDENTIALS,
    ActionRunner,
    OutboxItem,
)
from seamline.actions import REJECTED as REJECTED_ACTION
from seamline.audit import AuditEntry
from seamline.runtime._records import EventLog
from seamline.runtime._results import (
    ACTING,
    AWAITING_APPROVAL,
    BASELINE,
    DEAD_LETTERED,
    REJECTED,
    SUCCEEDED,
)
from seamline.runtime._types import Decision, Outcome
from seamline.telemetry import layer_done


class Act:
    """Runs one integration's outbox items and settles each event's state."""

    def __init__(self, runner: ActionRunner, log: EventLog) -> None:
        self.runner, self.log = runner, log

    def run(self, decision: Decision, *, defer: bool = False) -> Decision:
        t = time.perf_counter()
        a = decision.admission
        outcome = self.finish(a.event_id, a.path, list(decision.items), defer=defer)
        a.timings["actions"] = layer_done("actions", t)
        return decision.settled(outcome)

    def finish(self, event_id: str, path: str, items: list[OutboxItem] | None = None, *,
               defer: bool = False) -> Outcome:
        """Run the event's pending actions and settle its state (also after a crash or an
        approval). ``items``: the outbox rows when the caller has them (read otherwise).

        ``defer``: an action that keeps failing stays pending and the event stays ``acting``
        (the queue runs it again after a backoff) instead of going to the dead-letter queue.
        """
        settled: list[Outcome] = []
        name = self.log.name

        def finalize(conn: Connection, statuses: list[str]) -> list[AuditEntry]:
            if PENDING in statuses:
                settled.append(Outcome(ACTING, "actions",
                                       "an action failed; it will be tried again"))
                return [AuditEntry(event_id, name, "retry",
                                   {"stage": "actions", "reason": settled[-1].reason})]
            outcome = _settled(statuses, path)
            now = time.time()
            entries = [AuditEntry(event_id, name, "state",
                                  {"state": outcome.state, "reason": outcome.reason})]
            if outcome.state == DEAD_LETTERED:
                self.log.dead_letter(conn, event_id, outcome.stage, outcome.reason, now)
            else:
                self.log.set_state(conn, event_id, outcome.state, outcome.stage, outcome.reason,
                                   now)
            settled.append(outcome)
            return entries

        self.runner.run_event(event_id, items, finalize=finalize, defer=defer)
        # A refresh during these actions fixed a failed credential: what waited for it runs now.
        for name, waiting, waiting_path in self.runner.take_resumed():
            if name == self.log.name:  # this event too, if one of its own actions waited
                outcome = self.finish(waiting, waiting_path, defer=defer)
                if waiting == event_id:
                    settled.append(outcome)
        return settled[-1]


def _settled(statuses: list[str], path: str) -> Outcome:
    """Where an event settles once none of its actions is pending."""
    if FAILED in statuses:
        return Outcome(DEAD_LETTERED, "actions", "an action kept failing (see the outbox)")
    if AWAITING in statuses:
        return Outcome(AWAITING_APPROVAL)
    if WAITING_CREDENTIALS in statuses:  # not failed: it runs once the credential is fixed
        return Outcome(WAITING_CREDENTIALS, "actions", "an action waits for a connector's "
                       "credential (seamline connectors status)")
    if REJECTED_ACTION in statuses and DONE not in statuses:
        return Outcome(REJECTED, "", "every action was rejected by a reviewer")
    return Outcome(SUCCEEDED if path == "ai" else BASELINE)
