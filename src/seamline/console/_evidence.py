"""The web console's evidence view: the model's quotes marked in the redacted source.

Grounding records each quote with the source field and character offsets it was found
at; a reviewer trusts an answer faster when the quote is shown where it stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from seamline.outputs import values_at
from seamline.scrub import scrub


def scrub_filter(value: Any) -> Markup:
    """The console's ``scrub`` Jinja filter: a value as escaped text, with every configured
    secret taken out by value (``seamline.scrub``); None is empty."""
    return Markup("") if value is None else escape(scrub(str(value)))


def mark(text: str, spans: list[tuple[int, int]]) -> Markup:
    """``text`` escaped, each span (merged where they overlap) wrapped in ``<mark>``."""
    merged: list[list[int]] = []
    for start, end in sorted(s for s in spans if 0 <= s[0] < s[1] <= len(text)):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, at = [], 0
    for start, end in merged:
        out.append(escape(text[at:start]))
        out.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)


# Output fields that hold quotes when the integration declares no grounding (the
# support-triage example's ``evidence``): found by searching the source, not by offsets.
QUOTE_FIELDS = ("evidence", "quote", "quotes", "citations", "evidence_quotes")
_SHORT = 80


@dataclass(frozen=True, slots=True)
class Quote:
    """A quote the reviewer is shown: where it was found ('' if nowhere) and who made it."""

    text: str
    field: str
    source: str  # "grounding" (offsets recorded by the check) or "output" (searched for)


@dataclass(frozen=True, slots=True)
class Node:
    """One value of the input as shown: a text (escaped, quotes marked), a scalar, a group."""

    label: str
    kind: str  # "text" | "long" | "scalar" | "group" | "empty"
    html: Markup = field(default_factory=Markup)
    marks: int = 0
    children: list[Node] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class EvidenceView:
    nodes: list[Node]
    quotes: list[Quote]
    unplaced: list[str]


@dataclass(slots=True)
class _Leaf:
    names: tuple[str, ...]
    text: str
    spans: list[tuple[int, int]]


def _walk(value: Any, path: str, counts: dict[str, int], leaves: list[_Leaf],
          doc: tuple[str, int] | None = None) -> Any:
    """A skeleton of ``value`` whose strings are _Leaf objects, named as grounding names
    fields (``body``, ``body#1``, ``docs[0].text``; see ``field_text``)."""
    if isinstance(value, str):
        nth = counts.get(path, 0)
        counts[path] = nth + 1
        names = [path] if nth == 0 else [f"{path}#{nth}"]
        if doc is not None:
            names.append(f"{doc[0]}[{doc[1]}].{path.rsplit('.', 1)[-1]}")
        leaf = _Leaf(tuple(names), scrub(value), [])
        leaves.append(leaf)
        return leaf
    if isinstance(value, dict):
        return {k: _walk(v, f"{path}.{k}" if path else str(k), counts, leaves, doc)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, f"{path}[]", counts, leaves,
                      (path, i) if isinstance(v, dict) and doc is None else doc)
                for i, v in enumerate(value)]
    return value


def _find(text: str, quote: str) -> int:
    at = text.find(quote)
    if at < 0 and len(text.lower()) == len(text) and len(quote.lower()) == len(quote):
        at = text.lower().find(quote.lower())
    return at


def _output_quotes(output: Any, quote_fields: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for name in quote_fields:
        for value in values_at(output, name) if isinstance(output, dict) else []:
            items = value if isinstance(value, list) else [value]
            for item in items:
                text = item.get("quote") if isinstance(item, dict) else item
                if isinstance(text, str) and text.strip() and text not in found:
                    found.append(text)
    return found


def _node(label: str, skeleton: Any) -> Node:
    if isinstance(skeleton, _Leaf):
        if not skeleton.text:
            return Node(label, "empty")
        long = "\n" in skeleton.text or len(skeleton.text) > _SHORT
        return Node(label, "long" if long else "text", mark(skeleton.text, skeleton.spans),
                    len(skeleton.spans))
    if isinstance(skeleton, dict):
        return Node(label, "group", children=[_node(str(k), v) for k, v in skeleton.items()])
    if isinstance(skeleton, list):
        return Node(label, "group", children=[_node(f"{label} {i + 1}", v)
                                              for i, v in enumerate(skeleton)])
    if skeleton is None:
        return Node(label, "empty")
    text = ("yes" if skeleton else "no") if isinstance(skeleton, bool) else str(skeleton)
    return Node(label, "scalar", escape(scrub(text)))


def evidence(data: Any, grounding_quotes: list[dict[str, Any]], output: Any = None,
             quote_fields: tuple[str, ...] = QUOTE_FIELDS) -> EvidenceView:
    """The input as readable fields with every quote marked where it stands.

    Grounding's quotes are placed by their recorded field and offsets (trusted only while
    they still select the quote; else looked up in that field). With no grounding quotes,
    the quotes the output itself lists (``quote_fields``) are searched for in the input.
    """
    leaves: list[_Leaf] = []
    skeleton = _walk(data, "", {}, leaves)
    by_name = {n: leaf for leaf in leaves for n in leaf.names}
    quotes: list[Quote] = []
    unplaced: list[str] = []
    for q in grounding_quotes:
        if not isinstance(q, dict):
            continue
        text, name = scrub(str(q.get("quote", ""))), str(q.get("field", ""))
        leaf = by_name.get(name)
        start, end = q.get("start"), q.get("end")
        if leaf is not None and text:
            if not (isinstance(start, int) and isinstance(end, int)
                    and leaf.text[start:end] == text):
                start = _find(leaf.text, text)
                end = start + len(text)
            if isinstance(start, int) and isinstance(end, int) and start >= 0:
                leaf.spans.append((start, end))
                quotes.append(Quote(text, name, "grounding"))
                continue
        if text:
            unplaced.append(text)
    if not grounding_quotes:
        for text in (scrub(t) for t in _output_quotes(output, quote_fields)):
            for leaf in leaves:
                at = _find(leaf.text, text)
                if at >= 0:
                    leaf.spans.append((at, at + len(text)))
                    quotes.append(Quote(text, leaf.names[0], "output"))
                    break
            else:
                unplaced.append(text)
    if isinstance(skeleton, dict):
        nodes = [_node(str(k), v) for k, v in skeleton.items()]
    else:
        nodes = [_node("input", skeleton)] if data is not None else []
    return EvidenceView(nodes, quotes, unplaced)


def laid_out(value: Any) -> list[Node]:
    """An output (or any JSON value) as labelled fields, nothing marked."""
    return evidence(value, []).nodes if value is not None else []
