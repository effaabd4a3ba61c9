"""``seamline init``: a new integration that passes ``seamline check`` and runs at once.

The files come from ``cli/_scaffold/`` (package data): an integration in the file form with
inline schemas, its prompt, a keyword baseline, an action stub, labelled examples for the
on-device model, sample events and a golden set, and the JSON Schema editors read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from seamline.cli._common import console, fail

SCAFFOLD = Path(__file__).with_name("_scaffold")
PROVIDERS = ("local", "anthropic", "openai", "openai-compatible")
_NAME = re.compile(r"^[a-z][a-z0-9_\-]*$")

# The model block of integration.yaml per provider. Remote routes name where `seamline
# emulate` listens (a drill with no spending) and show a fallback to the on-device model.
_MODEL = {
    "local": """\
model:
  provider: local                   # the on-device model: no key, no network
  model: local-linear
  examples: data/examples.jsonl     # labelled {"input", "output"} lines it learns from
  budgets: {per_call_usd: 0.01, per_tenant_daily_usd: 1, daily_usd: 5}
""",
    "anthropic": """\
model:
  provider: anthropic
  model: claude-haiku-4-5
  api_key_env: ANTHROPIC_API_KEY    # the key comes from the environment, never from here
  # base_url: http://127.0.0.1:8787 # `seamline emulate --integration integration.yaml` (--base-url)
  max_output_tokens: 400
  budgets: {per_call_usd: 0.01, per_tenant_daily_usd: 1, daily_usd: 5}
  fallbacks:                        # tried when the model fails or its breaker is open;
    - {provider: local, model: local-linear, examples: data/examples.jsonl}  # emulate learns here
""",
    "openai": """\
model:
  provider: openai
  model: gpt-4.1-mini
  api_key_env: OPENAI_API_KEY       # the key comes from the environment, never from here
  # base_url: http://127.0.0.1:8787/v1   # `seamline emulate --integration integration.yaml`
  max_output_tokens: 400
  budgets: {per_call_usd: 0.01, per_tenant_daily_usd: 1, daily_usd: 5}
  fallbacks:                        # tried when the model fails or its breaker is open;
    - {provider: local, model: local-linear, examples: data/examples.jsonl}  # emulate learns here
""",
    "openai-compatible": """\
model:
  provider: openai-compatible       # vLLM, Ollama, llama.cpp, or `seamline emulate`
  model: llama-3.1-8b-instruct
  base_url: http://127.0.0.1:8000/v1   # Ollama: http://127.0.0.1:11434/v1
  input_usd_per_mtok: 0             # a model not in prices.toml needs its prices (0: self-hosted)
  output_usd_per_mtok: 0
  structured: json_object           # what most such servers support
  max_output_tokens: 400
  budgets: {per_call_usd: 0.01, per_tenant_daily_usd: 1, daily_usd: 5}
  fallbacks:                        # tried when the server fails or its breaker is open;
    - {provider: local, model: local-linear, examples: data/examples.jsonl}  # emulate learns here
""",
}

_KEY = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}


def _model_block(provider: str, base_url: str | None) -> str:
    """The model block, with ``base_url`` set when one is given (the emulator's, a server's)."""
    block = _MODEL[provider]
    if base_url is None:
        return block
    lines = [line for line in block.splitlines()
             if not line.lstrip().startswith(("base_url:", "# base_url:"))]
    lines.insert(3, f"  base_url: {base_url}")  # after "model:", provider and model
    return "\n".join(lines) + "\n"


def scaffold(folder: Path, provider: str = "local", base_url: str | None = None) -> list[Path]:
    """Write the integration into ``folder`` (which must not exist); the files written."""
    from seamline.cli._reference import schema_text

    name = folder.name
    env = re.sub(r"[^A-Z0-9]", "_", name.upper())
    values = {"__NAME__": name, "__PROVIDER__": provider, "__DIR__": str(folder),
              "__ENV__": env, "__MODEL__": _model_block(provider, base_url)}
    written: list[Path] = []
    folder.mkdir(parents=True)
    for src in sorted(SCAFFOLD.rglob("*")):
        if src.is_dir() or "__pycache__" in src.parts:
            continue
        rel = src.relative_to(SCAFFOLD)
        dest = folder / (rel.with_suffix("") if rel.suffix == ".tmpl" else rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        text = src.read_text(encoding="utf-8")
        if src.suffix == ".tmpl":
            for key, value in values.items():
                text = text.replace(key, value)
        dest.write_text(text, encoding="utf-8")
        written.append(dest)
    schema = folder / "integration.schema.json"
    schema.write_text(schema_text(), encoding="utf-8")
    return [*written, schema]


def init_cmd(
    name: Annotated[str, typer.Argument(
        help="The integration's name, also its new folder (a path such as integrations/leads "
             "names it leads)")],
    provider: Annotated[str, typer.Option(
        help="local (on-device, no key), anthropic, openai or openai-compatible")] = "local",
    base_url: Annotated[str | None, typer.Option(
        help="Where the remote model listens, e.g. `seamline emulate`'s http://127.0.0.1:8787 "
             "(OpenAI-style routes end in /v1)")] = None,
):
    """Write a new integration that passes seamline check and runs with seamline run at once.

    Schemas, prompt, baseline, an action stub, labelled examples, sample events, a golden set,
    and the JSON Schema your editor checks the YAML with. An existing folder is never touched.
    """
    folder = Path(name)
    if provider not in PROVIDERS:
        fail(f"The provider {provider!r} is unknown; use one of {', '.join(PROVIDERS)}.", 2)
    if not _NAME.match(folder.name):
        fail(f"The name {folder.name!r} must start with a lower-case letter and hold only "
             "lower-case letters, digits, _ and - (it names the integration).", 2)
    if base_url is not None and provider == "local":
        fail("--base-url is for a remote model; the local one runs in this process "
             "(choose --provider anthropic, openai or openai-compatible).", 2)
    if base_url is not None and not re.match(r"^https?://[^\s/]+", base_url):
        fail(f"--base-url takes an http(s) URL such as http://127.0.0.1:8787, not {base_url!r}.",
             2)
    if folder.exists():
        fail(f"{folder} already exists; nothing was written (pick another name, or remove "
             "it first).", 1)
    files = scaffold(folder, provider, base_url)
    yaml_path = folder / "integration.yaml"
    console.print(f"[green]✓[/] Wrote {len(files)} files to {folder}/ ({provider} model).")
    if provider in _KEY:
        console.print(f"Set {_KEY[provider]} first (or point base_url at `seamline emulate` "
                      "and set it to any value).")
    elif provider == "openai-compatible":
        console.print("Start your server at the base_url in integration.yaml "
                      f"(or `seamline emulate --port 8000 --integration {yaml_path}`).")
    console.print("Next:")
    for line in (f"seamline check {yaml_path}",
                 f"seamline run {yaml_path} --input {folder / 'data' / 'events.jsonl'}",
                 f"seamline events list --integration {folder.name}",
                 f"seamline eval {yaml_path} --golden {folder / 'data' / 'golden.jsonl'}"):
        console.print(f"  {line}", highlight=False, soft_wrap=True)
