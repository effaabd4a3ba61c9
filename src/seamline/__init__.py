"""Seamline: the seams around an LLM — ingest, prompt, inference, outputs, actions, audit, rollout.

The public surface is re-exported here; everything else lives in the layer packages. The
names load on first use (PEP 562), so that importing any part of Seamline — the CLI
answering ``--help``, a worker importing ``seamline.queue`` — pays only for what it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from seamline.preflight import check

__version__ = "0.1.0"

_WHERE = {
    "SeamlineError": "seamline.errors", "check": "seamline.preflight",
    **{name: "seamline.integration" for name in (
        "ActionSpec", "ApprovalPolicy", "Budgets", "Checklist", "Integration", "ModelRoute",
        "PromptSpec", "RolloutSpec", "load_integration")},
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'seamline' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


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
