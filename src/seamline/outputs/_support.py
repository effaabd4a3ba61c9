"""Does a claim say what its own quotes say? Five deterministic, explainable checks.

A claim is compared with *its own* quotes, read in their place in the source (so a quote
that starts after a "not" is still read as negated), never with the whole source:

- numbers: every number, amount, identifier and currency the claim states is in its quotes;
- dates: every month, weekday and relative day ("last week") the claim states is in them;
- entities: every name the claim gives is in them ("Mark approved" when they say Anna did
  fails). A name is a capitalised word inside a sentence, or a sentence's first word when
  the source only ever writes it with a capital;
- negation: a word the claim shares with its quotes is negated in both or in neither;
- coverage: at least a share of the claim's content words (stop words and framing such as
  "the customer says" left out; stems and a small paraphrase table) are in its quotes —
  a claim that says more than its quotes is unsupported.

Before those, each quote must be informative: at least ``min_quote_words`` content words.
A quote inside text that reads as instructions to the model never counts as support.
Every problem names the part of the claim that is unsupported, so the repair is specific.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seamline.outputs._lexicon import FRAMING, OPPOSITES, SCOPE_ENDS, STOP
from seamline.outputs._sources import TRUSTED, UNTRUSTED, Located, Source, locate
from seamline.outputs._tokens import Token, is_content, tokenize
from seamline.outputs._verbatim import normal_form

CHECKS = ("numbers", "dates", "entities", "negation", "coverage")
_JOINS = SCOPE_ENDS | {"and", "or", "plus"}


@dataclass(frozen=True, slots=True)
class SupportRules:
    min_quote_words: int = 2
    checks: frozenset[str] = frozenset(CHECKS)
    coverage: float = 0.55


@dataclass(slots=True)
class ClaimVerdict:
    """What the checks found for one claim."""

    text: str
    problems: list[str] = field(default_factory=list)
    quotes: list[Located] = field(default_factory=list)  # the quotes that count
    excluded: list[Located] = field(default_factory=list)  # inside instruction-like text
    coverage: float | None = None

    @property
    def supported(self) -> bool:
        return not self.problems

    @property
    def trust(self) -> str | None:
        """``trusted`` when a quote that counts is in a trusted reference."""
        if not self.quotes:
            return None
        return TRUSTED if any(q.source.trusted for q in self.quotes) else UNTRUSTED

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "supported": self.supported, "problems": self.problems,
                "trust": self.trust, "coverage": None if self.coverage is None
                else round(self.coverage, 3),
                "excluded": [q.quote for q in self.excluded]}


def short(text: Any, width: int = 80) -> str:
    s = str(text)
    return s if len(s) <= width else s[: width - 1] + "…"


def _listing(words: list[str]) -> str:
    unique = list(dict.fromkeys(words))
    return ", ".join(repr(w) for w in unique[:6]) + (", …" if len(unique) > 6 else "")


def quote_problem(loc: Located, min_words: int) -> str | None:
    """Why one located quote is too poor to support anything, or None."""
    n = loc.content_words
    if n < min_words:
        what = "only stop words" if n == 0 else f"{n} content word" + ("s" if n != 1 else "")
        return (f"rests on a quote too short to support anything: {short(loc.quote)!r} "
                f"({what}; at least {min_words} needed)")
    return None


def judge(text: str, quotes: list[str], sources: list[Source],
          rules: SupportRules) -> ClaimVerdict:
    """The verdict on one claim and its quotes."""
    verdict = ClaimVerdict(text)
    if not quotes:
        verdict.problems.append("names no quote that supports it")
        return verdict
    for quote in quotes:
        loc = locate(quote, sources)
        if loc is None:
            verdict.problems.append(f"rests on a quote that is not in the source: "
                                    f"{short(quote)!r}")
            continue
        poor = quote_problem(loc, rules.min_quote_words)
        if poor:
            verdict.problems.append(poor)
        elif loc.marked is not None:
            verdict.excluded.append(loc)
        else:
            verdict.quotes.append(loc)
    if verdict.problems:
        return verdict
    if not verdict.quotes:
        phrases = _listing([q.marked.phrase for q in verdict.excluded if q.marked])
        verdict.problems.append(f"rests only on text that reads as instructions to the model "
                                f"({phrases}), which never counts as support")
        return verdict
    _compare(verdict, sources, rules)
    if verdict.problems and verdict.excluded:
        verdict.problems.append(f"(its quote {short(verdict.excluded[0].quote)!r} is inside "
                                "instruction-like text and did not count)")
    return verdict


def _compare(verdict: ClaimVerdict, sources: list[Source], rules: SupportRules) -> None:
    claim = tokenize(normal_form(verdict.text, casefold=False).text)
    quoted = [t for q in verdict.quotes for t in q.tokens]
    keys: set[str] = set()
    for t in quoted:
        keys |= t.keys
    problems = verdict.problems
    checks = rules.checks

    if "numbers" in checks:
        numbers = [t for t in claim
                   if t.kind in ("num", "id") and not t.soft and t.key not in keys]
        if numbers:
            stated = [t.text for t in quoted if t.kind in ("num", "id")]
            problems.append(f"states {_listing([t.text for t in numbers])}, which its quotes "
                            "do not" + (f" (they state {_listing(stated)})" if stated else ""))
        signs = {t.start for t in numbers}  # "$5000" missing says its currency already
        currencies = [t for t in claim if t.kind == "cur" and t.key not in keys
                      and t.start not in signs]
        if currencies:
            theirs = sorted({t.key.upper() for t in quoted if t.kind == "cur"})
            problems.append(f"states the currency {_listing([t.text for t in currencies])}, "
                            "which its quotes do not"
                            + (f" (they state {', '.join(theirs)})" if theirs else ""))
    if "dates" in checks:
        missing = [t.text for t in claim if t.kind in ("month", "time") and t.key not in keys]
        if missing:
            stated = [t.text for t in quoted if t.kind in ("month", "time")]
            problems.append(f"says {_listing(missing)}, which its quotes do not"
                            + (f" (they say {_listing(stated)})" if stated else ""))
    if "entities" in checks:
        names = [t for t in claim if _is_name(t, sources)]
        written = {_bare(t.low) for t in quoted if t.kind == "word"}
        missing = [t.text for t in names if _bare(t.low) not in written]  # names: not stemmed
        if missing:
            theirs = [t.text for q in verdict.quotes for t in q.tokens
                      if t.kind == "word" and not t.initial and q.source.capitalised(t)]
            problems.append(f"names {_listing(missing)}, which its quotes do not"
                            + (f" (they name {_listing(theirs)})" if theirs else ""))
    content = [t for t in claim if is_content(t)]
    if "negation" in checks:
        _negation(verdict, claim, content, quoted, keys)
    if content:
        covered = [t for t in content if t.keys & keys]
        verdict.coverage = len(covered) / len(content)
        if "coverage" in checks:
            _coverage(verdict, claim, keys, rules.coverage)


def _parts(claim: list[Token]) -> list[list[Token]]:
    """The claim's parts: split at punctuation, "and", "or", "but", "because", ..."""
    parts: list[list[Token]] = [[]]
    for t in claim:
        if t.kind == "punct" or (t.kind == "word" and t.text.casefold() in _JOINS):
            parts.append([])
        elif is_content(t):
            parts[-1].append(t)
    return [p for p in parts if p]


def _coverage(verdict: ClaimVerdict, claim: list[Token], keys: set[str],
              threshold: float) -> None:
    """The claim's content words must be in its quotes: a share of them overall, and at
    least one in every part of two or more ("... because of the new firmware")."""
    content = [t for t in claim if is_content(t)]
    missing = [t.text for t in content if not t.keys & keys]
    coverage = verdict.coverage or 0.0
    bare = [p for p in _parts(claim) if len(p) >= 2 and not any(t.keys & keys for t in p)]
    if coverage < threshold:
        verdict.problems.append(
            f"says more than its quotes: {_listing(missing)} "
            f"{'is' if len(set(missing)) == 1 else 'are'} not in them "
            f"({coverage:.0%} of its content words are; {threshold:.0%} needed)")
    elif bare:
        verdict.problems.append(
            f"says more than its quotes: nothing of {_listing([t.text for t in bare[0]])} "
            "is in them")


def _negation(verdict: ClaimVerdict, claim: list[Token], content: list[Token],
              quoted: list[Token], keys: set[str]) -> None:
    """Negations and opposites, clause by clause.

    A claim clause with a negation cue must find what it negates negated in its quotes
    ("not the colour I ordered" and "the colour is not the one ordered" agree); a clause
    without one must not rest on quote words that are all negated there. A claim word
    whose opposite is in the quotes, and not the word itself, contradicts them."""
    negative = {t.clause for t in claim if t.kind == "cue"}
    for clause in dict.fromkeys(t.clause for t in content):
        words = [t for t in content if t.clause == clause]
        if clause in negative:
            negated = [t for t in words if t.negated]
            same = [q for t in negated for q in quoted if q.keys & t.keys]
            if same and not any(q.negated for q in same):
                cue = negated[0].cue
                verdict.problems.append(
                    f"negates {_listing([t.text for t in negated])} ({cue!r}), which its "
                    "quotes state without a negation")
                return
            continue
        flipped = []
        for t in words:
            same = [q for q in quoted if q.keys & t.keys]
            if same and all(q.negated for q in same):
                flipped.append((t, same[0]))
        if flipped:
            verdict.problems.append(
                f"states {_listing([t.text for t, _ in flipped])} without a negation, where "
                f"its quotes negate it ({flipped[0][1].cue!r} in the source)")
            return
    for t in content:
        if t.kind == "word" and not t.keys & keys:
            against = [q.text for q in quoted if q.kind == "word" and q.key in OPPOSITES.get(
                t.key, ())]
            if against:
                verdict.problems.append(f"says {t.text!r} where its quotes say the opposite "
                                        f"({against[0]!r})")
                return


def _bare(low: str) -> str:
    return low.removesuffix("'s")


def _is_name(t: Token, sources: list[Source]) -> bool:
    if t.kind != "word" or not t.capital or len(t.text) < 2:
        return False
    low = t.text.casefold()
    if low in STOP or low in FRAMING:
        return False
    if not t.initial:
        return True
    return any(s.capital_only(t.low) for s in sources)
