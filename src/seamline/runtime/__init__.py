"""The runtime runs events through the seven layers and decides what happens next.

In-process with ``Pipeline.process`` and ``run_file``; the background shape's workers
(seamline.queue) and the server call the same Pipeline.
"""

from seamline.runtime._backfill import BackfillChange, backfill_event, select_events
from seamline.runtime._dlq import dead_letter, dead_letters_now
from seamline.runtime._pipeline import Pipeline
from seamline.runtime._replay import replay
from seamline.runtime._results import (
    ACTING,
    AWAITING_APPROVAL,
    BASELINE,
    DEAD_LETTERED,
    DUPLICATE,
    OVER_BUDGET,
    PROCESSING,
    REJECTED,
    RETRYING,
    SUCCEEDED,
    TERMINAL,
    EventResult,
    new_event_id,
)
from seamline.runtime._run_file import RunSummary, count_lines, read_jsonl, run_file

__all__ = [
    "ACTING",
    "AWAITING_APPROVAL",
    "BASELINE",
    "DEAD_LETTERED",
    "DUPLICATE",
    "OVER_BUDGET",
    "PROCESSING",
    "REJECTED",
    "RETRYING",
    "SUCCEEDED",
    "TERMINAL",
    "BackfillChange",
    "EventResult",
    "Pipeline",
    "RunSummary",
    "backfill_event",
    "count_lines",
    "dead_letter",
    "dead_letters_now",
    "new_event_id",
    "read_jsonl",
    "replay",
    "run_file",
    "select_events",
]
