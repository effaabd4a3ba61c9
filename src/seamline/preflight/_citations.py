"""``seamline check``: ``grounding.citations: provider`` must name a route that can cite.

Only Anthropic's Messages API has a citations API among the routes Seamline speaks; on any
other route the documents would go unsent and every claim would stand on quotes the
integration believes were cited. The cited statements become the claims, so a claims
field is needed, a declared ``answer_field`` must be an output field, and retrieval's
documents must land where the grounding reads documents (or they go uncited). A fallback
route that cannot cite is a warning: answers through it keep the quote contract.
"""

from __future__ import annotations

from typing import Literal

from seamline.integration import Integration

Finding = tuple[Literal["error", "warning"], str, str]
CITING = ("anthropic",)  # the providers whose API returns citations


def citation_problems(integration: Integration) -> list[Finding]:
    g = integration.grounding
    if g.citations != "provider":
        return []
    route = integration.model
    errors: list[str] = []
    if route.provider not in CITING:
        errors.append(f"grounding.citations is provider, but the model route is "
                      f"{route.provider}, which has no citations API: route to anthropic or "
                      "use citations: quotes.")
    if not g.claims_field:
        errors.append("grounding.citations is provider, but no claims_field is declared: the "
                      "cited statements become its claims.")
    fields = integration.output_schema.model_fields
    if g.answer_field and g.answer_field not in fields:
        errors.append(f"grounding.answer_field {g.answer_field!r} is not a field of the output "
                      f"schema (its fields: {', '.join(sorted(fields)) or 'none'}).")
    retrieval = integration.retrieval
    if retrieval is not None and g.documents_field != retrieval.documents_field:
        errors.append(f"grounding.citations is provider and retrieval puts its documents into "
                      f"{retrieval.documents_field!r}, but grounding.documents_field is "
                      f"{g.documents_field!r}: the retrieved documents would not be sent to be "
                      "cited.")
    out: list[Finding] = [("error", "grounding", sentence) for sentence in errors]
    stack = list(route.fallbacks)
    while stack:
        fallback = stack.pop(0)
        stack += fallback.fallbacks
        if fallback.provider not in CITING:
            sentence = (f"The fallback route {fallback.provider}:{fallback.model} has no "
                        "citations API: answers through it are checked under the quote contract.")
            out.append(("warning", "grounding", sentence))
    return out
