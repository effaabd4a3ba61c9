"""Stage 2, prompt: render the integration's template over the (redacted) input, fitted to
the model's context window."""

from __future__ import annotations

from typing import Any

from seamline.errors import IngestError, PromptError
from seamline.ingest import TokenCounter, fit_context
from seamline.integration import Integration
from seamline.prompt import PromptTemplate, RenderedPrompt
from seamline.runtime._types import Prompted, Refusal


class Prompt:
    """Layer 2 for one integration: deterministic renders, versioned by their template."""

    def __init__(self, integration: Integration, template: PromptTemplate,
                 counter: TokenCounter, text_fields: tuple[str, ...]) -> None:
        self.integration, self.template, self.counter = integration, template, counter
        self.text_fields = text_fields
        self.output_schema = integration.output_schema.model_json_schema()
        m = integration.model
        self.budget = m.context_window - m.max_output_tokens

    def render(self, data: dict[str, Any]) -> RenderedPrompt:
        """The prompt for this input as it is (no fitting): what resume and replay re-send."""
        return self.template.render(**data, input=data, output_schema=self.output_schema)

    def tokens(self, rendered: RenderedPrompt) -> int:
        return self.counter.count(rendered.system) + self.counter.count(rendered.user)

    def run(self, data: dict[str, Any]) -> Prompted | Refusal:
        try:
            rendered, fitted, tokens = fit_context(
                data, self.render, counter=self.counter, budget=self.budget,
                policy=self.integration.model.oversize, fields=self.text_fields)
        except PromptError as exc:
            return Refusal("prompt", str(exc))
        except IngestError as exc:  # too large, and the policy says dead-letter
            return Refusal("ingest", str(exc))
        return Prompted(rendered, fitted, tokens, truncated=fitted is not data)
