"""Layer 3, inference: building the provider an integration's model route names."""

from __future__ import annotations

from seamline.errors import ConfigError
from seamline.inference._types import Provider
from seamline.integration import Integration, ModelRoute

EXTRACTIVE = "local-extractive"  # answers by quoting retrieved documents; learns nothing


def build_provider(integration: Integration) -> Provider:
    """The primary route's bare provider (no policies: see ``build_gateway``)."""
    return provider_for_route(integration.model, integration)


def provider_for_route(route: ModelRoute, integration: Integration) -> Provider:
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
                                     prepare=as_seen_at_run_time)
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
                           base_url=route.base_url, timeout=route.timeout_s, structured=structured)
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
