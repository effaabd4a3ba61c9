"""The eval harness: golden sets scored through the whole integration.

This issue: per-field accuracy of categorical outputs; later issues add the rest.
"""

from seamline.eval._golden import GoldenScore, categorical_fields, score_golden

__all__ = ["GoldenScore", "categorical_fields", "score_golden"]
