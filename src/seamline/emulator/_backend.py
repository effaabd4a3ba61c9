"""Where the emulator's answers come from: a function of the request (a script) or a provider.

A backend sees one :class:`EmulatedRequest`, the same for both wire formats, and
returns the model's text (a ``str``) or a JSON object (a ``dict``, sent as JSON text,
or as a tool_use input when the request forced a tool).
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seamline.errors import ConfigError
from seamline.inference import Message, ModelRequest, Provider


@dataclass(frozen=True, slots=True)
class EmulatedRequest:
    """One model call as the emulator understood it, whichever wire format carried it."""

    provider: str  # "anthropic" | "openai"
    model: str
    system: str
    messages: tuple[Message, ...]  # user/assistant turns, content flattened to text
    max_tokens: int | None
    json_mode: bool = False  # OpenAI response_format json_object / json_schema, or a forced tool
    json_schema: dict[str, Any] | None = None  # the schema asked for, if any
    tool_name: str | None = None  # the tool (function) the reply must call, if forced
    stream: bool = False
    body: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def user(self) -> str:
        """The text of every user turn, joined by newlines."""
        return "\n".join(m.content for m in self.messages if m.role == "user")


Backend = Callable[[EmulatedRequest], "str | dict[str, Any]"]


def echo_backend(request: EmulatedRequest) -> dict[str, Any]:
    """The default: a small valid JSON object naming the model and quoting the last user turn."""
    last = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
    return {"model": request.model, "echo": last[:200]}


class ScriptBackend:
    """Answers with the given replies in order, repeating the last one once they run out.

    ``ScriptBackend(['{"label": "refund"}', {"label": "other"}])``; the requests it
    answered are kept in ``.seen`` for tests.
    """

    def __init__(self, replies: Sequence[str | dict[str, Any]]) -> None:
        if not replies:
            raise ConfigError("ScriptBackend needs at least one reply.")
        self.replies = list(replies)
        self.seen: list[EmulatedRequest] = []
        self._lock = threading.Lock()

    def __call__(self, request: EmulatedRequest) -> str | dict[str, Any]:
        with self._lock:
            reply = self.replies[min(len(self.seen), len(self.replies) - 1)]
            self.seen.append(request)
            return reply


class LocalModelBackend:
    """Answers with any Seamline :class:`~seamline.inference.Provider` (e.g. the on-device model).

    The wire request becomes a :class:`ModelRequest` whose ``source`` is
    ``source(request)``; by default ``{"text": <the user turns>}``, so a
    :class:`~seamline.inference.local.LocalModel` used here is built with
    ``text_fields=("text",)``.
    """

    def __init__(self, provider: Provider,
                 source: Callable[[EmulatedRequest], dict[str, Any]] | None = None) -> None:
        self.provider = provider
        self.source = source or (lambda r: {"text": r.user})

    def __call__(self, request: EmulatedRequest) -> str:
        system = (Message("system", request.system),) if request.system else ()
        messages = system + request.messages
        params = {"max_tokens": request.max_tokens} if request.max_tokens else {}
        reply = self.provider.complete(ModelRequest(
            messages=messages, model=request.model, params=params,
            output_schema=request.json_schema, source=self.source(request)))
        return reply.text


def load_script_backend(spec: str) -> Backend:
    """Load ``path/to/file.py:function`` (or ``module:function``) as a backend."""
    where, _, name = spec.rpartition(":")
    if not where or not name:
        raise ConfigError(f"A script backend is named 'file.py:function', not {spec!r}.")
    try:
        if where.endswith(".py"):
            path = Path(where)
            if not path.is_file():
                raise ConfigError(f"The script file {path} does not exist.")
            module_spec = importlib.util.spec_from_file_location(
                f"_seamline_emulate_{path.stem}", path)
            assert module_spec and module_spec.loader
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
        fn = getattr(module, name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"Cannot load the script backend {spec!r}: {exc}") from exc
    if not callable(fn):
        raise ConfigError(f"{spec!r} is not a function.")
    return fn


def reply_text(reply: str | dict[str, Any]) -> str:
    return reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False)
