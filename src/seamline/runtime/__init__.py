"""The runtime runs events through the seven layers and decides what happens next.

This issue's shape is in-process: ``Pipeline.process`` and ``run_file``.
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
    SUCCEEDED,
    TERMINAL,
    EventResult,
)

__all__ = [
    "ACTING", "AWAITING_APPROVAL", "BASELINE", "DEAD_LETTERED", "DUPLICATE", "OVER_BUDGET",
    "PROCESSING", "REJECTED", "SUCCEEDED", "TERMINAL", "EventResult", "Pipeline",
]
