"""Seamline: the seams around an LLM — ingest, prompt, inference, outputs, actions, audit, rollout.

The public surface is re-exported here; everything else lives in the layer packages.
"""

from seamline.errors import SeamlineError
from seamline.integration import (
    ActionSpec,
    ApprovalPolicy,
    Budgets,
    Checklist,
    Integration,
    ModelRoute,
    PromptSpec,
    RolloutSpec,
    check,
    load_integration,
)

__version__ = "0.1.0"

__all__ = [
    "ActionSpec",
    "ApprovalPolicy",
    "Budgets",
    "Checklist",
    "Integration",
    "ModelRoute",
    "PromptSpec",
    "RolloutSpec",
    "SeamlineError",
    "__version__",
    "check",
    "load_integration",
]
