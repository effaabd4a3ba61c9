"""Layer 1, ingest: finding people's names, by context rules first and the model second.

A name is a run of capitalised words ("Priya Raman", "Jean-Baptiste Rousseau", "Peter van der
Berg"). Runs are read in their context: a title before ("Dr. Patel"), a greeting ("Hi Sarah,"),
a sign-off line above ("Thanks!\\nRenee"), a label ("Name:", "account holder"), the last line of
a message, or a word that goes with people ("spoke with …", "… said"). A run with no such
context is a name when the lexicon says so (a given name, then a family name or an unknown
word); in English text, a run that neither settles goes to the on-device model (``_ner``).
Names once found are found again elsewhere in the text, and in the lists they are part of.
Japanese names are found by their honorific (様, さん) or as the closing line of a message.
"""

# Why rules before the model: the model costs ~30 ms per KB here, so it reads only short
# windows around the runs the rules cannot settle; and it reads company names as people
# ("Contoso") and German nouns as names, which the rules know better. The work is linear in
# the length of the text: each run looks at a bounded window around itself.

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from seamline.ingest import _lexicon, _ner, _products
from seamline.ingest._people_words import (
    DASH_SIGN,
    GREETINGS,
    KNOWN_ORGS,
    LABELS,
    NOT_NAMES,
    OPENERS,
    ORG_PREFIXES,
    ORG_SUFFIXES,
    SIGN_OFF_LINE,
    SIGN_OFFS,
    SPEECH_AFTER,
    TITLE_WORDS,
    TITLES,
    VERB_BEFORE,
    WEAK_AFTER,
    WEAK_WORDS,
)
from seamline.ingest._people_words import norm as _plain_norm
from seamline.ingest._phones import CHECK, Tick, no_tick

# A word's normal form and its lexicon flags are asked for two or three times per capitalised
# word, and the same words come back text after text: both are cached (the lexicon never
# changes in a process).
norm = functools.lru_cache(maxsize=1 << 16)(_plain_norm)


def _split(words: str, sep: str | None = None) -> list[str]:
    # Word lists written as one string: easier to read and to extend than a list literal.
    return words.split(sep)


# Capital letters (Latin, Greek, Cyrillic, Vietnamese): `re` has no \p{Lu}.
_UPPER = "".join(c for c in map(chr, [*range(0x530), *range(0x1E00, 0x1F00)]) if c.isupper())
_U = f"[{_UPPER}]"
_L = r"[^\W\d_]"
_TOKEN = re.compile(rf"(?<![\w'’\-]){_U}{_L}*(?:['’]{_U}{_L}+)?(?:-{_U}{_L}+)*(?![\w\-])")
_PARTICLES = frozenset(_split("van von der den de del della di da das do dos du la le al bin ibn ter "
                       "ten zu af av ap"))
_GAP = re.compile(r"[ \u00a0](?:(?:" + "|".join(_PARTICLES) + r")[ \u00a0]){0,2}\Z")
_INITIALS_AT_END = re.compile(rf"(?:(?<![\w.]){_U}\.[ \t\u00a0]?){{1,3}}\Z")
_NOT_TEAM_AFTER = re.compile(r"\A[ \t]+(?:team|support|folks|all|everyone|crew|people|squad"
                             r"|and team|& team|staff)\b", re.IGNORECASE)
_LOWER_GREETING = re.compile(r"(?:^|(?<=[\s>]))(?:hi|hey|hello|thanks|thx|ty|cheers|hallo|salut"
                             r"|coucou|hola|ciao|oi|olá|danke|merci|gracias|grazie)[ \t,]+"
                             r"([a-zà-ÿ]{2,20})(?![\w@.])", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w.@])@([A-Za-z][A-Za-z0-9_.\-]{1,30})(?![\w@])")
_SENTENCE_END = re.compile(r"(?:[.!?:;]\s+|\n\s*|^\s*)\Z")
_STRONG_LABELS = frozenset(LABELS) - frozenset(_split(
    "spoke to|spoke with|talked to|met with|call with|meeting with|demo with|intro call with"
    "|exit call with|chiamata con|reunión con|rendez-vous avec|rdv avec|termin mit|gespräch mit"
    "|ligação com|reunião com|kontakt mit|per|from|to|cc|bcc|lead|owner", "|"))
_COLON_ONLY = frozenset(_split("from|to|cc|bcc|lead|owner|name|contact|customer|kunde|nom|nome|naam"
                        "|member|partner name|agent|guest", "|"))
# "City: Austin", "Company: Lagos Fintech": the label says what the value is, and it is no person.
_OTHER_LABELS = frozenset(_split(
    "city|town|state|country|company|organisation|organization|firm|employer|firma|société"
    "|empresa|azienda|plan|product|role|title|job title|position|department|industry|source"
    "|region|province|county|stadt|ort|land|ville|pays|ciudad|país|città|paese|cidade|brand"
    "|vendor|store|shop|street|address|project|workspace|browser|device|os", "|"))
_LINE_TAIL = re.compile(r"\A[ \t]*(?:[,|–—\-/][^\n]{0,60})?[ \t.!]*\Z")
_LIST_SEP = re.compile(r"\A(?:,[ \t]*|[ \t]*(?:and|or|&|und|oder|et|ou|y|o|e|en|of|og|och|i|és)"
                       r"[ \t]+|,[ \t]*(?:and|or|&|und|oder|et|ou|y|o|e|en)[ \t]+)\Z", re.IGNORECASE)
_CJK_NAME = "[\u4e00-\u9fff\u3040-\u309f\u30a0-\u30ff]"
_HONORIFIC = re.compile(r"([\u4e00-\u9fff\u30a0-\u30ff]{1,5})(?:様|さま|さん|殿|先生|くん|君|ちゃん)")
_NOT_HONOURED = frozenset(_split("皆 客 各位 担当 担当者 社員 お客 皆々 職員 会員 御中"))
_CJK_LINE = re.compile(rf"^[ \t\u3000]*({_CJK_NAME}{{2,6}})[ \t\u3000]*$", re.MULTILINE)
_CJK_CLOSERS = frozenset(_split("以上 敬具 草々 よろしく 宜しく よろしくです お願いします 拝啓"))
_CJK_CLOSING_LINE = re.compile(r"(?:よろしくお願い(?:いた)?します|宜しくお願いします|以上|敬具)[。.!！]*$")
_EN_WORDS = frozenset(_split("the and to of is it you my for on in this that we have i was with can "
                      "please our not be are but me your has will would just"))
_OTHER_WORDS = frozenset(_split(
    "der die das und ist nicht ich sie mit für bitte wir ein eine auf den dem le la les et est "
    "je vous pour pas une des nous merci sur du el los las que por para una es mi con gracias "
    "del se il che di per non sono della grazie o os não uma com meu minha obrigado em do da "
    "het een niet van ik mijn voor dat zijn wordt kunt"))
_WORD = re.compile(r"[a-zà-ÿ]+")
_REACH = 64  # characters of context looked at on each side of a run
NER_CAP = 3000  # characters of windows one text may hand to the model


@dataclass(slots=True)
class _Run:
    tokens: list[tuple[int, int]]  # (start, end) of each capitalised word
    start: int
    end: int
    decided: bool = False
    person: bool = False
    gated: bool = False  # left to the model
    vetoed: bool = False  # its context says no person ("City: …", "May 3"): never spread to
    cut: bool = False  # capitalised words after it were dropped ("Rose" of "Rose Gold")
    raw: tuple[int, int] = (0, 0)  # (start, end) before its titles and openers were trimmed


# A chat transcript's speaker lines: "Pat: can you check?", "Aurore : oui".
_SPEAKER_LINE = re.compile(rf"^[ \t>]*({_U}{_L}+)[ \t\u00a0]?:[ \t]+(?![\d\s])", re.MULTILINE)
_SPEAKER_AFTER = re.compile(r"[ \t\u00a0]?:[ \t]+(?![\d\s])")
_PROSE = re.compile(r"(?:[a-zà-ÿ]+[ \t]+){3}")  # three lower-case words: a sentence
_DIGIT_AFTER = re.compile(r"[ \t\u00a0]+\d|[ \t]*[\-/.]\d")  # "May 3", "June 2024"
_AMBIGUOUS = _lexicon.AMBIGUOUS_GIVEN
# Ambiguous given names that are also context words (months): names only where a greeting
# or a sign-off says so ("Hi May,", "Best,\nJune Park").
_NAMEABLE = _AMBIGUOUS & (NOT_NAMES | TITLE_WORDS) - GREETINGS - SIGN_OFFS - TITLES - LABELS


def find_people(text: str, tick: Tick = no_tick) -> list[tuple[int, int, str]]:
    """(start, end, key) of every person's name in ``text``; ``key`` is the name normalised
    (titles left out, case folded), so that two spellings of one name share a placeholder."""
    out: list[tuple[int, int, str]] = []
    if _ASCII_UPPER.search(text) is not None or not text.isascii():
        out += _latin_names(text, tick)
    if "@" in text or any(g in text.lower() for g in ("hi ", "hey ", "thanks ", "thx ")):
        out += _lowercase_names(text)
    if not text.isascii():
        out += _cjk_names(text)
    return out


_ASCII_UPPER = re.compile("[A-Z]")


def _runs(text: str, tick: Tick) -> Iterator[_Run]:
    run: list[tuple[int, int]] = []
    for m in _TOKEN.finditer(text):
        tick(1)
        if run and m.start() - run[-1][1] <= 12 and _GAP.match(text, run[-1][1], m.start()) \
                and len(run) < 6 and (m.start() - run[-1][1] == 1 or _surname(m.group())):
            run.append(m.span())
            continue
        if run:
            yield _Run(run, run[0][0], run[-1][1])
        run = [m.span()]
    if run:
        yield _Run(run, run[0][0], run[-1][1])


def _surname(word: str) -> bool:
    # "Maria da Silva", "Peter van der Berg": a particle joins a family name, not a company
    # ("Thiago Almeida da Natura").
    f = _flags(word)
    return "S" in f or "G" in f


@functools.lru_cache(maxsize=1 << 16)
def _flags(word: str) -> str:
    f = _lexicon.flags(word)
    if not f and "-" in word:  # "Okafor-Bello": what its parts are
        f = "".join(sorted({c for part in word.split("-") for c in _lexicon.flags(part)}))
    return f


def _is_word(f: str, word: str = "") -> bool:
    return "W" in f and "G" not in f and "S" not in f or bool(word) and _noun_like(word, f)


def _is_noun(f: str) -> bool:
    return "N" in f and "G" not in f and "S" not in f


# The endings of abstract nouns, which name teams and departments, not people:
# "Onboarding", "Localisation", "Verwaltung", "Contabilidad", "Facturation", "Assistenza".
# (str.endswith on a tuple: a regular expression anchored at the end is tried at every
# position of the word.)
_NOUN_ENDINGS = tuple(_split("ing tion sion ment ness ity ship ology ance ence ics ung heit keit "
                             "schaft ción sión dad zione zza enza ção ssão dade ité ismo ismus"))


def _noun_like(word: str, f: str) -> bool:
    """A word no name list knows, with the ending of an abstract noun; "-ing" only after an
    English word ("Onboarding", "Invoicing"), so that "Xiaoming" stays a name."""
    if "G" in f or "S" in f or len(word) < 6:
        return False
    low = word.casefold()
    if not low.endswith(_NOUN_ENDINGS):
        return False
    if not low.endswith("ing"):
        return True
    stem = word[:-3].casefold()
    tries = (stem, stem + "e", stem[:-1], stem[2:], stem[3:])  # "onboard" ends in "board"
    return any("W" in _lexicon.flags(x) for x in tries if len(x) >= 4)


def _camel(word: str) -> bool:
    # "HubSpot", "PayPal", "BambooHR": products. "McDonald", "DeShawn", "O'Neil" and
    # "Osei-Bonsu" are names: each part of a name is capitalised once, after its prefix.
    if word.isupper():
        return len(word) > 1
    for part in word.split("-"):
        inner = part[1:].replace("'", "").replace("’", "")
        if any(c.isupper() for c in inner) and not _NAME_PREFIX.match(part):
            return True
    return False


_NAME_PREFIX = re.compile(rf"(?:Mc|Mac|De|Di|Da|La|Le|Van|Von|O['’]|D['’]|N['’]|L['’]){_U}[^\W\d_]*\Z")


def _latin_names(text: str, tick: Tick) -> list[tuple[int, int, str]]:
    english = _english(text)
    chat = ":" in text and _transcript(text)
    kept: list[_Run] = []
    for run in _runs(text, tick):  # one at a time: most are dropped at once
        tick(1)
        if len(run.tokens) == 1:  # most runs: one word, most often a word and no name
            word = text[run.start : run.end]
            w = norm(word)
            if w in _DOCUMENT_WORDS:
                continue  # "Reisepass: …", "Dokumentennummer: …": a form's label
            if w in _CONTEXT_WORDS or len(w) == 1 or w in TITLE_WORDS or w in ORG_SUFFIXES:
                if w in _NAMEABLE and _named_here(text, run):  # "Hi May,", "Best,\nDean"
                    run.decided = run.person = True
                    kept.append(run)
                continue
            if _noun_like(word, _flags(word)):
                continue  # "Thanks,\nOnboarding": a team
            if _is_word(_flags(word)) and w not in _lexicon.AMBIGUOUS_GIVEN:
                if _named_here(text, run):  # "Thanks,\nBalsa", "Hi Hope,": a word as a name
                    run.decided = run.person = True
                    kept.append(run)
                continue
        run.raw = (run.start, run.end)
        if _trim(text, run):
            _decide(text, run, english, chat)
            if run.person or run.gated:
                _product(text, run)
            kept.append(run)
    gated = [r for r in kept if r.gated and not r.decided]
    if gated:
        tick(CHECK)
        _ask_model(text, gated)
    for a, b in itertools.pairwise(kept):  # "Raj or Kim?": two names side by side
        if not (a.person and b.person) and 0 < b.start - a.end <= 8 and _LIST_SEP.match(
                text[a.end : b.start]) and not (a.vetoed or b.vetoed) and (all(
                    r.person or _maybe_name(text, r) or _full_name(text, r) for r in (a, b)
                ) and any(r.person or _name_like(text, r, strict=False) for r in (a, b))
                or a.person and _greeted_pair(text, a, b)) and not (
                _product(text, a) or _product(text, b)):
            a.person = b.person = a.decided = b.decided = True
    found = [r for r in kept if r.person]
    if found:
        _spread(text, kept, found)
        found = [r for r in kept if r.person]
    return [(r.start, r.end, _key(text, r)) for r in found]


def _product(text: str, run: _Run) -> bool:
    """Whether ``run`` names a product ("a box of Earl Grey", "Mrs. Meyer's hand soap", "my
    Taylor guitar"); then it is no person, and no name found elsewhere is spread to it.

    Asked only of the runs about to become people (a few per text), with the words of the
    run before its titles were trimmed ("out of Dr Pepper") and after ("Mrs. Meyer's")."""
    if run.vetoed:
        return True
    spans = {run.raw, (run.start, run.end)} if run.raw[1] else {(run.start, run.end)}
    if not any(_products.is_product(text, a, b) for a, b in spans) or _greeted(text, run):
        return False
    run.decided = run.vetoed = True
    run.person = run.gated = False
    return True


def _greeted(text: str, run: _Run) -> bool:
    """Whether a greeting comes right before ``run``, or before the name it is paired with
    ("Hi Ben & Jerry,"): a greeting addresses people, never products."""
    line = text[max(0, run.start - _REACH) : run.start].rsplit("\n", 1)[-1]
    words = [w.strip(",!") for w in line.casefold().split()]
    if len(words) >= 2 and words[-1] in ("&", "and", "und", "et", "y", "e"):
        words = words[:-2]
    return any(" ".join(words[-k:]) in GREETINGS for k in (1, 2, 3) if len(words) >= k)


def _named_here(text: str, run: _Run) -> bool:
    """Whether ``run`` stands where only a name stands: right after a greeting on its line
    ("Hi Hope,"), or alone on the line after a sign-off ("Thanks,\nBalsa")."""
    s, e = run.start, run.end
    before = text[max(0, s - _REACH) : s]
    nl = before.rfind("\n")
    before_line = before[nl + 1 :]
    after = text[e : e + _REACH]
    tail = _Tail(before_line)
    if tail.bare(",!") and tail.phrase(GREETINGS) and re.match(r"[ \t]*[,!:\n]", after):
        return True
    if nl < 0 or before_line.strip(" \t>") or not re.match(r"[ \t,.!]*(?:\n|\Z)", after):
        return False
    prev = _previous_line(text, s - len(before_line))
    return prev is not None and SIGN_OFF_LINE.fullmatch(prev) is not None


def _english(text: str) -> bool:
    head = text[:2000].lower()
    en = other = 0
    for w in _WORD.findall(head):
        en += w in _EN_WORDS
        other += w in _OTHER_WORDS
    return en >= other


_CONTEXT_WORDS = GREETINGS | SIGN_OFFS | TITLES | NOT_NAMES | LABELS
# The names of identity documents, which label a form's rows (the numbers are _ids.py's).
_DOCUMENT_WORDS = frozenset(_split(
    "passport passports reisepass reisepassnummer passeport pasaporte passaporto passaporte "
    "paspoort paspoortnummer personalausweis personalausweisnummer ausweis ausweisnummer "
    "ausweisdokument dokumentennummer dokumentnummer führerschein führerscheinnummer "
    "steueridentifikationsnummer burgerservicenummer rijbewijs rijbewijsnummer aadhaar"))
_SIGNALS = GREETINGS | SIGN_OFFS | TITLES | LABELS


def _trim(text: str, run: _Run) -> bool:
    """Drop the words of ``run`` that are context, not name; whether a name may be left."""
    toks = run.tokens
    words = [text[s:e] for s, e in toks]
    info = [(norm(w), _flags(w)) for w in words]
    n = len(words)
    if n > 1 and (info[-1][0] in ORG_SUFFIXES or info[0][0] in ORG_PREFIXES):
        return False
    whole = " ".join(w for w, _ in info)
    if n > 1 and whole in _SIGNALS:
        return False  # "Viele Grüße", "Buenos Días": a sign-off or a greeting, capitalised
    if n > 1 and (whole in KNOWN_ORGS or text.startswith(("'s", "’s"), run.end)
                  and whole + "'s" in KNOWN_ORGS):  # "Wells Fargo", "Jack Daniel's"
        return False
    i = 0
    greeted = False  # "Hi Hope": after a greeting a word is kept, as the name it is there
    while i < n:
        w, f = info[i]
        if greeted and (w in _NAMEABLE or _is_word(f) and w not in _CONTEXT_WORDS
                        and w not in TITLE_WORDS):
            break
        if w in _NAMEABLE and i + 1 < n and "S" in info[i + 1][1]:
            break  # "June Park": a month as a given name, before a family name
        greeted = w in GREETINGS
        if (w in _CONTEXT_WORDS or len(w) == 1
                or _is_word(f, words[i]) and w not in _lexicon.AMBIGUOUS_GIVEN
                or w in TITLE_WORDS and "G" not in f and "S" not in f
                or w in OPENERS and "G" not in f and (
                    i > 0 and i == n - 1
                    or i == 0 and _SENTENCE_END.search(text, max(0, toks[0][0] - 4), toks[0][0]))):
            i += 1
            continue
        break
    j = n
    while j > i + greeted:
        w, f = info[j - 1]
        # "Jack Black", "Mary White": a colour after a given name is a family name.
        family = "S" in f and j - 2 >= i and "G" in info[j - 2][1] and w not in _SIGNALS
        if (_is_word(f, words[j - 1]) or w in NOT_NAMES and not family
                or w in TITLE_WORDS and "S" not in f or w in TITLES or len(w) == 1):
            j -= 1
            continue
        break
    if i >= j:
        return False
    run.cut = j < n
    run.tokens = toks[i:j]
    run.start, run.end = run.tokens[0][0], run.tokens[-1][1]
    # A company's name alone is no person ("Salesforce"); one that is also a given name
    # ("Chase", "Sage") is an ambiguous name, which only its context makes a person.
    if any(w in KNOWN_ORGS and w not in _AMBIGUOUS
           or w in TITLE_WORDS and "G" not in f and "S" not in f for w, f in info[i:j]):
        return False
    return not any(_camel(w) for w in words[i:j])


def _name_like(text: str, run: _Run, *, strict: bool) -> bool:
    """Whether the lexicon reads ``run`` as a name; ``strict`` asks for a full name."""
    words = [text[s:e] for s, e in run.tokens]
    fl = [_flags(w) for w in words]
    n = len(words)
    amb = [norm(w) in _lexicon.AMBIGUOUS_GIVEN for w in words]
    if _is_noun(fl[0]):  # "Texas Instruments", "London Bridge": a place or a brand first
        return False
    if n >= 2:
        first, last = fl[0], fl[-1]
        # A dictionary's proper noun last is often a family name ("Mireille Delacroix").
        if "G" in first and not amb[0] and not _is_word(last):
            return True
        if "G" in first and "S" in last and "W" not in last:
            return True
        if strict:
            return False
        return any("G" in f or "S" in f for f in fl) and not any(_is_word(f) for f in fl)
    if strict:
        return False
    return "G" in fl[0] and "W" not in fl[0] and "P" not in fl[0] and not amb[0]


class _Tail:
    """The last words before a run, for cheap tests of what ends there ("Hi ", "Name: ",
    "Dr. "): set look-ups on the last one to four words, where a regular expression
    anchored at the end would be tried at every position of the text before it."""

    __slots__ = ("colon", "ends", "line", "punct", "words")

    def __init__(self, line: str) -> None:
        self.line = line
        head = line.rstrip(" \t\u00a0")
        self.colon = head.endswith((":", "：", "=", "-", "–"))
        if self.colon:
            head = head[:-1].rstrip(" \t")
        parts = head[-48:].rsplit(None, 4)
        if len(head) > 48 and parts:
            parts = parts[1:]  # the first may be cut
        last = parts[-1] if parts else ""
        stripped = last.rstrip(",!.;")
        self.punct = last[len(stripped):]
        self.words = [w.casefold().replace("’", "'") for w in parts[:-1]] + (
            [stripped.casefold().replace("’", "'")] if stripped else [])
        self.ends = len(head)

    def bare(self, allowed: str) -> bool:
        """Whether only ``allowed`` punctuation (and no colon) follows the last word."""
        return not self.colon and all(c in allowed for c in self.punct)

    def phrase(self, known: frozenset[str]) -> str | None:
        """The longest run of last words (1 to 4) that is in ``known``."""
        for k in range(min(4, len(self.words)), 0, -1):
            p = " ".join(self.words[-k:])
            if p in known:
                return p
        return None

    def titles(self) -> int | None:
        """Where the titles right before the run start ("Prof. Dr. "), or None."""
        if self.colon or self.punct not in ("", "."):
            return None
        pos, start, n = len(self.line), None, 0
        for w in reversed(self.words):
            if w.rstrip(".") not in TITLES and w not in TITLES or n == 3:
                break
            at = self.line.casefold().rfind(w, 0, pos)
            if at < 0:
                break
            start, pos, n = at, at, n + 1
        return start


def _decide(text: str, run: _Run, english: bool, chat: bool = False) -> None:
    s, e = run.start, run.end
    before = text[max(0, s - _REACH) : s]
    if "\n" in before:
        line_start = s - len(before) + before.rfind("\n") + 1
        before_line = text[line_start:s]
    else:
        line_start = -1 if s > _REACH else 0
        before_line = before
    after = text[e : e + _REACH]
    nl = after.find("\n")
    after_line = after if nl < 0 else after[:nl]
    line_ends = nl >= 0 or e + len(after) >= len(text)
    words = [text[a:b] for a, b in run.tokens]
    all_caps = all(w.isupper() and len(w) > 1 for w in words)

    tail = _Tail(before_line)
    if tail.colon and tail.phrase(_OTHER_LABELS):
        run.decided = run.vetoed = True  # "City: Austin", "Company: Lagos Fintech": no
        return
    amb = len(words) == 1 and norm(words[0]) in _AMBIGUOUS
    if amb and _DIGIT_AFTER.match(after):
        run.decided = run.vetoed = True  # "May 3", "June 2024": a month
        return

    def accept(start: int | None = None) -> None:
        run.decided = run.person = True
        if start is not None:
            run.start = start

    title = tail.titles()
    if title is not None and not all_caps:
        return accept(s - (len(before_line) - title))
    initials = _INITIALS_AT_END.search(before_line)
    if initials is not None and not all_caps and (
            len(run.tokens) == 1 or _name_like(text, run, strict=False)):
        return accept(s - (len(before_line) - initials.start()))
    what = tail.phrase(LABELS)
    if what is not None:
        if what in _STRONG_LABELS and (tail.colon or what not in _COLON_ONLY):
            if not all_caps or tail.colon:
                return accept()
        elif tail.colon or what not in _COLON_ONLY:
            if _name_like(text, run, strict=False):
                return accept()
            run.gated = english and not all_caps
    if all_caps:
        return
    if tail.bare(",!") and tail.phrase(GREETINGS) and not _NOT_TEAM_AFTER.match(after_line):
        return accept()
    whole_line = line_start >= 0 and not before_line.strip(" \t>") and line_ends and (
        _LINE_TAIL.match(after_line) is not None)
    ends_line = line_ends and re.fullmatch(r"[ \t,.!?)]*", after_line) is not None
    if ends_line and (tail.bare(",!") and tail.phrase(SIGN_OFFS) or DASH_SIGN.search(
            text, max(0, line_start - 1), s)):
        return accept()
    if whole_line:
        prev = _previous_line(text, line_start)
        if prev is not None and SIGN_OFF_LINE.fullmatch(prev):
            return accept()
        last_line = e + len(after_line) >= len(text.rstrip())
        if prev is not None and (not prev.strip(" \t>") and _closes(text, e)
                                 or last_line and prev.rstrip().endswith((".", "!", "?"))) and (
                _name_like(text, run, strict=False)
                or not any(_is_word(_flags(w)) for w in words)) and not (
                amb and _PROSE.search(after_line)):  # "Frank, honest and quick: …"
            return accept()
    at_line_start = line_start >= 0 and not before_line.strip(" \t>")
    speaker = at_line_start and (after.startswith(":") or _SPEAKER_AFTER.match(after))
    if at_line_start and (speaker or after.startswith(",") and len(words) <= 2) \
            and _name_like(text, run, strict=False):
        return accept()  # a chat's speaker ("Aiko: done"), or a vocative ("Diego, ¿viste…?")
    if speaker and chat and len(words) == 1 and _speaker_word(words[0]):
        return accept()  # "Pat: on it" in a transcript of several speakers
    if _name_like(text, run, strict=True):
        return accept()
    weak = tail.bare("") and tail.phrase(WEAK_WORDS) is not None or WEAK_AFTER.match(
        after) is not None
    if weak and _name_like(text, run, strict=False):
        return accept()
    fl = [_flags(w) for w in words]
    if amb:
        # A name that is also a word is someone when a verb says so: "ask Will", "Rose
        # said"; a company's name ("Chase said") needs more than that.
        w0 = norm(words[0])
        if "G" in fl[0] and (tail.bare("") and tail.phrase(VERB_BEFORE) is not None
                             or w0 not in KNOWN_ORGS and SPEECH_AFTER.match(after)):
            accept()
        return
    if _full_name(text, run):
        # "Will Smith", "Chase Miller", "June Park": a given name that is also a word and
        # a family name. Next to people, or with a family name that is no word ("Jack
        # Nolan"), it is a person; else the model reads it (English), or it is none.
        if weak or tail.phrase(LABELS) is not None or "W" not in fl[-1]:
            return accept()
        run.gated = english
        return
    if len(words) == 1:
        if "G" in fl[0] and not at_line_start and _plain_given(words[0], fl[0]):
            accept()  # "kann jemand Nils Zugang geben?": a given name and nothing else
        elif english and weak and fl[0] == "":
            run.gated = True  # "met with Oluwaseun": a word no list knows, next to people
        return
    # Two words or more that the lexicon does not settle: the model reads them if one of
    # them is a word no list knows ("Xochitl Mendoza"); words it knows and no name ("Regional
    # Sales") are no name.
    if english and any(f == "" for f in fl) and not any(_is_word(f) or _is_noun(f) for f in fl):
        run.gated = True


def _full_name(text: str, run: _Run) -> bool:
    """Two or three words, a given name first and a family name last, none of them only a
    word: the shape of "Will Smith" and "Chase Miller", which the lexicon alone leaves open."""
    if not 2 <= len(run.tokens) <= 3:
        return False
    words = [text[a:b] for a, b in run.tokens]
    fl = [_flags(w) for w in words]
    return ("G" in fl[0] and "S" in fl[-1] and not any(_is_word(f) for f in fl)
            and not any(norm(w) in _SIGNALS for w in words))


def _speaker_word(word: str) -> bool:
    w = norm(word)
    return ("G" in _flags(word) or not _flags(word)) and w not in _CONTEXT_WORDS \
        and w not in _OTHER_LABELS and w not in TITLE_WORDS


def _transcript(text: str) -> bool:
    """Whether ``text`` holds a chat's lines: two speakers or more, each a name, at the
    start of a line and before a colon ("Pat: can you check?\nSue: on it")."""
    speakers: set[str] = set()
    for m in _SPEAKER_LINE.finditer(text):
        if _speaker_word(m.group(1)):
            speakers.add(m.group(1))
            if len(speakers) >= 2:
                return True
    return False


def _plain_given(word: str, f: str) -> bool:
    """A given name and nothing else: no word, dictionary entry, place or ambiguous name."""
    return ("G" in f and not {"W", "N", "P"} & set(f)
            and norm(word) not in _lexicon.AMBIGUOUS_GIVEN)


def _previous_line(text: str, line_start: int) -> str | None:
    """The line before the one starting at ``line_start`` (None at the start, or too long)."""
    if line_start <= 0:
        return None
    end = line_start - 1
    begin = text.rfind("\n", max(0, end - 80), end)
    if begin < 0 and end > 80:
        return None
    return text[begin + 1 : end]


def _closes(text: str, pos: int) -> bool:
    """Whether what follows ``pos`` is the end of a message: the end, a blank line, a quoted
    or forwarded block, or a few short lines (a signature) and then one of those."""
    rest = text[pos : pos + 240]
    lines = rest.split("\n")[1:]
    if len(rest) < 240:
        lines.append("")  # the text ends here
    for line in lines[:5]:
        stripped = line.strip()
        if not stripped or stripped.startswith((">", "---", "___", "From:", "On ")):
            return True
        if len(stripped) > 60:
            return False
    return False


def _ask_model(text: str, runs: list[_Run]) -> None:
    """Let the model settle ``runs``: one window (the run's line, clipped) per line, up to
    :data:`NER_CAP` characters in all; without the model, or past the cap, the lexicon's
    loose reading decides."""
    windows: dict[int, tuple[int, int]] = {}
    used = 0
    for run in runs:
        lo = max(text.rfind("\n", max(0, run.start - 200), run.start) + 1, run.start - 200)
        hi = text.find("\n", run.end, run.end + 200)
        hi = run.end + 200 if hi < 0 else hi
        hi = min(hi, len(text))
        if lo in windows or used + (hi - lo) > NER_CAP:
            continue
        windows[lo] = (lo, hi)
        used += hi - lo
    spans: list[tuple[int, int]] = []
    if windows and _ner.status().available:
        found = _ner.persons([text[a:b] for a, b in windows.values()])
        for (lo, _), ents in zip(windows.values(), found, strict=True):
            spans += [(lo + a, lo + b) for a, b in ents]
    asked = set(windows)
    for run in runs:
        lo = max(text.rfind("\n", max(0, run.start - 200), run.start) + 1, run.start - 200)
        if _ner.status().available and lo in asked:
            covered = sum(max(0, min(b, run.end) - max(a, run.start)) for a, b in spans)
            run.person = covered * 2 >= run.end - run.start
        else:
            words = [text[a:b] for a, b in run.tokens]
            run.person = _name_like(text, run, strict=False) and (
                len(words) >= 2 or _plain_given(words[0], _flags(words[0])))
        run.decided = True


def _spread(text: str, runs: list[_Run], found: list[_Run]) -> None:
    """A name found once is a name wherever it appears again, alone or in a list with it."""
    names: set[str] = set()
    parts: set[str] = set()
    for r in found:
        words = [norm(text[a:b]) for a, b in r.tokens]
        names.add(" ".join(words))
        if len(words) >= 2:
            parts.update(w for w, (a, b) in zip(words, r.tokens, strict=True)
                         if len(w) >= 3 and not _is_word(_flags(text[a:b]))
                         and w not in _lexicon.AMBIGUOUS_GIVEN)
    for r in runs:
        if r.person or r.vetoed:
            continue
        words = [norm(text[a:b]) for a, b in r.tokens]
        if " ".join(words) in names or len(words) == 1 and words[0] in parts:
            # A name that is also a word ("Hi Will," … "Will the refund …?", "Dear Rose,"
            # … "Rose Gold") is the person again only where a verb says so ("Will said").
            r.person = (len(words) > 1 or not _word_like(text[r.start : r.end]) or (
                not r.cut and _verb_near(text, r))) and not _product(text, r)
    # Lists: "Ana Souza, Li Wei and Tom Baker" – the neighbours of a name, on its line.
    for _ in range(2):
        for i, r in enumerate(runs):
            if r.person or r.vetoed:
                continue
            for j in (i - 1, i + 1):
                if not 0 <= j < len(runs) or not runs[j].person:
                    continue
                a, b = (runs[j].end, r.start) if j < i else (r.end, runs[j].start)
                if 0 < b - a <= 8 and _LIST_SEP.match(text[a:b]) and _listable(text, r) \
                        and not _product(text, r):
                    r.person = True
                    break


def _maybe_name(text: str, run: _Run) -> bool:
    """A given or family name that is no word, brand or place (names in pairs: "Raj or Kim")."""
    fl = [_flags(text[a:b]) for a, b in run.tokens]
    return all(("G" in f or "S" in f) and not {"W", "P"} & set(f) for f in fl)


def _listable(text: str, run: _Run) -> bool:
    words = [text[a:b] for a, b in run.tokens]
    if len(words) == 1 and _word_like(words[0]):
        return False  # "Ana, Tom and Will": the modal is as likely
    return not any(_is_word(_flags(w)) or _is_noun(_flags(w)) for w in words) and len(
        words) <= 4 or _full_name(text, run)


def _greeted_pair(text: str, a: _Run, b: _Run) -> bool:
    """Whether ``b`` is the second name of a greeting: "Hi Will and Grace,"."""
    line = text[max(0, a.start - _REACH) : a.start].rsplit("\n", 1)[-1]
    tail = _Tail(line)
    return len(b.tokens) == 1 and "G" in _flags(text[b.start : b.end]) and tail.bare(
        ",!") and tail.phrase(GREETINGS) is not None and re.match(
        r"[ \t]*[,!]?[ \t]*(?:\n|\Z)", text[b.end : b.end + 8]) is not None


def _word_like(word: str) -> bool:
    """A given name that is as often a word, a place or a brand ("Will", "Rose", "Chase")."""
    return norm(word) in _AMBIGUOUS or bool({"W", "P"} & set(_flags(word)))


def _verb_near(text: str, run: _Run) -> bool:
    """Whether a verb before or after ``run`` makes it someone ("ask Will", "Will said")."""
    if SPEECH_AFTER.match(text, run.end) is not None:
        return True
    line = text[max(0, run.start - _REACH) : run.start].rsplit("\n", 1)[-1]
    tail = _Tail(line)
    return tail.bare("") and tail.phrase(VERB_BEFORE) is not None


def _key(text: str, run: _Run) -> str:
    return " ".join(norm(text[a:b]) for a, b in run.tokens)


def _lowercase_names(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _LOWER_GREETING.finditer(text):
        word = m.group(1)
        f = _flags(word)
        if "G" in f and "W" not in f and word.lower() not in NOT_NAMES:
            out.append((m.start(1), m.end(1), word.casefold()))
    if "@" in text:
        for m in _MENTION.finditer(text):
            handle = m.group(1)
            head = re.split(r"[._\-]", handle)[0]
            f = _flags(head)
            if ("G" in f or "S" in f) and handle.lower() not in NOT_NAMES and "team" not in \
                    handle.lower():
                out.append((m.start(1), m.end(1), head.casefold()))
    return out


def _cjk_names(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _HONORIFIC.finditer(text):
        if m.group(1) not in _NOT_HONOURED and not m.group(1).endswith(("皆", "客")):
            out.append((m.start(1), m.end(1), m.group(1)))
    for m in _CJK_LINE.finditer(text):
        name = m.group(1)
        if name in _CJK_CLOSERS or _CJK_CLOSING_LINE.search(name):
            continue
        prev = _previous_line(text, m.start())
        if prev is None:
            continue
        if not prev.strip() or _CJK_CLOSING_LINE.search(prev.strip()):
            after = text[m.end() : m.end() + 2]
            if not after.strip() or after.startswith("\n"):
                out.append((m.start(1), m.end(1), name))
    return out
