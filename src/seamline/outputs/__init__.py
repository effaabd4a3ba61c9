"""Layer 4, outputs: extract, validate, repair at most twice, then dead-letter.

``extract_json`` refuses ambiguous and partial replies instead of guessing;
``check_grounding`` checks an answer against its source (quotes, claims, citations).
"""

from seamline.integration import DualSpec, GroundingSpec, JudgeSpec
from seamline.outputs._extract import extract_json
from seamline.outputs._grounding import (
    GroundingReport,
    check_grounding,
    grounding_instruction,
    sources_of,
    values_at,
)
from seamline.outputs._parse import parse_output, repair_instruction

__all__ = [
    "DualSpec",
    "GroundingReport",
    "GroundingSpec",
    "JudgeSpec",
    "check_grounding",
    "extract_json",
    "grounding_instruction",
    "parse_output",
    "repair_instruction",
    "sources_of",
    "values_at",
]
