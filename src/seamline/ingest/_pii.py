"""Layer 1, ingest: the PII detectors, run together and reconciled into non-overlapping spans.

Phone numbers are found in ``_phones.py``; ``_redact.py`` turns spans into placeholders or masks.
"""

# Hand-written rather than Presidio: Presidio needs a spaCy model download,
# which fails in our build and deploy environments, and its NER pass would not
# fit a per-event budget of a fraction of a millisecond.
#
# Speed notes that shape the patterns below. sre scans quickly for a pattern
# that starts with a literal or a character class, and tries every position
# for one that starts with a lookbehind, so lookbehinds sit after the first
# character and rare literals ("@", ":hex:", ".d.") anchor the costly patterns.
#
# Work is linear in the length of the text, whatever the text: no repeat inside a
# lookahead is unbounded, loops that walk back stop at a fixed reach or where the
# previous walk began, and overlaps are settled by marking the characters of the spans
# kept (see _Held), never by comparing each span with all the others.

from __future__ import annotations

import importlib
import ipaddress
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from seamline.ingest._phones import CHECK, Tick, find_phones, no_tick

# The people's-data detectors (names, addresses, dates of birth, identity numbers) are
# imported by their wrappers below, on the first text that asks for their kind: their
# patterns and word lists cost ~80 ms to build, and the audit trail's scrub, which asks
# only for SECRET, runs in every command that decides anything.

PII_KINDS = ("EMAIL", "PHONE", "CARD", "IBAN", "SSN", "IP", "SECRET",
             "PERSON", "ADDRESS", "DOB", "ID_NUMBER")
# Found by patterns and context rules alone; PERSON also asks the on-device model (_ner).
PATTERN_KINDS = frozenset(PII_KINDS) - {"PERSON"}

# Lower wins an overlap: a checksum or a vendor prefix beats a bare shape.
# IBAN outranks CARD: an IBAN span is cut to its registry length, so a card
# overlapping a valid IBAN is made of the IBAN's own digits, and Luhn passes
# by chance (1 in 10) far more often than mod-97 plus country and length.
# An identity number has its context word or checksum; a date of birth, its birth word;
# an address beats a name inside it ("rue Victor Hugo"), and a name is the loosest reading.
_RANK = {"SECRET": 0, "IBAN": 1, "CARD": 2, "SSN": 3, "ID_NUMBER": 4, "EMAIL": 5, "IP": 6,
         "DOB": 7, "PHONE": 8, "ADDRESS": 9, "PERSON": 10}


class Span(NamedTuple):
    start: int
    end: int
    kind: str
    key: str  # normalised value: two spellings of one value share a placeholder


# Boundaries are ASCII on purpose: with Unicode \w, an address glued to
# Japanese text ("メールはtaro@example.jpです") would not be found.
_EMAIL_LOCAL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_%+-.")
_EMAIL_LOCAL_MAX = 128  # RFC 5321 says 64; the cap bounds the walk back from "@"
_EMAIL_DOMAIN = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![A-Za-z0-9\-])"
)

_SSN_HINTS = (re.compile(r"-[0-9]{2}-[0-9]{4}"), re.compile(r" [0-9]{2} [0-9]{4}"))
_SSN = re.compile(r"[0-9](?<![0-9\-][0-9])[0-9]{2}([\- ])[0-9]{2}\1[0-9]{4}(?![0-9]|-[0-9])")

_IPV4_HINT = re.compile(r"\.[0-9]{1,3}\.")
_IPV4 = re.compile(
    r"[0-9](?=[0-9]{0,2}\.[0-9])(?<![0-9A-Za-z.][0-9])[0-9]{0,2}(?:\.[0-9]{1,3}){3}"
    r"(?![0-9A-Za-z]|\.[0-9])"
)
# Two colons close together make a candidate, so "10:30" never is one;
# "10:30:45" is, and ipaddress turns it down.
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")
_IPV6 = re.compile(
    r"(?<![0-9A-Za-z:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)"
    r"[0-9A-Fa-f:]{2,39}(?:(?<=:)(?:[0-9]{1,3}\.){3}[0-9]{1,3})?(?![0-9A-Za-z:])"
)

# Runs of digit groups joined by single spaces or dashes; cards are found
# inside. A run may not start glued to a word, a number or an address
# ("#4521", "3.11", "10:30", "::3605"), whose part it is; "card:4242…" is fine.
_DIGIT_RUN = re.compile(
    r"[0-9](?=[0-9 \-]{12})(?<![A-Za-z0-9#.,][0-9])(?<![0-9:]:[0-9])[0-9]*(?:[ \-][0-9]+)*"
    r"(?![A-Za-z0-9]|[.,:][0-9])"
)
_GROUP = re.compile(r"[0-9]+")
# Group shapes printed on or typed from real cards; any other grouping is
# more likely an account or order number that happens to pass Luhn.
_CARD_SHAPES = {(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4), (4, 4, 4, 1)}
_MOST_GROUPS = max(map(len, _CARD_SHAPES))  # "1 2 3 4 5 6 …" tries no more groups than this

_IBAN_HEAD = re.compile(r"[0-9](?<=[A-Za-z]{2}[0-9])[0-9]")
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?"
    r"(?![A-Za-z0-9])"
)
# ISO 13616 registry lengths; a country not listed has no IBAN.
_IBAN_LENGTHS = {
    cc: int(n)
    for cc, n in re.findall(
        r"([A-Z]{2})([0-9]{2})",
        """AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24
        DE22 DJ27 DK18 DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27
        GT28 HN28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20
        LU20 LV21 LY25 MC27 MD24 ME22 MK19 MN20 MR27 MT31 MU30 NI28 NL18 NO15 OM23 PK24
        PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 SM27 SO23 ST25
        SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30""",
    )
}

_B = r"(?<![A-Za-z0-9])"
# (literals, one of which must occur, pattern): the literal test is far
# cheaper than the scan. DOTALL matters only for the PEM block.
_TOKEN_SECRETS = tuple(
    (lits, re.compile(pat, re.DOTALL))
    for lits, pat in (
        (("AKIA", "ASIA"), _B + r"(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
        (("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), _B + r"gh[pousr]_[A-Za-z0-9]{30,255}"),
        (("github_pat_",), _B + r"github_pat_[A-Za-z0-9_]{22,255}"),
        (("xox", "xapp-"), _B + r"(?:xox[abprs]|xapp)-[A-Za-z0-9\-]{10,250}"),
        (("_live_", "_test_"), _B + r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,250}"),
        # OpenAI (sk-, sk-proj-) and Anthropic (sk-ant-); a digit keeps out "sk-learn-…".
        # The lookahead is bounded like the match: unbounded, "sk-" × N is quadratic.
        (("sk-",), _B + r"sk-(?=[A-Za-z0-9_\-]{0,249}[0-9])[A-Za-z0-9_\-]{20,250}"),
        (("AIza",), _B + r"AIza[0-9A-Za-z_\-]{35}(?![A-Za-z0-9_\-])"),
        (("SK",), _B + r"SK[0-9a-fA-F]{32}(?![A-Za-z0-9])"),
        (("SG.",), _B + r"SG\.[A-Za-z0-9_\-]{16,64}\.[A-Za-z0-9_\-]{16,128}"),
        # A block cut off before its END line is redacted to the end of the text.
        (("-----BEGIN",), (r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
         r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|.*\Z)")),
        (("eyJ",), r"(?a)(?<![\w\-])eyJ[\w\-]{5,}\.[\w\-]{5,}\.[\w\-]*"),
        (("earer",), r"(?<=[Bb]earer )[A-Za-z0-9._~+/\-]{16,}=*"),
    )
)  # fmt: skip
_TOKEN_HINT = re.compile("|".join(re.escape(lit) for lits, _ in _TOKEN_SECRETS for lit in lits))
_AWS_SECRET = re.compile(
    r"(?i)aws[_ \-]?secret[_ \-]?(?:access[_ \-]?)?key[\"']?\s*[:=]\s*[\"']?"
    r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
)
# "password: xyz", "DB_PASSWORD=xyz", "パスワード：xyz": found from each ":" or
# "=" backwards, since a keyword alternation tried at every position of the
# text would be the slowest scan here. Only the value is redacted, so
# "password: <SECRET_1>" still tells the model what was there.
_ASSIGN_OP = re.compile(r"[:=：]")
_ASSIGN_REACH = 24
_ASSIGN_ROOTS = re.compile("pass|pwd|secret|key|token|kennwort|パスワード|contraseña")
# Where an ASCII root starts (overlapping ones too): in ASCII text, lower() keeps every
# position, so only the ":" and "=" within reach after one need the check above.
_ASSIGN_ROOT_AT = re.compile("(?=pass|pwd|secret|key|token|kennwort)", re.IGNORECASE)
_SHORTEST_ROOT = 3
_ASSIGN_KEY = re.compile(
    r"(?i)(?:password|passwd|pwd|passcode|passwort|kennwort|mot de passe|contraseña|パスワード"
    r"|secret|secret[_\-]?key|api[_\- ]?key|apikey|api[_\-]?secret"
    r"|(?:access|auth|refresh|bearer)[_\-]?token|token|private[_\-]?key)[\"']?[ \t]*\Z"
)
_ASSIGN_VALUE = re.compile(
    r"[ \t]*(?:\"([^\"\n]{1,256})\"|'([^'\n]{1,256})'|([^\s\"'<>,;]{1,256}))"
)

_PLACEHOLDER = re.compile(
    r"<(?:EMAIL|PHONE|CARD|IBAN|SSN|IP|SECRET|PERSON|ADDRESS|DOB|ID_NUMBER)_[0-9]+>")


# kind -> its detector's module, until that is imported (then the entry goes).
_NOT_LOADED = {"PERSON": "_people", "ADDRESS": "_address", "DOB": "_dob", "ID_NUMBER": "_ids"}


def unloaded(kinds: frozenset[str]) -> list[str]:
    """The kinds among ``kinds`` whose detector is not imported yet (usually none)."""
    if not _NOT_LOADED:
        return []
    # A copy first: another thread may be loading one (and dropping its entry) meanwhile.
    return [kind for kind in tuple(_NOT_LOADED) if kind in kinds]


def load_detectors(kinds: Iterable[str]) -> None:
    """Import the detectors of ``kinds`` now (``redact`` does it with its budget paused: a
    module's one-time set-up is no event's CPU time)."""
    for kind in kinds:
        module = _NOT_LOADED.get(kind)
        if module is not None:
            importlib.import_module(f"seamline.ingest.{module}")
            _NOT_LOADED.pop(kind, None)


def find_pii(text: str, kinds: frozenset[str], region: str, tick: Tick = no_tick) -> list[Span]:
    """Non-overlapping spans of ``kinds`` in ``text``, sorted by start.

    ``tick`` is called as the detectors work (see ``_phones.Tick``); a budget may raise from it.
    """
    found: list[Span] = []
    for kind, detect in _DETECTORS:
        if kind in kinds:
            tick(CHECK)
            found += detect(text, tick)
    if "PHONE" in kinds:
        tick(CHECK)
        # Last: a card or an IBAN found above must not be read as part of a phone number.
        claimed = [(s.start, s.end) for s in found]
        found += [Span(p.start, p.end, "PHONE", p.e164)
                  for p in find_phones(text, region, claimed, tick)]
    if "<" in text:
        # Placeholders from an earlier pass are never PII: redact stays idempotent.
        found = _outside_placeholders(text, found)
    return _resolve(found)


def _outside_placeholders(text: str, spans: list[Span]) -> list[Span]:
    taken = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
    if not taken:
        return spans
    # Placeholders do not overlap: the last one starting before a span ends is the only
    # one that can reach into it.
    starts = [b for b, _ in taken]

    def clear(s: Span) -> bool:
        i = bisect_left(starts, s.end) - 1
        return i < 0 or taken[i][1] <= s.start

    return [s for s in spans if clear(s)]


class _Held:
    """The characters held by the spans kept so far, which never overlap one another.

    A span is free when none of its characters is held: a C-speed scan of the span's own
    length, so keeping n spans costs their total length, not n × the number kept.
    """

    __slots__ = ("_marks",)

    def __init__(self, size: int) -> None:
        self._marks = bytearray(size)

    def take(self, start: int, end: int) -> bool:
        """Hold ``[start, end)`` if none of it is held yet; whether it was."""
        if self._marks.find(1, start, end) >= 0:
            return False
        self._marks[start:end] = b"\x01" * (end - start)
        return True


def _resolve(spans: list[Span]) -> list[Span]:
    if len(spans) < 2:
        return spans
    # A detection strictly inside another is a piece of that one (digits of
    # an IBAN that pass Luhn, a number inside an e-mail), whatever its kind.
    spans.sort(key=lambda s: (s.start, -s.end))
    outer, reach = [], (-1, -1)
    for s in spans:
        if s.end < reach[1] or (s.end == reach[1] and s.start > reach[0]):
            continue
        outer.append(s)
        if s.end > reach[1]:
            reach = (s.start, s.end)
    outer.sort(key=lambda s: (_RANK[s.kind], s.start - s.end, s.start))
    held = _Held(reach[1])
    return sorted(s for s in outer if held.take(s.start, s.end))


def _emails(text: str, tick: Tick) -> list[Span]:
    # Anchored on each "@" and walked outwards: trying every word of the text
    # as a local part costs several times more.
    out = []
    at = text.find("@")
    while at > 0:
        tick(1)
        start = at
        while start > 0 and at - start < _EMAIL_LOCAL_MAX and text[start - 1] in _EMAIL_LOCAL:
            start -= 1
        local = text[start:at]
        if ".." in local:  # "a..b@": only the last well-formed dot-atom is the address
            local = local[local.rfind("..") + 2 :]
        local = local.lstrip(".")
        dom = _EMAIL_DOMAIN.match(text, at + 1) if local and local[-1] != "." else None
        if dom is not None:
            start = at - len(local)
            out.append(Span(start, dom.end(), "EMAIL", text[start : dom.end()].lower()))
        at = text.find("@", at + 1)
    return out


def _ssns(text: str, tick: Tick) -> list[Span]:
    out = []
    for hint in _SSN_HINTS:
        for h in hint.finditer(text):
            tick(1)
            m = _SSN.match(text, h.start() - 3) if h.start() >= 3 else None
            if m is None:
                continue
            raw = m.group()
            area, group, serial = raw[:3], raw[4:6], raw[7:]
            if area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000":
                out.append(Span(m.start(), m.end(), "SSN", area + group + serial))
    return out


def _ip_key(raw: str, seen: dict[str, str | None]) -> str | None:
    # The canonical form of each address, or None; worked out once per text, as logs
    # repeat the same few addresses.
    if raw not in seen:
        try:
            seen[raw] = str(ipaddress.ip_address(raw))
        except ValueError:
            seen[raw] = None
    return seen[raw]


def _ips(text: str, tick: Tick) -> list[Span]:
    out = []
    seen: dict[str, str | None] = {}
    if _IPV4_HINT.search(text) is not None:
        for v4 in _IPV4.finditer(text):
            tick(1)
            if (key := _ip_key(v4.group(), seen)) is not None:
                out.append(Span(v4.start(), v4.end(), "IP", key))
    pos, last_hint, last_start, tried = 0, -1, -1, -1
    while (hint := _IPV6_HINT.search(text, pos)) is not None:
        tick(1)
        at = start = hint.start()
        pos = at + 1
        # Back to the start of the run of hex digits and colons: the walk stops where the
        # previous hint's began, if the run reaches it, so no character is walked twice.
        while start > 0 and text[start - 1] in _HEX_COLON:
            start -= 1
            if start == last_hint:
                start = last_start
                break
        last_hint, last_start = at, start
        # A run reaching further back than an address is long cannot start one here; the
        # same start as the last try would match the same again.
        if at - start > 39 or start == tried:
            continue
        tried = start
        m = _IPV6.match(text, start)
        if m is None:
            continue
        raw, end = m.group(), m.end()
        if raw.endswith(":") and not raw.endswith("::"):  # "fe80::1: thanks"
            raw, end = raw[:-1], end - 1
        key = _ip_key(raw, seen) if raw.strip(":") else None
        if key is not None:
            out.append(Span(start, end, "IP", key))
            pos = max(pos, end)
    return out


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        total += (d * 2 - 9 if d > 4 else d * 2) if i & 1 else d
    return total % 10 == 0


def _card_brand_ok(d: str) -> bool:
    n, p2, p3, p4 = len(d), int(d[:2]), int(d[:3]), int(d[:4])
    if d[0] == "4":  # Visa
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:  # Mastercard
        return n == 16
    if p2 in (34, 37):  # Amex
        return n == 15
    if 300 <= p3 <= 305 or p2 in (36, 38, 39):  # Diners
        return 14 <= n <= 19
    # Discover, JCB, UnionPay, Mir, then Maestro
    if p4 == 6011 or p2 in (62, 65) or 644 <= p3 <= 649 or 3528 <= p4 <= 3589 or 2200 <= p4 <= 2204:
        return 16 <= n <= 19
    return p2 in (50, 56, 57, 58, 63, 67) and 13 <= n <= 19


def _cards(text: str, tick: Tick) -> list[Span]:
    out: list[Span] = []
    for run in _DIGIT_RUN.finditer(text):
        tick(1)
        raw, base = run.group(), run.start()
        if raw.isdigit():
            if len(raw) <= 19 and _luhn_ok(raw) and _card_brand_ok(raw):
                out.append(Span(base, run.end(), "CARD", raw))
            continue
        groups = [(g.start(), g.end()) for g in _GROUP.finditer(raw)]
        sizes = [e - s for s, e in groups]
        last, cands = len(groups) - 1, []
        for i in range(len(groups)):
            tick(1)
            ndig = 0
            for j in range(i, min(last, i + _MOST_GROUPS - 1) + 1):
                ndig += sizes[j]
                if ndig > 19:
                    break
                shape = tuple(sizes[i : j + 1])
                if ndig < 13 or j > i and shape not in _CARD_SHAPES:
                    continue
                start, end = groups[i][0], groups[j][1]
                # A short last group ends a card only where the run ends too,
                # and a card is made of whole words: "001-01-2457 5130 …" does
                # not lend its "2457" to the card after it.
                if shape[-1] < 4 and i < j < last:
                    continue
                if "-" in (raw[start - 1 : start], raw[end : end + 1]):
                    continue
                seg = raw[start:end]
                digits = seg.replace(" ", "").replace("-", "")
                if not (" " in seg and "-" in seg) and _luhn_ok(digits) and _card_brand_ok(digits):
                    cands.append((i != 0 and j != last, -ndig, start, end, digits))
        # Digits glued on by a space ("#4521 4242 …") can give a second
        # Luhn-valid reading; the one that starts or ends the run wins.
        chosen = _Held(len(raw))
        for _, _, s, e, digits in sorted(cands):
            if chosen.take(s, e):
                out.append(Span(base + s, base + e, "CARD", digits))
    return out


def _ibans(text: str, tick: Tick) -> list[Span]:
    out = []
    pos = 0
    while (head := _IBAN_HEAD.search(text, pos)) is not None:
        tick(1)
        pos = head.end()
        m = _IBAN.match(text, head.start() - 2)
        want = _IBAN_LENGTHS.get(m.group()[:2].upper()) if m else None
        if m is None or want is None:
            continue
        # The pattern may run on into the next word ("… 7034 from"): cut at
        # the registry length, which must fall between groups.
        raw, count, cut = m.group(), 0, 0
        while cut < len(raw) and count < want:
            count += raw[cut] != " "
            cut += 1
        if count != want or raw[cut : cut + 1] not in ("", " "):
            continue
        compact = raw[:cut].replace(" ", "").upper()
        # ISO 7064 mod 97-10; int(c, 36) maps 0-9 to themselves and A-Z to 10-35.
        if int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 == 1:
            out.append(Span(m.start(), m.start() + cut, "IBAN", compact))
            pos = m.start() + cut
    return out


def _secrets(text: str, tick: Tick) -> list[Span]:
    out = []
    if _TOKEN_HINT.search(text) is not None:
        for lits, pat in _TOKEN_SECRETS:
            if any(lit in text for lit in lits):
                tick(CHECK)
                out += [Span(m.start(), m.end(), "SECRET", m.group()) for m in pat.finditer(text)]
    if "aws" in text.lower():
        tick(CHECK)
        out += [Span(*m.span(1), "SECRET", m.group(1)) for m in _AWS_SECRET.finditer(text)]
    for i in _assign_ops(text):
        tick(1)
        lo = max(0, i - _ASSIGN_REACH)
        if i == 0 or text[i - 1].isdigit() or not _ASSIGN_ROOTS.search(text[lo:i].lower()):
            continue  # "10:30", "Subject:"
        m = _ASSIGN_KEY.search(text, lo, i) and _ASSIGN_VALUE.match(text, i + 1)
        if not m:
            continue
        g = 1 if m.group(1) is not None else 2 if m.group(2) is not None else 3
        start, end = m.start(g), m.end(g)
        while g == 3 and end > start + 1 and text[end - 1] in ".!?)":
            end -= 1  # "password: hunter2." – the full stop ends the sentence
        if end - start >= 3:
            out.append(Span(start, end, "SECRET", text[start:end]))
    return out


def _assign_ops(text: str) -> Iterator[int]:
    """The ":" and "=" that may end a "password: …" key, in order: in ASCII text only those
    within reach after a root (a text of "::" has none), in other text every one."""
    if not text.isascii():
        yield from (op.start() for op in _ASSIGN_OP.finditer(text))
        return
    done = 0
    for root in _ASSIGN_ROOT_AT.finditer(text):
        at = root.start()
        reach = at + _ASSIGN_REACH + 1
        ops = _ASSIGN_OP.finditer(text, max(done, at + _SHORTEST_ROOT), reach)
        yield from (op.start() for op in ops)
        done = max(done, reach)


def _people(text: str, tick: Tick) -> list[Span]:
    from seamline.ingest._people import find_people

    return [Span(s, e, "PERSON", key) for s, e, key in find_people(text, tick)]


def _addresses(text: str, tick: Tick) -> list[Span]:
    from seamline.ingest._address import find_addresses

    return [Span(s, e, "ADDRESS", key) for s, e, key in find_addresses(text, tick)]


def _births(text: str, tick: Tick) -> list[Span]:
    from seamline.ingest._dob import find_births

    return [Span(s, e, "DOB", key) for s, e, key in find_births(text, tick)]


def _id_numbers(text: str, tick: Tick) -> list[Span]:
    from seamline.ingest._ids import find_ids

    return [Span(s, e, "ID_NUMBER", key) for s, e, key in find_ids(text, tick)]


_DETECTORS = (
    ("SECRET", _secrets), ("CARD", _cards), ("IBAN", _ibans), ("SSN", _ssns),
    ("EMAIL", lambda t, tick: _emails(t, tick) if "@" in t else []), ("IP", _ips),
    ("ID_NUMBER", _id_numbers), ("DOB", _births), ("ADDRESS", _addresses), ("PERSON", _people),
)  # fmt: skip
