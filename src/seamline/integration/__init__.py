"""Declaring an integration: the one place that names every part of it.

Python API (Pydantic models) and file form (YAML/TOML) build the same object. This
package sits at the bottom of the import graph: it holds every declaration (the
integration, its sources, stream, retrieval and grounding specs) and imports no layer,
so every layer can read it. Checking a declaration against the layers is
``seamline.preflight``.
"""

from seamline.integration._files import (
    FileReading,
    integration_from_dict,
    load_integration,
    read_integration,
)
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
    GateRule,
    Integration,
    ModelRoute,
    OverSoft,
    PromptSpec,
    QueueSpec,
    RateLimitSpec,
    RetrySpec,
    RolloutSpec,
    RolloutStage,
    SoftCaps,
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
from seamline.integration._vendors import VendorChoice

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
    "FileReading",
    "GateRule",
    "GroundingSpec",
    "HmacScheme",
    "Integration",
    "JudgeSpec",
    "LatePolicy",
    "ModelRoute",
    "OverSoft",
    "PollSpec",
    "PromptSpec",
    "QueueSpec",
    "RateLimitSpec",
    "RetrievalSpec",
    "RetrySpec",
    "RolloutSpec",
    "RolloutStage",
    "SlidingWindow",
    "SoftCaps",
    "SourceKind",
    "SourceSpec",
    "StreamSpec",
    "TumblingWindow",
    "VendorChoice",
    "WindowInput",
    "WindowSpec",
    "integration_from_dict",
    "load_integration",
    "read_integration",
    "resolve",
]
