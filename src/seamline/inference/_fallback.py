"""Layer 3, inference: a chain of models tried in order when one is down.

Only failures that say "another try may help" (5xx, 429, open circuit, and the on-device
model finding no value for a field) move to the next model; a rejected request fails the
same everywhere and is raised at once.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from seamline.errors import CannotFill, ContextTooLong
from seamline.inference._retry import is_retryable
from seamline.inference._types import ModelReply, ModelRequest, Provider


@dataclass(frozen=True, slots=True)
class ChainAttempt:
    """One link of the chain that was tried: who, which model, and how it ended."""

    provider: str
    model: str
    outcome: str  # "ok" or the error class name


class Fallback:
    """A provider that tries each link of ``chain`` in order until one answers.

    A link is a provider, or ``(provider, model)`` to send the request to another model
    (the request's ``model`` is replaced). The reply's ``model`` names the model that
    answered; ``last_chain`` holds the calling thread's links tried, for the audit.
    With ``on_context_too_long=True`` a :class:`ContextTooLong` also moves on (put models
    with bigger windows later in the chain).
    """

    def __init__(self, chain: Sequence[Provider | tuple[Provider, str]], *,
                 on_context_too_long: bool = False) -> None:
        if not chain:
            raise ValueError("a fallback chain needs at least one provider")
        self.chain: tuple[tuple[Provider, str | None], ...] = tuple(
            (link[0], link[1]) if isinstance(link, tuple) else (link, None) for link in chain)
        self.on_context_too_long = on_context_too_long
        self.name = self.chain[0][0].name
        self._local = threading.local()

    @property
    def last_chain(self) -> tuple[ChainAttempt, ...]:
        return getattr(self._local, "chain", ())

    def _moves_on(self, error: BaseException) -> bool:
        # CannotFill: the on-device model found no value for a field; a later model may.
        return (is_retryable(error) or isinstance(error, CannotFill)
                or (self.on_context_too_long and isinstance(error, ContextTooLong)))

    def complete(self, request: ModelRequest) -> ModelReply:
        tried: list[ChainAttempt] = []
        self._local.chain = ()
        for index, (provider, model) in enumerate(self.chain):
            sent = request if model is None else dataclasses.replace(request, model=model)
            try:
                reply = provider.complete(sent)
            except Exception as error:
                tried.append(ChainAttempt(provider.name, sent.model, type(error).__name__))
                self._local.chain = tuple(tried)
                if not self._moves_on(error) or index == len(self.chain) - 1:
                    if len(tried) > 1:
                        error.add_note("fallback chain tried: " + ", ".join(
                            f"{a.provider}:{a.model} -> {a.outcome}" for a in tried))
                    raise
                continue
            tried.append(ChainAttempt(provider.name, sent.model, "ok"))
            self._local.chain = tuple(tried)
            return reply if reply.model else dataclasses.replace(reply, model=sent.model)
        raise AssertionError("unreachable")  # pragma: no cover
