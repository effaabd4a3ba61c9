"""``seamline check``: every ``when`` and ``params`` expression read against the schemas.

An action's expressions run over ``input`` (the redacted input) and ``output`` (the
validated output) in a sandbox; a name that is neither, a field neither schema has, or a
comparison with a value a ``Literal`` field can never take would only fail -- or, worse,
never match -- when an event arrives. Here they are found before going live.
"""

from __future__ import annotations

import enum
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Union

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel

from seamline.integration import Integration

_ENV = ImmutableSandboxedEnvironment()
_GLOBALS = frozenset(_ENV.globals) | {"true", "false", "none", "True", "False", "None"}


@dataclass(frozen=True, slots=True)
class Ref:
    """One field an action expression reads: ``output.refund_amount_usd``."""

    action: str
    where: str  # "when" or "params.NAME"
    root: str  # "input" or "output"
    path: tuple[str, ...]


def expression_problems(integration: Integration) -> tuple[list[str], list[Ref]]:
    """(sentences naming every problem, every field reference found)."""
    roots = {"input": integration.input_schema, "output": integration.output_schema}
    extra_input = {integration.retrieval.documents_field} if integration.retrieval else set()
    problems: list[str] = []
    refs: list[Ref] = []
    for action in integration.actions:
        exprs = ([("when", action.when)] if action.when else []) + [
            (f"params.{k}", v) for k, v in action.params.items()]
        for where, source in exprs:
            label = f"Action {action.name!r} {where} ({source!r})"
            try:
                tree = _ENV.parse("{{ (" + source + ") }}")
            except TemplateSyntaxError as exc:
                problems.append(f"{label} is not a valid expression: {exc.message}.")
                continue
            for name in sorted({n.name for n in tree.find_all(nodes.Name)} - set(roots)
                               - _GLOBALS - _bound_names(tree)):
                problems.append(f"{label} uses {name!r}, which is neither input nor output "
                                "(write input.FIELD or output.FIELD).")
            for path in _paths(tree):
                root = path[0]
                refs.append(Ref(action.name, where, root, path[1:]))
                sentence = _check_path(roots[root], path[1:], root,
                                       extra_input if root == "input" else set())
                if sentence:
                    problems.append(f"{label} reads {'.'.join(path)}, but {sentence}.")
            problems += [f"{label} {s}." for s in _compare_problems(tree, roots)]
    return problems, refs


def _bound_names(tree: nodes.Node) -> set[str]:
    """Names an expression binds itself (none in plain expressions; kept for safety)."""
    return {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}


def _paths(tree: nodes.Node) -> list[tuple[str, ...]]:
    """The outermost ``input.a.b`` / ``output['a']`` chains."""
    out: list[tuple[str, ...]] = []
    inner: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if id(node) in inner:
            continue
        path = _chain(node)
        if path is None or not isinstance(node, nodes.Getattr | nodes.Getitem):
            continue
        sub: nodes.Node = node.node
        while isinstance(sub, nodes.Getattr | nodes.Getitem):
            inner.add(id(sub))
            sub = sub.node
        out.append(path)
    return out


def _chain(node: nodes.Node) -> tuple[str, ...] | None:
    parts: list[str] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str | int):
            parts.append(str(node.arg.value))
        else:
            parts = []  # output[some_expression]: the field is not known here
        node = node.node
    if isinstance(node, nodes.Name) and node.name in ("input", "output") and parts:
        return (node.name, *reversed(parts))
    return None


def _strip(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _check_path(schema: type[BaseModel], path: tuple[str, ...], root: str,
                extra: set[str]) -> str:
    """"" when the path exists in the schema, else what is wrong with it."""
    current: Any = schema
    for depth, part in enumerate(path):
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = current.model_fields
            if part not in fields:
                if depth == 0 and part in extra:
                    return ""
                where = f"the {root} schema" if depth == 0 else f"{'.'.join(path[:depth])}"
                known = ", ".join(sorted(fields)[:12])
                return f"{where} has no field {part!r} (it has {known})"
            current = _strip(fields[part].annotation)
            continue
        origin = typing.get_origin(current)
        if origin in (list, tuple) and part.isdigit():
            args = typing.get_args(current)
            current = _strip(args[0]) if args else Any
            continue
        return ""  # a method of a value, a dict, Any: not checked further
    return ""


def _values(schema: type[BaseModel], path: tuple[str, ...]) -> list[Any] | None:
    """The values a Literal/Enum field at ``path`` can take, else None."""
    current: Any = schema
    for part in path[1:]:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(part)
        if info is None:
            return None
        current = _strip(info.annotation)
    if typing.get_origin(current) is Literal:
        return [a.value if isinstance(a, enum.Enum) else a for a in typing.get_args(current)]
    if isinstance(current, type) and issubclass(current, enum.Enum):
        return [m.value for m in current]
    return None


def _compare_problems(tree: nodes.Node, roots: dict[str, type[BaseModel]]) -> list[str]:
    """Comparisons of a Literal field with a constant it can never equal."""
    out = []
    for cmp in tree.find_all(nodes.Compare):
        sides = [cmp.expr, *(op.expr for op in cmp.ops)]
        for i, op in enumerate(cmp.ops):
            left, right = sides[i], sides[i + 1]
            for field_node, other in ((left, right), (right, left)):
                path = _chain(field_node)
                if path is None:
                    continue
                allowed = _values(roots[path[0]], path)
                if allowed is None:
                    continue
                consts: list[Any] = []
                if op.op in ("eq", "ne") and isinstance(other, nodes.Const):
                    consts = [other.value]
                elif op.op in ("in", "notin") and isinstance(other, nodes.List | nodes.Tuple):
                    consts = [c.value for c in other.items if isinstance(c, nodes.Const)]
                for value in consts:
                    if value not in allowed:
                        out.append(f"compares {'.'.join(path)} with {value!r}, which it can "
                                   f"never be (it is one of {', '.join(map(repr, allowed))})")
    return out
