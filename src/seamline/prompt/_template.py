"""Layer 2, prompt: deterministic, versioned templates in a Jinja2 sandbox.

Same data gives the same bytes; the version is a hash of the templates and
their parameters, so a stored render can be traced to the exact template.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from seamline.errors import ConfigError, PromptError


def _tojson(value: Any) -> str:
    # Jinja's own tojson HTML-escapes; prompts want plain, stable JSON.
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["tojson"] = _tojson
    return env


_ENV = _environment()


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    version: str
    system: str
    user: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(f"{self.system}\x00{self.user}".encode()).hexdigest()


class PromptTemplate:
    """A system and a user template plus fixed parameters (labels, few-shot examples)."""

    def __init__(self, user: str, system: str = "", params: dict[str, Any] | None = None) -> None:
        self.user_source, self.system_source = user, system
        self.params = dict(params or {})
        try:
            self._user = _ENV.from_string(user)
            self._system = _ENV.from_string(system)
        except TemplateSyntaxError as exc:
            raise ConfigError(f"The prompt template has a syntax error on line {exc.lineno}: "
                              f"{exc.message}.") from exc

    @cached_property
    def version(self) -> str:
        blob = json.dumps({"system": self.system_source, "user": self.user_source,
                           "params": self.params}, sort_keys=True, ensure_ascii=False, default=str)
        return "p-" + hashlib.sha256(blob.encode()).hexdigest()[:16]

    def variables(self) -> set[str]:
        """Top-level names the templates read (for ``seamline check``)."""
        names: set[str] = set()
        for source in (self.system_source, self.user_source):
            names |= meta.find_undeclared_variables(_ENV.parse(source))
        return names

    def render(self, **data: Any) -> RenderedPrompt:
        context = {**self.params, **data}
        try:
            system = self._system.render(context)
            user = self._user.render(context)
        except UndefinedError as exc:
            raise PromptError(f"The prompt uses a value the event does not have: {exc.message}.") from exc
        except SecurityError as exc:
            raise PromptError(f"The prompt tried something the sandbox forbids: {exc}.") from exc
        except Exception as exc:
            raise PromptError(f"The prompt could not be rendered from this event: "
                              f"{type(exc).__name__}: {exc}.") from exc
        return RenderedPrompt(version=self.version, system=system, user=user)
