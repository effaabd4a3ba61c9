"""Declaring an integration: the one place that names every part of it.

Python API (Pydantic models) and file form (YAML/TOML) build the same object.
"""

from seamline.integration._check import Problem, check
from seamline.integration._files import integration_from_dict, load_integration
from seamline.integration._refs import resolve
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

__all__ = [
    "ActionSpec", "ApprovalPolicy", "BreakerSpec", "Budgets", "Checklist", "Integration", "ModelRoute",
    "Problem", "PromptSpec", "QueueSpec", "RateLimitSpec", "RetrySpec", "RolloutSpec", "check", "integration_from_dict",
    "load_integration", "resolve",
]
