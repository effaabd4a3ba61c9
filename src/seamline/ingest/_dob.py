"""Layer 1, ingest: dates of birth, which are dates with a birth word next to them.

Every date is not one: an order date, a renewal or "next Tuesday" stays. A date is a date of
birth when a birth word ("born", "DOB", "geboren", "née le", "nacido", "nato il"...) stands
right before it or right after it ("am 3. Mai 1978 geboren"), or when it follows such a word
in the same passage and its year is one a customer is born in (not "not August 14, 2023").
"""

# Hand-written: the date libraries parse one date at a time and find no dates in text, and
# what makes a date a birth date is its context, which is the part written here.

from __future__ import annotations

import datetime
import re

from seamline.ingest._phones import Tick, no_tick

_MONTHS = (
    "january|jan|february|feb|march|mar|april|apr|may|june|jun|july|jul|august|aug|september"
    "|sept|sep|october|oct|november|nov|december|dec|januar|jänner|februar|märz|mai|juni|juli"
    "|oktober|dezember|janvier|février|fevrier|mars|avril|juin|juillet|août|aout|septembre"
    "|octobre|novembre|décembre|decembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto"
    "|septiembre|setiembre|octubre|noviembre|diciembre|gennaio|febbraio|aprile|maggio|giugno"
    "|luglio|settembre|ottobre|dicembre|janeiro|fevereiro|março|maio|junho|julho|setembro"
    "|outubro|dezembro|januari|februari|maart|mei|augustus"
)
_MONTH = rf"(?:{_MONTHS})\.?"
_DATE = re.compile(
    r"(?<![\d.])(?:\d{1,2}[./\-]\d{1,2}[./\-](?:\d{4}|\d{2})|\d{4}[./\-]\d{1,2}[./\-]\d{1,2})"
    r"(?![\d])"
    rf"|(?<!\d)\d{{1,2}}(?:st|nd|rd|th|er|º|°|\.)?(?:\s+de)?\s+(?:of\s+)?{_MONTH}"
    r"(?:,?\s+(?:de\s+)?(?:\d{4}|'\d{2}))?(?!\w)"
    rf"|(?<!\w){_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?(?!\d)"
    r"|\d{4}年\d{1,2}月\d{1,2}日",
    re.IGNORECASE,
)
_BIRTH = re.compile(
    r"(?<!\w)(?:born|birth(?:day|date)?|date of birth|d\.?o\.?b\b\.?|b-day|geboren|geb\."
    r"|geburtsdatum|geburtstag|né|née|naissance|nacid[oa]|nací|nacimiento|nat[oa](?= il| a | nel)"
    r"|nascita|nasci|nascid[oa]|nascimento|geboortedatum|生年月日|誕生日|生まれ)(?!\w)",
    re.IGNORECASE,
)
_BORN_IN_YEAR = re.compile(r"(?i)(?:born in|year of birth:?|birth year:?|geburtsjahr:?)\s+"
                           r"((?:19|20)\d{2})(?!\d)")
# Between a birth word and its date: "born on the", "DOB:", "date of birth is", "né le".
_JOIN = re.compile(
    r"[\s:=,\-–(]*(?:(?:is|was|on|the|am|le|el|il|em|op|der|den|ist|est|es|è|é|de|"
    r"date|datum|of|:)[\s:=,\-–(]+){0,4}\Z", re.IGNORECASE)
_JOIN_AFTER = re.compile(r"\A[\s,)]*(?:(?:ich|bin|sono|je|suis)\s+)?\Z", re.IGNORECASE)
# A date right after one of these is not the birth date, whatever came before.
_OTHER_EVENT = re.compile(r"(?i)(?:since|signed up|ordered|order|joined|start(?:ed)?|purchase"
                          r"|bought|contract|vertragsbeginn|desde|depuis|seit|issued|expir\w*)"
                          r"[\s:,]*(?:on|am|le|el)?\s*\Z")
# One of these is in every birth word (lower-cased): a substring test before any scan.
_STEMS = ("born", "birth", "dob", "d.o.b", "b-day", "geb", "naiss", "né", "nacid", "nací",
          "nacim", "nat", "nasc", "geboorte", "生", "誕")
_NEAR = 24  # a date this close to the birth word is its date, whatever its year
_FAR = 100  # further dates in the same passage must have a plausible birth year
_YEAR = re.compile(r"(?<!\d)(\d{4}|\d{2})(?!\d)")


def find_births(text: str, tick: Tick = no_tick) -> list[tuple[int, int, str]]:
    """(start, end, key) of every date of birth in ``text``; ``key`` is the date as written,
    case-folded, digits and letters only."""
    out: dict[int, tuple[int, int, str]] = {}
    lowered = text.lower()
    if not any(stem in lowered for stem in _STEMS):
        return []
    this_year = datetime.date.today().year
    for word in _BIRTH.finditer(text):
        tick(1)
        ws, we = word.span()
        window = text[we : we + _FAR]
        cut = window.find("\n\n")
        window = window if cut < 0 else window[:cut]
        for i, d in enumerate(_DATE.finditer(window)):
            tick(1)
            start, end = we + d.start(), we + d.end()
            gap = text[we:start]
            close = d.start() <= _NEAR and _JOIN.search(gap) is not None
            if close and i == 0 and not _OTHER_EVENT.search(gap) or _plausible(d.group(), this_year) and not _OTHER_EVENT.search(
                    text[max(we, start - 24) : start]):
                out[start] = (start, end, _key(d.group()))
            if i >= 3:
                break
        before = text[max(0, ws - 40) : ws]
        last = None
        for d in _DATE.finditer(before):
            last = d
        if last is not None and _JOIN_AFTER.match(before[last.end() :]) is not None:
            start = ws - len(before) + last.start()
            out[start] = (start, start + len(last.group()), _key(last.group()))
    for m in _BORN_IN_YEAR.finditer(text):
        out[m.start(1)] = (m.start(1), m.end(1), m.group(1))
    return sorted(out.values())


def _plausible(date: str, this_year: int) -> bool:
    # A customer's birth year: not this decade, not before 1900; "03/08/79" counts as 1979.
    groups = _YEAR.findall(date)
    full = [g for g in groups if len(g) == 4]
    if full:
        return 1900 <= int(full[0]) <= this_year - 10
    return len(groups) >= 3  # a two-digit year: 03/08/79


def _key(date: str) -> str:
    return "".join(c for c in date.casefold() if c.isalnum())
