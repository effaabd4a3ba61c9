"""Layer 3, inference: the local model's answer -- labels, values read with evidence, nothing
invented.

The classifier gives the labels and the sentences behind them; ``_local_fill`` reads the
other fields' values out of the input. A field neither can fill is left to the schema's
default when it has one, is ``null`` when the schema allows it, and otherwise stops the
answer: :attr:`Answer.missing` names it, and the model refuses the event rather than put
a placeholder where a value goes. The confidence is the smallest of the classifier's
probabilities and the extraction rules' confidences, so a value read by a weak rule makes
the whole answer as shaky as a doubtful label does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seamline.inference._local_fill import Fill, Found, fill_fields
from seamline.inference._local_fit import Fitted, Scored, classify
from seamline.inference._local_schema import Plan
from seamline.inference._local_text import collapse, cut_words, quote, split_sentences


@dataclass(frozen=True, slots=True)
class Answer:
    """One input's answer: the reply object, the evidence behind it, what it lacks."""

    output: dict[str, Any]  # schema order; fields left to their defaults are absent
    evidence: dict[str, Any]  # labels, values found (with spans), fields not filled and why
    missing: tuple[str, ...] = ()  # required fields it could not fill: no answer, then


def answer(fitted: Fitted, plan: Plan, text_fields: tuple[str, ...],
           data: dict[str, Any]) -> Answer:
    data = data or {}
    scored = classify(fitted, text_fields, data)
    texts = [(name, value if isinstance(value, str) else str(value))
             for name in text_fields if (value := data.get(name)) is not None
             and str(value).strip()]
    fills = fill_fields(plan, texts)
    output: dict[str, Any] = {}
    unfilled: dict[str, str] = {}
    missing: list[str] = []
    for name in plan.order:
        if name in scored.labels:
            output[name] = scored.labels[name]
        elif name in plan.categorical:
            unfilled[name] = "never labelled in the examples: the schema's default"
        elif name in (plan.confidence, plan.evidence, plan.summary):
            output[name] = None  # placed here to keep the order, computed below
        else:
            fill = fills[name]
            if fill.filled:
                output[name] = fill.value
                continue
            unfilled[name] = fill.why_not
            if name not in plan.required:
                continue  # the schema's default stands; the model says nothing
            if name in plan.nullable:
                output[name] = None  # "not stated", which null means
            else:
                missing.append(name)
    filled = {name: fill for name, fill in fills.items() if fill.filled}
    if plan.summary:
        output[plan.summary] = _summary(plan, text_fields, scored.quotes, data)
    if plan.evidence:
        output[plan.evidence] = _quotes(scored, filled, dict(texts))
    if plan.confidence:
        # The weakest part decides: one shaky label or value makes the whole answer shaky.
        weakest = [*scored.probabilities.values(),
                   *(f.confidence for f in filled.values() if f.found)]
        output[plan.confidence] = round(min(weakest), 3) if weakest else 0.0
    evidence = {
        "labels": {n: {"value": scored.labels[n], "probability": round(p, 4)}
                   for n, p in scored.probabilities.items()},
        "filled": {n: {"value": f.value, "confidence": f.confidence,
                       "found": [x.as_dict() for x in f.found]} for n, f in filled.items()},
        "unfilled": unfilled,
    }
    return Answer(output, evidence, tuple(missing))


def _quotes(scored: Scored, filled: dict[str, Fill], texts: dict[str, str]) -> list[str]:
    """The classifier's evidence sentences, then the sentence of each value read."""
    quotes = list(scored.quotes)
    for fill in filled.values():
        for found in fill.found[:1]:
            sentence = _sentence_of(found, texts)
            if sentence and sentence not in quotes:
                quotes.append(sentence)
    return quotes


def _sentence_of(found: Found, texts: dict[str, str]) -> str:
    text = texts.get(found.source, "")
    for a, b in split_sentences(text):
        if a <= found.start < b:
            piece = quote(text[a:b])
            return piece if found.quote in piece else found.quote
    return found.quote


def _summary(plan: Plan, text_fields: tuple[str, ...], quotes: list[str],
             data: dict[str, Any]) -> str:
    """The best quote on one line, fitted to the field's length bounds."""
    line = collapse(quotes[0]) if quotes else ""
    if not line:
        for name in text_fields:
            value = data.get(name)
            if value is not None and collapse(str(value)):
                line = collapse(str(value))
                break
    if not line:
        line = "(no text)"
    if plan.summary_max:
        line = cut_words(line, int(plan.summary_max))
    if len(line) < plan.summary_min:
        line = line.ljust(plan.summary_min, ".")
    return line
