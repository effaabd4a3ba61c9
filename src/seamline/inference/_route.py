"""Layer 3, inference: building the provider an integration's model route names."""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from importlib.util import find_spec
from pathlib import Path

from seamline.errors import ConfigError
from seamline.inference._types import Provider
from seamline.integration import Integration, ModelRoute

EXTRACTIVE = "local-extractive"  # answers by quoting retrieved documents; learns nothing
# The local models a route can name. Each is the same classifier over other
# features, so an event can be replayed "with another model" offline.
# Name -> whether char_wb 3-5 grams are read besides word 1-2 grams.
MODELS: dict[str, bool] = {"local-linear": True, "local-words": False}
_MODELS_ENV = "SEAMLINE_MODELS"


def build_provider(integration: Integration) -> Provider:
    """The primary route's bare provider (no policies: see ``build_gateway``)."""
    return provider_for_route(integration.model, integration)


def provider_for_route(route: ModelRoute, integration: Integration,
                       models_dir: Path | None = None) -> Provider:
    """The bare provider of one route; ``models_dir``: where the on-device model's fit is
    kept between processes (None: fitted in every process)."""
    if route.provider == "local" and route.model == EXTRACTIVE:
        from seamline.inference._local_extract import ExtractiveModel

        return ExtractiveModel(integration.output_schema, model=route.model, params=route.params)
    if route.provider == "local":
        from seamline.inference.local import LocalModel

        if route.examples is None:
            raise ConfigError(f"Integration {integration.name!r} routes to the local model but "
                              "names no labelled examples (model.examples).")
        from seamline.ingest import redact_fields

        def as_seen_at_run_time(data: dict) -> dict:
            return redact_fields(data, integration.pii, integration.pii_kinds or None)[0]

        return LocalModel.from_jsonl(route.examples, integration.output_schema,
                                     text_fields=text_fields(integration), model=route.model,
                                     prepare=as_seen_at_run_time,
                                     fingerprint=redaction_fingerprint(integration),
                                     cache_dir=models_dir)
    if route.provider == "anthropic":
        from seamline.inference.anthropic import AnthropicModel

        return AnthropicModel(route.model, api_key_env=route.api_key_env or "ANTHROPIC_API_KEY",
                              base_url=route.base_url, timeout=route.timeout_s,
                              structured="json" if route.structured in ("json", "json_object", "none")
                              else "tool")
    if route.provider in ("openai", "openai-compatible"):
        from seamline.inference.openai import OpenAIModel, Structured

        default_env = "OPENAI_API_KEY" if route.provider == "openai" else "OPENAI_COMPATIBLE_API_KEY"
        structured: Structured
        if route.structured == "auto":
            structured = "json_schema" if route.provider == "openai" else "json_object"
        elif route.structured == "tool":
            structured = "json_schema"
        elif route.structured == "json":
            structured = "json_object"
        else:
            structured = route.structured
        return OpenAIModel(route.model, name=route.provider, api_key_env=route.api_key_env or default_env,
                           base_url=route.base_url, timeout=route.timeout_s, structured=structured,
                           max_tokens_param=None if route.max_tokens_param == "auto"
                           else route.max_tokens_param)
    if route.provider == "scripted":
        raise ConfigError("The scripted provider is driven by a function: pass "
                          "provider=ScriptedModel(fn) from Python.")
    raise ConfigError(f"Provider {route.provider!r} is unknown; use one of local, scripted, "
                      "anthropic, openai, openai-compatible.")


def text_fields(integration: Integration) -> tuple[str, ...]:
    if integration.text_fields:
        return integration.text_fields
    return tuple(name for name, f in integration.input_schema.model_fields.items()
                 if f.annotation in (str, str | None))


def redaction_fingerprint(integration: Integration) -> str:
    """What identifies the redaction the examples go through: the PII policy, the kinds
    redacted, the redaction code itself and the named-entity model it uses, if any (a
    change to any means a new fit)."""
    from seamline.ingest import ner_installed

    ner = ner_installed()
    policy = json.dumps([integration.pii, list(integration.pii_kinds),
                         ner.model if ner.available else ""], sort_keys=True)
    return f"redact:{hashlib.sha256(policy.encode()).hexdigest()[:16]}:{_ingest_code()}"


@cache
def _ingest_code() -> str:
    """A hash of the ingest package's files (code and lexicons), read once per process."""
    spec = find_spec("seamline.ingest")
    digest = hashlib.sha256()
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.name.encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def models_dir_for(store_url: str | None = None) -> Path:
    """Where fitted local models are kept: ``$SEAMLINE_MODELS``, else ``models/`` beside a
    SQLite store (the given one, else ``$SEAMLINE_DB``), else ``.seamline/models``."""
    env = os.environ.get(_MODELS_ENV)
    if env:
        return Path(env).expanduser()
    target = store_url if store_url is not None else os.environ.get("SEAMLINE_DB", "")
    if target.startswith("sqlite:///"):
        target = target.removeprefix("sqlite:///")
    elif "://" in target:
        target = ""  # PostgreSQL: no folder of its own
    if target and target != ":memory:":
        return Path(target).expanduser().parent / "models"
    return Path(".seamline") / "models"
