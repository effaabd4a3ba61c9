"""Layer 3, inference: building the provider an integration's model route names."""

from __future__ import annotations

from seamline.errors import ConfigError
from seamline.inference._types import Provider
from seamline.integration import Integration


def build_provider(integration: Integration) -> Provider:
    route = integration.model
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
    if route.provider == "scripted":
        raise ConfigError("The scripted provider is driven by a function: pass "
                          "provider=ScriptedModel(fn) from Python.")
    raise ConfigError(f"Provider {route.provider!r} is unknown; use 'local' or 'scripted'.")


def text_fields(integration: Integration) -> tuple[str, ...]:
    if integration.text_fields:
        return integration.text_fields
    return tuple(name for name, f in integration.input_schema.model_fields.items()
                 if f.annotation in (str, str | None))
