"""Build ``pii_dev.jsonl``, ``pii_test.jsonl``, ``pii_holdout.jsonl`` and ``pii_ids_dev.jsonl``
(identity numbers, written by ``make_id_set.py``) from their marked-up sources.

    python tests/ingest/data/build_pii_sets.py [split ...]   # every split when none is named

A source holds records that each start with ``@@ ID LANG GENRE``; in a record's text,
``[[value|K]]`` is a span that must be removed (K: P person, A address, D date of birth,
I identity number, E e-mail, T phone, C card, B IBAN, S SSN) and ``{{value|kind}}`` a span
that must survive redaction (kind: org, product, title, error, date, amount, order,
version, city, word, other). Each JSONL line is one text with character offsets.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
KINDS = {"P": "PERSON", "A": "ADDRESS", "D": "DOB", "I": "ID_NUMBER", "E": "EMAIL",
         "T": "PHONE", "C": "CARD", "B": "IBAN", "S": "SSN"}
KEEP = {"org", "product", "title", "error", "date", "amount", "order", "version", "city",
        "word", "other"}
MARK = re.compile(r"\[\[(.+?)\|([A-Z])\]\]|\{\{(.+?)\|([a-z]+)\}\}", re.DOTALL)


def parse(source: str, split: str) -> list[dict]:
    records = []
    for block in re.split(r"^@@ ", source, flags=re.MULTILINE)[1:]:
        head, _, body = block.partition("\n")
        rid, lang, genre = head.split()
        text, remove, keep, pos = [], [], [], 0
        out_len = 0
        for m in MARK.finditer(body):
            text.append(body[pos:m.start()])
            out_len += m.start() - pos
            value = m.group(1) if m.group(1) is not None else m.group(3)
            span = {"start": out_len, "end": out_len + len(value), "text": value}
            if m.group(1) is not None:
                remove.append({**span, "kind": KINDS[m.group(2)]})
            else:
                if m.group(4) not in KEEP:
                    raise SystemExit(f"{rid}: unknown keep kind {m.group(4)!r}")
                keep.append({**span, "kind": m.group(4).upper()})
            text.append(value)
            out_len += len(value)
            pos = m.end()
        text.append(body[pos:])
        joined = "".join(text).rstrip("\n")
        if "[[" in joined or "{{" in joined:
            raise SystemExit(f"{rid}: unbalanced markup")
        records.append({"id": rid, "split": split, "lang": lang, "genre": genre,
                        "text": joined, "must_remove": remove, "must_keep": keep})
    return records


SPLITS = ("dev", "test", "holdout", "ids_dev", "products_dev")


def main() -> int:
    for split in sys.argv[1:] or SPLITS:
        src = HERE / f"pii_{split}.txt"
        if not src.exists():
            continue
        records = parse(src.read_text(encoding="utf-8"), split)
        for r in records:
            for s in r["must_remove"] + r["must_keep"]:
                assert r["text"][s["start"]:s["end"]] == s["text"], (r["id"], s)
        with (HERE / f"pii_{split}.jsonl").open("w", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{split}: {len(records)} texts, "
              f"{sum(len(r['must_remove']) for r in records)} to remove, "
              f"{sum(len(r['must_keep']) for r in records)} to keep")
    return 0


if __name__ == "__main__":
    sys.exit(main())
