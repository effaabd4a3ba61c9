"""The integration file's JSON Schema and its reference, both generated from the Pydantic
spec (``seamline.integration``) and the descriptions in ``_reference_docs``.

``seamline schema`` prints the schema (editors complete and validate keys with it: the
scaffold's YAML names it in a ``# yaml-language-server: $schema=`` line);
``seamline schema --markdown`` prints ``docs/reference.md``. A test regenerates both and
compares, so neither can drift from the spec.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import PydanticUndefined

from seamline.cli._common import JSON_LISTINGS
from seamline.cli._reference_docs import DOCS, FILE_KEYS
from seamline.integration import Integration

# The inline schema syntax of the file form (integration/_files.py; a test keeps these equal).
INLINE_TYPES = ("str", "int", "float", "bool", "dict", "list[str]", "list[int]", "list[float]")
INLINE_CONSTRAINTS = ("min_length", "max_length", "ge", "le", "gt", "lt", "pattern", "description")
INLINE_FIELD_KEYS = ("type", "enum", "required", "default", "nullable", "cues", *INLINE_CONSTRAINTS)


class _FileForm(GenerateJsonSchema):
    """Pydantic's generator, taught the two kinds of value only Python can hold."""

    def is_subclass_schema(self, schema: Any) -> dict[str, Any]:
        return {"x-seamline-schema": True}  # replaced by a reference or an inline schema

    def callable_schema(self, schema: Any) -> dict[str, Any]:
        return {"type": "string", "pattern": r"^\S+:[A-Za-z_][A-Za-z0-9_.]*$"}


def _models(annotation: Any) -> list[type[BaseModel]]:
    out: list[type[BaseModel]] = []
    if typing.get_origin(annotation) is type:  # a schema (input_schema): not a section
        return out
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        out.append(annotation)
    for arg in typing.get_args(annotation):
        out += _models(arg)
    return out


def sections() -> list[tuple[str, type[BaseModel]]]:
    """Every model of the spec with the file path it is first reached at, top first."""
    seen: dict[type[BaseModel], str] = {Integration: ""}
    queue: list[type[BaseModel]] = [Integration]
    while queue:
        model = queue.pop(0)
        for name, field in model.model_fields.items():
            for sub in _models(field.annotation):
                if sub not in seen:
                    many = typing.get_origin(field.annotation) is tuple
                    seen[sub] = f"{seen[model] + '.' if seen[model] else ''}{name}{'[]' if many else ''}"
                    queue.append(sub)
    return [(path, model) for model, path in seen.items()]


def _doc(key: str) -> tuple[str, Any]:
    entry = DOCS.get(key) or FILE_KEYS.get(key)
    if entry is None:
        return "(undocumented)", PydanticUndefined
    return (entry, PydanticUndefined) if isinstance(entry, str) else entry


def undocumented() -> list[str]:
    """``Model.field`` of every spec field without a description."""
    return [f"{model.__name__}.{name}" for _, model in sections()
            for name in model.model_fields if f"{model.__name__}.{name}" not in DOCS]


def _inline_schema_defs() -> dict[str, Any]:
    field = {
        "type": "object", "additionalProperties": False,
        "description": "One field: a type, or an enum; constraints as in Pydantic.",
        "properties": {
            "type": {"enum": list(INLINE_TYPES), "default": "str"},
            "enum": {"type": "array", "items": {"type": ["string", "number", "boolean"]},
                     "minItems": 1, "description": "The allowed values (a Literal)."},
            "required": {"type": "boolean",
                         "description": "Default: true unless a default is given."},
            "default": {"description": "The value when the field is missing."},
            "nullable": {"type": "boolean", "description": "The field may be null."},
            "cues": {"type": "array", "items": {"type": "string"},
                     "description": "Words that state a yes/no field, for the on-device model."},
            "min_length": {"type": "integer", "minimum": 0},
            "max_length": {"type": "integer", "minimum": 0},
            "ge": {"type": "number"}, "le": {"type": "number"},
            "gt": {"type": "number"}, "lt": {"type": "number"},
            "pattern": {"type": "string"}, "description": {"type": "string"},
        },
    }
    schema = {
        "type": "object", "additionalProperties": False, "required": ["fields"],
        "description": "A schema declared in the file: {name, fields: {field: type | {…}}}.",
        "properties": {
            "name": {"type": "string", "description": "The model's name."},
            "fields": {"type": "object", "minProperties": 1, "additionalProperties": {
                "anyOf": [{"enum": list(INLINE_TYPES)}, {"$ref": "#/$defs/InlineField"}]}},
        },
    }
    return {"InlineSchema": schema, "InlineField": field}


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the integration file, YAML or TOML."""
    raw = Integration.model_json_schema(schema_generator=_FileForm)
    defs = raw.pop("$defs", {})
    by_name = {model.__name__: model for _, model in sections()}
    for name, definition in [("Integration", raw), *defs.items()]:
        model = by_name.get(name)
        props = definition.get("properties", {})
        definition.pop("title", None)
        # The schema names a field as the file writes it (its alias: ``for``); the docs
        # and the checks below go by the field's own name (``for_``).
        field_name = {(f.alias or k): k for k, f in model.model_fields.items()} if model else {}
        for key, prop in props.items():
            prop.pop("title", None)
            text, example = _doc(f"{name}.{field_name.get(key, key)}")
            prop["description"] = text
            if example is not PydanticUndefined:
                prop["examples"] = [example]
            if model is not None and _is_duration(model, field_name.get(key, key)):
                # a number of seconds, or a text such as "90s", "5m", "1.5h", "7d"
                prop.pop("type", None)
                prop["anyOf"] = [{"type": "number", "minimum": 0},
                                 {"type": "string", "pattern": r"^\d+(\.\d+)?\s*(ms|s|m|h|d)?$"}]
                prop.pop("minimum", None)
                prop.pop("exclusiveMinimum", None)
            if _is_subclass(prop):
                prop.clear()
                prop.update({"description": text, "examples": [example], "anyOf": [
                    {"type": "string", "description": "file.py:Class or module:Class"},
                    {"$ref": "#/$defs/InlineSchema"}]})
        if model is not None and model.model_config.get("extra") == "forbid":
            definition["additionalProperties"] = False
    raw["properties"].pop("source_path", None)  # set by the loader, never written
    prompt = defs["PromptSpec"]
    for key in ("user_file", "system_file"):
        text, example = FILE_KEYS[f"PromptSpec.{key}"]
        prompt["properties"][key] = {"type": "string", "description": text, "examples": [example]}
    prompt["required"] = [r for r in prompt.get("required", []) if r != "user"]
    prompt["anyOf"] = [{"required": ["user"]}, {"required": ["user_file"]}]
    defs.update(_inline_schema_defs())
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Seamline integration file",
            "description": "An integration in the file form (YAML or TOML); see docs/reference.md.",
            **raw, "$defs": dict(sorted(defs.items()))}


def _is_subclass(prop: dict[str, Any]) -> bool:
    return bool(prop.get("x-seamline-schema"))


def _is_duration(model: type[BaseModel], key: str) -> bool:
    field = model.model_fields[key]
    return any(getattr(getattr(m, "func", None), "__name__", "") == "parse_duration"
               for m in field.metadata)


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


# -- the Markdown reference ------------------------------------------------------------

def _type_name(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is type(None):
        return "none"
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args]
        if "`file.py:function`" in names:  # a reference, in the file form always a text
            names = [n for n in names if n != "text"]
        return " or ".join(names)
    if origin is tuple or origin is list:
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping of {_type_name(args[0])} → {_type_name(args[1])}" if args else "mapping"
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is type:
        return "schema (reference or inline)"
    if origin is not None and origin.__name__ == "Callable" or annotation is Callable:
        return "`file.py:function`"
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return f"mapping ({annotation.__name__})"
    if annotation is Any:
        return "any"
    if annotation is Path:
        return "path"
    return {str: "text", int: "integer", float: "number", bool: "boolean"}.get(
        annotation, getattr(annotation, "__name__", str(annotation)))


def _yaml(value: Any) -> str:
    if isinstance(value, BaseModel):
        return "(see its section)"
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, tuple):
        value = list(value)
    text = json.dumps(value, ensure_ascii=False)
    return f"`{text}`".replace("|", "\\|")


def _default(field: Any) -> str:
    if field.default_factory is not None:
        return _yaml(field.default_factory())
    if field.default is PydanticUndefined:
        return "**required**"
    if isinstance(field.default, BaseModel):
        return "its keys' defaults"
    return _yaml(field.default)


def _see(field: Any) -> str | None:
    """For a field holding a model: where that model's keys are listed."""
    paths = {model: path for path, model in sections()}
    found = [paths[m] for m in _models(field.annotation) if m in paths]
    return ", ".join(f"see `{p}`" for p in dict.fromkeys(found)) if found else None


def _example(name: str, key: str, field: Any) -> str:
    _, example = _doc(f"{name}.{key}")
    if example is PydanticUndefined and _see(field):
        return _see(field) or ""
    if example is PydanticUndefined:
        if field.default not in (PydanticUndefined, None, "", ()):
            example = field.default
        else:
            example = _type_example(field.annotation)
    return _yaml(example)


def _type_example(annotation: Any) -> Any:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return args[0]
    if origin in (typing.Union, types.UnionType):
        return _type_example(next(a for a in args if a is not type(None)))
    return {str: "text", int: 1, float: 1.0, bool: True}.get(annotation, {})


def _duration(model: type[BaseModel], key: str) -> str:
    return " (seconds, or `90s`, `5m`, `1.5h`, `7d`)" if _is_duration(model, key) else ""


def _rows(path: str, model: type[BaseModel]) -> Iterator[str]:
    name = model.__name__
    yield "| key | type | default | example | meaning |"
    yield "|---|---|---|---|---|"
    keys = [(k, f) for k, f in model.model_fields.items() if not (model is Integration
                                                                and k == "source_path")]
    for key, field in keys:
        text, _ = _doc(f"{name}.{key}")
        yield (f"| `{field.alias or key}` | {_type_name(field.annotation)}{_duration(model, key)} | "
               f"{_default(field)} | {_example(name, key, field)} | {text} |")
    for key, (text, example) in FILE_KEYS.items():
        if key.startswith(f"{name}."):
            yield f"| `{key.split('.', 1)[1]}` | text (a file) | — | {_yaml(example)} | {text} |"


_INTRO = """\
# Reference: the integration file

Generated from the Pydantic spec (`src/seamline/integration/`) by
`seamline schema --markdown > docs/reference.md`; `tests/cli/test_first_hour.py` regenerates it
and fails when it differs. The same source gives the JSON Schema (`seamline schema`), which
editors use to complete and check keys: `seamline init` writes it beside the integration and
names it in the first line of the YAML:

```yaml
# yaml-language-server: $schema=./integration.schema.json
```

The file is YAML (or TOML with the same keys). Relative paths (`file.py:function`, prompt
files, `model.examples` and the `examples` of every fallback and of the judge's route,
`retrieval.docs`, `retrieval.index`) are relative to the integration file, whatever the
folder a command runs in. An unknown key is an error, and `seamline check` reports every
problem of a file at once: typos in several keys and inline schemas, the spec's rules and
what only the check finds (exit 2 when the file itself is inconsistent, 1 when it reads but
cannot go live, 0 when it is ready).
"""

_SYNTAX = """\
## Inline schemas: `{fields: …}` and `{enum: …}`

`input_schema` and `output_schema` name a Pydantic model (`schemas.py:SupportEmail`) or
declare one inline:

```yaml
output_schema:
  name: Triage                     # optional: the model's name
  fields:
    category: {enum: [sales, support, billing, spam]}   # a Literal
    priority: {enum: [low, normal, high], default: normal}
    summary: {type: str, max_length: 200}
    confidence: {type: float, ge: 0, le: 1}
    refund: {type: bool, cues: [refund, money back]}   # words that state a yes/no field
    note: str                      # a bare type name
    due: {type: str, nullable: true}                    # may be null (default null)
```

Field types: __TYPES__, or `enum: [...]`. Keys of a field: __KEYS__. A field is required
unless it has a `default` (or `required: false`, which makes it nullable).

## Approval: when an action waits for a person

`actions[].approval` takes `always`, `below_confidence` (with `confidence_field`, default
`confidence`), `amount_field` with `above_amount` and `min_amount`, and `currency_field`
with `currency`. The rules combine: any one of them sends the action to the queue
(`seamline approvals list`, or the console). Nothing in an event can lift them: the
model's confidence is set aside when the input holds instruction-like text or a
grounding check doubts the answer; an amount runs unapproved only when it is a finite
number above `min_amount` (0), at most `above_amount`, in `currency` when declared.

```yaml
approval: {below_confidence: 0.6}
approval: {always: true}
approval: {amount_field: refund_amount, above_amount: 100, currency_field: currency, currency: USD}
```

## The local model's examples

`provider: local` (models `local-linear`, `local-words`) learns from `model.examples`, a
JSONL file of labelled examples, one object a line with the event as `input` and the
expected answer as `output` (it must validate against the output schema):

```json
{"input": {"message_id": "m-1", "subject": "Refund", "body": "Please refund order 55."}, "output": {"category": "billing", "priority": "normal", "summary": "Refund for order 55.", "confidence": 1.0}}
```

Every `enum` (Literal) field gets its own classifier; `confidence`, `summary` and
`evidence` are computed; amounts, dates, ids and yes/no fields are read from the input only
when it states them. It reads `text_fields` (default: every string field), never the
prompt. `local-extractive` answers questions from retrieved documents and needs no
examples. Keep the golden set (`seamline eval --golden`) apart from the examples.

## `base_url` per provider

| provider | `base_url` | key from |
|---|---|---|
| `local` | — | — |
| `anthropic` | default `https://api.anthropic.com`; `http://127.0.0.1:8787` for `seamline emulate` | `ANTHROPIC_API_KEY` (or `api_key_env`) |
| `openai` | default `https://api.openai.com/v1`; `http://127.0.0.1:8787/v1` for `seamline emulate` | `OPENAI_API_KEY` (or `api_key_env`) |
| `openai-compatible` | **required**: the server's `/v1` URL, e.g. `http://localhost:8000/v1` (vLLM), `http://localhost:11434/v1` (Ollama), `http://localhost:8080/v1` (llama.cpp) | `api_key_env`, if the server wants a key |

A model that is not in `seamline/inference/prices.toml` (most `openai-compatible` models)
needs a price, or `Pipeline()` refuses to start: set `input_usd_per_mtok` and
`output_usd_per_mtok` on the route (`0` for a self-hosted model), or add it to a TOML file
named by `SEAMLINE_PRICES`.

```yaml
model:
  provider: openai-compatible
  model: llama-3.1-8b-instruct
  base_url: http://localhost:8000/v1
  input_usd_per_mtok: 0
  output_usd_per_mtok: 0
  structured: json_object        # what the server supports: json_schema, json_object, json, none
```

## `model.structured`

How the reply is asked to be one JSON object of the output schema: `auto` picks the best
the provider supports (`tool` on Anthropic: a tool whose input is the schema;
`json_schema` on OpenAI: strict response format); `json_object` is OpenAI's JSON mode
without a schema (what many `openai-compatible` servers support); `json` asks in the prompt
only; `none` sends nothing extra. Whatever the mode, the reply is parsed, validated and
repaired the same way.

## The emulator's `--script` contract

`seamline emulate --script file.py:function` calls `function(request)` with each
`EmulatedRequest` (`provider`, `model`, `system`, `messages`, `body`, …) and sends its
return value as the model's reply. Return a **dict**: it is sent as the structured answer
on every route (as the tool call's input where the request forced a tool, as Anthropic's
default `tool` mode does; as JSON text elsewhere). A string is sent as the reply's text;
where a tool was forced it arrives as `{"text": …}`, which no output schema accepts, so
every event is dead-lettered.

```python
def answer(request):
    return {"category": "support", "priority": "normal", "summary": "…", "confidence": 0.9}
```

`--faults drill.yaml` (see `examples/drill.yaml`) adds faults: `seed`, `latency`
(`{kind: fixed|uniform|lognormal, …}`) and `rules` (`{kind, p|first|nth|every, provider, …}`).
"""


_SCRIPTS = """\
## Scripts: `--json`

Every listing command takes `--json`: __COMMANDS__.

With it, the command prints **one JSON document** on stdout and nothing else (sentences and
warnings go to stderr), so `| jq` and `json.loads` read it whole:

- a listing is a **list of objects**, `[]` when nothing matches (exit 0, as for the table);
  `costs`, `queue status` and `drift` are reports, one **object** each;
- keys are snake_case and stable: a key may be added, none is renamed or removed without
  a release note;
- times are ISO 8601 in UTC (`2026-11-01T08:00:00+00:00`) in keys ending in `_at`, money is
  US dollars as numbers in keys ending in `_usd`, durations are seconds in keys ending in
  `_s`; what an event carried (`output`, `params`, `input`) is its JSON, redacted as stored;
- the exit code is the table's (`queue status` exits 1 when a worker is unhealthy either way).

```sh
seamline dlq list --json | jq -r '.[] | select(.stage == "actions") | .event_id'
```
"""


def markdown() -> str:
    """docs/reference.md."""
    syntax = (_SYNTAX.replace("__TYPES__", ", ".join(f"`{t}`" for t in INLINE_TYPES))
              .replace("__KEYS__", ", ".join(f"`{k}`" for k in INLINE_FIELD_KEYS)))
    parts = [_INTRO, "## Keys\n"]
    for path, model in sections():
        title = f"`{path}`" if path else "Top level"
        doc = inspect.cleandoc(model.__doc__ or "") if model.__doc__ and \
            model.__doc__ is not BaseModel.__doc__ else ""
        parts.append(f"### {title} ({model.__name__})\n")
        if doc:
            parts.append(doc.split("\n\n")[0].replace("\n", " ") + "\n")
        parts.append("\n".join(_rows(path, model)) + "\n")
    parts.append(syntax)
    parts.append(_SCRIPTS.replace("__COMMANDS__", ", ".join(
        f"`seamline {c}`" for c in JSON_LISTINGS)))
    return "\n".join(parts)
