"""Build ``src/seamline/ingest/data/lexicon.tsv.gz``, the word lists the person detector reads.

    pip install faker && apt-get install wamerican
    python tests/ingest/data/make_name_lexicon.py

Each line is ``word<TAB>flags`` (the word case-folded), flags from:
  G  a given name in some locale of Faker's person providers (MIT licence)
  S  a family name there
  W  a lower-case English word in SCOWL's american-english list (Debian wamerican)
  N  a capitalised entry of that list (names, and places, months, brands...)
  P  a place in Faker's address providers (countries, states, regions, cities)
Nothing here is read at run time except the output file, which ships inside the package.
"""

from __future__ import annotations

import gzip
import importlib
import pkgutil
from pathlib import Path

from faker.providers import address, person

OUT = Path(__file__).resolve().parents[3] / "src" / "seamline" / "ingest" / "data" / "lexicon.tsv.gz"
DICT = Path("/usr/share/dict/american-english")
PLACES = ("states", "countries", "cities", "city_names", "provinces", "regions", "counties",
          "municipalities", "departments", "cantons")
FIRST = ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary",
         "first_romanized_names", "first_romanized_names_male", "first_romanized_names_female")
LAST = ("last_names", "last_romanized_names")


def _values(provider: type, attr: str) -> list[str]:
    for base in provider.__mro__:
        if attr in base.__dict__:
            v = base.__dict__[attr]
            return list(v) if isinstance(v, dict | list | tuple | set | frozenset) else []
    return []


def _name_like(s: object) -> bool:
    # Latin, Greek and Cyrillic names only: the detector finds names by their capital letter.
    return (isinstance(s, str) and len(s) >= 2 and s[0].isupper()
            and all(ch.isalpha() or ch in "-'" for ch in s) and all(ord(ch) < 0x530 for ch in s))


def main() -> None:
    flags: dict[str, set[str]] = {}
    for info in pkgutil.iter_modules(person.__path__):
        try:
            provider = importlib.import_module(f"{person.__name__}.{info.name}").Provider
        except (ImportError, AttributeError):
            continue
        for attrs, flag in ((FIRST, "G"), (LAST, "S")):
            for attr in attrs:
                for name in _values(provider, attr):
                    # "de Jong", "van der Berg": each capitalised part is a name.
                    for part in str(name).replace("-", " ").split():
                        if _name_like(part):
                            flags.setdefault(part.casefold(), set()).add(flag)
    for info in pkgutil.iter_modules(address.__path__):
        try:
            provider = importlib.import_module(f"{address.__name__}.{info.name}").Provider
        except (ImportError, AttributeError):
            continue
        for attr in PLACES:
            values = _values(provider, attr)
            for place in values:
                if isinstance(place, tuple):  # (code, name) pairs in some locales
                    place = place[-1]
                if _name_like(place) and " " not in place:
                    flags.setdefault(place.casefold(), set()).add("P")
    for line in DICT.read_text(encoding="utf-8").splitlines():
        if "'" in line or len(line) < 2:
            continue
        key = line.casefold()
        if line.islower():
            flags.setdefault(key, set()).add("W")
        elif line[0].isupper() and line[1:].islower():
            flags.setdefault(key, set()).add("N")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{w}\t{''.join(sorted(f))}\n" for w, f in sorted(flags.items()))
    OUT.write_bytes(gzip.compress(rows.encode("utf-8"), mtime=0))
    print(f"{OUT}: {len(flags)} words, {OUT.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
