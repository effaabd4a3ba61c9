"""The runtime runs events through the seven layers and decides what happens next.

The path of one event is a sequence of stages (``_path.py``: ingest, retrieve, prompt,
receive, infer, plan, decide, act), each a small object with typed input and output
(``_types.py``). ``Pipeline`` builds them for one integration and is the way in for
every shape: in-process (``process``, ``run_file``), the server (``admit`` then
``answer`` within a latency budget), the workers (``process``, ``redrive``, ``give_up``)
and streams.
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
from seamline.runtime._run_file import RunSummary, count_lines, jsonl_bytes, read_jsonl, run_file
from seamline.runtime._types import Admission, Inference, Outcome

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
    "Admission",
    "BackfillChange",
    "EventResult",
    "Inference",
    "Outcome",
    "Pipeline",
    "RunSummary",
    "backfill_event",
    "count_lines",
    "dead_letter",
    "dead_letters_now",
    "jsonl_bytes",
    "new_event_id",
    "read_jsonl",
    "replay",
    "run_file",
    "select_events",
]
