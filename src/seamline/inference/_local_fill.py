"""Layer 3, inference: reading a field's value out of the input, with its evidence -- or not.

Rules, not a model: each kind of field (an amount with its currency, a number next to
the field's word, a calendar date, an id, an e-mail address, a URL, a yes/no stated by
a cue word) has one pattern, and a value is taken only when the input states it once
(or states one value several times). Two different candidates and nothing to choose
between them, or none at all, and the field is not filled: the caller then leaves it to
the schema's default, to ``null``, or refuses the event. Every value found carries the
input field, the offsets and the verbatim text it came from, the rule that took it, and
a confidence that says how strong that rule is (the model's confidence is the smallest
of these and of the classifier's probabilities).

Written by hand: no library extracts typed values with their spans offline, and the
rules are few enough to read.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from seamline.inference._local_schema import FieldPlan, Plan
from seamline.inference._local_text import split_sentences

# How strong each rule is (the confidence a value found by it carries).
CONFIDENCE = {
    "amount with its currency code": 0.95,
    "amount with a currency symbol": 0.9,
    "amount next to the field's word": 0.8,
    "number next to the field's word": 0.85,
    "ISO date": 0.95,
    "written date": 0.9,
    "numeric date": 0.8,
    "id next to the field's word": 0.9,
    "e-mail address": 0.95,
    "URL": 0.95,
    "cue word": 0.75,
    "negated cue word": 0.7,
    "currency of the amount": 0.9,
    "every match in the input": 0.9,
}

_SYMBOL = {"US$": "USD", "C$": "CAD", "CA$": "CAD", "A$": "AUD", "AU$": "AUD", "$": "USD",
           "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "Fr.": "CHF"}
_CODES = ("USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "INR")
_WORDS = {"dollars": "USD", "dollar": "USD", "euros": "EUR", "euro": "EUR", "pounds": "GBP",
          "yen": "JPY", "rupees": "INR"}
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_SYM = r"US\$|CA?\$|AU?\$|\$|€|£|¥|₹"
_CODE = "|".join(_CODES)
_NOT_AFTER = r"(?![\d.,]*\d)(?!\s?(?:[kKmMbB]|bn|million|billion|thousand)\b)"
_MONEY_BEFORE = re.compile(rf"(?<![\w$])(?P<cur>{_SYM}|(?:{_CODE})\s?)\s?(?P<num>{_NUM}){_NOT_AFTER}")
_MONEY_AFTER = re.compile(
    rf"(?<![\w.,])(?P<num>{_NUM}){_NOT_AFTER}\s?(?P<cur>€|£|¥|₹|(?:{_CODE}|dollars?|euros?|pounds"
    rf"|yen|rupees)\b)", re.IGNORECASE)
_SMALL = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a dozen": 12,
          "twenty": 20}
_NUMBER = r"\d+(?:\.\d+)?|" + "|".join(sorted(_SMALL, key=len, reverse=True))
_UNITS = ("x", "pcs", "pieces", "units", "items", "copies", "qty", "quantity", "pairs")
_MONTHS = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"), 1)}
_MON = "|".join([*_MONTHS, *(m[:3] for m in _MONTHS if m != "may"), "sept"])
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_DMY = re.compile(rf"(?<!\w)(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MON})\.?,?\s+(\d{{4}})(?!\d)",
                  re.IGNORECASE)
_MDY = re.compile(rf"(?<!\w)({_MON})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)",
                  re.IGNORECASE)
_NUMERIC_DATE = re.compile(r"(?<![\d/.])(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?![\d/.])")
_EMAIL = re.compile(r"<EMAIL_\d+>|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"<URL_\d+>|https?://[^\s<>\"')\]]+")
_ID_TOKEN = r"#?(?=[A-Za-z0-9\-_/]*\d)[A-Za-z0-9](?:[A-Za-z0-9]|[-_/](?=[A-Za-z0-9])){2,39}"
_MORE_IDS = re.compile(rf"\s*(?:,|&|/|\band\b|\bor\b)\s*(?P<id>{_ID_TOKEN})")
_NEGATORS = re.compile(r"\b(?:no|not|never|without|nor|none|don'?t|doesn'?t|didn'?t|isn'?t"
                       r"|aren'?t|won'?t|can'?t|cannot|no need)\b|n't\b", re.IGNORECASE)
# A few words whose meaning a cue stands for, so "speak to a person" states needs_human.
_SYNONYMS = {
    "human": ("human", "person", "real person", "agent", "someone", "representative",
              "manager", "supervisor", "operator"),
    "urgent": ("urgent", "urgently", "asap", "emergency", "immediately", "right away"),
    "refund": ("refund", "money back", "reimburse", "reimbursement"),
    "callback": ("callback", "call back", "call me"),
    "cancel": ("cancel", "cancellation", "terminate"),
    "escalate": ("escalate", "escalation", "manager", "supervisor"),
    "angry": ("angry", "furious", "upset", "unacceptable"),
    "attachment": ("attachment", "attached"),
}


@dataclass(frozen=True, slots=True)
class Found:
    """One value read from the input, and where it stands there."""

    value: Any
    source: str  # the input field it was read from
    start: int  # offsets in that field's text
    end: int
    quote: str  # text[start:end], verbatim
    rule: str

    @property
    def confidence(self) -> float:
        return CONFIDENCE[self.rule]

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source, "start": self.start, "end": self.end,
                "quote": self.quote, "rule": self.rule, "confidence": self.confidence}


@dataclass(frozen=True, slots=True)
class Fill:
    """What reading one field gave: a value with its evidence, or why there is none."""

    value: Any = None
    found: tuple[Found, ...] = ()  # the evidence (every item, for a list)
    why_not: str = ""  # set when nothing was filled

    @property
    def filled(self) -> bool:
        return not self.why_not

    @property
    def confidence(self) -> float:
        return min((f.confidence for f in self.found), default=1.0)


Texts = list[tuple[str, str]]  # (input field, its text), in the order the model reads them


def fill_fields(plan: Plan, texts: Texts) -> dict[str, Fill]:
    """How every extraction field of ``plan`` is filled from ``texts``."""
    out: dict[str, Fill] = {}
    moneys: list[Found] = []
    for name, fp in plan.fields.items():
        if fp.kind == "money":
            out[name] = _money(fp, texts)
            moneys += out[name].found
        elif fp.kind == "number":
            out[name] = _number(fp, texts)
        elif fp.kind == "bool":
            out[name] = _bool(fp, texts)
        elif fp.kind == "date":
            out[name] = _single(fp, _dates(texts), texts, "date")
        elif fp.kind == "id":
            out[name] = _single(fp, _ids(fp, texts), texts, "id")
        elif fp.kind == "email":
            out[name] = _single(fp, _matches(_EMAIL, texts, "e-mail address"), texts, "e-mail")
        elif fp.kind == "url":
            out[name] = _single(fp, _matches(_URL, texts, "URL"), texts, "URL")
        elif fp.kind == "list":
            out[name] = _list(fp, texts)
        elif fp.kind == "none":
            out[name] = Fill(why_not="the on-device model has no rule for this kind of field")
    for name, fp in plan.fields.items():
        if fp.kind == "currency":  # the currency of the amount that was taken, or of them all
            out[name] = _currency(fp, moneys or _amounts(texts))
    return out


# ---- amounts -------------------------------------------------------------------------------


def _parse_number(text: str) -> float | None:
    t = text.strip()
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", t):
        return float(t.replace(",", ""))
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?", t):  # 4.999,00 (continental)
        return float(t.replace(".", "").replace(",", "."))
    if re.fullmatch(r"\d+,\d{1,2}", t):  # 12,50
        return float(t.replace(",", "."))
    try:
        return float(t)
    except ValueError:
        return None


def _currency_of(marker: str) -> tuple[str, str]:
    """(ISO code, rule) of a currency marker as written."""
    m = marker.strip()
    if m.upper() in _CODES:
        return m.upper(), "amount with its currency code"
    if m.lower() in _WORDS:
        return _WORDS[m.lower()], "amount with its currency code"
    return _SYMBOL.get(m, "USD"), ("amount with its currency code" if m in ("US$",) else
                                   "amount with a currency symbol")


def _amounts(texts: Texts) -> list[Found]:
    out: list[Found] = []
    for source, text in texts:
        taken: list[tuple[int, int]] = []
        for pattern in (_MONEY_BEFORE, _MONEY_AFTER):
            for m in pattern.finditer(text):
                if any(a < m.end() and m.start() < b for a, b in taken):
                    continue
                value = _parse_number(m.group("num"))
                if value is None:
                    continue
                code, rule = _currency_of(m.group("cur"))
                taken.append((m.start(), m.end()))
                out.append(Found((value, code), source, m.start(), m.end(),
                                 text[m.start():m.end()].strip(), rule))
    return out


def _money(fp: FieldPlan, texts: Texts) -> Fill:
    found = _amounts(texts)
    if fp.currency:
        other = {f.value[1] for f in found if f.value[1] != fp.currency}
        found = [f for f in found if f.value[1] == fp.currency]
        if not found:
            extra = f", only in {', '.join(sorted(other))}, which is not converted" if other else ""
            return Fill(why_not=f"the input states no amount in {fp.currency}{extra}")
    if not found:
        return Fill(why_not="the input states no amount with its currency")
    chosen = _one_value(found, fp, texts)
    if chosen is None:
        values = sorted({f.quote for f in found})
        return Fill(why_not=f"the input states several amounts, {', '.join(values[:4])}, and "
                            "none is next to the field's word")
    (amount, _code) = chosen[0].value
    value = _typed(amount, fp)
    if value is None or not fp.valid(value):
        return Fill(why_not=f"the amount {chosen[0].quote} is not a valid {fp.name}")
    return Fill(value, tuple(chosen))


# ---- numbers -------------------------------------------------------------------------------


def _number(fp: FieldPlan, texts: Texts) -> Fill:
    words = fp.words or _UNITS
    alternatives = "|".join(re.escape(w) + r"(?:e?s)?" for w in words)
    near = re.compile(
        rf"(?<![\w.,#$€£-])(?P<num>{_NUMBER})\s+(?:[a-z]+\s+)?(?:{alternatives})\b"
        rf"|\b(?:{alternatives})\s*(?:[:=#]|of|is|was|at|to)?\s*(?P<num2>{_NUMBER})(?!\w|[.,]\d)",
        re.IGNORECASE)
    found: list[Found] = []
    for source, text in texts:
        for m in near.finditer(text):
            raw = m.group("num") or m.group("num2")
            value = _SMALL.get(raw.lower()) if raw.lower() in _SMALL else _parse_number(raw)
            if value is None:
                continue
            found.append(Found(value, source, m.start(), m.end(), text[m.start():m.end()],
                               "number next to the field's word"))
    if not found:
        return Fill(why_not=f"the input states no number next to {_either(words)}")
    if len({f.value for f in found}) > 1:
        return Fill(why_not=f"the input states several numbers next to {_either(words)}")
    value = _typed(found[0].value, fp)
    if value is None or not fp.valid(value):
        return Fill(why_not=f"{found[0].quote!r} is not a valid {fp.name}")
    return Fill(value, (found[0],))


def _typed(value: float, fp: FieldPlan) -> float | int | None:
    if fp.number_type is int:
        return int(value) if float(value).is_integer() else None
    return float(value)


# ---- yes / no ------------------------------------------------------------------------------


def _bool(fp: FieldPlan, texts: Texts) -> Fill:
    cues: list[str] = list(fp.cues)
    for word in fp.words:
        cues += _SYNONYMS.get(word, (word,))
    cues = list(dict.fromkeys(c for c in cues if c))
    if not cues:
        return Fill(why_not="its name gives no cue word to look for")
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(c) for c in cues) + r")\b", re.IGNORECASE)
    found: list[Found] = []
    for source, text in texts:
        for a, b in split_sentences(text):
            sentence = text[a:b]
            for m in pattern.finditer(sentence):
                before = sentence[max(0, m.start() - 30):m.start()]
                negated = bool(_NEGATORS.search(" ".join(before.split()[-4:])))
                found.append(Found(not negated, source, a + m.start(), a + m.end(),
                                   sentence[m.start():m.end()],
                                   "negated cue word" if negated else "cue word"))
    if not found:
        return Fill(why_not=f"the input has no cue word for it such as {_either(cues[:4])}")
    if len({f.value for f in found}) > 1:
        return Fill(why_not="the input says it both ways")
    return Fill(found[0].value, (found[0],))


# ---- dates, ids, addresses ----------------------------------------------------------------


def _dates(texts: Texts) -> list[Found]:
    out: list[Found] = []
    for source, text in texts:
        for m in _ISO.finditer(text):
            _add_date(out, source, text, m, int(m[1]), int(m[2]), int(m[3]), "ISO date")
        for m in _DMY.finditer(text):
            _add_date(out, source, text, m, int(m[3]), _month(m[2]), int(m[1]), "written date")
        for m in _MDY.finditer(text):
            _add_date(out, source, text, m, int(m[3]), _month(m[1]), int(m[2]), "written date")
        for m in _NUMERIC_DATE.finditer(text):
            a, b = int(m[1]), int(m[2])
            if a > 12 >= b:
                _add_date(out, source, text, m, int(m[3]), b, a, "numeric date")
            elif b > 12 >= a:
                _add_date(out, source, text, m, int(m[3]), a, b, "numeric date")
            # both 12 or below: day and month cannot be told apart, so it is not taken
    return out


def _month(name: str) -> int:
    key = name.lower().rstrip(".")
    return next(n for m, n in _MONTHS.items() if m.startswith(key[:3]))


def _add_date(out: list[Found], source: str, text: str, m: re.Match[str], y: int, mo: int,
              d: int, rule: str) -> None:
    try:
        value = datetime.date(y, mo, d).isoformat()
    except ValueError:
        return
    out.append(Found(value, source, m.start(), m.end(), text[m.start():m.end()], rule))


def _ids(fp: FieldPlan, texts: Texts) -> list[Found]:
    if not fp.words:
        return []  # "id" alone says nothing about which id
    nouns = "|".join(re.escape(w) + r"s?" for w in fp.words)
    pattern = re.compile(
        rf"\b(?:{nouns})\b\s*(?:id|number|no\.?|nr\.?|ref(?:erence)?|code)?\s*[:#]?\s*"
        rf"(?P<id>{_ID_TOKEN})", re.IGNORECASE)
    out: list[Found] = []
    for source, text in texts:
        for m in pattern.finditer(text):
            spans = [m.span("id")]
            while more := _MORE_IDS.match(text, spans[-1][1]):  # "orders and A-3"
                spans.append(more.span("id"))
            for a, b in spans:
                a += text[a] == "#"
                out.append(Found(text[a:b], source, a, b, text[a:b], "id next to the field's word"))
    return out


def _matches(pattern: re.Pattern[str], texts: Texts, rule: str) -> list[Found]:
    out = []
    for source, text in texts:
        for m in pattern.finditer(text):
            value = m.group().rstrip(".,;:!?")
            out.append(Found(value, source, m.start(), m.start() + len(value), value, rule))
    return out


def _single(fp: FieldPlan, found: list[Found], texts: Texts, what: str) -> Fill:
    if not found:
        hint = f" next to {_either(fp.words)}" if what == "id" and fp.words else ""
        return Fill(why_not=f"the input states no {what}{hint}")
    chosen = _one_value(found, fp, texts)
    if chosen is None:
        values = sorted({str(f.value) for f in found})
        return Fill(why_not=f"the input states several, {', '.join(values[:4])}, and none is "
                            "next to the field's word")
    value = chosen[0].value
    if not fp.valid(value):
        return Fill(why_not=f"{chosen[0].quote!r} is not a valid {fp.name}")
    return Fill(value, (chosen[0],))


def _list(fp: FieldPlan, texts: Texts) -> Fill:
    if fp.item == "email":
        found = _matches(_EMAIL, texts, "e-mail address")
    elif fp.item == "url":
        found = _matches(_URL, texts, "URL")
    elif fp.item == "date":
        found = _dates(texts)
    else:
        found = _ids(fp, texts)
    values = list(dict.fromkeys(f.value for f in found))
    if not fp.valid(values):
        return Fill(why_not=f"the {fp.item}s found do not make a valid {fp.name}")
    # Every match, in order: an empty list says the input mentions none, which it does not.
    evidence = tuple(Found(f.value, f.source, f.start, f.end, f.quote, "every match in the input")
                     for f in found)
    return Fill(values, evidence)


def _currency(fp: FieldPlan, amounts: list[Found]) -> Fill:
    codes = {f.value[1] for f in amounts}
    if len(codes) != 1:
        return Fill(why_not="the input states no amount with its currency" if not codes else
                    f"the input states amounts in several currencies: {', '.join(sorted(codes))}")
    f = amounts[0]
    code = f.value[1]
    if not fp.valid(code):
        return Fill(why_not=f"{code} is not a valid {fp.name}")
    return Fill(code, (Found(code, f.source, f.start, f.end, f.quote, "currency of the amount"),))


# ---- choosing one --------------------------------------------------------------------------


def _one_value(found: list[Found], fp: FieldPlan, texts: Texts) -> list[Found] | None:
    """The candidates standing for one value: all of them when they agree, else, in each
    sentence naming the field's word, the candidate nearest that word -- when those agree.
    None when that does not settle it."""
    if len({f.value for f in found}) == 1:
        return found
    if not fp.words:
        return None
    word = re.compile(r"\b(?:" + "|".join(_stem(w) for w in fp.words) + r")\w*", re.IGNORECASE)
    near: list[Found] = []
    for source, text in texts:
        here = [f for f in found if f.source == source]
        for a, b in split_sentences(text):
            inside = [f for f in here if a <= f.start < b]
            names = list(word.finditer(text, a, b))
            if names and _alternatives(inside, text[a:b], a):
                return None  # "refund $40 or $4,999": the input itself has not chosen
            for m in names:
                if inside:
                    near.append(min(inside, key=lambda f: min(abs(f.start - m.end()),
                                                              abs(m.start() - f.end))))
    if near and len({f.value for f in near}) == 1:
        if fp.kind == "money":
            return [Found(f.value, f.source, f.start, f.end, f.quote,
                          "amount next to the field's word") for f in near]
        return near
    return None


# Words that offer values as alternatives or a range rather than state one.
_OR = re.compile(r"\b(?:or|nor|to|till|until|versus|vs|maybe|perhaps)\b"
                 r"|[-–/]", re.IGNORECASE)


def _alternatives(inside: list[Found], sentence: str, offset: int) -> bool:
    """Whether different values in one sentence are offered as alternatives or a range
    ("$40 or $4,999", "$40-$60", "either 3 or 5", "between 3 and 5, whichever"): then
    nearness to the field's word decides nothing."""
    if len({f.value for f in inside}) < 2:
        return False
    if re.search(r"\b(?:whichever|either|between)\b", sentence, re.IGNORECASE):
        return True
    ordered = sorted(inside, key=lambda f: f.start)
    return any(x.value != y.value and _OR.search(sentence, x.end - offset, y.start - offset)
               for x, y in pairwise(ordered))


def _stem(word: str) -> str:
    """A word's first letters, so "delivery" finds "delivered" and "refund" "refunded"."""
    return re.escape(word if len(word) <= 4 else word[:max(4, len(word) - 3)])


def _either(words: Iterable[str]) -> str:
    quoted = [repr(w) for w in words]
    if not quoted:
        return "the field's word"
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]

