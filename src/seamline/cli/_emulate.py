"""`seamline emulate`: the provider emulator as a local server, for staging chaos drills.

A thin layer over :mod:`seamline.emulator`; everything here can be done from Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seamline.cli._common import console, existing_file, fail
from seamline.emulator import Emulator, FaultPlan, Latency, LocalModelBackend, load_script_backend
from seamline.errors import ConfigError


def local_backend(target: str) -> LocalModelBackend:
    """The integration's on-device model answering the wire requests: it learns from the
    integration's examples, read as one text (the emulator sees only the prompt text)."""
    from seamline.inference import text_fields
    from seamline.inference.local import LocalModel
    from seamline.ingest import redact_fields
    from seamline.integration import load_integration

    spec = load_integration(target)
    # A remote route has no examples of its own: its on-device fallback's are the ones.
    routes, examples = [spec.model], None
    while routes and examples is None:
        route = routes.pop(0)
        examples = route.examples
        routes += route.fallbacks
    if examples is None:
        raise ConfigError(f"Integration {spec.name!r} names no labelled examples to answer "
                          "from (model.examples, or a fallback's examples).")
    fields = text_fields(spec)

    def as_text(data: dict) -> dict:
        red = redact_fields(data, spec.pii, spec.pii_kinds or None)[0]
        return {"text": "\n".join(str(red.get(f) or "") for f in fields)}

    model = LocalModel.from_jsonl(examples, spec.output_schema, text_fields=("text",),
                                  prepare=as_text)
    model.warm()
    return LocalModelBackend(model)


def build_emulator(faults: Path | None = None, script: str | None = None,
                   latency_ms: float | None = None, seed: int | None = None,
                   host: str = "127.0.0.1", port: int = 8787,
                   api_keys: list[str] | None = None, integration: str | None = None) -> Emulator:
    """The emulator ``seamline emulate`` would serve with these options (not started)."""
    plan = FaultPlan.load(faults) if faults is not None else FaultPlan()
    if latency_ms is not None:
        if latency_ms < 0:
            raise ConfigError("--latency-ms cannot be negative.")
        # An explicit --latency-ms wins over the file's latency: it is the quicker knob in a drill.
        plan = plan.model_copy(update={"latency": Latency.fixed(latency_ms / 1000)})
    if script and integration:
        raise ConfigError("Give --script or --integration, not both.")
    backend = load_script_backend(script) if script else None
    if integration:
        backend = local_backend(integration)
    return Emulator(backend, faults=plan, seed=seed, host=host, port=port,
                    api_keys=set(api_keys) if api_keys else None)


def emulate_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8787,
    faults: Annotated[Path | None, typer.Option(
        help="Fault plan, YAML or JSON: rules (kind + p/first/nth/every), latency, seed.")] = None,
    script: Annotated[str | None, typer.Option(
        help="Backend as file.py:function, called with each EmulatedRequest; returns str or dict. "
             "Default: a small JSON object echoing the last user turn.")] = None,
    latency_ms: Annotated[float | None, typer.Option(
        "--latency-ms",
        help="Fixed delay added to every answer (overrides the plan's latency).")] = None,
    seed: Annotated[int | None, typer.Option(
        help="Seed for probabilistic faults and latency.")] = 0,
    api_key: Annotated[list[str] | None, typer.Option(
        "--api-key", help="Accept only this key (repeatable). Default: any non-empty key.")] = None,
    integration: Annotated[str | None, typer.Option(
        help="Answer with this integration's on-device model (trained on its examples).")] = None,
):
    """Serve the Anthropic Messages and OpenAI Chat Completions APIs locally, with injected faults.

    Point an SDK at http://HOST:PORT (Anthropic) or http://HOST:PORT/v1 (OpenAI).
    """
    if faults is not None:
        existing_file(faults, "fault plan")
    try:
        emulator = build_emulator(faults, script, latency_ms, seed, host, port, api_key, integration)
    except ConfigError as exc:
        fail(str(exc), 2)
        return
    rules = len(emulator.faults.rules)
    console.print(f"Emulating Anthropic at http://{host}:{port} and OpenAI at "
                  f"http://{host}:{port}/v1 "
                  f"({rules} fault rule{'s' if rules != 1 else ''}). Ctrl-C stops.")
    emulator.run()
