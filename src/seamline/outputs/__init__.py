"""Layer 4, outputs: extract, validate, repair at most twice, then dead-letter.

``extract_json`` refuses ambiguous and partial replies instead of guessing.
"""

from seamline.outputs._extract import extract_json
from seamline.outputs._parse import parse_output, repair_instruction

__all__ = ["extract_json", "parse_output", "repair_instruction"]
