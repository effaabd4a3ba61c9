"""Layer 3, inference: a provider driven by a function, for tests and benchmarks.

Public on purpose (like pydantic-ai's FunctionModel): users test their own
integrations with it, no network and no key.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from typing import Any

from seamline.inference._types import ModelReply, ModelRequest, Usage


def _approx_tokens(text: str) -> int:
    return max(1, len(text) // 4)


class ScriptedModel:
    """Answers each request with ``fn(request)``: a string, a dict (sent as JSON) or a ModelReply.

    The function may raise any :class:`seamline.errors.InferenceError` to act out a failure.
    """

    name = "scripted"

    def __init__(self, fn: Callable[[ModelRequest], str | dict[str, Any] | ModelReply],
                 model: str = "scripted") -> None:
        self.fn = fn
        self.model = model
        # The last requests seen, for tests to inspect; bounded so benchmarks don't grow.
        self.requests: deque[ModelRequest] = deque(maxlen=1000)

    def complete(self, request: ModelRequest) -> ModelReply:
        self.requests.append(request)
        out = self.fn(request)
        if isinstance(out, ModelReply):
            return out
        text = out if isinstance(out, str) else json.dumps(out, ensure_ascii=False)
        prompt = sum(len(m.content) for m in request.messages) // 4
        return ModelReply(text=text, usage=Usage(prompt, _approx_tokens(text)), model=self.model)
