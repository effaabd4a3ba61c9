"""Layer 5, actions: idempotent effects through an outbox, with a human approval queue.

The same output never acts twice, even across crashes and retries.
"""

from seamline.actions._outbox import (
    AWAITING,
    DONE,
    FAILED,
    PENDING,
    REJECTED,
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
    write_outbox,
)
from seamline.actions._plan import PlannedAction, action_key, approval_reason, plan_actions
from seamline.actions._trust import Trust, assess, find_instructions

__all__ = [
    "AWAITING",
    "DONE",
    "FAILED",
    "PENDING",
    "REJECTED",
    "ActionOutcome",
    "ActionRunner",
    "EditRefused",
    "OutboxItem",
    "PlannedAction",
    "Trust",
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
    "write_outbox",
]
