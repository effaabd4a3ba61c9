"""``seamline check``: the grounding's trusted references must be inputs that exist.

``grounding.trusted_fields`` names the inputs that are trusted references (a CRM record, a
knowledge-base article, the retrieved documents); every other source is untrusted user
text. A name that is not an input field trusts nothing -- and says nothing is wrong: the
record it meant stays untrusted, so every action parameter it states raises a doubt, and a
typo there is only found when approvals pile up. Here it is an error before going live.
"""

from __future__ import annotations

from typing import Literal

from seamline.integration import Integration

# (level, part, sentence), as preflight's Problem takes them
Finding = tuple[Literal["error", "warning"], str, str]


def trusted_field_problems(integration: Integration) -> list[Finding]:
    """An error for every trusted field that is neither an input field nor the documents."""
    g = integration.grounding
    inputs = set(integration.input_schema.model_fields)
    if g.documents_field:
        inputs.add(g.documents_field)
    if integration.retrieval is not None:  # retrieval puts its chunks into the input
        inputs.add(integration.retrieval.documents_field)
    out: list[Finding] = []
    for path in g.trusted_fields:
        if path.split(".")[0].removesuffix("[]") not in inputs:
            known = ", ".join(sorted(integration.input_schema.model_fields)) or "none"
            sentence = (f"The grounding trusted field {path!r} is not a field of the input "
                        f"schema (its fields: {known}); nothing would be trusted by it.")
            out.append(("error", "grounding", sentence))
    return out
