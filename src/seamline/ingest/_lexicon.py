"""Layer 1, ingest: the word lists the person detector reads, loaded once on first use.

``data/lexicon.tsv.gz`` (built by ``tests/ingest/data/make_name_lexicon.py``) holds about
110,000 case-folded words, each with flags: ``G`` a given name and ``S`` a family name in some
locale of Faker's person providers, ``W`` a lower-case English word, ``N`` a capitalised
English dictionary entry that is no name (a place, a month, a brand).
"""

# A shipped list rather than a names package at run time: the lists we found on the package
# index are either GPL (gender-guesser), or hundreds of megabytes in memory (names-dataset),
# or US-only (names); this file is 350 KB and covers the ~80 locales Faker has.

from __future__ import annotations

import gzip
import threading
from importlib import resources


def _split(words: str, sep: str | None = None) -> list[str]:
    # Word lists written as one string: easier to read and to extend than a list literal.
    return words.split(sep)


_LOCK = threading.Lock()
_WORDS: dict[str, str] | None = None

# Given names that are as often something else: months, places, verbs, brands, and (the
# second list) everyday words in German, French, Spanish, Italian, Portuguese or Dutch
# ("Ernst gemeint", "Claire et simple", "Luz verde", "Vera o falsa"). Found as names only
# where the context says so (a greeting, a sign-off, a title, a label, a chat's speaker, a
# family name after, a verb of speech after), and not spread to their other uses.
AMBIGUOUS_GIVEN = frozenset(_split("""
april may june july august january summer autumn winter spring sunday monday
paris london jordan georgia virginia carolina dakota florence victoria sydney austin dallas
houston phoenix denver boston chelsea brooklyn madison savannah aurora sierra asia india
china kenya israel italia china berlin vienna lincoln washington cleveland orlando memphis
chase will mark grant bill frank rose lily jade ruby amber crystal pearl iris daisy violet
hope faith joy grace honey angel star sky rain storm river ocean summer dawn eve
major king prince duke earl baron royal legend story true honor justice liberty
apple mercedes porsche tesla jaguar lexus chevy ford dell mac
max guy bob rob pat sue don ray art gene gay sunny bud buck chip dash lane wade
page price penny sage basil rusty carol cash gray grey brown green white black
jack drew dean hunter piper rocky misty holly ivy destiny harmony melody autumn
""") + _split("""
ernst heide horst kai wolf claire pierre constance prudence aurore marine olive violette
céleste fleur blanche clément constant patience victoire aimée rosa luz paz pilar dolores
soledad consuelo esperanza amparo rocío blanca alegría gloria fe caridad cruz reyes rosario
nieves estrella cielo paloma perla milagros remedios socorro felice vera serena bianca gioia
fortunato fiore stella speranza grazia celeste letizia sole viola chiara marina graça glória
vitória esperança alegria estrela pérola branca clara roos groen hoop
"""))


def words() -> dict[str, str]:
    """Every word in the lexicon, case-folded, with its flags (loaded on first call)."""
    global _WORDS
    if _WORDS is None:
        with _LOCK:
            if _WORDS is None:
                raw = resources.files("seamline.ingest").joinpath("data/lexicon.tsv.gz")
                text = gzip.decompress(raw.read_bytes()).decode("utf-8")
                table: dict[str, str] = {}
                for line in text.splitlines():
                    word, _, flags = line.partition("\t")
                    table[word] = flags
                _WORDS = table
    return _WORDS


def flags(token: str) -> str:
    """The flags of ``token`` ("" when it is in no list); case does not matter."""
    return words().get(token.casefold(), "")
