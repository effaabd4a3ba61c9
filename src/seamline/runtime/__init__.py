"""The runtime runs events through the seven layers and decides what happens next.

The path of one event is a sequence of stages (``_path.py``: ingest, retrieve, prompt,
receive, infer, plan, decide, act), each a small object with typed input and output
(``_types.py``). ``Pipeline`` builds them for one integration and is the way in for
every shape: in-process (``process``, ``run_file``), the server (``admit`` then
``answer`` within a latency budget), the workers (``process``, ``redrive``, ``give_up``)
and streams.

Each name loads with its own module on first use (``seamline.lazy``): reading the
dead letters does not build a pipeline's every layer.
"""

from typing import TYPE_CHECKING

from seamline.lazy import surface

_MODULES = {
    "_backfill": ("BackfillChange", "backfill_event", "select_events"),
    "_dlq": ("dead_letter", "dead_letters_now"),
    "_pipeline": ("Pipeline",),
    "_replay": ("replay",),
    "_results": ("ACTING", "AWAITING_APPROVAL", "BASELINE", "DEAD_LETTERED", "DUPLICATE",
                 "OVER_BUDGET", "PROCESSING", "REJECTED", "RETRYING", "SUCCEEDED", "TERMINAL",
                 "EventResult", "new_event_id"),
    "_run_file": ("RunSummary", "count_lines", "jsonl_bytes", "read_jsonl", "run_file"),
    "_settle": ("settle_actions",),
    "_types": ("Admission", "Inference", "Outcome"),
}

if TYPE_CHECKING:
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
    from seamline.runtime._run_file import (
        RunSummary,
        count_lines,
        jsonl_bytes,
        read_jsonl,
        run_file,
    )
    from seamline.runtime._settle import settle_actions
    from seamline.runtime._types import Admission, Inference, Outcome
else:
    __getattr__, __dir__ = surface(__name__, _MODULES)

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
    "settle_actions",
]
