"""The runtime runs events through the seven layers and decides what happens next.

In-process with ``Pipeline.process`` and ``run_file``; the background shape's workers
(seamline.queue) and the server call the same Pipeline.
"""

from seamline.runtime._pipeline import Pipeline
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
)

__all__ = [
    "ACTING", "AWAITING_APPROVAL", "BASELINE", "DEAD_LETTERED", "DUPLICATE", "OVER_BUDGET",
    "PROCESSING", "REJECTED", "RETRYING", "SUCCEEDED", "TERMINAL", "EventResult", "Pipeline",
]
