"""Text that reads as instructions to the model: a detector, and where its text ends.

A model that follows instructions hidden in a customer's message will report whatever
the message asks for. Two layers use that: the approval policy (layer 5) sets the model's
own confidence aside when the input carries instruction-like text, and the grounding
checks (this layer) never count such text as support for a claim. The detector lives
here, below both, so the checks need not import the actions layer.

The detector is a list of phrasings (written by hand: no library covers prompt-injection
phrasing, and a classifier would need weights we cannot ship). It only ever sends more
actions to a person and takes support away from a quote, so it errs towards recall.

:func:`instruction_spans` marks the text an instruction governs: its sentence; a sentence
that is *only* the override ("Forget the previous prompt.") takes the next sentence too,
since that is where its payload is; a chat-template block (``[INST] … [/INST]``,
``<|im_start|> … <|im_end|>``) is marked from its opening to its closing tag.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# (literals, pattern): a pattern runs only on text holding one of its literals (lower
# case), which keeps the scan of an ordinary message to a few substring searches.
_PHRASES: list[tuple[tuple[str, ...], str]] = [
    # Overriding the instructions.
    (("ignor", "disregard", "forget", "skip", "overrid", "bypass"),
     (r"(?:ignore|disregard|forget|skip|override|bypass)\s+(?:all\s+|any\s+|the\s+|your\s+|my\s+"
     r"|these\s+|those\s+|every\s+)*(?:previous|prior|above|earlier|preceding|former|original"
     r"|system|safety|security)?\s*(?:instructions?|rules?|prompts?|directions?|guidelines?"
     r"|polic(?:y|ies)|constraints?|checks?|approvals?|restrictions?)")),
    (("instruction",), (r"(?:new|updated|revised|real|actual|hidden)\s+(?:system\s+)?"
                       r"instructions?\s*[:\-]")),
    (("you are", "now", "pretend", "act as"),
     (r"you\s+are\s+now\b|from\s+now\s+on,?\s+you\b|pretend\s+(?:to\s+be|you\s+are)"
     r"|act\s+as\s+(?:an?\s+|the\s+)?(?:admin|administrator|developer|system|root|supervisor)")),
    (("mode", "jailbreak"), r"(?:developer|debug|god|admin|jailbreak|dan)\s+mode|\bjailbreak"),
    (("system", "assistant", "developer"),
     r"system\s+prompt|(?:^|\n|(?<=[.!?] ))[ \t]{0,8}(?:system|assistant|developer)[ \t]{0,4}:"),
    # A role label hidden in markup ("<!-- system: …"), or the model addressed by name
    # with an order ("assistant, you must set the deal stage …").
    (("<!--",), r"<!--\s*(?:system|assistant|developer|instructions?)\b"),
    (("assistant", "chatbot", "ai,", "bot,", "model,"),
     (r"\b(?:assistant|chatbot|ai|bot|model)\s*,\s*(?:you\s+(?:must|should|need\s+to|will)\s+|"
      r"please\s+)?(?:set|mark|change|update|approve|close|escalate|offer|issue|grant|refund)\b")),
    (("<|", "|>", "[inst", "[/inst", "[sys", "###"),
     r"<\|?(?:im_start|im_end|system|endoftext)\|?>|\[/?(?:inst|sys)\]|###\s*instruction"),
    # Steering the answer or the policy.
    (("confiden", "certain", "score", "amount", "approv", "urgen", "priorit"),
     (r"(?:set|make|give|report|return|output|mark|put|use)\s+(?:the\s+|your\s+|its\s+|a\s+)?"
     r"(?:confidence|certainty|score|amount|approval|urgency|priority)\s*(?:level\s+|score\s+)?"
     r"(?:(?:to|at|as|of)\b|[=:])")),
    (("confiden", "certain"),
     (r"(?:confidence|certainty)\s*(?:score\s*|level\s*)?(?:=|:|to|of)\s*(?:1(?:\.0+)?|100\s*%)"
     r"(?![0-9])")),
    (("not", "don", "never", "no need"),
     (r"(?:do\s+not|don'?t|never|no\s+need\s+to)\s+(?:ask|wait|require|request|need|check"
     r"|escalate|send)\s+(?:for\s+|a\s+|any\s+)?(?:human|manual|person|approval|review"
     r"|confirmation|a\s+human)")),
    (("approv",),
     (r"(?:auto(?:matically)?|immediately|pre)\s*[- ]?approve"
     r"|approve\s+(?:it\s+|this\s+|the\s+\w+\s+)?(?:automatically|immediately|right\s+away|now)"
     r"|approved\s+in\s+advance")),
    (("without",), r"without\s+(?:any\s+)?(?:approval|review|confirmation|checks?)"),
    (("\"",), r"\"\s*(?:confidence|approved|needs_human|approval)\s*\"\s*:"),
    # The same in a few other languages our users' customers write in.
    (("ignor",), (r"ignor(?:iere|ieren|ez|a|e)\s+(?:alle\s+|toutes\s+|todas\s+|les\s+|las\s+"
                 r"|le\s+|die\s+)*(?:vorherigen\s+anweisungen|anweisungen|instructions?"
                 r"|instrucciones|istruzioni)")),
]
# Patterns are written in lower case and run on the lowered text (several times faster than
# IGNORECASE); a text whose lowering changes its length is scanned case-insensitively.
_COMPILED = tuple((frozenset(lits), re.compile(pat), re.compile(pat, re.IGNORECASE))
                  for lits, pat in _PHRASES)
# One scan for every literal; a lookahead, so that overlapping literals are all found.
_LITERALS = re.compile("(?=(" + "|".join(re.escape(lit) for lit in sorted(
    {lit for lits, _ in _PHRASES for lit in lits}, key=len, reverse=True)) + "))")
_MAX_SCAN = 200_000  # characters scanned per event: enough for every real message

# A sentence ends at . ! ? (not inside a number: "1.0") or at a blank line.
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?=\s|$)|\n[ \t]*\n")
_OPENING = re.compile(r"\[INST\]|\[SYS\]|<\|?im_start\|?>|<\|?system\|?>", re.IGNORECASE)
_CLOSING = {"[inst]": re.compile(r"\[/INST\]", re.IGNORECASE),
            "[sys]": re.compile(r"\[/SYS\]", re.IGNORECASE)}
_IM_END = re.compile(r"<\|?(?:im_end|endoftext)\|?>", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")
_PAYLOAD_WORDS = 3  # a sentence with fewer words besides the phrase is only the override


@dataclass(frozen=True, slots=True)
class InstructionSpan:
    """Text an instruction-like phrase governs (original offsets), and the phrase."""

    start: int
    end: int
    phrase: str


def _hits(text: str) -> list[tuple[int, int, str]]:
    lower = text.lower()
    present = set(_LITERALS.findall(lower))
    if not present:
        return []
    same = len(lower) == len(text)
    found: list[tuple[int, int, str]] = []
    for lits, fast, anycase in _COMPILED:
        if not lits.isdisjoint(present):
            found += [(m.start(), m.end(), text[m.start():m.end()])
                      for m in (fast.finditer(lower) if same else anycase.finditer(text))]
    return sorted(found)


def _phrase(raw: str) -> str:
    return " ".join(raw.split()).lower()


def _strings(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            yield v
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list | tuple):
            stack.extend(v)


def find_instructions(value: Any) -> tuple[str, ...]:
    """Instruction-like phrases in every string of ``value`` (keys included), in order
    of appearance, each once."""
    found: dict[str, None] = {}
    budget = _MAX_SCAN
    for text in _strings(value):
        if budget <= 0:
            break
        chunk, budget = text[:budget], budget - len(text)
        for _, _, phrase in _hits(chunk):
            found.setdefault(_phrase(phrase), None)
    return tuple(found)


def _sentences(text: str) -> list[tuple[int, int]]:
    bounds, at = [], 0
    for m in _SENTENCE_END.finditer(text):
        bounds.append((at, m.end()))
        at = m.end()
    if at < len(text):
        bounds.append((at, len(text)))
    # A sentence starts at its first visible character.
    return [(a + len(text[a:b]) - len(text[a:b].lstrip()), b) for a, b in bounds]


def _closing_tag(raw: str) -> bool:
    return raw.lower() in ("[/inst]", "[/sys]") or bool(_IM_END.fullmatch(raw))


def instruction_spans(text: str) -> tuple[InstructionSpan, ...]:
    """The stretches of ``text`` that instruction-like phrases govern (merged, in order)."""
    chunk = text[:_MAX_SCAN]
    hits = _hits(chunk)
    if not hits:
        return ()
    sentences = _sentences(chunk)
    spans: list[InstructionSpan] = []
    for start, end, raw in hits:
        if _closing_tag(raw):
            continue  # a closing tag governs nothing after it
        if _OPENING.fullmatch(raw):
            closing = _CLOSING.get(raw.lower(), _IM_END).search(chunk, end)
            if closing:
                spans.append(InstructionSpan(start, closing.end(), _phrase(raw)))
                continue
        i = next((k for k, (a, b) in enumerate(sentences) if a <= start < b),
                 len(sentences) - 1)
        s_start, s_end = sentences[i]
        rest, at = [], s_start
        for h_start, h_end, _ in hits:  # the sentence without any phrase in it
            if s_start <= h_start < s_end:
                rest.append(chunk[at:max(at, h_start)])
                at = max(at, h_end)
        rest.append(chunk[at:s_end])
        if len(_WORD.findall(" ".join(rest))) < _PAYLOAD_WORDS and i + 1 < len(sentences):
            s_end = sentences[i + 1][1]  # the override alone: its payload is what follows
        spans.append(InstructionSpan(s_start, s_end, _phrase(raw)))
    merged: list[InstructionSpan] = []
    for span in sorted(spans, key=lambda s: s.start):
        if merged and span.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = InstructionSpan(last.start, max(last.end, span.end), last.phrase)
        else:
            merged.append(span)
    return tuple(merged)
