"""Tokens of a text in normal form: words, numbers and amounts, dates, identifiers.

Each token keeps its offsets in the normal form (so a located quote selects its tokens
out of the source's) and a canonical key ("$5,000" and "5000 dollars" are both the
number 5000 and the currency usd; "3rd", "three" and "3" are 3; "2024-05-02" is the year
2024, the day 2 and the month May). Negation is read in context: a token is *negated*
when a cue ("not", "never", "didn't", "no longer", ...) precedes it in the same clause,
within a few words — so a quote that starts after the "not" is still read as negated.
"Stopped charging" negates "charging", and "unopened" is "opened" negated.

A word's keys are its stem, its dictionary lemma in the text's language (so "went" meets
"go" and "veut" meets "veux"), and the synonym sets and paraphrase groups of both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from seamline.outputs._lexicon import (
    AMBIGUOUS_MONTHS,
    CURRENCY_SIGNS,
    CURRENCY_WORDS,
    FRAMING,
    MONTHS,
    MULTIPLIERS,
    NEGATOR_PAIRS,
    NEGATORS,
    NUMBER_WORDS,
    PERCENT_WORDS,
    RELATIVE_DAYS,
    RELATIVE_LEAD,
    RELATIVE_UNITS,
    SCOPE_ENDS,
    SCOPE_WORDS,
    SOFT_NUMBERS,
    STOP,
    STOP_VERBS,
    SUBORDINATE,
    TENS,
    WEEKDAYS,
    concepts,
    language,
    lemma,
    stem,
)

_MARK = "\u0300-\u036f"  # combining accents, apart after NFKD
_TOKEN = re.compile(rf"""
  (?P<date>(?<![\w/.-])(?:\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}})(?![\w/-]))
| (?P<num>(?<![\w.,])[$€£¥]?\d+(?:[.,]\d+)*(?:st|nd|rd|th|am|pm|k|ST|ND|RD|TH|AM|PM|K)?%?
    (?!\w))
| (?P<word>(?:[^\W_]|[{_MARK}])+(?:['-](?:[^\W_]|[{_MARK}])+)*)
| (?P<cur>[$€£¥])
| (?P<punct>[.!?;:,()"])
""", re.VERBOSE)
_CHUNK = re.compile(r"\S+")
_QUOTING = frozenset('"()')
_STRIP_MARKS = re.compile(f"[{_MARK}]")
_ORDINAL = re.compile(r"(st|nd|rd|th|am|pm|k)$", re.IGNORECASE)

# Token kinds: word, num (numbers and amounts), id (letters with digits), month, time
# (weekdays, today, last week), cur (currency), cue (negation), lead ("last" of "last
# week"), punct.
CONTENT_KINDS = frozenset({"word", "num", "id", "month", "time"})
_FRAMING_STEMS = frozenset(stem(w) for w in FRAMING)


@dataclass(slots=True)
class Token:
    kind: str
    key: str  # canonical: a stem, n:5000, m:5, d:monday, r:last week, usd, ...
    text: str  # as written (normal form, case kept where the text kept it)
    low: str  # casefolded, accents off
    start: int
    end: int
    keys: frozenset[str]  # every key it matches: itself and its paraphrase concepts
    content: bool  # says something: not a stop word, framing or punctuation
    initial: bool = False  # first word of a sentence
    negated: bool = False
    cue: str = ""  # the negation cue governing it
    clause: int = 0  # clauses end at punctuation and at "but", "although", ...

    @property
    def capital(self) -> bool:
        """Written with a capital: "Anna", "SSO", and "iPhone" too."""
        return any(c.isupper() for c in self.text)

    @property
    def soft(self) -> bool:
        return self.kind == "num" and self.low in SOFT_NUMBERS


def _keys(kind: str, key: str, low: str, lang: str = "en", folded: str = "") -> frozenset[str]:
    if kind == "word":
        if "-" in low:  # "double-billed" matches "billed" and "double" too
            out = concepts(key)
            for part in low.split("-"):
                if len(part) > 2 and part not in STOP:
                    out |= concepts(stem(part))
            return out
        out = concepts(key)
        lem = lemma(folded or low, lang)  # the dictionary wants the accents: "échange"
        if lem != (folded or low) and lem not in STOP:
            out = out | concepts(stem(_STRIP_MARKS.sub("", lem) if not lem.isascii() else lem))
        if _negative_affix(low):  # "unopened" is about opening too
            out = out | concepts(stem(low[2:]))
        return out
    if kind == "num" and low.isalpha():  # "twice" is 2, and "double" too
        return concepts(stem(low)) | {key}
    return frozenset((key,))


def _content(kind: str, key: str, low: str) -> bool:
    if kind not in CONTENT_KINDS or (kind == "num" and low in SOFT_NUMBERS):
        return False
    if kind == "word":  # "although", "when": they join clauses, they do not say anything
        return (low not in STOP and low not in FRAMING and key not in STOP
                and key not in _FRAMING_STEMS and low not in SCOPE_ENDS
                and low not in SUBORDINATE)
    return True


def _negative_affix(low: str) -> bool:
    """A participle or adjective negated by its prefix: "unopened", "unpaid", "unusable"
    (not "under", "unit", "uninstall": the rest must end like a participle/adjective)."""
    return (low.startswith("un") and len(low) >= 7 and low[2:].isalpha()
            and low.endswith(("ed", "able", "ible")))


def _make(kind: str, key: str, text: str, start: int, end: int, lang: str = "en") -> Token:
    folded = text.casefold()
    low = folded if text.isascii() else _STRIP_MARKS.sub("", text).casefold()
    return Token(kind, key, text, low, start, end, _keys(kind, key, low, lang, folded),
                 _content(kind, key, low))


@lru_cache(maxsize=8192)
def number_key(raw: str) -> str:
    """n:<value> for a written number ("$5,000" -> n:5000, "10%" -> n:10%, "3rd" -> n:3)."""
    s = raw.lstrip("$€£¥").lower()
    pct = s.endswith("%")
    s = s.rstrip("%")
    suffix = _ORDINAL.search(s)
    mult = 1000 if suffix and suffix.group(1) == "k" else 1
    if suffix:
        s = s[: suffix.start()]
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", s):
        s = s.replace(",", "")
    elif re.fullmatch(r"\d+,\d{1,2}", s):
        s = s.replace(",", ".")  # 42,50: a decimal comma
    elif re.fullmatch(r"\d{1,3}(?:\.\d{3}){2,}", s):
        s = s.replace(".", "")
    elif re.fullmatch(r"\d{1,3}(?:\.\d{3})+,\d{1,2}", s):
        s = s.replace(".", "").replace(",", ".")  # 1.200,50: thousands dots, decimal comma
    else:
        s = s.replace(",", "")
    try:
        value = Decimal(s) * mult
    except InvalidOperation:
        return "n:" + raw
    text = format(value.normalize(), "f") if value != value.to_integral() else str(int(value))
    return f"n:{text}{'%' if pct else ''}"


@lru_cache(maxsize=20000)
def _classify(low: str) -> tuple[str, str]:
    """(kind, key) of a word written ``low`` (casefolded)."""
    if any(c.isdigit() for c in low):
        return "id", low
    if low in NEGATORS:
        return "cue", low
    if low in CURRENCY_WORDS:
        return "cur", CURRENCY_WORDS[low]
    parts = low.split("-")
    if len(parts) > 1 and all(p in NUMBER_WORDS for p in parts):
        return "num", f"n:{sum(NUMBER_WORDS[p] for p in parts)}"
    if low in NUMBER_WORDS:
        return "num", f"n:{NUMBER_WORDS[low]}"
    base = low.removesuffix("'s")  # "Tuesday's update"
    if low in MONTHS:
        return "month", f"m:{MONTHS[low]}"
    if base in WEEKDAYS:
        return "time", f"d:{base}"
    if low in RELATIVE_DAYS:
        return "time", f"r:{low}"
    return "word", stem(low)


def _date(raw: str) -> list[tuple[str, str]]:
    if "-" in raw:
        y, m, d = (int(p) for p in raw.split("-"))
    else:
        a, b, y = (int(p) for p in raw.split("/"))
        d, m = (b, a) if b > 12 >= a else (a, b)  # day first unless it cannot be
        y = y + 2000 if y < 100 else y
    return [("num", f"n:{d}"), ("month", f"m:{m}"), ("num", f"n:{y}")]


_Piece = tuple[str, str, str, str, int, int, frozenset[str], bool]


@lru_cache(maxsize=50000)
def _pieces(chunk: str, lang: str = "en") -> tuple[_Piece, ...]:
    """The tokens of one run of non-space characters, classified (offsets in the run)."""
    if chunk == "-":  # a dash between spaces ends a clause
        return (("punct", "-", "-", "-", 0, 1, frozenset(("-",)), False),)
    out: list[_Piece] = []
    for m in _TOKEN.finditer(chunk):
        group, raw, s, e = m.lastgroup, m.group(), m.start(), m.end()
        kinds: list[tuple[str, str, str, int, int]]
        if group == "word":
            low = raw.casefold() if raw.isascii() else _STRIP_MARKS.sub("", raw).casefold()
            kinds = [(*_classify(low), raw, s, e)]
        elif group == "num":
            kinds = [("cur", CURRENCY_SIGNS[raw[0]], raw[0], s, s + 1)] if (
                raw[0] in CURRENCY_SIGNS) else []
            kinds.append(("num", number_key(raw), raw, s, e))
        elif group == "date":
            kinds = [(kind, key, raw, s, e) for kind, key in _date(raw)]
        elif group == "cur":
            kinds = [("cur", CURRENCY_SIGNS[raw], raw, s, e)]
        else:
            kinds = [("punct", raw, raw, s, e)]
        for kind, key, text, a, b in kinds:
            t = _make(kind, key, text, a, b, lang)
            out.append((t.kind, t.key, t.text, t.low, a, b, t.keys, t.content))
    return tuple(out)


def _raw_tokens(text: str, lang: str) -> list[Token]:
    out: list[Token] = []
    for c in _CHUNK.finditer(text):
        base = c.start()
        out += [Token(kind, key, raw, low, base + a, base + b, keys, content)
                for kind, key, raw, low, a, b, keys, content in _pieces(c.group(), lang)]
    return out


def _combine(tokens: list[Token], lang: str) -> list[Token]:
    """Two-token forms: "twenty five", "two hundred", "15 percent", "last week", "5 May",
    "no longer", "instead of", "stopped working"."""
    out: list[Token] = []
    for i, t in enumerate(tokens):
        prev = out[-1] if out else None
        low = t.low
        if prev is None:
            pass
        elif prev.kind == "num" and prev.low in TENS and t.kind == "num" and \
                NUMBER_WORDS.get(low, 10) < 10:
            value = int(prev.key[2:]) + NUMBER_WORDS[low]
            out[-1] = _make("num", f"n:{value}", prev.text + " " + t.text, prev.start, t.end)
            continue
        elif prev.kind == "num" and low in MULTIPLIERS and prev.key[2:].isdigit() and (
                prev.low.replace(" ", "").isalpha()):  # "two hundred", not "2 hundred"
            value = int(prev.key[2:]) * MULTIPLIERS[low]
            out[-1] = _make("num", f"n:{value}", prev.text + " " + t.text, prev.start, t.end)
            continue
        elif prev.kind == "num" and low in PERCENT_WORDS and not prev.key.endswith("%"):
            out[-1] = _make("num", prev.key + "%", prev.text + " " + t.text, prev.start,
                            t.end)
            continue
        elif prev.kind == "word" and prev.low in STOP_VERBS and t.kind == "word" and \
                low.endswith("ing") and len(low) > 5:  # "stopped charging"
            prev.kind, prev.content = "cue", False
        elif prev.kind == "word" and prev.low in RELATIVE_LEAD and (
                low in RELATIVE_UNITS or low in WEEKDAYS):
            prev.kind, prev.content = "lead", False
            t = _make("time", f"r:{prev.low} {low}", t.text, t.start, t.end)
        elif (prev.low, low) in NEGATOR_PAIRS and not (
                prev.low == "out" and len(out) > 1 and out[-2].kind == "num"):  # 2 out of 6
            prev.kind, prev.content = "cue", False
            t = _make("cue", low, t.text, t.start, t.end)
        if low in AMBIGUOUS_MONTHS and t.kind in ("word", "month") and low in MONTHS:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            dated = (prev is not None and prev.kind == "num") or (
                nxt is not None and nxt.kind == "num")
            if dated and t.kind == "word":
                t = _make("month", f"m:{MONTHS[low]}", t.text, t.start, t.end)
            elif not dated and t.kind == "month":
                t = _make("word", stem(low), t.text, t.start, t.end, lang)
        out.append(t)
    return out


def _scope(tokens: list[Token]) -> None:
    """Mark every token a negation cue governs, and the sentence-initial words."""
    cue, left, initial, clause, prev_cue = "", 0, True, 0, False
    for t in tokens:
        if t.kind == "punct" and t.text in _QUOTING:
            continue  # quotation marks and brackets do not end a clause: I "can't" log in
        if t.kind == "punct":
            cue, prev_cue = "", False
            clause += 1
            initial = initial or t.text in ".!?"
            continue
        t.clause = clause
        if t.kind == "cue":
            low = t.low
            cue = f"{cue} {low}" if cue and prev_cue else low  # "instead of", "no longer"
            left, initial, prev_cue = SCOPE_WORDS, False, True
            continue
        prev_cue = False
        t.initial, initial = initial, False
        if t.kind == "word" and (t.low in SCOPE_ENDS or t.low in SUBORDINATE):
            cue = ""
            clause += 1
            t.clause = clause
            continue
        if cue and left > 0:
            t.negated, t.cue = True, cue
            left -= t.content
            if left == 0:
                cue = ""
        elif t.kind == "word" and _negative_affix(t.low):
            t.negated, t.cue = True, "un-"


def text_language(text: str) -> str:
    """The language of ``text`` (see ``seamline.outputs._lexicon.language``)."""
    return language(text.casefold().split())


def tokenize(text: str, lang: str | None = None) -> list[Token]:
    """The tokens of ``text`` (already in normal form), negation scope marked; ``lang``:
    the language its lemmas are looked up in (by default, guessed from the text)."""
    lang = lang or text_language(text)
    tokens = _combine(_raw_tokens(text, lang), lang)
    _scope(tokens)
    return tokens


def is_content(t: Token) -> bool:
    """A token that says something: not a stop word, not framing, not punctuation."""
    return t.content


def is_informative(t: Token) -> bool:
    """A word that is no stop word, whatever its role ("customer", "says", "since")."""
    return t.kind == "word" and t.low not in STOP and t.key not in STOP
