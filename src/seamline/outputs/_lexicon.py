"""The words the claim-support checks know: written out, so a reviewer can read them.

- stop words carry no content (a quote of them supports nothing);
- framing words ("the customer says") describe who wrote the source, not what it says;
- negation cues and what ends their scope;
- number, month, weekday and relative-time words, in canonical form;
- a small table of paraphrases common in support text (each word maps to the
  concepts it may stand for), and a suffix-stripping stemmer;
- WordNet's synonym sets for a word's first senses (data/synonyms.txt, built by
  benchmarks/grounding_synonyms.py), and dictionary lemmas in seven languages
  (simplemma: "went" is "go", "veut" and "veux" are "vouloir").

All lower case: the checks compare casefolded text.
"""

from __future__ import annotations

import importlib.resources
from functools import lru_cache
from typing import Any


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOP = _wordset("""
a an the and or of to in on at for with by from as into onto about over under up out
is are was were be been being am have has had having do does did doing done
i me my mine myself we us our ours you your yours he him his she her hers it its they them
their theirs this that these those there here what which who whom whose when where why how
if then than so but also just only very too quite really even still yet already again ever
can could would should will shall might must may ought
all any both each every few more most other some such own same much many
please hi hello hey dear regards kind ok okay oh well
let lets get got i'm i'd i've i'll you're you've we're we've they're that's there's what's
it's he's she's we'd you'd he'd she'd they'd
el la los las un una unos unas de del y en por para que es mi mis tu su sus lo
le les des du et ou dans avec pour est mon mes ses je
der das dem ein eine einen einem und oder mit ist mein meine ich habe
il gli di da uno ho
os um uma dos em para meu minha
het een voor mijn
""")

# Words that frame a claim ("the customer says", "according to") rather than state it.
FRAMING = _wordset("""
customer customers client clients user users sender caller writer buyer person someone they
say says said saying state states stated mention mentions mentioned report reports reported
write writes wrote written explain explains explained claim claims claimed note notes noted
ask asks asked asking request requests requested inquire inquires wonder wonders
according message tell tells told
employee employees staff candidate candidates applicant applicants prospect prospects
cliente clientes kunde kunden kundin klant klanten
""")

# Words that may stand between a quote and the phrase it was cut out of ("my colleague's
# | laptop"), and words that say a claim reports an expectation ("should arrive on Monday"
# is "due on Monday").
DETERMINERS = _wordset("the a an my your our his her their its me us him them this that these those")
EXPECTED = _wordset("""should supposed expected expect expects due scheduled will would planned
promised meant""")

# The framing verbs: a claim with one reports speech ("the customer was told …").
FRAMING_VERBS = _wordset("""say says said tell tells told state states stated mention
mentions mentioned write writes wrote claim claims claimed report reports reported""")

NEGATORS = _wordset("""
not no never none nobody nothing nowhere neither nor without cannot unable
don't doesn't didn't isn't aren't wasn't weren't hasn't haven't hadn't won't wouldn't
can't couldn't shouldn't mustn't needn't
dont doesnt didnt isnt arent wasnt werent hasnt havent hadnt wont wouldnt cant couldnt
nicht kein keine keinen nie niemals non pas jamais nunca nada niet nooit nao nem
""")
# Two-word cues: (first, second).
NEGATOR_PAIRS = frozenset({("instead", "of"), ("rather", "than"), ("failed", "to"),
                           ("fails", "to"), ("no", "longer"), ("refused", "to"),
                           ("refuses", "to"), ("declined", "to"), ("out", "of")})
# Verbs that negate the activity after them: "stopped charging" is "no longer charges".
STOP_VERBS = _wordset("stop stops stopped ceased ceases quit quits")
# A number followed by one of these is a percentage: "15 percent" is "15%".
PERCENT_WORDS = _wordset("percent per-cent pct procent prozent porcentaje porcento")
# Words that multiply the number before them: "two hundred" is 200.
MULTIPLIERS = {"hundred": 100, "thousand": 1000, "million": 1_000_000}

# Words that make what follows hypothetical or second-hand: a quote read under one of them
# does not state it as a fact ("if the payment had failed", "the fan should spin at").
HYPOTHETICAL = _wordset("if unless whether should supposed")
# A negation's scope ends at a clause boundary: punctuation, or one of these.
SCOPE_ENDS = _wordset("but however although though whereas while because since so yet except")
# Subordinate clauses end a negation's scope too ("was not available | when I boarded").
SUBORDINATE = _wordset("when whenever after before until unless if")
SCOPE_WORDS = 5  # at most this many content words after the cue

_UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
          "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
          "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
          "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
NUMBER_WORDS: dict[str, int] = {**_UNITS, **_TENS, "hundred": 100, "thousand": 1000,
                                "once": 1, "twice": 2, "thrice": 3, "dozen": 12}
TENS = frozenset(_TENS)

MONTHS: dict[str, int] = {}
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december")
for _i, _name in enumerate(_MONTH_NAMES, 1):
    MONTHS[_name] = _i
    if _name != "may":
        MONTHS[_name[:3]] = _i
MONTHS["sept"] = 9
# The same months in the other languages our users' customers write in (es, pt, fr, it,
# de, nl); a word that is also an ordinary English word is left out.
for _i, _names in enumerate((
        "enero janeiro janvier gennaio januar januari",
        "febrero fevereiro fevrier febbraio februar februari",
        "marzo mars marz maart",
        "abril avril aprile",
        "mayo maio mai maggio mei",
        "junio junho juin giugno juni",
        "julio julho juillet luglio juli",
        "agosto aout",
        "septiembre setembro septembre settembre",
        "octubre outubro octobre ottobre oktober",
        "noviembre novembro novembre",
        "diciembre dezembro decembre dicembre dezember"), 1):
    for _name in _names.split():
        MONTHS.setdefault(_name, _i)
# Month words that are also ordinary words count only next to a number ("5 May").
AMBIGUOUS_MONTHS = frozenset({"may", "mar", "jan", "jun", "dec", "aug", "oct"})

WEEKDAYS = _wordset("""monday tuesday wednesday thursday friday saturday sunday
lunes martes miercoles jueves viernes sabado domingo lundi mardi mercredi jeudi vendredi
samedi dimanche montag dienstag mittwoch donnerstag freitag samstag sonntag lunedi martedi
mercoledi giovedi venerdi sabato domenica maandag dinsdag woensdag donderdag vrijdag
zaterdag zondag segunda terca quarta quinta sexta""")
RELATIVE_DAYS = _wordset("today tomorrow yesterday tonight")
RELATIVE_LEAD = _wordset("last next this past coming")
RELATIVE_UNITS = _wordset("""week month year morning evening afternoon night weekend quarter
winter summer spring autumn""")

CURRENCY_SIGNS = {"$": "usd", "€": "eur", "£": "gbp", "¥": "jpy"}
CURRENCY_WORDS = {"usd": "usd", "dollar": "usd", "dollars": "usd", "eur": "eur",
                  "euro": "eur", "euros": "eur", "gbp": "gbp", "pound": "gbp",
                  "pounds": "gbp", "jpy": "jpy", "yen": "jpy", "chf": "chf", "francs": "chf"}

_IRREGULAR = dict(pair.split(":") for pair in _wordset("""
went:go gone:go goes:go got:get gotten:get sent:send paid:pay bought:buy brought:bring
made:make told:tell said:say came:come took:take taken:take gave:give given:give left:leave
lost:lose found:find broke:break spoke:speak spoken:speak wrote:write written:write kept:keep
felt:feel thought:think knew:know known:know saw:see seen:see ran:run began:begin
begun:begin hung:hang fell:fall fallen:fall sold:sell held:hold meant:mean built:build
children:child men:man women:woman people:person stood:stand understood:understand
shut:shut cut:cut put:put set:set hit:hit
"""))

# Paraphrases common in support text. Each group is one concept; a word may be in several.
_GROUPS = """
receive get obtain
want like wish prefer
like love enjoy
charge bill
buy purchase
wrong incorrect
broken damaged defective faulty
late delayed overdue
cancel terminate
refund reimburse
email mail
double twice
finish complete done
loud noisy
problem issue fault
fix repair resolve
think consider
rise increase
start begin
end finish
help assist support
call phone ring
shop store
fee charge
last latest recent
big large huge
small little tiny
quick fast rapid
costly expensive pricey
error mistake
purchase order
phone mobile cell
message email mail
ask request
need require
contact reach
""".strip().splitlines()

# Opposites: a claim that says one where its quotes say the other contradicts them.
_OPPOSITES = """
work broken
fine broken
love dislike
like dislike
love hate
like hate
open closed
accept reject
approve reject
approve decline
include exclude
increase decrease
rise fall
enable disable
activate deactivate
correct wrong
right wrong
paid unpaid
success failure
succeed fail
valid invalid
available unavailable
happy unhappy
satisfied dissatisfied
early late
fast slow
cheap expensive
full empty
clean dirty
allow deny
keep return
start stop
arrive missing
received missing
on-time late
""".strip().splitlines()

_SUFFIXES = ("ations", "ation", "ments", "ment", "ingly", "edly", "ings", "ing", "ies", "ied",
             "ed", "es", "s", "ly", "al")
_VOWELS = frozenset("aeiouy")


@lru_cache(maxsize=20000)
def stem(word: str) -> str:
    """A light suffix-stripping stem: the same for a word's common inflections."""
    w = word.removesuffix("'s")  # the possessive: "customer's"
    w = _IRREGULAR.get(w, w).replace("'", "").replace("-", "")
    for suffix in _SUFFIXES:
        if not w.endswith(suffix) or len(w) - len(suffix) < 3:
            continue
        base = w[: -len(suffix)]
        if suffix == "s" and base[-1] in "sui":
            continue
        if suffix == "es" and not base.endswith(("s", "x", "z", "ch", "sh")):
            base = w[:-1]  # "charges" is "charge" + s
        if suffix in ("ies", "ied"):
            base += "y"
        w = base
        break
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in _VOWELS:
        w = w[:-1]  # "cancell", "dropp" -> "cancel", "drop"
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]  # "charge" and "charged" meet at "charg"
    return w


CONCEPTS: dict[str, frozenset[str]] = {}
for _line in _GROUPS:
    _words = _line.split()
    _key = "~" + stem(_words[0])
    for _w in _words:
        CONCEPTS[stem(_w)] = CONCEPTS.get(stem(_w), frozenset()) | {_key}


OPPOSITES: dict[str, frozenset[str]] = {}
for _line in _OPPOSITES:
    _a, _b = (stem(w) for w in _line.split())
    OPPOSITES[_a] = OPPOSITES.get(_a, frozenset()) | {_b}
    OPPOSITES[_b] = OPPOSITES.get(_b, frozenset()) | {_a}

# Number words that are as often a pronoun or an article ("the one I ordered"): they
# count as numbers in quotes, but a claim is not held to them.
SOFT_NUMBERS = frozenset({"one"})




@lru_cache(maxsize=1)
def synonym_sets() -> dict[str, frozenset[str]]:
    """stem -> the WordNet synsets (of its first senses) it belongs to, as concept keys.

    Read on first use (about 0.3 s), not at import: a CLI command that never grounds a
    claim must not pay for it."""
    text = (importlib.resources.files("seamline.outputs") / "data" / "synonyms.txt").read_text(
        encoding="utf-8")
    out: dict[str, set[str]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, *words = line.split()
        for w in words:
            out.setdefault(stem(w), set()).add("~" + name)
    return {k: frozenset(v) for k, v in out.items()}


@lru_cache(maxsize=20000)
def concepts(word_stem: str) -> frozenset[str]:
    """Every key a word (by its stem) may match: itself, its paraphrase groups and its
    WordNet synonym sets."""
    return CONCEPTS.get(word_stem, frozenset()) | synonym_sets().get(word_stem, frozenset()) | {
        word_stem}


# ---- languages and lemmas ---------------------------------------------------------------
# The stop words that tell a text's language (its articles, pronouns, prepositions): the
# lemmas are looked up in that language's dictionary only.
_LANG_WORDS = {
    "es": _wordset("el la los las un una de del y en por para que es mi se lo no quiero"),
    "fr": _wordset("le la les un une des du et ou dans avec pour est mon ma je ne pas veux"),
    "de": _wordset("der die das dem den ein eine und oder mit ist mein meine ich nicht wir sie"),
    "it": _wordset("il lo la gli le un una di da e in per che è non ho mio voglio"),
    "pt": _wordset("o a os as um uma de do da em para que é meu minha não foi"),
    "nl": _wordset("de het een en van voor met is mijn ik niet wil geen"),
}
_EN_WORDS = _wordset("the a an and of to in for with is are was my i we you not it")


def language(words: list[str]) -> str:
    """The language of a text from its (casefolded) words: the one whose stop words it uses
    most, English unless another has at least two more."""
    best, score = "en", sum(1 for w in words if w in _EN_WORDS) + 1
    for lang, vocab in _LANG_WORDS.items():
        n = sum(1 for w in words if w in vocab)
        if n > score:
            best, score = lang, n
    return best


_LEMMATIZE: Any = None


@lru_cache(maxsize=50000)
def lemma(word: str, lang: str) -> str:
    """The dictionary form of ``word`` (casefolded) in ``lang``, or the word itself.

    simplemma ships its dictionaries in the wheel (nothing is fetched); a language's
    dictionary loads on the first word of that language (English in 0.3 s, German in 2 s).
    Without simplemma installed, words are only stemmed."""
    global _LEMMATIZE
    if _LEMMATIZE is None:
        try:
            from simplemma import lemmatize
        except ImportError:  # pragma: no cover - simplemma is a dependency
            _LEMMATIZE = False
        else:
            _LEMMATIZE = lemmatize
    if not _LEMMATIZE or not word.isalpha():
        return word
    return str(_LEMMATIZE(word, lang=lang)).casefold()
