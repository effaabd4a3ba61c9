"""Layer 4, outputs: extract, validate, repair at most twice, then dead-letter.

``extract_json`` refuses ambiguous and partial replies instead of guessing;
``check_grounding`` checks an answer against its source (quotes, claim support,
citations, trust levels of sources) and ``check_cited`` an answer whose claims carry a
provider's citations (``citation_request`` builds the documents it is asked to cite);
``find_instructions`` is the detector of text that reads as instructions to the model,
which the approval policies (layer 5) use too.
"""

from seamline.integration import DualSpec, GroundingSpec, JudgeSpec
from seamline.outputs._citable import citable_documents, citation_request
from seamline.outputs._cited import CitedReport, check_cited
from seamline.outputs._extract import extract_json
from seamline.outputs._grounding import (
    GroundingReport,
    check_grounding,
    grounding_instruction,
    sources_of,
)
from seamline.outputs._instructions import InstructionSpan, find_instructions, instruction_spans
from seamline.outputs._parse import parse_output, repair_instruction
from seamline.outputs._paths import values_at
from seamline.outputs._verbatim import find_verbatim

__all__ = [
    "CitedReport",
    "DualSpec",
    "GroundingReport",
    "GroundingSpec",
    "InstructionSpan",
    "JudgeSpec",
    "check_cited",
    "check_grounding",
    "citable_documents",
    "citation_request",
    "extract_json",
    "find_instructions",
    "find_verbatim",
    "grounding_instruction",
    "instruction_spans",
    "parse_output",
    "repair_instruction",
    "sources_of",
    "values_at",
]
