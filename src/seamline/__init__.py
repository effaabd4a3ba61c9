"""Seamline: the seams around an LLM — ingest, prompt, inference, outputs, actions, audit, rollout.

The public surface is re-exported here; everything else lives in the layer packages.
"""

from typing import TYPE_CHECKING, Any

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
    load_integration,
)

if TYPE_CHECKING:
    from seamline.preflight import check


def __getattr__(name: str) -> Any:
    # ``check`` asks every layer (prompt, inference, connectors) about a declaration; it
    # loads them on first use so that ``import seamline`` stays light (no SQLAlchemy, httpx).
    if name == "check":
        from seamline.preflight import check

        return check
    raise AttributeError(f"module 'seamline' has no attribute {name!r}")


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
