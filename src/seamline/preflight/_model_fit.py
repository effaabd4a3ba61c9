"""``seamline check``: can each model of the route serve the output schema and the features
declared around it?

The on-device models read the event's fields, never the prompt: the classifier learns the
``Literal``/``Enum`` fields, computes confidence, evidence and summary, and reads a few kinds
of values (amounts, numbers, dates, ids, addresses, yes/no) only when the input states them;
the extractive model fills a status, an answer and citations. So:

* a required field the model can never fill is an error (every event would be
  dead-lettered), one it reads only when stated is a warning that says so;
* dual generation, the fresh-context judge and repairs need a model that reads the
  prompt: on an on-device route they are errors, with what to do instead;
* an action that reads an output field the model never fills acts on the schema's default
  every time: a warning.

Every route is checked, the primary and each fallback. Every problem is reported.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any, Literal

from seamline.errors import ConfigError
from seamline.inference import local_fit, local_kind, reads_prompt
from seamline.integration import Integration, ModelRoute
from seamline.preflight._schema_refs import Ref, expression_problems

# (level, part, sentence): what _check turns into a Problem.
Finding = tuple[Literal["error", "warning"], str, str]


def model_fit_problems(integration: Integration) -> list[Finding]:
    """Every problem of the routes' models with the schema, the features and the actions."""
    out: list[Finding] = []
    expr_problems, refs = expression_problems(integration)
    out += [("error", "actions", s) for s in expr_problems]
    routes = [("model", integration.model)] + [
        (f"model.fallbacks[{i}]", r) for i, r in enumerate(integration.model.fallbacks)]
    for label, route in routes:
        kind = local_kind(route)
        if kind == "classifier":
            out += _classifier(integration, label, route, refs, primary=label == "model")
        elif kind == "extractive":
            out += _extractive(integration, label, route)
        elif route.provider == "local" and label != "model":  # the primary's is checked already
            out.append(("error", "model", (f"The local model {route.model!r} of {label} is "
                                           "unknown; use local-linear, local-words or "
                                           "local-extractive.")))
    out += _features(integration)
    return out


def _rows(route: ModelRoute) -> list[tuple[dict[str, Any], dict[str, Any]]] | str:
    """The examples' (input, output) pairs as written, or why they cannot be read."""
    if route.examples is None:
        return "it names no labelled examples (examples)"
    path = Path(route.examples)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return f"its examples file {path} cannot be read"
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rows.append((dict(row["input"]), dict(row["output"])))
        except (ValueError, KeyError, TypeError):
            return f"line {n} of {path} is not an {{\"input\", \"output\"}} object"
    return rows or f"its examples file {path} holds no examples"


def _classifier(integration: Integration, label: str, route: ModelRoute, refs: list[Ref], *,
                primary: bool) -> list[Finding]:
    out: list[Finding] = []
    who = f"The on-device model of {label} ({route.model})"
    rows = _rows(route)
    if isinstance(rows, str):
        if not primary:  # the primary route's examples are checked by the checklist
            out.append(("error", "model", f"{who} cannot learn: {rows}."))
        return out
    try:
        fits = local_fit(integration.output_schema, rows)
    except ConfigError as exc:
        return [("error", "model", f"{who} cannot learn the output schema: {exc}")]
    instead = (f"give it a default, make it Optional, or route {label} to a remote model "
               f"({label}.provider: anthropic, openai or openai-compatible)")
    for fit in fits:
        if fit.how == "never" and fit.refuses:
            out.append(("error", "model", (
                f"{who} cannot fill the required output field {fit.field!r} ({fit.detail}): "
                f"every event would be dead-lettered; {instead}.")))
        elif fit.how == "read" and fit.refuses:
            out.append(("warning", "model", (
                f"{who} fills {fit.field!r} only when the input states {fit.detail}; other "
                "events are dead-lettered with the reason \"the on-device model cannot fill "
                f"{fit.field} from this input\".")))
    never = {f.field for f in fits if f.how in ("read", "never") and not f.required}
    seen: set[tuple[str, str]] = set()
    for ref in refs:
        name = ref.path[0] if ref.path else ""
        if ref.root == "output" and name in never and (ref.action, name) not in seen:
            seen.add((ref.action, name))
            default = integration.output_schema.model_fields[name].get_default(
                call_default_factory=True)
            out.append(("warning", "actions", (
                f"Action {ref.action!r} reads output.{name}, which {who.lower()[4:]} fills only "
                f"when the input states it: otherwise it acts on the schema's default "
                f"{default!r}.")))
    return out


def _extractive(integration: Integration, label: str, route: ModelRoute) -> list[Finding]:
    p = route.params
    names = {p.get("status_field", "status"), p.get("answer_field", "answer"),
             p.get("citations_field", "citations")}
    fields = integration.output_schema.model_fields
    out: list[Finding] = []
    who = f"The on-device extractive model of {label}"
    for name in sorted(names - set(fields)):
        out.append(("error", "model", (
            f"{who} writes the field {name!r}, which the output schema does not have; name the "
            f"schema's fields in {label}.params (status_field, answer_field, citations_field).")))
    for name, info in fields.items():
        if name not in names and info.is_required():
            out.append(("error", "model", (
                f"{who} fills only {', '.join(sorted(names))}; the required output field "
                f"{name!r} would never be filled. Give it a default, or route {label} to a "
                "remote model.")))
    status = fields.get(p.get("status_field", "status"))
    if status is not None and typing.get_origin(status.annotation) is typing.Literal:
        allowed = set(typing.get_args(status.annotation))
        for value in (p.get("answered", "answered"),
                      p.get("abstained", "insufficient_information")):
            if value not in allowed:
                out.append(("error", "model", (
                    f"{who} answers status {value!r}, which the output schema's status field "
                    "does not allow.")))
    return out


def _features(integration: Integration) -> list[Finding]:
    """Dual generation, the judge and repairs on a route whose model does not read prompts."""
    route = integration.model
    out: list[Finding] = []
    g = integration.grounding
    if reads_prompt(route):
        locals_ = [i for i, r in enumerate(route.fallbacks) if not reads_prompt(r)]
        if locals_ and (g.dual is not None or (g.judge is not None and g.judge.route is None)):
            out.append(("warning", "grounding", (
                f"When model.fallbacks[{locals_[0]}] (an on-device model) answers, dual "
                "generation and the judge run on it too, and it cannot honour them: a "
                "second generation cannot differ and it cannot judge a claim.")))
        return out
    who = f"the on-device model ({route.model}) does not read the prompt"
    if g.dual is not None:
        out.append(("error", "grounding", (
            f"Dual generation (grounding.dual) cannot work here: {who} and ignores the "
            "temperature, so both generations are the same and never diverge. Remove "
            "grounding.dual, or route the integration to a remote model.")))
    if g.judge is not None:
        if g.judge.route is None:
            out.append(("error", "grounding", (
                f"The fresh-context judge (grounding.judge) would ask the integration's route, "
                f"but {who}: it answers in the integration's own schema, so the judge could "
                "never rule and every event would be dead-lettered. Use a remote route for the "
                "judge: grounding.judge.route (e.g. {provider: anthropic, model: ...}).")))
        elif not reads_prompt(g.judge.route):
            out.append(("error", "grounding", (
                "grounding.judge.route is an on-device model, which cannot judge a claim; use "
                "a remote route (anthropic, openai or openai-compatible).")))
    if "max_repairs" in route.model_fields_set and route.max_repairs > 0:
        out.append(("error", "model", (
            f"model.max_repairs: {route.max_repairs} asks for repairs, but {who}: a repair "
            "would be the same call again (Seamline does not send it). Set max_repairs: 0, or "
            "route the integration to a remote model.")))
    return out
