"""The file form of an integration: YAML or TOML saying what the Python API says.

Schemas are either references to Pydantic models or declared inline as fields. A file is
read whole before anything is refused: every typo and every inconsistency it holds is
named at once (:func:`read_integration`), so that fixing a file is one round, not one
round per problem.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

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
_SCHEMAS = (("input_schema", "input schema"), ("output_schema", "output schema"))
_REPAIRS = 5  # rounds of leaving out what is wrong to see what else is (see _validate)


@dataclass(frozen=True, slots=True)
class FileReading:
    """What reading an integration file found: the integration, when one could be built
    from it (what is wrong left out, so that ``seamline check`` can look at the rest), and
    every problem of the file, in order. A file with problems must not run."""

    integration: Integration | None
    problems: tuple[str, ...]


def _unknown_keys(name: str, spec: dict[str, Any]) -> list[str]:
    """Every key an inline schema does not know, named (a typo must not become a str field)."""
    out = [f"{name} has the unknown key {k!r} (use {', '.join(sorted(_SCHEMA_KEYS))})"
           for k in spec if k not in _SCHEMA_KEYS]
    fields = spec.get("fields")
    if fields is not None and not isinstance(fields, dict):
        return [*out, f"the fields of {name} must be a mapping of field name to type"]
    for fname, fspec in (fields or {}).items():
        if not isinstance(fspec, dict | str):
            out.append(f"field {fname!r} of {name} must be a type name or a mapping")
        for k in fspec if isinstance(fspec, dict) else ():
            if k not in _FIELD_KEYS:
                close = difflib.get_close_matches(str(k), _FIELD_KEYS, n=1)
                out.append(f"field {fname!r} of {name} has the unknown key {k!r} " + (
                    f"(did you mean {close[0]}?)" if close
                    else f"(use {', '.join(sorted(_FIELD_KEYS))})"))
    return out


def _inline_field(name: str, fname: str, fspec: Any, problems: list[str]) -> tuple[Any, Any]:
    """One inline field as ``(annotation, FieldInfo)``; what is wrong with it goes to
    ``problems`` and is left out (an unknown type reads as any value), so that the field
    still exists for the checks that name it."""
    if isinstance(fspec, str):
        fspec = {"type": fspec}
    if not isinstance(fspec, dict):
        return Any, Field(None)
    fspec = {k: v for k, v in fspec.items() if k in _FIELD_KEYS}
    extra = {}
    if "cues" in fspec:  # the words that state a yes/no field, for the on-device model
        if isinstance(fspec["cues"], list | tuple):
            extra = {"json_schema_extra": {"cues": [str(c) for c in fspec["cues"]]}}
        else:
            problems.append(f"the cues of field {fname!r} of {name} must be a list of words")
    annotation: Any
    if "enum" in fspec:
        values = fspec["enum"]
        if isinstance(values, list | tuple) and values and all(
                isinstance(v, str | int | float | bool) for v in values):
            annotation = Literal[tuple(values)]
        else:
            problems.append(f"the enum of field {fname!r} of {name} must be a non-empty list "
                            "of values")
            annotation = Any
    else:
        tname = fspec.get("type", "str")
        if not isinstance(tname, str) or tname not in _TYPES:
            problems.append(f"field {fname!r} of {name} has type {tname!r}; use one of "
                            f"{', '.join(_TYPES)} or enum")
            annotation = Any
        else:
            annotation = _TYPES[tname]
    kwargs = {k: fspec[k] for k in _CONSTRAINTS if k in fspec} | extra
    required = fspec.get("required", "default" not in fspec)
    if required:
        return annotation, Field(..., **kwargs)
    if "default" in fspec and fspec["default"] is not None and not fspec.get("nullable"):
        return annotation, Field(fspec["default"], **kwargs)
    return annotation | None, Field(fspec.get("default"), **kwargs)


def _inline_model(name: str, spec: dict[str, Any], problems: list[str]) -> type[BaseModel] | None:
    """The inline schema as a Pydantic model; its problems go to ``problems``. None when
    nothing usable is declared."""
    found = _unknown_keys(name, spec)
    fields: dict[str, Any] = {}
    raw = spec.get("fields")
    for fname, fspec in (raw.items() if isinstance(raw, dict) else ()):
        fields[str(fname)] = _inline_field(name, str(fname), fspec, found)
    if not fields and isinstance(raw, dict | None):
        found.append(f"the inline schema {name} declares no fields")
    problems += found
    if not fields:
        return None
    try:
        return create_model(name, **fields)
    except (TypeError, ValueError) as exc:  # a constraint that does not fit its type
        problems.append(f"the inline schema {name} cannot be built: {exc}")
        return None


def _schema_name(value: dict[str, Any], what: str) -> str:
    name = value.get("name")
    return name if isinstance(name, str) and name.isidentifier() else what.title().replace(" ", "")


def _examples_beside(route: Any, base: Path) -> Any:
    """A model route with its ``examples`` (and its fallbacks', and theirs) resolved beside
    the integration file, whatever the working directory."""
    if not isinstance(route, dict):
        return route
    route = dict(route)
    if route.get("examples") and isinstance(route["examples"], str | Path):
        route["examples"] = (base / route["examples"]).resolve()
    if isinstance(route.get("fallbacks"), list | tuple):
        route["fallbacks"] = [_examples_beside(f, base) for f in route["fallbacks"]]
    return route


def _paths_beside(data: dict[str, Any], base: Path) -> None:
    """Every relative path an integration file can hold, made relative to the file:
    ``model.examples``, ``model.fallbacks[].examples`` (any depth), the judge's route and
    its fallbacks, ``retrieval.docs`` and ``retrieval.index``. Prompt files and
    ``file.py:attr`` references resolve beside the file where they are read."""
    if "model" in data:
        data["model"] = _examples_beside(data["model"], base)
    grounding = data.get("grounding")
    if isinstance(grounding, dict) and isinstance(grounding.get("judge"), dict):
        judge = dict(grounding["judge"])
        judge["route"] = _examples_beside(judge.get("route"), base)
        data["grounding"] = {**grounding, "judge": judge}
    if isinstance(data.get("retrieval"), dict):
        retrieval = dict(data["retrieval"])
        for key in ("docs", "index"):
            if retrieval.get(key) and isinstance(retrieval[key], str | Path):
                retrieval[key] = (base / retrieval[key]).resolve()
        data["retrieval"] = retrieval


def _prompt(data: dict[str, Any], base: Path, problems: list[str]) -> None:
    if not isinstance(data.get("prompt"), dict):
        return  # the spec's validation names a missing or malformed prompt
    prompt = dict(data["prompt"])
    for part in ("user", "system"):
        file_key = f"{part}_file"
        if file_key in prompt:
            path = base / str(prompt.pop(file_key))
            if path.is_file():
                prompt[part] = path.read_text(encoding="utf-8")
            else:
                problems.append(f"the prompt's {file_key} {path} does not exist")
                prompt.setdefault(part, "")  # named above; not "field required" again
    data["prompt"] = prompt


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "top level"


def _node(data: Any, part: Any) -> tuple[bool, Any]:
    if isinstance(data, dict) and part in data:
        return True, data[part]
    if isinstance(data, list | tuple) and isinstance(part, int) and 0 <= part < len(data):
        return True, data[part]
    return False, None


def _found(data: dict[str, Any], loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The longest start of ``loc`` that names a value in ``data``: pydantic adds the
    alternative of a union (``float``, ``literal['on','off']``) after the key itself."""
    node: Any = data
    for n, part in enumerate(loc):
        ok, node = _node(node, part)
        if not ok:
            return loc[:n]
    return loc


def _leave_out(data: dict[str, Any], loc: tuple[Any, ...]) -> bool:
    """Remove the value at ``loc`` (a key of a mapping, an item of a list) from ``data``,
    copying the containers on the way (the caller's data stays as it was), so that the
    spec's defaults stand in for it; False when there is nothing to remove."""
    if not loc:
        return False
    node: Any = data
    for part in loc[:-1]:
        child = _node(node, part)[1]
        child = dict(child) if isinstance(child, dict) else list(child)
        node[part] = child
        node = child
    del node[loc[-1]]
    return True


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The spec's model whose keys sit at ``loc`` (``("model", "fallbacks", 0)`` ->
    ModelRoute), following the fields' annotations; None where no model is."""
    model: type[BaseModel] | None = Integration
    for part in loc:
        if isinstance(part, int):
            continue  # an item of a list: the list's model, found with its field
        fields = {(f.alias or k): f for k, f in model.model_fields.items()} if model else {}
        field = fields.get(str(part))
        if field is None:
            return None
        model = _model_in(field.annotation)
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):  # X | None, tuple[X, ...], Annotated[X, ...]
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _unknown(loc: tuple[Any, ...]) -> str:
    """A key the spec does not know, with the key it probably meant."""
    model = _model_at(loc[:-1])
    keys = [f.alias or k for k, f in (model.model_fields.items() if model is not None else ())
            if k != "source_path"]
    close = difflib.get_close_matches(str(loc[-1]), keys, n=1)
    where = "the integration file" if len(loc) == 1 else _where(loc[:-1])
    return (f"not a key of {where}" + (f"; did you mean {close[0]}?" if close else
                                       f" (its keys: {', '.join(keys)})" if keys else ""))


def _validate(data: dict[str, Any], problems: list[str]) -> Integration | None:
    """The spec's own validation; every error goes to ``problems``. To find the errors an
    earlier one hides (a mapping with a wrong value is refused before its own rules are
    checked), what is wrong is left out and the rest validated again, a few rounds at most;
    the integration that comes of it serves ``seamline check``, never a run."""
    seen: set[str] = set()
    for _ in range(_REPAIRS):
        try:
            return Integration.model_validate(data)
        except ConfigError as exc:  # a validator that speaks in sentences of its own
            problems.append(str(exc).rstrip("."))
            return None
        except ValidationError as exc:
            said: dict[tuple[Any, ...], list[str]] = {}
            wrong: set[tuple[Any, ...]] = set()
            for err in exc.errors():
                loc = tuple(err["loc"])
                if err["type"] != "missing":
                    loc = _found(data, loc)
                    if loc:
                        wrong.add(loc)
                msg = _unknown(loc) if err["type"] == "extra_forbidden" else err["msg"]
                said.setdefault(loc, [])
                if msg not in said[loc]:
                    said[loc].append(msg)
            for loc, msgs in said.items():
                sentence = f"{_where(loc)}: {' or '.join(msgs)}"
                if sentence not in seen:
                    seen.add(sentence)
                    problems.append(sentence)
            # Deepest first, so that leaving out an item does not move the next one.
            for loc in sorted(wrong, key=len, reverse=True):
                if _found(data, loc) == loc:
                    _leave_out(data, loc)
            if not wrong:
                return None
    return None


def read_integration_dict(data: dict[str, Any], *, base: Path,
                          source: Path | None = None) -> FileReading:
    """Read the parsed file form: the integration and every problem found (see FileReading)."""
    data = dict(data)
    problems: list[str] = []
    usable = True
    for key, what in _SCHEMAS:
        value = data.get(key)
        if key not in data:
            problems.append(f"the integration file has no {key}: name the {what}")
            usable = False
        elif isinstance(value, dict):
            data[key] = _inline_model(_schema_name(value, what), value, problems)
        elif not isinstance(value, str | type):
            problems.append(f"the {key} must be a reference such as schemas.py:Ticket or an "
                            "inline schema (a mapping with fields)")
            data[key] = None
        else:
            try:
                data[key] = resolve(value, base=base, what=what)
            except ConfigError as exc:
                problems.append(str(exc).rstrip("."))
                data[key] = None
        if data.get(key) is None:
            # Something stands in for the schema, so that the other keys are still checked;
            # the checks against its fields would mislead, so no integration comes of it.
            data[key] = create_model(what.title().replace(" ", ""))
            usable = False
    _prompt(data, base, problems)
    _paths_beside(data, base)
    data["source_path"] = source
    integration = _validate(data, problems)
    return FileReading(integration if usable else None, tuple(problems))


def integration_from_dict(data: dict[str, Any], *, base: Path, source: Path | None = None) -> Integration:
    """Build an :class:`Integration` from the parsed file form; every problem of it in one
    ConfigError."""
    return _built(read_integration_dict(data, base=base, source=source))


def _built(reading: FileReading) -> Integration:
    if reading.problems or reading.integration is None:
        raise ConfigError("The integration file is inconsistent: "
                          + "; ".join(reading.problems or ("it declares no integration",))
                          + ".")
    return reading.integration


def read_integration(target: str | Path) -> FileReading:
    """Read an integration file (.yaml/.yml/.toml) and name every problem in it, or load a
    ``module:attr`` / ``file.py:attr`` declaration (its problems: what loading raised).

    A file that cannot be parsed at all (not YAML, no mapping) is one problem; otherwise
    typos in several keys, inline schemas and the spec's own rules are all reported."""
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
        return read_integration_dict(data, base=path.parent.resolve(), source=path.resolve())
    if path.suffix == ".py" and path.is_file():
        text = f"{text}:integration"
    obj = resolve(text, base=Path.cwd(), what="integration")
    if not isinstance(obj, Integration):
        raise ConfigError(f"{text} is a {type(obj).__name__}, not a seamline Integration.")
    return FileReading(obj, ())


def load_integration(target: str | Path) -> Integration:
    """Load an integration from a .yaml/.yml/.toml file, or from 'module:attr' / 'file.py:attr';
    a file with problems is refused with all of them in one ConfigError."""
    return _built(read_integration(target))
