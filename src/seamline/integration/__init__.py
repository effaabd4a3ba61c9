"""Declaring an integration: the one place that names every part of it.

Python API (Pydantic models) and file form (YAML/TOML) build the same object. This
package sits at the bottom of the import graph: it holds every declaration (the
integration, its sources, stream, retrieval and grounding specs) and imports no layer,
so every layer can read it. Checking a declaration against the layers is
``seamline.preflight``.
"""

from seamline.integration._files import integration_from_dict, load_integration
from seamline.integration._grounding import DualSpec, GroundingSpec, JudgeSpec
from seamline.integration._refs import resolve
from seamline.integration._retrieval import RetrievalSpec
from seamline.integration._source import (
    WEBHOOK_KINDS,
    FieldPolicy,
    HmacScheme,
    PollSpec,
    SourceKind,
    SourceSpec,
)
from seamline.integration._spec import (
    ActionSpec,
    ApprovalPolicy,
    BreakerSpec,
    Budgets,
    Checklist,
    Integration,
    ModelRoute,
    PromptSpec,
    QueueSpec,
    RateLimitSpec,
    RetrySpec,
    RolloutSpec,
)
from seamline.integration._stream import (
    CountWindow,
    LatePolicy,
    SlidingWindow,
    StreamSpec,
    TumblingWindow,
    WindowInput,
    WindowSpec,
)

__all__ = [
    "WEBHOOK_KINDS",
    "ActionSpec",
    "ApprovalPolicy",
    "BreakerSpec",
    "Budgets",
    "Checklist",
    "CountWindow",
    "DualSpec",
    "FieldPolicy",
    "GroundingSpec",
    "HmacScheme",
    "Integration",
    "JudgeSpec",
    "LatePolicy",
    "ModelRoute",
    "PollSpec",
    "PromptSpec",
    "QueueSpec",
    "RateLimitSpec",
    "RetrievalSpec",
    "RetrySpec",
    "RolloutSpec",
    "SlidingWindow",
    "SourceKind",
    "SourceSpec",
    "StreamSpec",
    "TumblingWindow",
    "WindowInput",
    "WindowSpec",
    "integration_from_dict",
    "load_integration",
    "resolve",
]
