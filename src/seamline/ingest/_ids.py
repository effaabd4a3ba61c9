"""Layer 1, ingest: identity numbers: passports, driving licences and national ids.

With a context word ("passport no.", "Führerschein", "DNI", "codice fiscale", "BSN",
"national insurance number"...), the value after it is taken in that document's shape. With
none, only numbers that prove themselves are: a checksum (Spanish DNI/NIE, Italian codice
fiscale, French NIR) or a shape no other number has (a UK National Insurance number written
in its spaced form). Order, ticket and customer ids stay: "ID" alone is no context word.
"""

# Hand-written rather than python-stdnum: stdnum validates a value already cut out of a text,
# and the part that matters here is finding the value in the text, by its context; the six
# checksums below are a few lines each.

from __future__ import annotations

import re

from seamline.ingest._phones import Tick, no_tick

_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_NIR = r"[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}"
_CF = r"[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]"
_DNI = r"\d{8}[A-Z]|[XYZ]\d{7}[A-Z]"
_ALNUM_ID = r"(?=[A-Z0-9\-]*\d)[A-Z0-9](?:[A-Z0-9]|-(?=[A-Z0-9])){4,22}"
_DIGITS_9 = r"\d{3}[ \-]?\d{3}[ \-]?\d{3}"
_DIGITS_11 = r"\d{2} ?\d{3} ?\d{3} ?\d{3}"
_CPF = r"\d{3}\.?\d{3}\.?\d{3}-?\d{2}"

# (context words, the value's shape): the value must start within _REACH after the words.
_CONTEXT_LIST = tuple(
    (words, re.compile(shape))
    for words, shape in (
        ((r"passport|reisepass(?:nummer)?|passeport|pasaporte|passaporto|passaporte|paspoort"
         r"|passnummer|passport#"), r"[A-Z0-9]{0,2}\d[A-Z0-9]{4,10}"),
        ((r"driver'?s? licen[cs]e|drivers licen[cs]e|driving licen[cs]e|licen[cs]e (?:no|number)"
         r"|dl ?#|führerschein(?:nummer)?|permis de conduire|carnet de conducir"
         r"|licencia de conducir|patente di guida|rijbewijs(?:nummer)?"), _ALNUM_ID),
        (r"national insurance(?: number| no)?|ni number|ni no|nino",
         r"[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]"),
        ((r"(?:national |government )?id(?:entity)? card(?: number| no)?|identity card|national id"
         r"(?:entity number)?|id number|id no|personalausweis(?:nummer)?|ausweis(?:nummer|-nr)?"
         r"|carte d'identité|carte nationale d'identité|cni|documento de identidad"
         r"|carta d'identità|cartão de cidadão|identiteitskaart|id-kaart"), _ALNUM_ID),
        (r"steuer-?id|steueridentifikationsnummer|idnr|tax id|tin|tax identification number",
         _DIGITS_11),
        (r"dni|nie|nif", _DNI),
        (r"sin|social insurance number|numéro d'assurance sociale", _DIGITS_9),
        (r"bsn|burgerservicenummer|sofinummer|sofi-nummer", _DIGITS_9),
        ((r"(?:numéro|n°|no|nº) de sécurité sociale|sécurité sociale|numéro de sécu|nir"
         r"|social security number \(fr\)"), _NIR),
        (r"codice fiscale|cod\. fisc\.|c\.f\.", _CF),
        (r"cpf", _CPF),
    )
)  # fmt: skip
_CONTEXTS = tuple((re.compile(r"(?<![\w])(?:" + w + r")(?![\w])", re.IGNORECASE), shape)
                  for w, shape in _CONTEXT_LIST)
# A context word's pattern runs only if one of its stems is in the lower-cased text: a
# substring test costs far less than a case-insensitive scan of every word.
_STEMS = (
    ("passport", "reisepass", "passeport", "pasaporte", "passaporto", "passaporte", "paspoort",
     "passnummer"),
    ("licen", "dl", "führerschein", "permis de conduire", "carnet de conducir", "patente",
     "rijbewijs"),
    ("national insurance", "ni n", "nino"),
    ("id card", "identity", "id n", "national id", "ausweis", "identité", "cni",
     "identidad", "identità", "cidadão", "identiteitskaart", "id-kaart", "idcard"),
    ("steuer", "idnr", "tax id", "tin", "tax identification"),
    ("dni", "nie", "nif"),
    ("sin", "social insurance", "assurance sociale"),
    ("bsn", "burgerservicenummer", "sofi"),
    ("sécurité sociale", "sécu", "nir", "social security number (fr)"),
    ("codice fiscale", "cod. fisc", "c.f."),
    ("cpf",),
)
_REACH = 32
_LEAD = re.compile(r"[\s:#.\-–=()]*(?:(?:no|nr|number|num|nummer|numéro|n°|nº|#|is|es|est|ist"
                   r"|è|é|lautet|lauten|card|du|de|do|da|van|my|mein|mon|mi|il|mio|meu|:)"
                   r"\.?[\s:#.\-–=()]*){0,4}", re.IGNORECASE)
# "order ID", "ticket id number": the id of a thing, not of a person.
_THING_BEFORE = re.compile(
    r"(?i)(?:order|ticket|customer|transaction|account|user|employee|tracking|invoice|case"
    r"|request|session|device|client|merchant|vendor|product|item|message|event|job|run|build"
    r"|trace|correlation|workspace|tenant|org|organi[sz]ation|project|api|app|application"
    r"|payment|reference|ref|booking|reservation|confirmation|member|policy|store|shop)"
    r"[\s\-_]*\Z")
# Found without context: each shape with the check that proves it.
_FREE = (
    (re.compile(r"(?<![A-Za-z0-9])(?:" + _DNI + r")(?![A-Za-z0-9])"), "dni"),
    (re.compile(r"(?<![A-Za-z0-9])" + _CF + r"(?![A-Za-z0-9])"), "cf"),
    (re.compile(r"(?<![\d ])" + _NIR + r"(?![\d])"), "nir"),
    (re.compile(r"(?<![A-Za-z0-9])(?:[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z])(?<!BG|GB|NK|KN|TN|NT|ZZ)"
                r" \d{2} \d{2} \d{2} [A-D](?![A-Za-z0-9])"), "nino"),
)
_FREE_HINT = re.compile(r"\d{7}[A-Z]|\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z]|[12] ?\d{2} ?\d{2}|\d{2} \d{2} \d{2} [A-D]")


def find_ids(text: str, tick: Tick = no_tick) -> list[tuple[int, int, str]]:
    """(start, end, key) of every identity number in ``text``; ``key`` is the number's
    letters and digits, upper-cased."""
    out: dict[int, tuple[int, int, str]] = {}
    lowered = text.lower()
    for stems, (words, shape) in zip(_STEMS, _CONTEXTS, strict=True):
        if not any(stem in lowered for stem in stems):
            continue
        for m in words.finditer(text):
            tick(1)
            if _THING_BEFORE.search(text, max(0, m.start() - 24), m.start()):
                continue
            lead = _LEAD.match(text, m.end(), m.end() + _REACH)
            at = lead.end() if lead else m.end()
            v = shape.match(text, at)
            if v is None or at - m.end() > _REACH:
                continue
            end = v.end()
            if end < len(text) and (text[end].isalnum()):
                continue
            out[at] = (at, end, _key(v.group()))
    if _FREE_HINT.search(text) is not None:
        for pattern, check in _FREE:
            for m in pattern.finditer(text):
                tick(1)
                if m.start() not in out and _CHECKS[check](m.group()):
                    out[m.start()] = (m.start(), m.end(), _key(m.group()))
    return sorted(out.values())


def _key(value: str) -> str:
    return "".join(c for c in value.upper() if c.isalnum())


def _dni_ok(v: str) -> bool:
    digits = "XYZ".index(v[0]).__str__() + v[1:8] if v[0] in "XYZ" else v[:8]
    return _DNI_LETTERS[int(digits) % 23] == v[8]


_CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25,
           24, 23]


def _cf_ok(v: str) -> bool:
    # The 16th character checks the first 15: odd positions through a table, even ones as is.
    total = 0
    for i, c in enumerate(v[:15]):
        n = int(c) if c.isdigit() else ord(c) - 65
        total += _CF_ODD[n] if i % 2 == 0 else n
    return chr(65 + total % 26) == v[15]


def _nir_ok(v: str) -> bool:
    # The last two digits are 97 minus the first 13 mod 97 (Corsica's 2A/2B count as 19/18).
    d = v.replace(" ", "")
    body = d[:13].replace("2A", "19").replace("2B", "18")
    return body.isdigit() and 97 - int(body) % 97 == int(d[13:])


_CHECKS = {"dni": _dni_ok, "cf": _cf_ok, "nir": _nir_ok, "nino": lambda v: True}
