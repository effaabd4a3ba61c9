"""Scorers: plain functions ``(expected, actual, context) -> float | None``.

``expected`` is the golden output, ``actual`` the integration's output (None when the
event did not end in an answer: a parse failure, a dead letter), ``context`` what the run
left behind (state, audit story, prompt, cost). ``None`` means "not applicable to this
example" and is left out of the mean, so a scorer for an optional field does not punish
examples that do not rate that field.

Quality scorers give 0..1 and make up the headline score; measures (cost, latency,
abstention rate) are reported beside it, never averaged into it. A quality scorer that
cannot fail for the integration's model -- no PII leak (redaction runs before any model),
grounding for an on-device model that copies its quotes from the source -- or that scores
another layer (retrieval) is reported with the reason, and left out of the headline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from seamline.errors import ConfigError
from seamline.ingest import redact
from seamline.integration import Integration, resolve

Kind = Literal["quality", "measure"]


@dataclass(frozen=True)
class Context:
    """What scoring one example may look at besides expected and actual."""

    example: dict[str, Any]  # the golden line: input, output, and optional id / pii
    state: str = ""
    reason: str = ""
    cost_usd: float = 0.0
    timings_ms: dict[str, float] = field(default_factory=dict)
    story: list[dict[str, Any]] = field(default_factory=list)  # the eval event's audit rows
    judge: Callable[..., str] | None = None  # (system, user, model="") -> reply text

    @property
    def input(self) -> dict[str, Any]:
        return self.example.get("input") or {}

    def entries(self, kind: str) -> list[dict[str, Any]]:
        return [e["payload"] for e in self.story if e["kind"] == kind]

    @property
    def prompt_text(self) -> str:
        """Every prompt the model was sent for this example (system and user)."""
        return "\n".join(f"{p.get('system', '')}\n{p.get('user', '')}" for p in self.entries("prompt"))

    @property
    def grounding(self) -> dict[str, Any] | None:
        """The grounding report: the accepted answer's, else the last refused reply's."""
        reports = self.entries("grounding")
        if reports:
            return reports[-1]
        refused = [c["grounding"] for c in self.entries("model_call") if "grounding" in c]
        return refused[-1] if refused else None


Scorer = Callable[[Any, Any, Context], "float | None"]


def _always(integration: Integration) -> str:
    return ""


@dataclass(frozen=True)
class NamedScorer:
    """A scorer with its name and kind. ``left_out(integration)`` says why it stays out of
    the headline for that integration's model ("" when it counts)."""

    name: str
    fn: Scorer
    kind: Kind = "quality"
    left_out: Callable[[Integration], str] = _always

    def __call__(self, expected: Any, actual: Any, context: Context) -> float | None:
        return self.fn(expected, actual, context)


# ---- the built-ins ------------------------------------------------------------------------


def exact(expected: Any, actual: Any, context: Context) -> float:
    """1 when the whole output equals the golden output."""
    return float(actual is not None and actual == expected)


def field_match(name: str) -> Scorer:
    """1 when one field equals the golden value; not applicable when the golden set omits it."""
    def score(expected: Any, actual: Any, context: Context) -> float | None:
        if not isinstance(expected, dict) or name not in expected:
            return None
        return float(isinstance(actual, dict) and actual.get(name) == expected[name])
    return score


def numeric(name: str, abs_tol: float = 0.0, rel_tol: float = 0.0) -> Scorer:
    """1 when a number is within ``abs_tol`` or ``rel_tol`` (a fraction) of the golden one."""
    def score(expected: Any, actual: Any, context: Context) -> float | None:
        if not isinstance(expected, dict) or not isinstance(expected.get(name), (int, float)):
            return None
        got = actual.get(name) if isinstance(actual, dict) else None
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return 0.0
        want = float(expected[name])
        return float(abs(got - want) <= max(abs_tol, rel_tol * abs(want)))
    return score


def _sets(name: str, expected: Any, actual: Any) -> tuple[set[str], set[str]] | None:
    if not isinstance(expected, dict) or not isinstance(expected.get(name), list):
        return None
    got = actual.get(name) if isinstance(actual, dict) else None
    as_key = lambda v: json.dumps(v, sort_keys=True)  # unhashable items compare too
    return ({as_key(v) for v in expected[name]},
            {as_key(v) for v in got} if isinstance(got, list) else set())


def set_score(name: str, measure: Literal["precision", "recall", "f1"] = "f1") -> Scorer:
    """Precision, recall or F1 of a list field read as a set; two empty sets agree fully."""
    def score(expected: Any, actual: Any, context: Context) -> float | None:
        pair = _sets(name, expected, actual)
        if pair is None:
            return None
        want, got = pair
        if not want and not got:
            return 1.0
        hits = len(want & got)
        precision = hits / len(got) if got else 0.0
        recall = hits / len(want) if want else 0.0
        if measure == "precision":
            return precision
        if measure == "recall":
            return recall
        return 2 * precision * recall / (precision + recall) if hits else 0.0
    return score


def regex(name: str, pattern: str | None = None) -> Scorer:
    """1 when a text field matches ``pattern`` (or, without one, the golden value as a pattern)."""
    fixed = re.compile(pattern) if pattern is not None else None

    def score(expected: Any, actual: Any, context: Context) -> float | None:
        rx = fixed
        if rx is None:
            if not isinstance(expected, dict) or not isinstance(expected.get(name), str):
                return None
            rx = re.compile(expected[name])
        got = actual.get(name) if isinstance(actual, dict) else None
        return float(isinstance(got, str) and rx.search(got) is not None)
    return score


def grounding(expected: Any, actual: Any, context: Context) -> float | None:
    """1 when the answer passed its grounding checks; not applicable when none ran."""
    report = context.grounding
    return None if report is None else float(bool(report.get("passed")))


def citation_coverage(expected: Any, actual: Any, context: Context) -> float | None:
    """Share of the answer's sentences (its ``answer_field``; else its claims) backed by a
    provider citation that passed the checks (``grounding.citations: provider``). An answer
    that came back without citations (a fallback route, a batch) scores 0; an abstention,
    or an example with no grounding report, is not applicable."""
    report = context.grounding
    if report is None or report.get("abstained"):
        return None
    cited = report.get("provider_citations") or {}
    if cited.get("contract") == "quotes":
        return 0.0
    value = cited.get("coverage")
    return None if value is None else float(value)


def abstention(expected: Any, actual: Any, context: Context) -> float | None:
    """1 when the answer abstained (a measure: its mean is the abstention rate)."""
    report = context.grounding
    return None if report is None else float(bool(report.get("abstained")))


def cost(expected: Any, actual: Any, context: Context) -> float:
    """What the example cost in US dollars (every call, repairs included)."""
    return context.cost_usd


def latency(expected: Any, actual: Any, context: Context) -> float:
    """Milliseconds across every layer of the pipeline."""
    return float(sum(context.timings_ms.values()))


def no_pii_leak(expected: Any, actual: Any, context: Context) -> float | None:
    """0 when a PII value of the input reached the model's prompt: a broken redaction costs points.

    The values are the example's ``pii`` list when it has one, else what the PII detectors
    find in the input's text fields.
    """
    prompt = context.prompt_text
    if not prompt:
        return None  # nothing was sent to a model (a baseline answer, an ingest refusal)
    values = context.example.get("pii")
    if values is None:
        values = [e.value for v in context.input.values() if isinstance(v, str)
                  for e in redact(v).entities]
    return float(not any(v and v in prompt for v in values))


_PUNCT = re.compile(r"[^\w\s$%€£.,'-]|(?<!\d)[.,]|[.,](?!\d)|(?<![\w$])-|-(?!\w)")


def normalise(text: str) -> str:
    """Lower case, one space between words, punctuation out (digits keep theirs: 4.5, 1,000)."""
    text = text.lower().replace("’", "'").replace("–", "-").replace("—", "-")
    return " ".join(_PUNCT.sub(" ", text).split())


def key_facts(name: str = "answer") -> Scorer:
    """Share of the golden line's ``facts`` the answer text states (each fact a phrase, or a
    list of phrases any of which will do), compared after :func:`normalise`. Not applicable
    to a line without facts (an abstention, an unrated answer)."""
    def score(expected: Any, actual: Any, context: Context) -> float | None:
        facts = context.example.get("facts")
        if not facts:
            return None
        got = actual.get(name) if isinstance(actual, dict) else None
        text = f" {normalise(got)} " if isinstance(got, str) else ""
        found = 0
        for fact in facts:
            phrases = fact if isinstance(fact, list) else [fact]
            found += any(f" {normalise(str(p))} " in text for p in phrases)
        return found / len(facts)
    return score


def _not_for_on_device(integration: Integration) -> str:
    from seamline.inference import local_kind

    if local_kind(integration.model):
        return ("not informative: the on-device model copies its quotes from the source, so it "
                "passes by construction")
    return ""


def _without_citations(integration: Integration) -> str:
    if integration.grounding.citations != "provider":
        return ("not informative: the integration keeps the quote contract (grounding."
                "citations: quotes), so no answer carries a provider citation")
    if integration.model.provider != "anthropic":
        return (f"not informative: the model route ({integration.model.provider}) has no "
                "citations API, so no answer carries a citation")
    return ""


def _redaction_only(integration: Integration) -> str:
    return ("not informative: it checks that redaction kept PII out of the prompt, before any "
            "model runs, so no answer can fail it (a failure is a redaction bug)")


def _retrieval_only(integration: Integration) -> str:
    return "scores retrieval, not the answer: reported beside the headline"


def _judge_left_out(integration: Integration) -> str:
    from seamline.inference import reads_prompt

    if not reads_prompt(integration.model):
        return ("not informative: the judge would be the on-device model, which cannot grade "
                "an answer")
    return ""


JUDGE_SYSTEM = ("You grade the answer of an automated system against a reference answer, "
                "using the rubric. Reply with one JSON object: {\"score\": a number from 0 to 1, "
                "\"why\": one sentence}.")


def judge(rubric: str, model: str = "") -> Scorer:
    """A model grades the answer with ``rubric`` through the integration's own provider
    (``model``: another model of that provider; empty: the route's own).

    Not applicable when no judge is wired; a reply without a score counts as 0, since a
    judge that cannot answer has not approved anything.
    """
    def score(expected: Any, actual: Any, context: Context) -> float | None:
        if context.judge is None:
            return None
        if actual is None:
            return 0.0
        user = (f"Rubric:\n{rubric}\n\nInput:\n{json.dumps(context.input, ensure_ascii=False)}\n\n"
                f"Reference answer:\n{json.dumps(expected, ensure_ascii=False)}\n\n"
                f"Answer to grade:\n{json.dumps(actual, ensure_ascii=False)}")
        return parse_judge_score(context.judge(JUDGE_SYSTEM, user, model))
    return score


def parse_judge_score(text: str) -> float:
    """The score of a judge's reply: ``{"score": x}`` or a bare number, clamped to 0..1."""
    value: Any = None
    try:
        parsed = json.loads(text)
        value = parsed.get("score") if isinstance(parsed, dict) else parsed
    except ValueError:
        match = re.search(r"-?\d+(?:\.\d+)?", text)
        value = float(match.group()) if match else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return min(1.0, max(0.0, float(value)))


# ---- declaring scorers --------------------------------------------------------------------

PLAIN: dict[str, tuple[Scorer, Kind]] = {
    "exact": (exact, "quality"), "grounding": (grounding, "quality"),
    "no_pii_leak": (no_pii_leak, "quality"), "abstention": (abstention, "measure"),
    "cost": (cost, "measure"), "latency": (latency, "measure"),
    "citation_coverage": (citation_coverage, "quality"),
}
# Why a built-in stays out of the headline for an integration ("" when it counts).
LEFT_OUT: dict[str, Callable[[Integration], str]] = {
    "grounding": _not_for_on_device, "no_pii_leak": _redaction_only, "mrr": _retrieval_only,
    "judge": _judge_left_out, "citation_coverage": _without_citations,
}


def scored_fields(integration: Integration) -> list[str]:
    """The fields "fields" expands to: categorical ones when the schema has any, else all."""
    from seamline.eval._golden import categorical_fields

    return categorical_fields(integration.output_schema) or list(integration.output_schema.model_fields)


def default_specs(integration: Integration) -> list[Any]:
    """Per-field match, no PII leak, cost and latency; grounding and abstention when checked."""
    specs: list[Any] = ["fields", "no_pii_leak"]
    if "answer" in integration.output_schema.model_fields:  # rated by lines that list "facts"
        specs.append("key_facts")
    if integration.grounding.active:
        specs.append("grounding")
        if integration.grounding.abstain_field:
            specs.append("abstention")
        if integration.grounding.citations == "provider":
            specs.append("citation_coverage")
    if integration.retrieval is not None:  # rated by golden lines that name "relevant" ids
        specs += ["recall@1", f"recall@{integration.retrieval.k}", "mrr"]
    return specs + ["cost", "latency"]


def build_scorers(specs: list[Any] | None, integration: Integration, *,
                  base: Path | None = None) -> list[NamedScorer]:
    """Turn declarations (names, or objects with ``scorer`` and options) into scorers.

    ``"fields"`` expands to one ``field:NAME`` scorer per scored field; a ``scorer`` of the
    form ``module:function`` (or ``file.py:function``) is a custom plain function.
    """
    out: list[NamedScorer] = []
    for spec in default_specs(integration) if specs is None else specs:
        opts = {"scorer": spec} if isinstance(spec, str) else dict(spec) if isinstance(spec, dict) else None
        if opts is None or not isinstance(opts.get("scorer"), str):
            raise ConfigError(f"The scorer declaration {spec!r} must be a name or an object with "
                              "a 'scorer' key.")
        if opts["scorer"] == "fields":
            out += [NamedScorer(f"field:{f}", field_match(f)) for f in scored_fields(integration)]
        else:
            out.append(_one(opts, base))
    names = [s.name for s in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"Two scorers share the name(s) {dupes}; give each a distinct 'name'.")
    return out


def _one(opts: dict[str, Any], base: Path | None) -> NamedScorer:
    kind_of = opts.pop("scorer")
    name = opts.pop("name", None)
    kind = opts.pop("kind", None)
    if kind not in (None, "quality", "measure"):
        raise ConfigError(f"The scorer {kind_of!r} has kind {kind!r}; use quality or measure.")
    try:
        made = _make(kind_of, opts, base)
    except KeyError as exc:
        raise ConfigError(f"The scorer {kind_of!r} needs the option {exc.args[0]!r}.") from None
    except (TypeError, ValueError):
        raise ConfigError(f"The scorer {kind_of!r} has an option that is not a number.") from None
    except re.error as exc:
        raise ConfigError(f"The regex scorer's pattern is not a valid regular expression: {exc}.") from None
    if opts:
        raise ConfigError(f"The scorer {kind_of!r} does not take the option(s) {sorted(opts)}.")
    default_name, fn, default_kind = made
    left_out = LEFT_OUT.get("mrr" if re.fullmatch(r"recall@\d+", kind_of) else kind_of, _always)
    return NamedScorer(name or default_name, fn, kind or default_kind, left_out)


def _make(kind_of: str, opts: dict[str, Any], base: Path | None) -> tuple[str, Scorer, Kind]:
    """(default name, function, default kind) of one declaration; pops the options it reads."""
    if kind_of in PLAIN:
        return kind_of, *PLAIN[kind_of]
    if kind_of.startswith("field:"):
        return kind_of, field_match(kind_of[6:]), "quality"
    if kind_of in ("mrr", "cites_relevant") or re.fullmatch(r"recall@[1-9]\d*", kind_of):
        from seamline.eval import _retrieval_scorers as rs

        if kind_of == "mrr":
            return "mrr", rs.mrr, "quality"
        if kind_of == "cites_relevant":
            return kind_of, rs.cites_relevant(str(opts.pop("field", "citations")), tuple(
                opts.pop("id_keys", ("chunk_id", "id", "url")))), "quality"
        return kind_of, rs.recall_at(int(kind_of[7:])), "quality"
    if kind_of == "key_facts":
        return "key_facts", key_facts(str(opts.pop("field", "answer"))), "quality"
    if kind_of == "judge":
        return "judge", judge(str(opts.pop("rubric")), str(opts.pop("model", ""))), "quality"
    if kind_of in ("field", "numeric", "precision", "recall", "f1", "regex"):
        field_name = opts.pop("field", "")
        if not field_name:
            raise ConfigError(f"The scorer {kind_of!r} needs a 'field'.")
        label = f"{kind_of}:{field_name}"
        if kind_of == "field":
            return label, field_match(field_name), "quality"
        if kind_of == "numeric":
            return label, numeric(field_name, float(opts.pop("abs", 0.0)), float(opts.pop("rel", 0.0))), \
                "quality"
        if kind_of == "regex":
            return label, regex(field_name, opts.pop("pattern", None)), "quality"
        return label, set_score(field_name, kind_of), "quality"  # type: ignore[arg-type]
    if ":" in kind_of:
        fn = resolve(kind_of, base=base, what="scorer")
        if not callable(fn):
            raise ConfigError(f"The scorer {kind_of} is a {type(fn).__name__}, not a function.")
        return kind_of.rpartition(":")[2], fn, "quality"
    raise ConfigError(f"The scorer {kind_of!r} is unknown; use one of exact, fields, field, numeric, "
                      "precision, recall, f1, regex, grounding, abstention, no_pii_leak, judge, key_facts, "
                      "citation_coverage, cost, latency, recall@K, mrr, cites_relevant, or 'module:function'.")
