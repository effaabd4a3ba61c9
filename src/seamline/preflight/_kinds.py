"""``seamline check`` on vendor-neutral actions (``handler: kind:crm.upsert_contact``).

The connectors say whether the kind exists, the chosen vendor implements it, the params
are the kind's fields and the vendor's options and credentials are in order
(:func:`seamline.connectors.kind_problems`). Here each param's expression is also read
against the integration's schemas: ``output.score`` (a float) passed as a refund's
``amount_minor`` (a whole number) or a field that may be null passed as a required
address is found now, not when the vendor refuses the first event.
"""

from __future__ import annotations

from typing import Any, Literal

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, TypeAdapter

from seamline.connectors import is_kind_ref, kind_problems, parse_kind, vendors_problems
from seamline.errors import ConfigError
from seamline.integration import ActionSpec, Integration
from seamline.preflight._schema_refs import _chain, _strip

Level = Literal["error", "warning"]
_ENV = ImmutableSandboxedEnvironment()
_TEXT_FILTERS = {"string", "lower", "upper", "trim", "title", "capitalize", "replace", "join",
                 "format", "truncate", "striptags", "urlencode", "e", "escape"}
_TYPE_WORDS = {"string": "text", "integer": "a whole number", "number": "a number",
               "boolean": "true or false", "object": "a mapping", "array": "a list",
               "null": "null"}


def kind_action_problems(integration: Integration) -> list[tuple[Level, str, str]]:
    """(level, part, sentence) of every problem with the vendors block and kind actions."""
    out: list[tuple[Level, str, str]] = [("error", "vendors", s)
                                         for s in vendors_problems(integration)]
    for action in integration.actions:
        if not is_kind_ref(action.handler):
            if action.vendor is not None:
                out.append(("error", "actions", (f"Action {action.name!r} names vendor "
                            f"{action.vendor!r}, which only a vendor-neutral action "
                            "(handler: kind:FAMILY.VERB) takes.")))
            continue
        for sentence in kind_problems(action, integration):
            # An unset credential is the deployment's to fix, not the declaration's.
            out.append(("warning" if "not set" in sentence else "error", "actions", sentence))
        out += [(level, "actions", sentence)
                for level, sentence in _type_problems(action, integration)]
    return out


def _type_problems(action: ActionSpec, integration: Integration) -> list[tuple[Level, str]]:
    try:
        kind = parse_kind(str(action.handler))
    except ConfigError:
        return []  # said by kind_problems
    roots = {"input": integration.input_schema, "output": integration.output_schema}
    out: list[tuple[Level, str]] = []
    for name, source in action.params.items():
        info = kind.params.model_fields.get(name)
        if info is None:
            continue
        given = _expression_types(source, roots)
        wanted = _types_of(info.annotation)
        if given is None or wanted is None:
            continue  # not known here: the kind's schema checks it when the action runs
        wanted_ = wanted | ({"integer"} if "number" in wanted else set())
        if not info.is_required():
            wanted_ |= {"null"}  # an optional field takes a null as "not given"
        stray = given - wanted_
        if not stray:
            continue
        label = (f"Action {action.name!r} passes {name} = {source!r}, which is "
                 f"{_words(given)}, but {kind.name}'s {name} takes {_words(wanted)}")
        maybe_whole = "number" in stray and "integer" in wanted
        if not (given & wanted_) and not maybe_whole:
            out.append(("error", label + "."))
            continue
        refused = _words(stray - {"number"}) if maybe_whole else _words(stray)
        refused = " or ".join(w for w in (
            "a number that is not whole" if maybe_whole else "", refused) if w)
        out.append(("warning", f"{label}; {refused} would be refused when it runs."))
    return out


def _expression_types(source: str, roots: dict[str, type[BaseModel]]) -> set[str] | None:
    """The JSON types the expression can give, or None when that is not known statically."""
    try:
        output = _ENV.parse("{{ (" + source + ") }}").find(nodes.Output)
    except TemplateSyntaxError:
        return None  # said by the expression checks
    return _node_types(output.nodes[0], roots) if output is not None and output.nodes else None


def _node_types(node: nodes.Node, roots: dict[str, type[BaseModel]]) -> set[str] | None:
    if isinstance(node, nodes.Const):
        return _value_types(node.value)
    if isinstance(node, nodes.Concat):
        return {"string"}
    if isinstance(node, nodes.Dict):
        return {"object"}
    if isinstance(node, nodes.List | nodes.Tuple):
        return {"array"}
    if isinstance(node, nodes.Filter):
        if node.name in _TEXT_FILTERS:
            return {"string"}
        return {"int": {"integer"}, "float": {"number"}, "length": {"integer"},
                "count": {"integer"}, "list": {"array"}, "round": {"number"}}.get(node.name)
    if isinstance(node, nodes.CondExpr) and node.expr2 is not None:
        sides = [_node_types(node.expr1, roots), _node_types(node.expr2, roots)]
        return None if None in sides else set().union(*(s or set() for s in sides))
    path = _chain(node)
    if path is not None:
        annotation = _annotation_at(roots[path[0]], path[1:])
        return None if annotation is None else _types_of(annotation)
    return None


def _annotation_at(schema: type[BaseModel], path: tuple[str, ...]) -> Any:
    """The annotation of the field at ``path`` (None when the path leaves the models)."""
    current: Any = schema
    annotation: Any = None
    for part in path:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(part)
        if info is None:
            return None
        annotation = info.annotation
        current = _strip(annotation)
    return annotation


def _types_of(annotation: Any) -> set[str] | None:
    """The JSON types a value of ``annotation`` has (from Pydantic's JSON schema of it)."""
    try:
        schema = TypeAdapter(annotation).json_schema()
    except Exception:  # noqa: BLE001 - an arbitrary type has no JSON schema: not known
        return None
    return _schema_types(schema, schema.get("$defs", {}))


def _schema_types(schema: dict[str, Any], defs: dict[str, Any]) -> set[str] | None:
    if "$ref" in schema:
        target = defs.get(schema["$ref"].rpartition("/")[2])
        return _schema_types(target, defs) if isinstance(target, dict) else None
    for key in ("anyOf", "oneOf"):
        if key in schema:
            parts = [_schema_types(s, defs) for s in schema[key]]
            return None if None in parts else set().union(*(p or set() for p in parts))
    if "type" in schema:
        kinds = schema["type"]
        return set(kinds) if isinstance(kinds, list) else {kinds}
    if "const" in schema:
        return _value_types(schema["const"])
    if "enum" in schema:
        return set().union(*(_value_types(v) or set() for v in schema["enum"]))
    return None  # Any: anything goes


def _value_types(value: Any) -> set[str] | None:
    if value is None:
        return {"null"}
    if isinstance(value, bool):
        return {"boolean"}
    if isinstance(value, int):
        return {"integer"}
    if isinstance(value, float):
        return {"number"}
    if isinstance(value, str):
        return {"string"}
    if isinstance(value, dict):
        return {"object"}
    if isinstance(value, list | tuple):
        return {"array"}
    return None


def _words(types: set[str]) -> str:
    order = list(_TYPE_WORDS)
    return " or ".join(_TYPE_WORDS[t] for t in sorted(types, key=order.index)
                       if t in _TYPE_WORDS)
