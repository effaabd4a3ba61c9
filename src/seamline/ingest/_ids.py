"""Layer 1, ingest: identity numbers: passports, driving licences and national ids.

A value is taken as an identity number by one of these readings, the looser the reading the
more the value must prove:

1. **Right after its context word** ("passport no. 533219874", "Personalausweisnummer ist
   L01X00T47", "passport (GB 533817294)", "| Passport | N9541023 |"): the document's shape is
   enough; a list goes on ("Passports: 554508928 (me) and 635763688").
2. **A clause away** ("my passport, which I renewed last year, has the number 405957454";
   "die Ausweisnummer (steht oben rechts) ist …"), **before its word** ("192749706 is my
   passport number"), or **under a label below it** in a form ("Document type: Passport\\n
   Document number: …"): the shape, and the checksum where the document has one; a number
   of a thing in between ("order", "booking", "Bestellnummer", "tracking") cuts the reading.
3. **A strong format**, whose checksum holds (German passport and Personalausweis check
   digit, NL BSN 11-proof, IN Aadhaar Verhoeff, DE Steuer-ID, CA SIN, PT cartão de cidadão,
   the UK DVLA licence's date fields), with the document's word anywhere nearby.
4. **With no context at all**, only shapes no other number has, with their checksum: ES
   DNI/NIE, IT codice fiscale, FR NIR, BR CPF written with its dots, a spaced UK NINO.

A number right after a thing's label stays, whatever is near: order, ticket, customer,
tracking and invoice numbers, SKUs and versions are facts the model needs. "ID" alone is no
context word ("order ID 44321987").
"""

# Checksums come from python-stdnum (a maintained library of national number formats), which
# validates a value already cut out; finding the value in the text, by its context, is the
# part written here. Hand-written: the ICAO 9303 check digit of German passports and identity
# cards, and the UK DVLA licence's fields, which stdnum does not have.

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

from stdnum.br import cpf
from stdnum.ca import sin
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.in_ import aadhaar
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pt import cc

from seamline.ingest._phones import Tick, no_tick

Check = Callable[[str], bool]

_MRZ_VALUES = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}


def _mrz_ok(value: str) -> bool:
    """ICAO 9303 check digit (weights 7, 3, 1), the last character of a German passport or
    identity card number written with it."""
    v = _compact(value)
    total = sum(_MRZ_VALUES[c] * w for c, w in zip(v[:-1], itertools.cycle((7, 3, 1))))
    return v[-1].isdigit() and total % 10 == int(v[-1])


_DVLA = re.compile(r"[A-Z9]{5}(\d)(\d{2})(\d{2})\d[A-Z9]{2}\d[A-Z0-9]{2}(?:\d{2})?\Z")


def _dvla_ok(value: str) -> bool:
    """A UK driving licence: surname (padded with 9s), the birth date (month + 50 for
    women), initials, and check characters; the date fields must be a date."""
    m = _DVLA.match(_compact(value))
    if m is None:
        return False
    month, day = int(m.group(2)), int(m.group(3))
    return (1 <= month <= 12 or 51 <= month <= 62) and 1 <= day <= 31


_NINO_PREFIX = re.compile(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z](?<!BG|GB|NK|KN|TN|NT|ZZ)")


def _nino_ok(value: str) -> bool:
    """A UK National Insurance number: two letters HMRC issues (no D, F, I, Q, U, V, no O
    second, none of the pairs it never uses), six digits, A to D."""
    return _NINO_PREFIX.match(_compact(value)) is not None


def _stdnum(module: object) -> Check:
    is_valid: Callable[[str], bool] = module.is_valid  # type: ignore[attr-defined]
    return lambda v: bool(is_valid(v))


_DNI_OK, _NIE_OK = _stdnum(dni), _stdnum(nie)

_CHECKS: dict[str, Check] = {
    "mrz": _mrz_ok, "dvla": _dvla_ok, "nino": _nino_ok,
    "dni": lambda v: _DNI_OK(v) or _NIE_OK(v), "cf": _stdnum(codicefiscale),
    "nir": _stdnum(nir), "bsn": _stdnum(bsn), "steuer": _stdnum(idnr), "cpf": _stdnum(cpf),
    "aadhaar": _stdnum(aadhaar), "cc": _stdnum(cc),
    "sin": _stdnum(sin),
}


@dataclass(frozen=True, slots=True)
class _Shape:
    pattern: re.Pattern[str]
    check: str | None = None  # a key of _CHECKS
    free: bool = False  # found with no context at all when its check holds


def _shape(pattern: str, check: str | None = None, free: bool = False) -> _Shape:
    return _Shape(re.compile(pattern), check, free)


_PA_CHARS = "[CFGHJKLMNPRTVWXYZ0-9]"
_NIR = r"[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}"
_ALNUM = r"(?=[A-Z0-9\-]*\d)[A-Z0-9](?:[A-Z0-9]|-(?=[A-Z0-9])){4,22}"
_SPACED = r"[A-Z]?\d{1,5}(?: \d{2,5}){1,4}"  # "757 724 275", "A1234 56789 01234"
_DE_PASS = _shape(rf"[CFGHJK]{_PA_CHARS}{{8}}\d", "mrz")
_DE_PA = _shape(rf"[LMNPRTVWXY]{_PA_CHARS}{{8}}\d", "mrz")
_PT_CC = _shape(r"\d{8} ?\d ?[A-Z]{2}\d", "cc")
_NINO = _shape(r"[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]", "nino")
_DNI = _shape(r"\d{8}-?[A-Z]|[XYZ]-?\d{7}-?[A-Z]", "dni", free=True)
_CF_PATTERN = (r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPR-T][0-9LMNPQRSTUV]{2}[A-Z]"
               r"[0-9LMNPQRSTUV]{3}[A-Z]")
_CF = _shape(_CF_PATTERN, "cf", free=True)
_NIR_SHAPE = _shape(_NIR, "nir", free=True)
_NINO_SPACED = _shape(r"[A-Z]{2} \d{2} \d{2} \d{2} [A-D]", "nino", free=True)
_CPF = _shape(r"\d{3}\.\d{3}\.\d{3}-\d{2}", "cpf", free=True)


@dataclass(frozen=True, slots=True)
class _Doc:
    """A kind of document: the words that name it, the shapes of its number."""

    name: str
    words: str  # a regex alternation, case-insensitive
    stems: tuple[str, ...]  # one must be in the lower-cased text for the words to be looked for
    shapes: tuple[_Shape, ...]
    near_only: str = ""  # words that count only right before the value ("license W5562599")


_DOCS = (
    _Doc("passport",
         r"passports?|reisepass(?:es|nummer|-nr\.?)?|passeports?|pasaportes?|passaport[oi]"
         r"|passaportes?|paspoort(?:nummer)?|passnummer|passport#|passport_number",
         ("passport", "reisepass", "passeport", "pasaporte", "passaport", "paspoort",
          "passnummer"),
         (_DE_PASS, _shape(r"(?=[A-Z]*\d)[A-Z0-9]{6,12}"))),
    _Doc("licence",
         r"driver'?s? licen[cs]e|drivers licen[cs]e|driving licen[cs]e|licen[cs]e (?:no|number)"
         r"|dl ?#|dl number|dvla|führerschein(?:s|nummer)?|permis de conduire"
         r"|carnet de conducir|licencia de conducir|patente di guida|rijbewijs(?:nummer)?"
         r"|carta de condução|carteira de motorista",
         ("licen", "dl", "dvla", "führerschein", "permis de conduire", "carnet de conducir",
          "patente", "rijbewijs", "condução", "motorista"),
         (_shape(r"[A-Z9]{5}\d{6}[A-Z9]{2}\d[A-Z0-9]{2}(?: ?\d{2})?", "dvla"),
          _shape(_SPACED), _shape(_ALNUM)),
         near_only=r"licen[cs]e|DL|patente"),
    _Doc("nino", r"national insurance(?: number| no)?|ni number|ni no|nino",
         ("national insurance", "ni n", "nino"),
         (_NINO, _NINO_SPACED)),
    _Doc("id card",
         r"(?:national |government )?id(?:entity)? card(?: number| no)?|identity card"
         r"|national id(?:entity number)?|id number|id no|(?:personal)?ausweis(?:es|nummer"
         r"|-nr\.?)?|perso(?:-nr\.?)?|personalausweis-nr\.?|ausweisdokument"
         r"|carte d'identité|carte nationale d'identité|cni|documento de identidad"
         r"|número de identidad(?: de extranjero)?|carta d'identità|cartão de cidadão"
         r"|identiteitskaart|id-kaart",
         ("id card", "identity", "id n", "national id", "ausweis", "perso", "identité", "cni",
          "identidad", "identità", "cidadão", "identiteitskaart", "id-kaart"),
         (_DE_PA, _PT_CC, _shape(_ALNUM))),
    _Doc("steuer",
         r"steuer-?id|steuer-?identifikationsnummer|steueridentifikationsnummer|idnr|tax id"
         r"|tin|tax identification number",
         ("steuer", "idnr", "tax id", "tin", "tax identification"),
         (_shape(r"\d{2} ?\d{3} ?\d{3} ?\d{3}", "steuer"),)),
    _Doc("dni", r"dni|nie|nif", ("dni", "nie", "nif"), (_DNI,)),
    _Doc("sin", r"sin|social insurance number|numéro d'assurance sociale",
         ("sin", "social insurance", "assurance sociale"),
         (_shape(r"\d{3}[ \-]?\d{3}[ \-]?\d{3}", "sin"),)),
    _Doc("bsn", r"bsn|burgerservicenummer|sofinummer|sofi-nummer",
         ("bsn", "burgerservicenummer", "sofi"),
         (_shape(r"\d{4}\.\d{2}\.\d{3}|\d{3}[ .]?\d{3}[ .]?\d{3}", "bsn"),)),
    _Doc("nir",
         r"(?:numéro|n°|no|nº) de sécurité sociale|sécurité sociale|numéro de sécu|sécu|nir"
         r"|insee|carte vitale|social security number \(fr\)",
         ("sécurité sociale", "sécu", "nir", "insee", "vitale", "social security number (fr)"),
         (_NIR_SHAPE,)),
    _Doc("cf", r"codice fiscale|cod\. fisc\.|c\.f\.|cf",
         ("codice fiscale", "cod. fisc", "c.f.", "cf"),
         (_CF,)),
    _Doc("cpf", r"cpf", ("cpf",),
         (_CPF, _shape(r"\d{11}", "cpf"))),
    _Doc("aadhaar", r"aadhaa?r(?: card| number| no)?|uidai", ("aadhaar", "aadhar", "uidai"),
         (_shape(r"[2-9]\d{3} ?\d{4} ?\d{4}", "aadhaar"),)),
)  # fmt: skip

_LETTER_BEFORE = r"(?<![^\W\d_])"
_LETTER_AFTER = r"(?![^\W\d_])"
_WORDS = tuple(re.compile(_LETTER_BEFORE + "(?:" + d.words + ")" + _LETTER_AFTER, re.IGNORECASE)
               for d in _DOCS)
_NEAR_ONLY = tuple(re.compile(_LETTER_BEFORE + "(?:" + d.near_only + ")" + _LETTER_AFTER)
                   if d.near_only else None for d in _DOCS)

# Between a context word and its value: punctuation, "no.", "number", "is", "est le",
# "(GB ", "(Illinois, ", "(old):", a table's "|".
_FILLER = (r"no|nr|n|number|num|núm|nummer|numéro|número|numero|n°|nº|#|is|es|est|ist|è|é"
           r"|lautet|lauten|card|du|de|do|da|van|my|mein|meine|mon|ma|mi|il|la|le|lo|el|o|a"
           r"|mio|meu|c'est|it's|ici|is|was|gb|gbr|uk|usa|us|deu|fra|esp|ita|nld|ind|prt|bra")
_PUNCT = r"[\s:#.\-–—=(),|_/]*"
_LEAD = re.compile(
    _PUNCT + r"(?:(?:" + _FILLER + r")(?!\w)\.?" + _PUNCT
    + r"|[a-z]{1,12}\)" + _PUNCT + r"|[A-Z][a-z]{2,15}," + _PUNCT + r"){0,4}",
    re.IGNORECASE)
_REACH = 40  # characters from a context word to its value, read this way
_FAR = 100  # the same, for a value a clause away
_BACK = 70  # for a value before its word
_WINDOW = (150, 80)  # before and after a strong-format value, where its word may be

# "order ID", "ticket id number", "Bestellnummer", "tracking": the number of a thing.
_THING_WORDS = (
    r"order|orders|ticket|customer|transaction|account|user|employee|tracking|invoice|case"
    r"|request|session|device|client|merchant|vendor|product|item|message|event|job|run"
    r"|build|trace|correlation|workspace|tenant|org|organi[sz]ation|project|api|app"
    r"|application|payment|reference|ref|booking|reservation|confirmation|member|policy"
    r"|store|shop|sku|part|model|serial|version|release|contract|quote|po|purchase|phone"
    r"|tel|telephone|mobile|fax|iban|bic|swift|otp|pin|shipment|parcel|package|delivery"
    r"|pedido|pedidos|factura|seguimiento|reserva|cliente|referencia|solicitud|contrato"
    r"|commande|facture|suivi|réservation|référence|dossier|demande|contrat|colis|ordine"
    r"|fattura|tracciamento|prenotazione|riferimento|richiesta|contratto|spedizione"
    r"|buchung|sendung|vorgang|anfrage|vertrag|auftrag|lieferung|paket|konto|nota fiscal"
    r"|bestelling|levering|pakket|encomenda|fatura|rastreamento|handy|telefon|téléphone"
    r"|teléfono|telefono|portable|móvil|cellulare")
_THING_STEMS = (r"bestell|bestel|kunden|rechnung|sendungs|vorgangs|ticket|vertrags|auftrags"
                r"|buchungs|order|factuur|klant|referentie|artikel|serien|liefer|tracking")
_THING = re.compile(_LETTER_BEFORE + r"(?:(?:" + _THING_WORDS + r")" + _LETTER_AFTER + r"|(?:"
                    + _THING_STEMS + r")[^\W\d_]*)", re.IGNORECASE)
# A thing's label right before a value (after the filler): "order ID is", "Kundennummer".
_THING_LABEL = re.compile(
    r"(?:" + _THING.pattern + r")\.?(?:" + _PUNCT + r"(?:id|no|nr|number|num|nummer|numéro"
    r"|número|numero|n°|nº|#|is|es|est|ist|è|lautet|was|de|du|di|del|the|my|mein|mon|mi"
    r"|il|la|le|el|o|a)" + _LETTER_AFTER + r"\.?)*" + _PUNCT + r"\Z", re.IGNORECASE)
# The label of a form's row that holds a number: "Document number:", "Numéro :", "No.:".
_ROW_LABEL = re.compile(
    r"(?<![^\s(|,;.?!])(?:(?:document|doc|dokument|documento|id|identity|card)[ \t_\-]*)?"
    r"(?:number|no|nr|num|nummer|numéro|número|numero|n°|nº|dokumentennummer|documentnummer)"
    r"(?:[ \t]+(?:documento|document|du document|de documento))?\.?[ \t]*[:=#\-–][ \t]*",
    re.IGNORECASE)
# Words that make the document's word a thing: "passport holder", "ID card reader".
_WORD_AS_THING = re.compile(
    r"[ \t\-]+(?:holder|holders|cover|case|wallet|photo|photos|picture|scanner|reader|upload"
    r"|uploads|api|app|field|fee|fees|office|renewal|application|validation|check|format"
    r"|template|module|service|leser|hülle|foto|antrag|termin|étui|funda|custodia|hoes"
    r"|otp|verification)" + _LETTER_AFTER, re.IGNORECASE)
_CLAUSE_AFTER = re.compile(r"[ \t]*(?:number|no|nummer|numéro|número|numero)?\.?[ \t]*"
                           r"(?:[.,;:!?)\n]|\Z|[ \t]+(?:in case|if|for|as|please|bitte|svp"
                           r"|s'il|por favor|per favore|sorry))", re.IGNORECASE)
_ONLY_WORDS = re.compile(r"[\s,–—\-:;()]*(?:[^\W\d_]+(?:['’][^\W\d_]+)?[\s,–—\-:;()]+){0,8}\Z")
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")
_ABBREVIATIONS = frozenset(("no", "nr", "n", "núm", "num", "nº", "exp", "art", "dr", "st"))
_LIST_ON = re.compile(r"[ \t]*(?:\([^()\n]{0,20}\))?[ \t]*(?:,|;|/|&|and|und|et|y|e|en|og)"
                      r"[ \t]+(?:\([^()\n]{0,20}\)[ \t]*)?")
# Words near a strong format that say it is someone's number: its document's words, or these.
_GENERIC = (r"id|ids|identity|identité|identidad|identità|identiteit|identification"
            r"|identifikation|ident|document|documento|dokument|kyc|national|citizen"
            r"|resident|residency|personal")
_GENERIC_STEMS = ("ident", "document", "dokument", "kyc", "national", "citizen", "resident",
                  "personal")
_WEAK = tuple(re.compile(_LETTER_BEFORE + "(?:" + d.words + (f"|{d.near_only}" if d.near_only
                                                               else "") + "|" + _GENERIC + ")"
                         + _LETTER_AFTER, re.IGNORECASE) for d in _DOCS)
_STRONG = tuple(tuple(s for s in d.shapes if s.check is not None) for d in _DOCS)
_BOUNDARY_BEFORE = re.compile(r"[A-Za-z0-9]|[\-./][A-Za-z0-9]")
# Found with no context: each free shape with its check. The first character is a class and
# the boundary a lookbehind after it, so that the scan skips the positions where no value can
# start (a pattern opening with a lookbehind is tried at every position).
_FREE = (
    (_DNI, re.compile(r"[0-9XYZ](?<![A-Za-z0-9][0-9XYZ])(?:(?<=[0-9])\d{7}-?[A-Z]"
                      r"|(?<=[XYZ])-?\d{7}-?[A-Z])")),
    (_CF, re.compile(r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]{5}" + _CF_PATTERN.removeprefix("[A-Z]{6}"))),
    (_NIR_SHAPE, re.compile(r"[12](?<![0-9][12])" + _NIR[4:])),
    (_NINO_SPACED, re.compile(r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z] \d{2} \d{2} \d{2} [A-D]")),
    (_CPF, re.compile(r"[0-9](?<![0-9.][0-9])\d{2}\.\d{3}\.\d{3}-\d{2}")),
)


def _has_id_word(lowered: str) -> bool:
    """Whether "id" stands as a word in ``lowered`` ("user ID", "ID:"), not inside one."""
    at = lowered.find("id")
    while at >= 0:
        if (at == 0 or not lowered[at - 1].isalpha()) and not lowered[at + 2 : at + 3].isalpha():
            return True
        at = lowered.find("id", at + 2)
    return False


def find_ids(text: str, tick: Tick = no_tick) -> list[tuple[int, int, str]]:
    """(start, end, key) of every identity number in ``text``; ``key`` is the number's
    letters and digits, upper-cased."""
    out: dict[int, tuple[int, int, str]] = {}
    lowered = text.lower()
    # Where a stem is, the context words are looked for around it: a case-insensitive
    # alternation scanned over the whole text is tried at every position, which costs more
    # than everything else here. (Lower-casing may change a text's length, rarely: then the
    # whole text is scanned.)
    same = len(lowered) == len(text)
    present = [False] * len(_DOCS)
    for i, doc in enumerate(_DOCS):
        windows = _windows(lowered, doc.stems) if same else [(0, len(text))]
        near = _NEAR_ONLY[i]
        done = 0
        for lo, hi in windows:
            for m in _WORDS[i].finditer(text, max(lo, done), hi):
                tick(1)
                present[i] = True
                _read_context(text, doc, m.start(), m.end(), out, tick)
                done = m.end()
            if near is not None:
                for m in near.finditer(text, lo, hi):
                    tick(1)
                    present[i] = True
                    _read_near(text, doc, m.start(), m.end(), out)
    generic = any(stem in lowered for stem in _GENERIC_STEMS) or _has_id_word(lowered)
    for i, doc in enumerate(_DOCS):
        if _STRONG[i] and (present[i] or generic):
            _read_strong(text, i, out, tick)
    for shape, pattern in _FREE:
        for m in pattern.finditer(text):
            tick(1)
            if m.start() not in out and _ends(text, m.end()) and _valid(shape, m.group()):
                out[m.start()] = (m.start(), m.end(), _compact(m.group()))
    return _outer(out)


def _windows(lowered: str, stems: tuple[str, ...]) -> list[tuple[int, int]]:
    """Stretches of the text around each place a stem is, merged; empty when none is."""
    spots = []
    for stem in stems:
        at = lowered.find(stem)
        while at >= 0:
            spots.append((max(0, at - 24), at + len(stem) + 40))
            at = lowered.find(stem, at + 1)
    if not spots:
        return []
    spots.sort()
    merged = [spots[0]]
    for lo, hi in spots[1:]:
        if lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _read_context(text: str, doc: _Doc, ws: int, we: int,
                  out: dict[int, tuple[int, int, str]], tick: Tick) -> None:
    """Every reading of the value of the context word at ``text[ws:we]``."""
    if _THING_LABEL.search(text, max(0, ws - 24), ws) or _WORD_AS_THING.match(text, we):
        return  # "order ID …", "passport holder"
    if _read_near(text, doc, ws, we, out):
        return
    tick(1)
    if _read_far(text, doc, we, out):
        return
    _read_before(text, doc, ws, we, out)
    _read_form(text, doc, we, out)


def _read_near(text: str, doc: _Doc, ws: int, we: int,
               out: dict[int, tuple[int, int, str]]) -> bool:
    if _THING_LABEL.search(text, max(0, ws - 24), ws):
        return False
    lead = _LEAD.match(text, we, we + _REACH)
    at = lead.end() if lead else we
    if at - we > _REACH:
        return False
    end = _match(text, doc, at, checked=False)
    if end is None:
        return False
    _take(text, at, end, out)
    _read_list(text, doc, end, out)
    return True


def _read_list(text: str, doc: _Doc, end: int, out: dict[int, tuple[int, int, str]]) -> None:
    """"Passports: 554508928 (me) and 635763688 (my son)": the next values of a list."""
    for _ in range(4):
        sep = _LIST_ON.match(text, end, end + 40)
        if sep is None:
            return
        lead = _LEAD.match(text, sep.end(), sep.end() + 12)
        at = lead.end() if lead else sep.end()
        nxt = _match(text, doc, at, checked=True)
        if nxt is None:
            return
        _take(text, at, nxt, out)
        end = nxt


def _read_far(text: str, doc: _Doc, we: int, out: dict[int, tuple[int, int, str]]) -> bool:
    """A value later in the clause of the word: up to the end of its sentence or line, not
    past a thing's name ("the passport fee for booking 4411…")."""
    stop = _clause_end(text, we, min(len(text), we + _FAR))
    for m in _CANDIDATE.finditer(text, we, stop):
        if _THING.search(text, we, m.start()):
            return False
        end = _match(text, doc, m.start(), checked=True)
        if end is not None and end <= stop + 1:
            _take(text, m.start(), end, out)
            return True
    return False


_CANDIDATE = re.compile(r"(?<![A-Za-z0-9\-./])[A-Z0-9](?=[A-Z0-9 .\-]{4})")


def _clause_end(text: str, start: int, limit: int) -> int:
    for m in _SENTENCE_END.finditer(text, start, limit):
        if m.group() == "\n":
            return m.start()
        word = text[max(start, m.start() - 4) : m.start()].rsplit(None, 1)[-1:]
        if not word or word[0].lower().lstrip("(") not in _ABBREVIATIONS:
            return m.start()
    return limit


def _read_before(text: str, doc: _Doc, ws: int, we: int,
                 out: dict[int, tuple[int, int, str]]) -> None:
    """"192749706 is my passport number.": a value before its word, in the same clause, the
    word ending the clause (not "… the passport photo")."""
    if _CLAUSE_AFTER.match(text, we) is None:
        return
    lo = max(0, ws - _BACK)
    line = text.rfind("\n", lo, ws)
    lo = line + 1 if line >= 0 else lo
    best = None
    for m in _CANDIDATE.finditer(text, lo, ws):
        end = _match(text, doc, m.start(), checked=True)
        if end is None or end > ws:
            continue
        between = text[end:ws]
        if _ONLY_WORDS.fullmatch(between) and not _THING.search(between) and not (
                _THING_LABEL.search(text, max(0, m.start() - 32), m.start())):
            best = (m.start(), end)
    if best is not None:
        _take(text, *best, out)


def _read_form(text: str, doc: _Doc, we: int, out: dict[int, tuple[int, int, str]]) -> None:
    """"Document type: Passport\\n…\\nDocument number: 745822842": the number's label later
    on the word's line or on one of the next lines of the same block, the word above it."""
    limit = min(len(text), we + 150)
    block = text.find("\n\n", we, limit)
    limit = block if block >= 0 else limit
    for m in _ROW_LABEL.finditer(text, we, limit):
        if _THING.search(text, we, m.start()):
            return
        end = _match(text, doc, m.end(), checked=True)
        if end is not None:
            _take(text, m.end(), end, out)
            return


def _read_strong(text: str, i: int, out: dict[int, tuple[int, int, str]], tick: Tick) -> None:
    """Strong formats, their checksum holding, with their document's word (or a word such as
    "ID", "identity", "document") nearby and no thing's label right before."""
    before, after = _WINDOW
    for shape in _STRONG[i]:
        for m in shape.pattern.finditer(text):
            tick(1)
            s, e = m.start(), m.end()
            if s in out or _BOUNDARY_BEFORE.fullmatch(text[max(0, s - 1) : s]) or (
                    s >= 2 and _BOUNDARY_BEFORE.fullmatch(text[s - 2 : s])) or not _ends(text, e):
                continue
            if not _valid(shape, m.group()) or _THING_LABEL.search(text, max(0, s - 32), s):
                continue
            if _WEAK[i].search(text, max(0, s - before), min(len(text), e + after)):
                _take(text, s, e, out)


def _match(text: str, doc: _Doc, at: int, *, checked: bool) -> int | None:
    """Where a value of ``doc``'s shapes starting at ``at`` ends (None: none does); with
    ``checked``, a shape that has a checksum must pass it."""
    if at > 0 and (text[at - 1].isalnum() or _THING_LABEL.search(text, max(0, at - 32), at)):
        return None
    for shape in doc.shapes:
        m = shape.pattern.match(text, at)
        if m is None or not _ends(text, m.end()):
            continue
        if checked and shape.check is not None and not _valid(shape, m.group()):
            return None  # its shape, not its check: no looser shape reads a part of it
        if not checked or shape.check is not None or _plausible(m.group()):
            return m.end()
    return None


def _plausible(value: str) -> bool:
    # A value read loosely without a checksum: long enough, and no year or plain count.
    compact = _compact(value)
    return len(compact) >= 6 and not (compact.isdigit() and len(compact) <= 4)


def _ends(text: str, end: int) -> bool:
    """Whether a value may end at ``end``: no letter or digit glued on, and no "-7", ".5"."""
    if end >= len(text):
        return True
    c = text[end]
    if c.isalnum():
        return False
    return not (c in "-./" and end + 1 < len(text) and text[end + 1].isalnum())


def _valid(shape: _Shape, value: str) -> bool:
    return shape.check is None or _CHECKS[shape.check](value)


def _take(text: str, start: int, end: int, out: dict[int, tuple[int, int, str]]) -> None:
    out[start] = (start, end, _compact(text[start:end]))


def _outer(out: dict[int, tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    # Two readings may overlap ("27 185 809 366" and its tail): the one starting first wins.
    kept: list[tuple[int, int, str]] = []
    for span in sorted(out.values()):
        if kept and span[0] < kept[-1][1]:
            if span[1] - span[0] > kept[-1][1] - kept[-1][0] and span[0] == kept[-1][0]:
                kept[-1] = span
            continue
        kept.append(span)
    return kept


def _compact(value: str) -> str:
    return "".join(c for c in value.upper() if c.isalnum())
