"""``seamline check``: every missing or inconsistent part of a declaration, in sentences.

Errors block going live; warnings are worth reading but do not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from seamline.connectors import connector_problems, is_connector_ref, is_kind_ref
from seamline.errors import ConfigError, PromptError
from seamline.integration import Integration, resolve
from seamline.preflight._citations import citation_problems
from seamline.preflight._data_policy import data_policy_problems
from seamline.preflight._grounding_refs import trusted_field_problems
from seamline.preflight._kinds import kind_action_problems
from seamline.preflight._model_fit import model_fit_problems
from seamline.preflight._pii_kinds import pii_kind_problems
from seamline.preflight._soft_caps import soft_cap_problems
from seamline.rollout import gate_problems

KNOWN_PROVIDERS = ("local", "scripted", "anthropic", "openai", "openai-compatible")
_KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}


@dataclass(frozen=True, slots=True)
class Problem:
    level: Literal["error", "warning"]
    part: str
    sentence: str


def _base(integration: Integration) -> Path:
    return integration.source_path.parent if integration.source_path else Path.cwd()


def check(integration: Integration) -> list[Problem]:
    """All problems found; an empty list means ready to go live."""
    out: list[Problem] = []

    def err(part: str, sentence: str) -> None:
        out.append(Problem("error", part, sentence))

    def warn(part: str, sentence: str) -> None:
        out.append(Problem("warning", part, sentence))

    c = integration.checklist
    if not c.workflow.strip():
        err("checklist", "The checklist has no workflow: say in one sentence what it does for whom.")
    if not c.owner.strip():
        err("checklist", "The checklist has no owner: name who is paged when it breaks.")
    if not c.baseline_metric.strip():
        err("checklist", "The checklist has no baseline metric: say what is measured today without the model.")
    if c.monthly_cost_ceiling_usd is None:
        err("checklist", "The checklist has no monthly cost ceiling in USD.")

    in_fields = integration.input_schema.model_fields
    out_fields = integration.output_schema.model_fields
    for field in integration.pii:
        if field not in in_fields:
            err("pii", f"The PII policy names field {field!r}, which the input schema does not have.")
    for name, info in in_fields.items():
        if name not in integration.pii and info.annotation in (str, str | None):
            warn("pii", f"Input field {name!r} has no PII policy; it will be redacted by default.")
    out += [Problem(*finding) for finding in pii_kind_problems(integration)]
    g = integration.grounding
    for path, label in ((g.claims_field, "claims field"), (g.abstain_field, "abstention field"),
                        (g.citations_field, "citations field"), (g.reasoning_field,
                                                                 "reasoning field"),
                        *((p, "quote field") for p in g.quote_fields),
                        *((p, "dual-generation field") for p in (g.dual.fields if g.dual else ()))):
        if path and path.split(".")[0].removesuffix("[]") not in out_fields:
            err("grounding", f"The grounding {label} {path!r} is not a field of the output schema.")
    for path, label in ((g.documents_field, "documents field"),
                        *((p, "source field") for p in g.source_fields)):
        if path and path.split(".")[0].removesuffix("[]") not in in_fields:
            err("grounding", f"The grounding {label} {path!r} is not a field of the input schema.")
    out += [Problem(*finding) for finding in trusted_field_problems(integration)]
    if g.citations_field and not g.documents_field and not g.allowed_sources:
        warn("grounding", "Citations are declared without a documents field or allowed sources: "
                          "nothing checks what they cite.")
    r = integration.retrieval
    if r is not None:
        for key, label in ((r.query_field, "query field"), (r.documents_field, "documents field")):
            if key not in in_fields:
                err("retrieval", f"The retrieval {label} {key!r} is not a field of the input schema.")
        if r.mode != "bm25" and not r.embedder:
            err("retrieval", f"Retrieval mode {r.mode!r} needs an embedder "
                             "(retrieval.embedder: local, hashing or openai:MODEL).")
        if r.overlap >= r.max_tokens:
            err("retrieval", f"The chunk overlap ({r.overlap}) must be below max_tokens "
                             f"({r.max_tokens}).")
        if g.documents_field != r.documents_field:
            warn("retrieval", "The grounding checks do not read the retrieved documents "
                              f"(grounding.documents_field should be {r.documents_field!r}): "
                              "nothing holds the answer to what was retrieved.")
    for key, label in ((integration.idempotency_key, "idempotency key"),
                       (integration.tenant_key, "tenant key"),
                       (integration.rollout.sticky_key, "rollout sticky key")):
        if key and key not in in_fields:
            err("input", f"The {label} {key!r} is not a field of the input schema.")
    if not integration.idempotency_key and integration.stream is None:  # windows key themselves
        warn("input", "No idempotency key field: events are deduped by a hash of their whole content.")
    for f in integration.text_fields:
        if f not in in_fields:
            err("model", f"Text field {f!r} is not a field of the input schema.")

    from seamline.prompt import PromptTemplate

    try:
        template = PromptTemplate(integration.prompt.user, integration.prompt.system,
                                  integration.prompt.params)
        allowed = set(in_fields) | set(integration.prompt.params) | {"input", "output_schema", "event"}
        for var in sorted(template.variables() - allowed):
            err("prompt", f"The prompt uses {{{{ {var} }}}}, which is neither an input field nor a prompt parameter.")
    except (ConfigError, PromptError) as exc:
        err("prompt", str(exc))
    if not integration.prompt.user.strip():
        err("prompt", "The prompt's user template is empty.")

    m = integration.model
    if m.provider not in KNOWN_PROVIDERS:
        err("model", f"Provider {m.provider!r} is unknown; use one of {', '.join(KNOWN_PROVIDERS)}.")
    if m.provider == "local":
        from seamline.inference import EXTRACTIVE, MODELS

        if m.model not in MODELS and m.model != EXTRACTIVE:
            err("model", f"The local model {m.model!r} is unknown; use one of "
                         f"{', '.join(sorted([*MODELS, EXTRACTIVE]))}.")
        if m.examples is None and m.model != EXTRACTIVE:
            err("model", "The local model needs labelled examples (model.examples) to learn from.")
        elif m.examples is not None and not Path(m.examples).is_file():
            err("model", f"The examples file {m.examples} does not exist.")
    key_env = m.api_key_env or _KEY_ENV.get(m.provider)
    if key_env and not os.environ.get(key_env):
        err("model", f"The {m.provider} route reads its key from {key_env}, which is not set.")
    if m.provider == "openai-compatible" and not m.base_url:
        err("model", "An openai-compatible route needs a base_url (e.g. http://localhost:8000/v1).")
    from seamline.inference import route_price

    routes = [m, *((g.judge.route,) if g.judge is not None and g.judge.route else ())]
    while routes:  # a model without a price stops Pipeline() at start: say so here first
        route = routes.pop(0)
        routes += route.fallbacks
        if route.provider not in KNOWN_PROVIDERS:
            continue  # named above, once
        try:
            route_price(route)
        except ConfigError as exc:
            err("model", str(exc))
    if m.max_output_tokens >= m.context_window:
        err("model", "max_output_tokens leaves no room for the prompt in the context window.")
    b = m.budgets
    if b.per_call_usd is None and b.daily_usd is None and b.per_tenant_daily_usd is None:
        warn("model", "No budgets are set: only the monthly ceiling caps spending.")
    if integration.tenant_key == "" and b.per_tenant_daily_usd is not None:
        err("model", "A per-tenant budget is set but no tenant_key names the tenant field.")

    names = set()
    for action in integration.actions:
        if action.name in names:
            err("actions", f"Two actions are named {action.name!r}.")
        names.add(action.name)
        if is_connector_ref(action.handler):
            for sentence in connector_problems(action.handler, action.connector):
                # An unset credential is the deployment's to fix, not the declaration's.
                (warn if "not set" in sentence else err)("actions", sentence)
        elif not is_kind_ref(action.handler):  # kinds: kind_action_problems below
            try:
                handler = resolve(action.handler, base=_base(integration),
                                  what=f"handler of {action.name}")
                if not callable(handler):
                    err("actions", f"The handler of action {action.name!r} is not callable.")
            except ConfigError as exc:
                err("actions", str(exc))
        p = action.approval
        if p.below_confidence is not None and p.confidence_field not in out_fields:
            err("actions", f"Action {action.name!r} asks for approval below a confidence, "
                           f"but the output schema has no {p.confidence_field} field.")
        if p.currency_field and p.currency_field not in out_fields:
            err("actions", f"Action {action.name!r} holds amounts to {p.currency}, but "
                           f"currency_field {p.currency_field!r} is not an output field.")
        if p.above_amount is not None and (not p.amount_field or p.amount_field not in out_fields):
            err("actions", f"Action {action.name!r} asks for approval above an amount, "
                           "but amount_field does not name an output field.")
    out += [Problem(*found) for found in kind_action_problems(integration)]
    if not integration.actions:
        warn("actions", "No actions are declared: outputs are recorded but nothing acts on them.")

    rollout = integration.rollout
    if rollout.baseline is None:
        err("rollout", "No baseline function: when the AI path is off or fails, nothing answers.")
    else:
        try:
            fn = resolve(rollout.baseline, base=_base(integration), what="baseline")
            if not callable(fn):
                err("rollout", "The baseline is not callable.")
        except ConfigError as exc:
            err("rollout", str(exc))
    if isinstance(rollout.default, float | int) and not 0 <= float(rollout.default) <= 100:
        err("rollout", "The rollout percentage must be between 0 and 100.")
    if isinstance(rollout.default, float | int) and not rollout.sticky_key:
        warn("rollout", "A percentage rollout without a sticky key is sticky per event id only.")
    for sentence in gate_problems(integration):
        if "no baseline" not in sentence:  # said above already, as "No baseline function"
            err("rollout", sentence)
    out += [Problem(*finding) for finding in model_fit_problems(integration)]
    out += [Problem(*finding) for finding in citation_problems(integration)]
    out += [Problem(*finding) for finding in soft_cap_problems(integration)]
    out += [Problem(*finding) for finding in data_policy_problems(integration)]
    return out
