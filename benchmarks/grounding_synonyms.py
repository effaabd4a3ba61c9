"""Build the synonym table the grounding checks ship (src/seamline/outputs/data/synonyms.txt).

    apt-get install wordnet-base && python benchmarks/grounding_synonyms.py

Why a file made once, not WordNet at run time: the WordNet data is a download (nltk's
``wordnet`` corpus) or an OS package, and nothing may fetch files at run time; a table of a
few hundred kilobytes ships inside the wheel and loads in milliseconds.

What goes in: Princeton WordNet 3.0 synsets (the ``wordnet-base`` files), restricted so that a paraphrase is found but a different thing is not:

- only a word's most frequent senses: its first sense, and its second when the sense-tagged
  corpus saw it (WordNet lists senses by frequency; "charge" is "bill" in its first senses,
  "accuse" only later);
- single lower-case words of three letters or more; no stop words (the checks have their
  own);
- a synset appears when at least two of its words pass.

Read straight from the database files (their format is documented in WordNet's
wndb(5)): nltk's reader wants files the Debian package does not ship.

Each line is ``<synset id> <word> <word> ...``. The table is regenerated only by hand and
its output committed; the WordNet licence (reproduced at the top of the file) allows that.
"""

from __future__ import annotations

import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "seamline" / "outputs" / "data" / "synonyms.txt"
WORDNET = Path("/usr/share/wordnet")
LICENSE = """\
# Synonym sets from WordNet 3.0 (Princeton University), first senses only; built by
# benchmarks/grounding_synonyms.py. WordNet Release 3.0 This software and database is
# being provided to you, the LICENSEE, by Princeton University under the following license.
# By obtaining, using and/or copying this software and database, you agree that you have
# read, understood, and will comply with these terms and conditions.: Permission to use,
# copy, modify and distribute this software and database and its documentation for any
# purpose and without fee or royalty is hereby granted, provided that you agree to comply
# with the following copyright notice and statements, including the disclaimer, and that
# the same appear on ALL copies of the software, database and documentation, including
# modifications that you make for internal use or for distribution. WordNet 3.0 Copyright
# 2006 by Princeton University. All rights reserved. THIS SOFTWARE AND DATABASE IS PROVIDED
# "AS IS" AND PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR
# IMPLIED. BY WAY OF EXAMPLE, BUT NOT LIMITATION, PRINCETON UNIVERSITY MAKES NO
# REPRESENTATIONS OR WARRANTIES OF MERCHANT- ABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE
# OR THAT THE USE OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT INFRINGE ANY
# THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS. The name of Princeton
# University or Princeton may not be used in advertising or publicity pertaining to
# distribution of the software and/or database. Title to copyright in this software,
# database and any associated documentation shall at all times remain with Princeton
# University and LICENSEE agrees to preserve same.
"""


def _index(pos: str) -> dict[str, tuple[int, list[str]]]:
    """lemma -> (senses seen in the tagged corpus, synset offsets by frequency), from
    ``index.<pos>``: ``lemma pos synset_cnt p_cnt [ptr...] sense_cnt tagsense_cnt offsets``."""
    out = {}
    for line in (WORDNET / f"index.{pos}").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue  # the licence header
        f = line.split()
        n_ptr = int(f[3])
        tagged = int(f[5 + n_ptr])
        out[f[0]] = (tagged, f[6 + n_ptr:])
    return out


def main() -> int:
    from seamline.outputs._lexicon import STOP

    members: dict[str, set[str]] = {}
    for pos in ("noun", "verb", "adj", "adv"):
        for word, (tagged, offsets) in _index(pos).items():
            if not (word.isalpha() and word.islower() and len(word) >= 3) or word in STOP:
                continue
            for rank, offset in enumerate(offsets[:2]):
                if rank and tagged < 2:
                    continue  # a second sense only when the tagged corpus saw it
                members.setdefault(f"{pos[0]}{offset}", set()).add(word)
    # A synset's line lists only the words whose first senses it is (from their index
    # entries), so a rare sense never joins two words.
    lines = [f"{name} {' '.join(sorted(words))}" for name, words in sorted(members.items())
             if len(words) >= 2]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(LICENSE + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} synsets -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
