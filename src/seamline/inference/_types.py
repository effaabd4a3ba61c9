"""What crosses the inference seam: a request, a reply, and the usage it cost.

Providers see only these types; the runtime never hands a provider anything
that was not redacted first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from seamline.citations import Citation, CitationRequest


@dataclass(frozen=True, slots=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """One call to a model.

    ``source`` is the redacted event data the prompt was rendered from. Remote
    providers ignore it (they read ``messages``); the on-device model learns
    and predicts from it, so its evidence quotes are real sentences of the input.
    """

    messages: tuple[Message, ...]
    model: str
    params: dict[str, Any] = field(default_factory=dict)
    output_schema: dict[str, Any] | None = None
    source: dict[str, Any] = field(default_factory=dict)
    attempt: int = 0  # 0 for the first call, 1.. for repair retries
    max_tokens: int = 512  # the output cap the cost reservation was made for
    # The documents a provider with a citations API is asked to cite (None: the quote
    # contract; a provider without such an API ignores it).
    citations: CitationRequest | None = None

    @property
    def system(self) -> str:
        return "\n".join(m.content for m in self.messages if m.role == "system")

    @property
    def user(self) -> str:
        return "\n".join(m.content for m in self.messages if m.role == "user")


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0  # uncached input tokens
    output_tokens: int = 0
    cache_write_tokens: int = 0  # input tokens written to the provider's prompt cache
    cache_read_tokens: int = 0  # input tokens served from it

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_write_tokens + self.cache_read_tokens


@dataclass(frozen=True, slots=True)
class ModelReply:
    """One reply. ``evidence``: what a model that states its evidence (the on-device one)
    says about each field it filled, for the audit trail. ``reads_prompt``: False for a
    model that never reads the messages, so asking it again with a repair is pointless."""

    text: str
    usage: Usage = Usage()
    model: str = ""
    stop_reason: str = "end"
    evidence: dict[str, Any] = field(default_factory=dict)
    reads_prompt: bool = True
    response_id: str = ""  # the provider's id of the completion (telemetry's gen_ai.response.id)
    # What the provider's citations API said backs each claim; None: the provider has no
    # citations API (or was not asked), so the claims stand on the model's own quotes.
    citations: tuple[Citation, ...] | None = None


@runtime_checkable
class Provider(Protocol):
    """Anything that turns a request into a reply.

    Raise :class:`seamline.errors.InferenceError` (or a subclass) on failure.
    """

    name: str

    def complete(self, request: ModelRequest) -> ModelReply: ...
