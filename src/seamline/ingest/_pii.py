"""PII detectors for the ingest layer: where personal data sits in a text, not what to do about it.

``_redact.py`` turns these spans into placeholders or masks before anything leaves the ingest seam.
"""

# Hand-written rather than Presidio: Presidio needs a spaCy model download,
# which fails in our build and deploy environments, and its NER pass is far
# too slow for a per-event budget well under a millisecond.

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple

from phonenumbers import Leniency, PhoneNumberMatcher, national_significant_number

PII_KINDS = ("EMAIL", "PHONE", "CARD", "IBAN", "SSN", "IP", "SECRET")

# Lower number wins an overlap: a detector with a checksum or a vendor prefix
# is more trustworthy than one that only recognises a shape. IBAN outranks
# CARD: an IBAN span is cut to its registry length, so a card overlapping a
# valid IBAN must be made of the IBAN's own digits, and Luhn (1 in 10) passes
# by chance far more often than mod-97 with country and length (1 in 97+).
_RANK = {"SECRET": 0, "IBAN": 1, "CARD": 2, "SSN": 3, "EMAIL": 4, "IP": 5, "PHONE": 6}

# Extra regions for national-format phone numbers; see _phones().
_ALT_REGIONS = ("GB", "DE", "FR")


class Span(NamedTuple):
    start: int
    end: int
    kind: str
    # Normalised identity: two spellings of one value share a placeholder.
    key: str


# Boundaries are ASCII-only on purpose: with Unicode \w, an e-mail or card
# glued to Japanese text ("メールはtaro@example.jpです") would not be found.
_EMAIL_LOCAL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_%+-.")
# RFC 5321 caps the local part at 64; the slack covers sloppy senders, the
# cap keeps a long base64 blob before an "@" from costing a long walk.
_EMAIL_LOCAL_MAX = 128
_EMAIL_DOMAIN = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![A-Za-z0-9\-])"
)

# The negative lookbehind sits after the first digit, not before it: a pattern
# that starts with a character class lets sre skip ahead to candidate
# characters, one that starts with a lookbehind is tried at every position.
# Literal-led hints are found by sre's fast scan; the full pattern is then
# matched three characters back.
_SSN_HINTS = (re.compile(r"-[0-9]{2}-[0-9]{4}"), re.compile(r" [0-9]{2} [0-9]{4}"))
_SSN = re.compile(r"[0-9](?<![0-9\-][0-9])[0-9]{2}([\- ])[0-9]{2}\1[0-9]{4}(?![0-9]|-[0-9])")

_IPV4_HINT = re.compile(r"\.[0-9]{1,3}\.")
_IPV4 = re.compile(r"[0-9](?=[0-9]{0,2}\.[0-9])(?<![0-9A-Za-z.][0-9])[0-9]{0,2}(?:\.[0-9]{1,3}){3}(?![0-9A-Za-z]|\.[0-9])")
# The lookahead demands two colons within the first groups, so "10:30" never
# becomes a candidate; "10:30:45" does, and ipaddress rejects it.
# Only a ":hex:" pair can start an IPv6 candidate; a literal-led pattern is
# found by sre's fast scan, the full pattern is then matched from there.
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")
_IPV6 = re.compile(
    r"(?<![0-9A-Za-z:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)"
    r"[0-9A-Fa-f:]{2,39}(?:(?<=:)(?:[0-9]{1,3}\.){3}[0-9]{1,3})?(?![0-9A-Za-z:])"
)

# Digit groups joined by single spaces or dashes; cards are searched inside.
_DIGIT_RUN = re.compile(r"[0-9](?=[0-9 \-]{12})(?<![A-Za-z0-9#.,][0-9])[0-9]*(?:[ \-][0-9]+)*(?![A-Za-z0-9]|[.,][0-9])")
_GROUP = re.compile(r"[0-9]+")

# Two digits after two letters: found by a digit-led scan, which is cheaper
# than trying every letter of the text as a country code.
_IBAN_HEAD = re.compile(r"[0-9](?<=[A-Za-z]{2}[0-9])[0-9]")
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?(?![A-Za-z0-9])"
)

# ISO 13616 registry lengths; an unknown country is not an IBAN.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
    "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    "YE": 30,
}  # fmt: skip

# (literals of which one must occur in the text, pattern). The literal is a
# cheap `in` test so a 1 KB text pays for a regex scan only when it could match.
# DOTALL only matters for the PEM block, which spans lines.
_TOKEN_SECRETS: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (lits, re.compile(pat, re.DOTALL))
    for lits, pat in (
        (("AKIA", "ASIA"), r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
        (("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{30,255}(?![A-Za-z0-9])"),
        (("github_pat_",), r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{22,255}"),
        (("xox", "xapp-"), r"(?<![A-Za-z0-9])(?:xox[abprs]|xapp)-[A-Za-z0-9\-]{10,250}"),
        (("_live_", "_test_"), r"(?<![A-Za-z0-9])(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,250}"),
        # OpenAI (sk-, sk-proj-) and Anthropic (sk-ant-) share the prefix.
        (("sk-",), r"(?<![A-Za-z0-9])sk-(?=[A-Za-z0-9_\-]*[0-9])[A-Za-z0-9_\-]{20,250}"),
        (("AIza",), r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{35}(?![A-Za-z0-9_\-])"),
        (("SK",), r"(?<![A-Za-z0-9])SK[0-9a-fA-F]{32}(?![A-Za-z0-9])"),
        (("SG.",), r"(?<![A-Za-z0-9])SG\.[A-Za-z0-9_\-]{16,64}\.[A-Za-z0-9_\-]{16,128}"),
        (
            ("-----BEGIN",),
            # A truncated block (no END line) is still redacted to the end of the text.
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|.*\Z)",
        ),
        (("eyJ",), r"(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*"),
        (("earer",), r"(?<=[Bb]earer )[A-Za-z0-9._~+/\-]{16,}=*"),
    )
)

_AWS_SECRET = re.compile(
    r"(?i)aws[_ \-]?secret[_ \-]?(?:access[_ \-]?)?key[\"']?\s*[:=]\s*[\"']?"
    r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
)

# "password: xyz", "DB_PASSWORD=xyz", "パスワード：xyz". Found from each ":" or
# "=" backwards, because an alternation of keywords tried at every position
# of the text is the slowest regex in this module. The value alone is
# redacted, so "password: <SECRET_1>" still tells the model what was there.
_ASSIGN_OP = re.compile(r"[:=：]")
_ASSIGN_KEY = re.compile(
    r"(?i)(?:password|passwd|pwd|passcode|passwort|kennwort|mot de passe|contraseña|パスワード"
    r"|secret|secret[_\-]?key|api[_\- ]?key|apikey|api[_\-]?secret"
    r"|(?:access|auth|refresh|bearer)[_\-]?token|token|private[_\-]?key)[\"']?[ \t]*\Z"
)
_ASSIGN_KEY_REACH = 24
# Every keyword above contains one of these; a literal search on the lowered
# stretch before a ":" is much cheaper than the keyword regex.
_ASSIGN_ROOTS = re.compile("pass|pwd|secret|key|token|kennwort|パスワード|contraseña")
_ASSIGN_VALUE = re.compile(r"[ \t]*(?:\"([^\"\n]{1,256})\"|'([^'\n]{1,256})'|([^\s\"'<>,;]{1,256}))")
_TRAILING_PUNCT = ".!?)"

_PLACEHOLDER = re.compile(r"<(?:EMAIL|PHONE|CARD|IBAN|SSN|IP|SECRET)_[0-9]+>")

# Phone candidates: digits joined by the punctuation people put in numbers.
# Only these windows go to phonenumbers, whose matcher costs ~2 ms per KB of
# text but ~30 µs per short window.
_PHONE_WINDOW = re.compile(
    r"[0-9０-９](?=[0-9０-９ \t\u00a0\-–./()（）]{6})(?:[ \t\u00a0\-–./()（）]{0,3}[0-9０-９])*"
)
_ENOUGH_DIGITS = re.compile(r"(?:\d\D*){7}")

# Digits that phonenumbers may still accept in some region but that are not
# phone numbers. Each is checked around a candidate window only: one regex
# with these alternations run over a whole 1 KB text costs more than all the
# phone parsing.
_NOT_PHONE = re.compile(
    # dates: 2024-03-15, 15.03.2024, 3/15/24
    r"(?<![0-9])(?:[0-9]{4}[\-/.][0-9]{1,2}[\-/.][0-9]{1,2}"
    r"|[0-9]{1,2}[\-/.][0-9]{1,2}[\-/.](?:[0-9]{4}|[0-9]{2}))(?![0-9])"
    # times: 10:30, 14:00:00
    r"|(?<![0-9])[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?"
    # prices, currency first: $1,299.99, € 1.234.567
    r"|(?:[$€£¥₹]|\b(?:USD|EUR|GBP|CHF|JPY|CAD|AUD))[ \u00a0]?[0-9](?:[0-9.,']*[0-9])?"
    # prices, currency last: 1.234,50 €, 1,299 USD (but "0132 $19.99" is two things)
    r"|(?<![0-9])[0-9](?:[0-9.,']*[0-9])?[ \u00a0]?(?:[$€£¥₹]|(?:USD|EUR|GBP|CHF|JPY|CAD|AUD)\b)(?![ \u00a0]?[0-9])"
)
_NOT_PHONE_BEFORE = 5  # room for "USD " in front of a window
_NOT_PHONE_AFTER = 6  # room for " USD" or ":00" behind it
_CHUNK = re.compile(r"[^ \t\u00a0]+")
_SPLIT_TRIES = 3
_PLAIN_NUMBER = re.compile(r"[0-9０-９][0-9０-９\-]*")
_COUNTRY_CODE_BEFORE = re.compile(r"[+＋]([0-9]{1,3})[ \t\u00a0\-.(]*\Z")
# "Order #4155550132", "invoice no. 20240042", "version 10.15.7.1234".
_NUMBER_LABEL = re.compile(
    r"(?i)(?:#|\b(?:order|invoice|ticket|case|ref|reference|tracking|account|acct|sku|po"
    r"|confirmation|booking|transaction|txn|customer|id|version|build|release"
    r"|bestellung|bestellnummer|rechnung|auftrag|kundennummer|commande|facture|注文番号)\b"
    r"[\s.:#\-]*(?:no\.?|nr\.?|number|num|nummer|numéro|n°|#)?)[\s.:#\-]*\Z"
)
_LABEL_REACH = 32


def find_pii(text: str, kinds: frozenset[str], region: str) -> list[Span]:
    """Non-overlapping spans of ``kinds`` in ``text``, sorted by start."""
    found: list[Span] = []
    if "SECRET" in kinds:
        found += _secrets(text)
    if "CARD" in kinds:
        found += _cards(text)
    if "IBAN" in kinds:
        found += _ibans(text)
    if "SSN" in kinds:
        found += _ssns(text)
    if "EMAIL" in kinds and "@" in text:
        found += _emails(text)
    if "IP" in kinds:
        found += _ips(text)
    if "PHONE" in kinds:
        found += _phones(text, region, found)
    if "<" in text:
        # Placeholders from an earlier pass are never PII: that keeps redact idempotent.
        taken = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
        if taken:
            found = [s for s in found if not _overlaps_any(s.start, s.end, taken)]
    return _resolve(found)


def _resolve(spans: list[Span]) -> list[Span]:
    if len(spans) < 2:
        return spans
    # A detection strictly inside another is a piece of that one (digits of
    # an IBAN that pass Luhn, a number inside an e-mail), whatever its kind.
    spans = [
        s
        for s in spans
        if not any(
            o.start <= s.start and s.end <= o.end and (o.end - o.start) > (s.end - s.start)
            for o in spans
        )
    ]
    spans.sort(key=lambda s: (_RANK[s.kind], s.start - s.end, s.start))
    kept: list[Span] = []
    for s in spans:
        if not any(s.start < k.end and k.start < s.end for k in kept):
            kept.append(s)
    kept.sort()
    return kept


def _overlaps_any(start: int, end: int, ranges: list[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in ranges)


def _emails(text: str) -> list[Span]:
    # Anchored on each "@" and walked outwards: scanning every word start of
    # the text for a local part costs several times more.
    out = []
    at = text.find("@")
    while at > 0:
        start = at
        while start > 0 and at - start < _EMAIL_LOCAL_MAX and text[start - 1] in _EMAIL_LOCAL_CHARS:
            start -= 1
        local = text[start:at]
        # "...john@" or "a..b@": only the last well-formed dot-atom is the address.
        if ".." in local:
            local = local[local.rfind("..") + 2 :]
        local = local.lstrip(".")
        if local and not local.endswith("."):
            dom = _EMAIL_DOMAIN.match(text, at + 1)
            if dom is not None:
                start = at - len(local)
                out.append(Span(start, dom.end(), "EMAIL", text[start : dom.end()].lower()))
        at = text.find("@", at + 1)
    return out


def _ssns(text: str) -> list[Span]:
    out = []
    for hint in _SSN_HINTS:
        for h in hint.finditer(text):
            m = _SSN.match(text, h.start() - 3) if h.start() >= 3 else None
            if m is None:
                continue
            raw = m.group()
            area, group, serial = raw[:3], raw[4:6], raw[7:]
            if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
                continue
            out.append(Span(m.start(), m.end(), "SSN", area + group + serial))
    return out


def _ips(text: str) -> list[Span]:
    out = []
    if _IPV4_HINT.search(text) is not None:
        for m in _IPV4.finditer(text):
            try:
                addr = ipaddress.IPv4Address(m.group())
            except ValueError:
                continue
            out.append(Span(m.start(), m.end(), "IP", str(addr)))
    pos = 0
    while (hint := _IPV6_HINT.search(text, pos)) is not None:
        pos = hint.start() + 1
        start = hint.start()
        while start > 0 and hint.start() - start < 39 and text[start - 1] in _HEX_COLON:
            start -= 1
        m = _IPV6.match(text, start)
        if m is None:
            continue
        raw, end = m.group(), m.end()
        if raw.endswith(":") and not raw.endswith("::"):
            # "reach me at fe80::1: thanks" – the colon belongs to the sentence.
            raw, end = raw[:-1], end - 1
        if raw.strip(":"):
            try:
                addr6 = ipaddress.IPv6Address(raw)
            except ValueError:
                continue
            out.append(Span(start, end, "IP", str(addr6)))
            pos = max(pos, end)
    return out


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i & 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_brand_ok(d: str) -> bool:
    n = len(d)
    p2, p4 = int(d[:2]), int(d[:4])
    if d[0] == "4":  # Visa
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:  # Mastercard
        return n == 16
    if p2 in (34, 37):  # Amex
        return n == 15
    if p4 == 6011 or p2 == 65 or 644 <= int(d[:3]) <= 649:  # Discover
        return 16 <= n <= 19
    if 3528 <= p4 <= 3589:  # JCB
        return 16 <= n <= 19
    if 300 <= int(d[:3]) <= 305 or p2 in (36, 38, 39):  # Diners
        return 14 <= n <= 19
    if p2 == 62:  # UnionPay
        return 16 <= n <= 19
    if 2200 <= p4 <= 2204:  # Mir
        return 16 <= n <= 19
    if p2 in (50, 56, 57, 58, 63, 67):  # Maestro
        return 13 <= n <= 19
    return False


# Group shapes printed on or typed from real cards; anything else is more
# likely an account or order number that happens to pass Luhn.
_CARD_SHAPES = {(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4), (4, 4, 4, 1)}


def _cards(text: str) -> list[Span]:
    out: list[Span] = []
    for run in _DIGIT_RUN.finditer(text):
        raw = run.group()
        if len(raw) < 13:
            continue
        base = run.start()
        if " " not in raw and "-" not in raw:
            if len(raw) <= 19 and _luhn_ok(raw) and _card_brand_ok(raw):
                out.append(Span(base, run.end(), "CARD", raw))
            continue
        groups = [(g.start(), g.end()) for g in _GROUP.finditer(raw)]
        cands = []
        for i in range(len(groups)):
            ndig = 0
            for j in range(i, len(groups)):
                ndig += groups[j][1] - groups[j][0]
                if ndig > 19:
                    break
                if ndig < 13:
                    continue
                seps = {raw[groups[k][1]] for k in range(i, j)}
                shape = tuple(e - s for s, e in groups[i : j + 1])
                if len(seps) > 1 or (len(shape) > 1 and shape not in _CARD_SHAPES):
                    continue
                # A short last group is only the card's end if the run ends there too.
                if shape[-1] < 4 and len(shape) > 1 and j != len(groups) - 1:
                    continue
                digits = "".join(raw[s:e] for s, e in groups[i : j + 1])
                if _luhn_ok(digits) and _card_brand_ok(digits):
                    aligned = i == 0 or j == len(groups) - 1
                    cands.append((aligned, ndig, groups[i][0], groups[j][1], digits))
        cands.sort(key=lambda c: (not c[0], -c[1], c[2]))
        chosen: list[tuple[int, int]] = []
        for _, _, s, e, digits in cands:
            if not any(s < ce and cs < e for cs, ce in chosen):
                chosen.append((s, e))
                out.append(Span(base + s, base + e, "CARD", digits))
    return out


def _iban_ok(compact: str) -> bool:
    moved = compact[4:] + compact[:4]
    # int(c, 36) maps 0-9 to themselves and A-Z to 10-35, as ISO 7064 wants.
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _ibans(text: str) -> list[Span]:
    out = []
    pos = 0
    while (head := _IBAN_HEAD.search(text, pos)) is not None:
        pos = head.end()
        m = _IBAN.match(text, head.start() - 2)
        if m is None:
            continue
        raw = m.group()
        want = _IBAN_LENGTHS.get(raw[:2].upper())
        if want is None:
            continue
        # The pattern may run into a following word ("... 7034 from"), so
        # cut at the registry length, which must fall between groups.
        count, cut = 0, len(raw)
        for i, ch in enumerate(raw):
            if ch != " ":
                count += 1
                if count == want:
                    cut = i + 1
                    break
        if count == want and (cut == len(raw) or raw[cut] == " "):
            compact = raw[:cut].replace(" ", "").upper()
            if _iban_ok(compact):
                out.append(Span(m.start(), m.start() + cut, "IBAN", compact))
                pos = m.start() + cut
    return out


def _secrets(text: str) -> list[Span]:
    out = []
    underscore = "_" in text
    for lits, pat in _TOKEN_SECRETS:
        if "_" in lits[0] and not underscore:
            continue
        if any(lit in text for lit in lits):
            out += [Span(m.start(), m.end(), "SECRET", m.group()) for m in pat.finditer(text)]
    if "aws" in text or "AWS" in text or "Aws" in text:
        out += [Span(m.start(1), m.end(1), "SECRET", m.group(1)) for m in _AWS_SECRET.finditer(text)]
    for op in _ASSIGN_OP.finditer(text):
        i = op.start()
        if i == 0 or text[i - 1].isdigit():
            continue  # "10:30", "a=1"
        if _ASSIGN_ROOTS.search(text[max(0, i - _ASSIGN_KEY_REACH) : i].lower()) is None:
            continue
        if _ASSIGN_KEY.search(text, max(0, i - _ASSIGN_KEY_REACH), i) is None:
            continue
        m = _ASSIGN_VALUE.match(text, i + 1)
        if m is None:
            continue
        g = 1 if m.group(1) is not None else 2 if m.group(2) is not None else 3
        start, end = m.start(g), m.end(g)
        if g == 3:
            # "password: hunter2." – the full stop ends the sentence, not the password.
            while end > start + 1 and text[end - 1] in _TRAILING_PUNCT:
                end -= 1
        if end - start >= 3:
            out.append(Span(start, end, "SECRET", text[start:end]))
    return out


def _phones(text: str, region: str, found: list[Span]) -> list[Span]:
    if _ENOUGH_DIGITS.search(text) is None:
        return []
    # Blank out what other detectors found so a card or IBAN next to a phone
    # number cannot glue onto it (and the matcher has less to chew on).
    masked = _blank(text, [(sp.start, sp.end) for sp in found]) if found else text
    out: list[Span] = []
    for w in _PHONE_WINDOW.finditer(masked):
        if w.end() - w.start() < 7:
            continue
        lo, hi = max(0, w.start() - _NOT_PHONE_BEFORE), min(len(text), w.end() + _NOT_PHONE_AFTER)
        blocked = [
            (m.start(), m.end())
            for m in _NOT_PHONE.finditer(text, lo, hi)
            if m.end() > w.start() and m.start() < w.end()
        ]
        if not blocked:
            out += _phones_in(text, masked, w.start(), w.end(), region)
            continue
        # A date, time or price next to a number ("2024-03-15 (415) 555-0132")
        # would be read as part of it: blank it out and look at what is left.
        masked = _blank(masked, blocked)
        for piece in _PHONE_WINDOW.finditer(masked, w.start(), w.end()):
            if piece.end() - piece.start() >= 7:
                out += _phones_in(text, masked, piece.start(), piece.end(), region)
    return out


def _phones_in(text: str, masked: str, ws: int, we: int, region: str, retry: bool = True) -> list[Span]:
    raw = masked[ws:we]
    if sum(c.isdigit() for c in raw) < 7:
        return []
    if ws > 0 and masked[ws - 1] in "+＋(（":
        # The window pattern starts on a digit for speed; the lead belongs to the number.
        ws -= 1
        raw = masked[ws:we]
    # A label makes a plain run of digits (and dashes) an order number; a "+",
    # brackets, dots or spaces are how people write phone numbers instead.
    first = _CHUNK.match(masked, ws)
    labelled = (
        first is not None
        and _PLAIN_NUMBER.fullmatch(first.group()) is not None
        and _NUMBER_LABEL.search(text, max(0, ws - _LABEL_REACH), ws) is not None
    )
    if labelled or _glued_to_code(text, ws):
        # Only the first chunk is the order number or "v1.2.3"; a phone
        # number may follow it in the same window.
        return _phones_left(text, masked, first.end(), we, region, retry) if first else []
    # A character of context on each side lets the matcher reject numbers
    # glued to letters ("A4155550132") as it would in the full text.
    lo, hi = max(0, ws - 1), min(len(text), we + 1)
    window = masked[lo:hi]
    hits = _match(window, region, lo)
    if not hits and raw[0] not in "+＋" and raw.lstrip("(（")[:1] in ("0", "０"):
        hits = _match_elsewhere(window, region, lo, raw)
    # In a window holding two numbers the matcher may read the second as
    # national and leave the "+1 " of the first behind ("+1 415-555-0132 ...").
    for i, h in enumerate(hits):
        cc = _COUNTRY_CODE_BEFORE.search(masked, max(ws, hits[i - 1].end if i else ws, h.start - 8), h.start)
        if cc is not None and h.key.startswith("+" + cc.group(1)):
            hits[i] = h._replace(start=cc.start())
    if not retry:
        return hits
    if not hits:
        return _phones_split(text, masked, ws, we, region)
    if any(_mid_chunk(masked, h.end) for h in hits):
        # German and Austrian numbers have no fixed length, so "+49 30 901820"
        # happily takes the "415" of "415.555.0123" after it. A split at the
        # spaces that ends every number on a chunk boundary is the better read.
        alt = _phones_split(text, masked, ws, we, region)
        if alt and not any(_mid_chunk(masked, h.end) for h in alt):
            return alt
    # The matcher may also keep only one of two numbers ("(415) 555-0199
    # 415.555.0123"): look again at what is left on either side of its hits.
    out, pos = [], ws
    for h in hits:
        if h.start > pos:
            out += _phones_left(text, masked, pos, h.start, region)
        out.append(h)
        pos = h.end
    if pos < we:
        out += _phones_left(text, masked, pos, we, region)
    return out


def _mid_chunk(masked: str, pos: int) -> bool:
    return pos + 1 < len(masked) and masked[pos] in "-./–" and masked[pos + 1].isdigit()


def _phones_split(text: str, masked: str, ws: int, we: int, region: str) -> list[Span]:
    # The matcher gives up on a number with another glued on by a space
    # ("(415) 555-0199 3.11"); drop trailing, then leading chunks until it
    # finds one. Bounded, because each try costs a matcher run.
    chunks = [(m.start(), m.end()) for m in _CHUNK.finditer(masked, ws, we)]
    if len(chunks) < 2:
        return []
    tries = 0
    for k in range(len(chunks) - 1, 0, -1):
        end = chunks[k - 1][1]
        if tries == _SPLIT_TRIES or sum(c.isdigit() for c in masked[ws:end]) < 7:
            break
        tries += 1
        hits = _phones_in(text, masked, ws, end, region, retry=False)
        if hits:
            return hits + _phones_left(text, masked, hits[-1].end, we, region)
    for k in range(1, len(chunks)):
        start = chunks[k][0]
        if tries == 2 * _SPLIT_TRIES or sum(c.isdigit() for c in masked[start:we]) < 7:
            break
        tries += 1
        hits = _phones_in(text, masked, start, we, region, retry=False)
        if hits:
            return hits
    return []


def _phones_left(text: str, masked: str, start: int, end: int, region: str, retry: bool = False) -> list[Span]:
    out = []
    for piece in _PHONE_WINDOW.finditer(masked, start, end):
        if piece.end() - piece.start() >= 7:
            out += _phones_in(text, masked, piece.start(), piece.end(), region, retry)
    return out


def _blank(text: str, ranges: list[tuple[int, int]]) -> str:
    parts, pos = [], 0
    for start, end in sorted(ranges):
        if end > pos:
            start = max(start, pos)
            parts += (text[pos:start], " " * (end - start))
            pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _glued_to_code(text: str, start: int) -> bool:
    # "INV-2024-0042", "A4155550132", "ref/20240042": digits hanging off a
    # word are part of an identifier, not a phone number.
    if start == 0:
        return False
    before = text[start - 1]
    if before.isascii() and before.isalnum():
        return True
    return before in "-_/" and start >= 2 and text[start - 2].isascii() and text[start - 2].isalnum()


def _match(window: str, region: str, offset: int) -> list[Span]:
    return [
        # E.164 by hand: format_number() costs as much again as the match.
        Span(offset + m.start, offset + m.end, "PHONE", f"+{m.number.country_code}{national_significant_number(m.number)}")
        for m in PhoneNumberMatcher(window, region, leniency=Leniency.VALID)
    ]


def _match_elsewhere(window: str, region: str, offset: int, raw: str) -> list[Span]:
    # A trunk-prefixed national number from another common region. Accepted
    # when exactly one region takes it, or when it is written with separators
    # (so it was meant as a phone number and only the country is unclear);
    # bare zero-led digit strings valid in two regions are more often ids.
    by_region = {r: _match(window, r, offset) for r in _ALT_REGIONS if r != region}
    hits = [h for h in by_region.values() if h]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1 and any(not c.isdigit() for c in raw.strip("+＋")):
        return hits[0]
    return []
