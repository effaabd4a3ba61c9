"""Layer 5, actions: idempotent effects through an outbox, with a human approval queue.

The same output never acts twice, even across crashes and retries. Each name loads with
its own module on first use (``seamline.lazy``): reading the approval queue does not
import the planner's templates or the connectors.
"""

from typing import TYPE_CHECKING

from seamline.lazy import surface

_MODULES = {
    "_outbox": ("AWAITING", "DONE", "FAILED", "PENDING", "REJECTED", "ActionOutcome",
                "ActionRunner", "EditRefused", "OutboxItem", "decide", "doubt_sentence",
                "in_doubt", "list_awaiting", "outbox_row", "rejections_as_examples",
                "resolve_in_doubt", "write_outbox", "WAITING_CREDENTIALS", "resume_waiting"),
    "_grant": ("action_digest",),
    "_plan": ("PlannedAction", "action_key", "approval_reason", "plan_actions"),
    "_trust": ("Trust", "assess", "find_instructions"),
}

if TYPE_CHECKING:
    from seamline.actions._grant import action_digest
    from seamline.actions._outbox import (
        AWAITING,
        DONE,
        FAILED,
        PENDING,
        REJECTED,
        WAITING_CREDENTIALS,
        ActionOutcome,
        ActionRunner,
        EditRefused,
        OutboxItem,
        decide,
        doubt_sentence,
        in_doubt,
        list_awaiting,
        outbox_row,
        rejections_as_examples,
        resolve_in_doubt,
        resume_waiting,
        write_outbox,
    )
    from seamline.actions._plan import PlannedAction, action_key, approval_reason, plan_actions
    from seamline.actions._trust import Trust, assess, find_instructions
else:
    __getattr__, __dir__ = surface(__name__, _MODULES)

__all__ = [
    "AWAITING",
    "DONE",
    "FAILED",
    "PENDING",
    "REJECTED",
    "WAITING_CREDENTIALS",
    "ActionOutcome",
    "ActionRunner",
    "EditRefused",
    "OutboxItem",
    "PlannedAction",
    "Trust",
    "action_digest",
    "action_key",
    "approval_reason",
    "assess",
    "decide",
    "doubt_sentence",
    "find_instructions",
    "in_doubt",
    "list_awaiting",
    "outbox_row",
    "plan_actions",
    "rejections_as_examples",
    "resolve_in_doubt",
    "resume_waiting",
    "write_outbox",
]
