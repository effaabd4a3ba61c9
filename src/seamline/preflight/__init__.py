"""The pre-build checklist, checked: ``check(integration)`` names every problem in sentences.

Above the layers in the import graph: it asks the prompt, inference and connectors
layers whether what the integration declares can run (templates compile, the local
model has examples, every handler and connector resolves).
"""

from seamline.preflight._check import Problem, check

__all__ = ["Problem", "check"]
