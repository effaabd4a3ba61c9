"""Layer 1, ingest: postal addresses: street lines, and the postcode and town after them.

A street line is a number and a street ("221B Baker Street", "350 Fifth Avenue, Suite 4100",
"12 rue de la Paix", "Hauptstraße 5", "Via Roma 10", "Keizersgracht 123", "PO Box 4421").
What follows it on the same or the next line joins it: "London NW1 6XE", "New York, NY
10118", "75002 Paris", "1015 CJ Amsterdam". A town and postcode alone count where their
shape is unmistakable (a UK postcode, "Washington, DC 20500", a Dutch postcode); a town
alone ("our London office") is no address, and neither is a bare five-digit number.
"""

# Hand-written: the address parsers on the package index (usaddress, pyap, libpostal)
# parse an address already cut out of a text, cover one or two countries each, or need a
# 2 GB model; finding an address in a support e-mail needs its shape, written here.

from __future__ import annotations

import re

from seamline.ingest._phones import Tick, no_tick

_UPPER = "".join(c for c in map(chr, range(0x250)) if c.isupper())
# A word of a street's or a town's name has no digits: "BE54" (an IBAN's head) is none.
_W = rf"(?:(?:St|Ste|Mt|Ft)\.|[{_UPPER}](?:[^\W\d_]|['’\-])*)"  # "Queen's", "Champs-Élysées"
_CITY = (rf"{_W}(?:[ \-](?:(?:am|an|de|del|la|le|sur|upon|on|im|di|da|do|dos|das|en)[ \-])?"
         rf"{_W}){{0,3}}")
_NUM = r"\d{1,6}[A-Za-z]?(?:[\-–/]\d{1,5}[A-Za-z]?)?"
_UNIT = (r"(?:(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|Rm|Bldg|Building)\.?\s*#?"
         r"[\w\-]{1,6}|#\s?\d{1,5})")
_TYPES = ("Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl"
          "|Terrace|Ter|Close|Crescent|Cres|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Square|Sq"
          "|Trail|Trl|Row|Mews|Grove|Gardens|Gdns|Hill|Walk|Loop|Alley|Plaza|Park|Rise|View"
          "|Green|Parade|Esplanade|Quay|Wharf|Embankment|Point|Pike|Expressway|Freeway|Path"
          "|Crossing|Commons")
_STATES = ("AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT"
           "|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR")
_UK_POSTCODE = r"(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?|GIR) ?\d[ABD-HJLNP-UW-Z]{2}"

# Substrings, one of which each street pattern needs: a substring test of the lower-cased
# text costs far less than a scan, so a pattern runs only where it may match.
_HINTS: tuple[tuple[str, ...], ...] = (
    tuple(f" {t.lower()}" for t in _TYPES.split("|")),
    (" broadway",),
    ("box", "postfach", "apartado", "postale", "postal"),
    ("straße", "strasse", "str.", "weg ", "allee", "platz", "gasse", "ring ", "damm", "ufer",
     "chaussee", "steig", "pfad", "markt", "stieg", "graben", "kai ", "straat", "gracht",
     "laan", "plein", "kade", "singel", "dijk", "steeg", "dreef"),
    ("straße", "strasse", "str.", "weg ", "allee", "platz", "gasse", "ring ", "damm", "ufer"),
    ("am ", "an ", "auf ", "im ", "in ", "zum ", "zur ", "unter ", "hinter "),
    (" rue ", "avenue", " av.", "boulevard", " bd ", " bld ", "place", " pl.", "allée",
     "impasse", "chemin", "quai ", "route ", "cours ", "square", "passage", "faubourg",
     "rond-point", "voie ", "sentier", "résidence", "parvis"),
    ("calle", "c/", "avenida", "avda", "av.", "paseo", "pº", "plaza", "pza", "camino", "carrer",
     "ronda", "travesía", "carretera", "ctra", "via ", "viale", "piazza", "corso", "largo",
     "vicolo", "strada", "lungotevere", "borgo", "contrada", "rua ", "r. ", "travessa", "tv.",
     "praça", "estrada", "alameda", "rodovia"),
)
_STREETS = tuple(re.compile(p) for p in (
    # English-speaking countries: number first, then the street's name and its type.
    (rf"(?<![\w\-.,]){_NUM}\s+(?:[NSEW]\.?\s+|(?:North|South|East|West)\s+)?"
    rf"(?:(?:{_W}|\d{{1,3}}(?:st|nd|rd|th))\s+){{1,4}}?(?:{_TYPES})\b\.?"
    rf"(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?(?:,?\s+{_UNIT})?"),
    rf"(?<![\w\-.,]){_NUM}\s+Broadway\b(?:,?\s+{_UNIT})?",
    (r"(?i)(?<!\w)(?:P\.? ?O\.? ?Box|Post Office Box|Postfach|Apartado(?: de Correos)?"
    r"|Casella Postale|Caixa Postal)\s+\d{1,6}"),
    # German and Dutch: the street word, then the number.
    (rf"(?<!\w)[{_UPPER}][\w\-]*(?:straße|strasse|str\.|weg|allee|platz|gasse|ring|damm|ufer"
    r"|chaussee|steig|pfad|markt|stieg|graben|kai|straat|gracht|laan|plein|kade|singel|dijk"
    r"|steeg|dreef)\s+\d{1,4}\s?[a-zA-Z]?(?:\s?[\-/]\s?\d{1,4}[a-z]?)?(?![\w])"),
    (rf"(?<!\w)(?:{_W}\s)?(?:Straße|Strasse|Str\.|Weg|Allee|Platz|Gasse|Ring|Damm|Ufer)"
    r"\s+\d{1,4}\s?[a-zA-Z]?(?![\w])"),
    (rf"(?<!\w)(?:Am|An der|An den|Auf dem|Auf der|Im|In der|Zum|Zur|Unter den|Hinter dem)"
    rf"\s+{_W}(?:\s+{_W})?\s+\d{{1,4}}\s?[a-z]?(?![\w])"),
    # French: number, then "rue", "avenue", "boulevard"… and the name.
    (r"(?i)(?<![\w\-.,])\d{1,4}(?:\s?(?:bis|ter|b))?,?\s+(?:rue|avenue|av\.|boulevard|bd|bld"
    r"|place|pl\.|allée|impasse|chemin|quai|route|cours|square|passage|faubourg|rond-point"
    r"|voie|sentier|résidence|parvis)\s+(?:(?:de la|de l'|du|des|de|d')\s*)?"
    rf"(?-i:{_W})(?:[ \-](?:(?:de la|de l'|du|des|de|d'|la|le|les|et|aux|sur)[ \-]?)?"
    rf"(?-i:{_W})){{0,4}}"),
    # Spanish, Italian and Portuguese: the street word and name, then the number.
    (r"(?i)(?<!\w)(?:calle|c/|avenida|avda\.?|av\.|paseo|pº|plaza|pza\.?|camino|carrer|ronda"
    r"|travesía|carretera|ctra\.?|via|viale|piazza|piazzale|corso|largo|vicolo|strada"
    r"|lungotevere|borgo|contrada|rua|r\.|travessa|tv\.|praça|estrada|alameda|rodovia)\s+"
    rf"(?:(?:de la|de los|de las|del|de|di|del|della|dei|degli|delle|d'|da|do|das|dos)\s*)?"
    rf"(?-i:{_W})(?:\s+(?:(?:de la|del|de|di|della|da|do|das|dos)\s+)?(?-i:{_W})){{0,3}},?\s*"
    r"(?:n[º°o]?\.?\s*)?\d{1,5}[a-zA-Z]?(?:/[a-zA-Z0-9]+)?(?![\w])"),
))  # fmt: skip

# What may follow a street line, after a comma or a line break: the town and postcode.
_AFTER = re.compile(
    rf"(?:,[ \t]*|[ \t]*\n[ \t]*|[ \t]+)(?:"
    rf"{_CITY},?[ \t]+(?:{_STATES})[ \t]+\d{{5}}(?:-\d{{4}})?"  # New York, NY 10118
    rf"|{_CITY},?[ \t]+(?:AB|BC|MB|NB|NL|NS|NT|NU|ON|PE|QC|SK|YT)[ \t]+[A-Z]\d[A-Z] ?\d[A-Z]\d"
    rf"|{_CITY},?[ \t]+(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT)[ \t]+\d{{4}}"  # Melbourne VIC 3000
    rf"|{_CITY},?[ \t]+{_UK_POSTCODE}"  # London NW1 6XE
    rf"|(?:[A-Z]{{1,2}}-)?\d{{4,5}}(?:-\d{{3,4}})?[ \t]+{_CITY}(?:[ \t]+CEDEX(?:[ \t]+\d{{1,2}})?)?"
    rf"|[1-9]\d{{3}} ?[A-Z]{{2}}[ \t]+{_CITY}"  # 1015 CJ Amsterdam
    r")(?![\w])"
)  # fmt: skip
# Or, after a comma and to the end of the sentence, a town or two: "…, Victoria Island, Lagos".
_AFTER_TOWN = re.compile(
    rf",[ \t]*{_CITY}(?:,[ \t]*{_CITY})?(?=[ \t]*(?:[.;!?)\n]|\Z|,[ \t]*(?:[a-z]|\Z)))")
# "Flat 3, " or "Apt 5B, " before a street line belongs to it (looked for behind each one,
# since a pattern starting with it would be tried at every word of the text).
_UNIT_BEFORE = re.compile(rf"{_UNIT},?\s+\Z")
# A town and postcode that need no street before them, each after its own cheap hint.
_ALONE_HINTS = tuple(re.compile(h) for h in (
    rf",[ \t]+(?:{_STATES})[ \t]+\d{{5}}", r"\d[A-Z]{2}(?![\w])", r"[1-9]\d{3} ?[A-Z]{2}[ \t]",
))  # fmt: skip
_ALONE = tuple(re.compile(p) for p in (
    rf"(?<!\w){_CITY},[ \t]+(?:{_STATES})[ \t]+\d{{5}}(?:-\d{{4}})?(?!\d)",
    rf"(?<![\w\-]){_UK_POSTCODE}(?![\w\-])",
    rf"(?<![\w\-])[1-9]\d{{3}} ?[A-Z]{{2}}[ \t]+{_CITY}(?![\w])",
))  # fmt: skip
# After one of these, a postcode and town is an address even with no street before it.
_LABEL_HINTS = ("address", "adresse", "anschrift", "adres", "direcci", "indirizzo", "endereço",
                "morada", "ship to", "deliver to", "send to")
_LABEL = re.compile(r"(?i)(?:address|adresse|anschrift|adres|dirección|direccion|indirizzo"
                    r"|endereço|morada|ship to|deliver to|send to)[^\n]{0,40}\Z")
_POSTCODE_TOWN = re.compile(rf"(?<![\w\-])(?:[A-Z]{{1,2}}-)?\d{{4,5}}(?:-\d{{3}})?[ \t]+{_CITY}")
_DIGIT = re.compile(r"\d")


def find_addresses(text: str, tick: Tick = no_tick) -> list[tuple[int, int, str]]:
    """(start, end, key) of every postal address in ``text``; ``key`` is its letters and
    digits, case-folded."""
    if _DIGIT.search(text) is None:
        return []
    spans: list[tuple[int, int]] = []
    lowered = text.lower()
    for hints, pattern in zip(_HINTS, _STREETS, strict=True):
        if not any(h in lowered for h in hints):
            continue
        for m in pattern.finditer(text):
            tick(1)
            start, end = m.start(), m.end()
            unit = _UNIT_BEFORE.search(text, max(0, start - 24), start)
            if unit is not None:
                start = unit.start()
            more = _AFTER.match(text, end) or _AFTER_TOWN.match(text, end)
            if more is not None and more.end() - end <= 80:
                end = more.end()
            spans.append((start, end))
    for hint, pattern in zip(_ALONE_HINTS, _ALONE, strict=True):
        if hint.search(text) is None:
            continue
        for m in pattern.finditer(text):
            tick(1)
            spans.append(m.span())
    if any(h in lowered for h in _LABEL_HINTS):
        for m in _POSTCODE_TOWN.finditer(text):
            tick(1)
            if _LABEL.search(text, max(0, m.start() - 60), m.start()):
                spans.append(m.span())
    return [(s, e, _key(text[s:e])) for s, e in _merge(text, spans)]


def _merge(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    # Overlapping parts, and parts only a comma or a line break apart, are one address.
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and (s <= out[-1][1] or text[out[-1][1] : s].strip(" \t,\n") == ""
                    and s - out[-1][1] <= 3):
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _key(value: str) -> str:
    return "".join(c for c in value.casefold() if c.isalnum())
