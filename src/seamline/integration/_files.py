"""The file form of an integration: YAML or TOML saying what the Python API says.

Schemas are either references to Pydantic models or declared inline as fields.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, create_model

from seamline.errors import ConfigError
from seamline.integration._refs import resolve
from seamline.integration._spec import Integration

_TYPES: dict[str, Any] = {
    "str": str, "int": int, "float": float, "bool": bool, "dict": dict,
    "list[str]": list[str], "list[int]": list[int], "list[float]": list[float],
}
_CONSTRAINTS = ("min_length", "max_length", "ge", "le", "gt", "lt", "pattern", "description")


_FIELD_KEYS = frozenset({"type", "enum", "required", "default", "nullable", "cues",
                         *_CONSTRAINTS})
_SCHEMA_KEYS = frozenset({"name", "fields"})


def _unknown_keys(name: str, spec: dict[str, Any]) -> list[str]:
    """Every key an inline schema does not know, named (a typo must not become a str field)."""
    out = [f"{name} has the unknown key {k!r} (use {', '.join(sorted(_SCHEMA_KEYS))})"
           for k in spec if k not in _SCHEMA_KEYS]
    for fname, fspec in (spec.get("fields") or {}).items():
        if not isinstance(fspec, dict | str):
            out.append(f"field {fname!r} of {name} must be a type name or a mapping")
        for k in fspec if isinstance(fspec, dict) else ():
            if k not in _FIELD_KEYS:
                out.append(f"field {fname!r} of {name} has the unknown key {k!r} "
                           f"(use {', '.join(sorted(_FIELD_KEYS))})")
    return out


def _inline_model(name: str, spec: dict[str, Any]) -> type[BaseModel]:
    unknown = _unknown_keys(name, spec)
    if unknown:
        raise ConfigError("The inline schema is inconsistent: " + "; ".join(unknown) + ".")
    fields: dict[str, Any] = {}
    for fname, fspec in (spec.get("fields") or {}).items():
        if isinstance(fspec, str):
            fspec = {"type": fspec}
        if "cues" in fspec:  # the words that state a yes/no field, for the on-device model
            fspec = {**fspec, "json_schema_extra": {"cues": list(fspec["cues"])}}
        if "enum" in fspec:
            annotation: Any = Literal[tuple(fspec["enum"])]
        else:
            tname = fspec.get("type", "str")
            if tname not in _TYPES:
                raise ConfigError(f"Field {fname!r} of {name} has type {tname!r}; "
                                  f"use one of {', '.join(_TYPES)} or enum.")
            annotation = _TYPES[tname]
        kwargs = {k: fspec[k] for k in (*_CONSTRAINTS, "json_schema_extra") if k in fspec}
        required = fspec.get("required", "default" not in fspec)
        if required:
            fields[fname] = (annotation, Field(..., **kwargs))
        elif "default" in fspec and fspec["default"] is not None and not fspec.get("nullable"):
            fields[fname] = (annotation, Field(fspec["default"], **kwargs))
        else:
            fields[fname] = (annotation | None, Field(fspec.get("default"), **kwargs))
    if not fields:
        raise ConfigError(f"The inline schema {name} declares no fields.")
    return create_model(name, **fields)


def _schema(value: Any, base: Path, what: str) -> Any:
    if isinstance(value, dict):
        return _inline_model(value.get("name", what.title().replace(" ", "")), value)
    return resolve(value, base=base, what=what)


def integration_from_dict(data: dict[str, Any], *, base: Path, source: Path | None = None) -> Integration:
    """Build an :class:`Integration` from the parsed file form."""
    data = dict(data)
    unknown = [u for key, what in (("input_schema", "input schema"), ("output_schema",
                                                                     "output schema"))
               if isinstance(data.get(key), dict)
               for u in _unknown_keys(data[key].get("name", what.title().replace(" ", "")),
                                      data[key])]
    if unknown:  # both schemas' typos at once, not one per run
        raise ConfigError("The inline schema is inconsistent: " + "; ".join(unknown) + ".")
    for key, what in (("input_schema", "input schema"), ("output_schema", "output schema")):
        if key not in data:
            raise ConfigError(f"The integration file has no {key}: name the {what}.")
        data[key] = _schema(data[key], base, what)
    prompt = dict(data.get("prompt") or {})
    for part in ("user", "system"):
        file_key = f"{part}_file"
        if file_key in prompt:
            path = base / prompt.pop(file_key)
            if not path.is_file():
                raise ConfigError(f"The prompt's {file_key} {path} does not exist.")
            prompt[part] = path.read_text(encoding="utf-8")
    data["prompt"] = prompt
    model = dict(data.get("model") or {})
    if model.get("examples"):
        model["examples"] = (base / model["examples"]).resolve()
    data["model"] = model
    if isinstance(data.get("retrieval"), dict):
        retrieval = dict(data["retrieval"])
        for key in ("docs", "index"):
            if retrieval.get(key):
                retrieval[key] = (base / retrieval[key]).resolve()
        data["retrieval"] = retrieval
    data["source_path"] = source
    try:
        return Integration.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'top level'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"The integration file is inconsistent: {problems}.") from None


def load_integration(target: str | Path) -> Integration:
    """Load an integration from a .yaml/.yml/.toml file, or from 'module:attr' / 'file.py:attr'."""
    text = str(target)
    path = Path(text)
    if path.suffix in {".yaml", ".yml", ".toml"}:
        if not path.is_file():
            raise ConfigError(f"The integration file {path} does not exist.")
        raw = path.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(raw) if path.suffix == ".toml" else yaml.safe_load(raw)
        except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"The integration file {path} is not valid "
                              f"{'TOML' if path.suffix == '.toml' else 'YAML'}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"The integration file {path} must hold a mapping at the top level.")
        return integration_from_dict(data, base=path.parent.resolve(), source=path.resolve())
    if path.suffix == ".py" and path.is_file():
        text = f"{text}:integration"
    obj = resolve(text, base=Path.cwd(), what="integration")
    if not isinstance(obj, Integration):
        raise ConfigError(f"{text} is a {type(obj).__name__}, not a seamline Integration.")
    return obj
