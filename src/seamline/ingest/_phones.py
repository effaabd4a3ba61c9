"""Layer 1, ingest: finding phone numbers, with phonenumbers run on short windows of the text.

``_pii.py`` runs it last, passing the spans the other detectors found; no number is read in them.
"""

# Validation is left to phonenumbers (country codes, number plans, lengths);
# everything here is about feeding it as little text as possible and about
# the places where its matcher accepts digits that people would not read as
# a phone number.

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

from phonenumbers import Leniency, PhoneNumberMatcher, national_significant_number

# What a detector calls as it works: tick(n) says n units of work were done (one loop
# iteration is one; CHECK forces a look at the clock). A budget may raise from it.
Tick = Callable[[int], None]
CHECK = 1 << 10


def no_tick(units: int) -> None:
    """The tick of redaction without a budget."""


class PhoneMatch(NamedTuple):
    start: int
    end: int
    e164: str  # "+14155550132": two spellings of one number share a placeholder


class _Reading:
    """One text's search for phone numbers: the budget's tick, and the matcher's answers.

    What the matcher finds in a window depends on its characters and the region alone,
    and logs repeat windows ("  12873  13014 ") hundreds of times: each is matched once.
    Kept for one text only, so no number outlives the call that found it.
    """

    __slots__ = ("_seen", "tick")

    def __init__(self, tick: Tick) -> None:
        self.tick = tick
        self._seen: dict[tuple[str, str], list[PhoneMatch]] = {}

    def match(self, window: str, region: str, offset: int) -> list[PhoneMatch]:
        found = self._seen.get((window, region))
        if found is None:
            found = self._seen[(window, region)] = _match(window, region, 0)
        return [PhoneMatch(offset + h.start, offset + h.end, h.e164) for h in found]


# Phone windows: digits joined by the punctuation people put in numbers. Only
# these go to phonenumbers, whose matcher costs ~2 ms on a whole 1 KB text but
# ~30 µs on a short window.
_PHONE_WINDOW = re.compile(
    r"[0-9０-９](?=[0-9０-９ \t\u00a0\-–./()（）]{6})(?:[ \t\u00a0\-–./()（）]{0,3}[0-9０-９])*"
)
_ENOUGH_DIGITS = re.compile(r"(?:\d\D*){7}")
_ALT_REGIONS = ("GB", "DE", "FR")  # tried for zero-led national numbers
_LONG_WINDOW = 64  # a few numbers in a row; longer is a table or a log
# The matcher is handed at most this much text at once. On a longer text it slows down
# (it copies the rest of the text for each time-like candidate) and, worse, gives up after
# 65,535 failed candidates, leaving every number after that unredacted.
MATCHER_WINDOW = 4096
# Longer than any candidate the matcher reads from a window's characters (21 blocks of
# up to 20 digits with up to 4 separators each, and brackets before: about 510).
_MATCHER_REACH = 512
_SPLIT_TRIES = 3
_INNER_SEPARATORS = frozenset(".-–/")
_CHUNK = re.compile(r"[^ \t\u00a0]+")
_COLUMN_GAP = re.compile(r"[ \t\u00a0]*\t[ \t\u00a0]*|[ \u00a0]{2,}")
_PLAIN_NUMBER = re.compile(r"[0-9０-９][0-9０-９\-]*")
_COUNTRY_CODE_BEFORE = re.compile(r"[+＋]([0-9]{1,3})[ \t\u00a0\-.(]*\Z")
# Digits phonenumbers may accept somewhere that are dates, times or prices.
# Matched only around windows: over a whole text this regex costs more than
# all the phone parsing.
_CUR = r"(?:[$€£¥₹]|(?:USD|EUR|GBP|CHF|JPY|CAD|AUD)\b)"
_NOT_PHONE = re.compile(
    r"(?<![0-9])(?:(?P<y>[0-9]{4})[\-/.](?P<ym>[0-9]{1,2})[\-/.](?P<yd>[0-9]{1,2})"
    r"|(?P<a>[0-9]{1,2})[\-/.](?P<b>[0-9]{1,2})[\-/.](?:[0-9]{4}|[0-9]{2}))(?![0-9])"
    r"|(?<![0-9])[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?"
    r"|(?:[$€£¥₹]|\b(?:USD|EUR|GBP|CHF|JPY|CAD|AUD))[ \u00a0]?[0-9](?:[0-9.,']{0,16}[0-9])?"
    # "0132 $19.99" is a number and then a price, not a price in dollars.
    r"|(?<![0-9])[0-9](?:[0-9.,']{0,16}[0-9])?[ \u00a0]?" + _CUR + r"(?![ \u00a0]?[0-9])"
)
# "Order #4155550132", "invoice no. 20240042", "version 10.15.7.1234".
_NUMBER_LABEL = re.compile(
    r"(?i)(?:#|\b(?:order|invoice|ticket|case|ref|reference|tracking|account|acct|sku|po"
    r"|confirmation|booking|transaction|txn|customer|id|version|build|release"
    r"|bestellung|bestellnummer|rechnung|auftrag|kundennummer|commande|facture|注文番号)\b"
    r"[\s.:#\-]*(?:no\.?|nr\.?|number|num|nummer|numéro|n°|#)?)[\s.:#\-]*\Z"
)


def find_phones(text: str, region: str, claimed: list[tuple[int, int]],
                tick: Tick = no_tick) -> list[PhoneMatch]:
    """Phone numbers in ``text``, ``region`` for those written without ``+``.

    ``claimed`` holds the (start, end) ranges other detectors found; no number is read in them.
    The work is linear in the length of ``text``: windows are cut into pieces of at most
    :data:`MATCHER_WINDOW` characters for the matcher, and retries happen in short windows only.
    """
    if _ENOUGH_DIGITS.search(text) is None:
        return []
    reading = _Reading(tick)
    # What other detectors found is blanked so that a card or an IBAN cannot
    # be read as the tail of a phone number.
    masked = _blank(text, claimed)
    windows = [w.span() for w in _PHONE_WINDOW.finditer(masked) if w.end() - w.start() >= 7]
    # A tab or two spaces between digits is a column of a table or a log
    # ("19:02:02.834  12873  12887"), not the inside of a number: the columns are read
    # apart, which is also what keeps the matcher from a minute's work on a long log.
    gaps = [g.span() for ws, we in windows for g in _COLUMN_GAP.finditer(masked, ws, we)]
    if gaps:
        masked = _blank(masked, gaps, "\n")
        windows = [w.span() for ws, we in windows for w in _PHONE_WINDOW.finditer(masked, ws, we)
                   if w.end() - w.start() >= 7]
    # So are dates, times and prices near a window ("2024-03-15 (415) 555-0132").
    blocked = [
        (m.start(), m.end())
        for ws, we in windows
        for m in _NOT_PHONE.finditer(text, max(0, ws - 5), min(len(text), we + 6))
        if m.end() > ws and m.start() < we and _plausible(m)
    ]
    if blocked:
        masked = _blank(masked, blocked)
        windows = [w.span() for ws, we in windows for w in _PHONE_WINDOW.finditer(masked, ws, we)]
    out: list[PhoneMatch] = []
    for ws, we in windows:
        tick(1)
        if we - ws <= _LONG_WINDOW:
            out += _phones_in(text, masked, ws, we, region, 2, reading)
            continue
        # A long run of numbers (a list, a table, a log) is cut after each number that is
        # written whole, and each piece gets one matcher pass (see _match_in) and no
        # retries, each of which would pay for the whole run again.
        for ps, pe in _pieces(masked, ws, we):
            tick(1)
            out += _phones_in(text, masked, ps, pe, region, 0, reading)
    return out


def _pieces(masked: str, ws: int, we: int) -> Iterator[tuple[int, int]]:
    """``masked[ws:we]`` cut at the spaces after its closed chunks, as windows.

    Handed a list of numbers joined by spaces ("415.555.0132 415.555.0133 …") whole, the
    matcher reads one candidate across many numbers and tries ~17 readings inside it for
    each number it finds: ~0.6 ms a number, a minute for a megabyte of them. A chunk of 7
    digits or more written with a dot, dash or slash inside ("415.555.0132", "555-0132",
    "030/1234567"), or of 10 digits or more, ends the number it belongs to; cut there,
    each piece is one candidate, read once (~40 µs).
    """
    start = ws
    for chunk in _CHUNK.finditer(masked, ws, we):
        word = chunk.group()
        if len(word) < 7:
            continue
        digits = sum(c.isdigit() for c in word)
        if digits >= 10 or digits >= 7 and any(c in _INNER_SEPARATORS for c in word[1:-1]):
            yield from _windows(masked, start, chunk.end())
            start = chunk.end()
    if start < we:
        yield from _windows(masked, start, we)


def _windows(masked: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    for w in _PHONE_WINDOW.finditer(masked, start, end):
        if w.end() - w.start() >= 7:
            yield w.span()


def _plausible(m: re.Match[str]) -> bool:
    # "1.42.68.53.00" (a French number) has the shape of a date but no month.
    if m.group("y") is not None:
        return 1 <= int(m.group("ym")) <= 12 and 1 <= int(m.group("yd")) <= 31
    if m.group("a") is not None:
        a, b = int(m.group("a")), int(m.group("b"))
        return (1 <= a <= 31 and 1 <= b <= 12) or (1 <= a <= 12 and 1 <= b <= 31)
    return True


def _phones_in(
    text: str, masked: str, ws: int, we: int, region: str, retry: int, reading: _Reading
) -> list[PhoneMatch]:
    # `retry` bounds how often a window is cut up and looked at again.
    if sum(c.isdigit() for c in masked[ws:we]) < 7:
        return []
    if ws > 0 and masked[ws - 1] in "+＋(（":  # the window pattern starts on a digit
        ws -= 1
    raw = masked[ws:we]
    # A label makes a plain run of digits an order number; "+", brackets,
    # dots and spaces are how people write phone numbers instead.
    first = _CHUNK.match(masked, ws, we)
    if first and (
        _glued_to_code(text, ws)
        or _PLAIN_NUMBER.fullmatch(first.group())
        and _NUMBER_LABEL.search(text, max(0, ws - 32), ws)
    ):
        return _phones_left(text, masked, first.end(), we, region, retry, reading)
    lo = max(0, ws - 1)  # one character of context, to reject "A4155550132"
    hits = _match_in(masked, lo, we + 1, region, reading)
    if not hits and raw[0] not in "+＋" and raw.lstrip("(（")[:1] in ("0", "０"):
        hits = _match_elsewhere(masked, lo, we + 1, region, raw, reading)
    # With two numbers in a window the matcher may read the second one as
    # national and leave "+1 " of the first behind ("+1 415-555-0132 …").
    for i, h in enumerate(hits):
        cc = _COUNTRY_CODE_BEFORE.search(masked, max(ws, hits[i - 1].end if i else ws), h.start)
        if cc is not None and h.e164.startswith("+" + cc.group(1)):
            hits[i] = h._replace(start=cc.start())
    if retry <= 0:
        return hits
    if not hits:
        return _phones_split(text, masked, ws, we, region, reading)
    if any(_mid_chunk(masked, h.end) for h in hits):
        # Numbers of no fixed length (German ones) take a piece of whatever
        # follows ("+49 30 901820 415.555.0123"); a split at spaces that ends
        # every number between chunks is the better reading.
        alt = _phones_split(text, masked, ws, we, region, reading)
        if alt and not any(_mid_chunk(masked, h.end) for h in alt):
            return alt
    hits = [_trim_dotted_tail(masked, h, region, reading) for h in hits]
    # The matcher may also keep one of two numbers ("(415) 555-0199
    # 415.555.0123"): look again at what is left around its hits.
    out, pos = [], ws
    for h in [*hits, PhoneMatch(we, we, "")]:
        out += (_phones_left(text, masked, pos, h.start, region, retry - 1, reading)
                if h.start > pos else [])
        out += [h] if h.e164 else []
        pos = h.end
    return out


def _trim_dotted_tail(
    masked: str, hit: PhoneMatch, region: str, reading: _Reading
) -> PhoneMatch:
    # "+49 30 901820 3.11": a last chunk bringing the first dot into a spaced
    # number is a decimal after it, if the number stays valid without it.
    raw = masked[hit.start : hit.end]
    cut = raw.rfind(" ")
    if cut <= 0 or "." not in raw[cut:] or "." in raw[:cut]:
        return hit
    end = hit.start + len(raw[:cut].rstrip())
    lo = max(0, hit.start - 1)
    trimmed = reading.match(masked[lo : end + 1], region, lo)
    ok = len(trimmed) == 1 and (trimmed[0].start, trimmed[0].end) == (hit.start, end)
    return trimmed[0] if ok else hit


def _mid_chunk(masked: str, pos: int) -> bool:
    return pos + 1 < len(masked) and masked[pos] in "-./–" and masked[pos + 1].isdigit()


def _phones_split(
    text: str, masked: str, ws: int, we: int, region: str, reading: _Reading
) -> list[PhoneMatch]:
    # The matcher gives up on a number with another glued on by a space
    # ("(415) 555-0199 3.11"): drop trailing, then leading chunks until it
    # finds one, a few times at most since each try is a matcher run.
    chunks = [(m.start(), m.end()) for m in _CHUNK.finditer(masked, ws, we)]
    for k in range(len(chunks) - 1, max(0, len(chunks) - 1 - _SPLIT_TRIES), -1):
        hits = _phones_in(text, masked, ws, chunks[k - 1][1], region, 0, reading)
        if hits:
            return hits + _phones_left(text, masked, hits[-1].end, we, region, 0, reading)
    for k in range(1, min(len(chunks), 1 + _SPLIT_TRIES)):
        hits = _phones_in(text, masked, chunks[k][0], we, region, 0, reading)
        if hits:
            return hits
    return []


def _phones_left(
    text: str, masked: str, start: int, end: int, region: str, retry: int, reading: _Reading
) -> list[PhoneMatch]:
    out = []
    for piece in _PHONE_WINDOW.finditer(masked, start, end):
        if piece.end() - piece.start() >= 7:
            reading.tick(1)
            out += _phones_in(text, masked, piece.start(), piece.end(), region, retry, reading)
    return out


def _blank(text: str, ranges: list[tuple[int, int]], fill: str = " ") -> str:
    parts: list[str] = []
    pos = 0
    for start, end in sorted(ranges):
        if end > pos:
            start = max(start, pos)
            parts += (text[pos:start], fill * (end - start))
            pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _glued_to_code(text: str, start: int) -> bool:
    # "INV-2024-0042", "A4155550132", "v1.2.3": digits hanging off a word
    # belong to an identifier.
    before = text[max(0, start - 2) : start]
    if before[-1:].isascii() and before[-1:].isalnum():
        return True
    return len(before) == 2 and before[1] in "-_/" and before[0].isascii() and before[0].isalnum()


def _match_in(
    masked: str, lo: int, hi: int, region: str, reading: _Reading
) -> list[PhoneMatch]:
    """The matcher's numbers in ``masked[lo:hi]``, read in overlapping pieces of at most
    :data:`MATCHER_WINDOW` characters, each character read at most ~1.3 times."""
    out: list[PhoneMatch] = []
    while hi - lo > MATCHER_WINDOW:
        reading.tick(CHECK)
        cut = lo + MATCHER_WINDOW
        hits = reading.match(masked[lo:cut], region, lo)
        # A hit that starts this far before the cut was read from a candidate that ends
        # before it, so the whole text would give the same; the rest is read again, from
        # the last hit's end (where the matcher itself goes on) or a space near the cut.
        safe = cut - _MATCHER_REACH
        kept = [h for h in hits if h.start < safe]
        out += kept
        resume = masked.rfind(" ", cut - 2 * _MATCHER_REACH, safe) + 1 or safe
        lo = max(kept[-1].end if kept else lo, resume)
    return out + reading.match(masked[lo:hi], region, lo)


def _match(window: str, region: str, offset: int) -> list[PhoneMatch]:
    # E.164 by hand: format_number() would cost as much again as the match.
    return [
        PhoneMatch(offset + m.start, offset + m.end,
                   f"+{m.number.country_code}{national_significant_number(m.number)}")
        for m in PhoneNumberMatcher(window, region, leniency=Leniency.VALID)
    ]  # fmt: skip


def _match_elsewhere(
    masked: str, lo: int, hi: int, region: str, raw: str, reading: _Reading
) -> list[PhoneMatch]:
    # A trunk-prefixed national number of another common region: taken when
    # exactly one region accepts it, or when separators show it was written
    # as a phone number and only the country is unclear. A bare zero-led
    # string that two regions accept is more often an id.
    hits = [h for r in _ALT_REGIONS
            if r != region and (h := _match_in(masked, lo, hi, r, reading))]
    if len(hits) == 1 or (hits and any(not c.isdigit() for c in raw.lstrip("+＋"))):
        return hits[0]
    return []
