"""Layer 2, prompt: sandboxed, deterministic, versioned templates.

Every render is kept in the store so an event can be replayed byte for byte.
"""

from seamline.prompt._template import PromptTemplate, RenderedPrompt

__all__ = ["PromptTemplate", "RenderedPrompt"]
