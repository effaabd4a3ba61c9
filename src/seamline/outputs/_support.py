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

from seamline.outputs._lexicon import (
    DETERMINERS,
    EXPECTED,
    FRAMING,
    FRAMING_VERBS,
    HYPOTHETICAL,
    OPPOSITES,
    SCOPE_ENDS,
    STOP,
    synonym_sets,
)
from seamline.outputs._sources import TRUSTED, UNTRUSTED, Located, Source, locate
from seamline.outputs._tokens import Token, is_content, tokenize
from seamline.outputs._verbatim import normal_form

CHECKS = ("numbers", "dates", "entities", "negation", "coverage")
_JOINS = SCOPE_ENDS | {"and", "or", "plus", "which", "who"}
_BREAKS = SCOPE_ENDS | {"is", "are", "was", "were", "be", "been", "am"}
# Cues that negate what came before them when a quote stops right there ("is | not").
_PLAIN_NOT = frozenset({"not", "never", "no", "nicht", "non", "pas", "niet", "nunca", "nao"})


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
    claim_text = normal_form(verdict.text, casefold=False).text
    langs = {q.source.lang for q in verdict.quotes}  # a claim in its sources' language
    claim = tokenize(claim_text, langs.pop() if len(langs) == 1 else None)
    quoted = [t for q in verdict.quotes for t in q.tokens]
    keys: set[str] = set()
    for t in quoted:
        keys |= t.keys
    problems = verdict.problems
    checks = rules.checks

    if "numbers" in checks:
        numbers = [t for t in claim
                   if t.kind in ("num", "id") and not t.soft and t.key not in keys
                   and not (t.low.isalpha() and t.keys & keys)]  # "twice": "double-billed"
        if numbers:
            stated = [t.text for t in quoted if t.kind in ("num", "id")]
            problems.append(f"states {_listing([t.text for t in numbers])}, which its quotes "
                            "do not" + (f" (they state {_listing(stated)})" if stated else ""))
        elif (paired := _misnumbered(claim, verdict.quotes, keys)) is not None:
            problems.append(paired)
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
        written = {_bare(t.low) for q in verdict.quotes for t in (*_lead_in(q), *q.tokens)
                   if t.kind == "word"}  # "CRM note: | churn risk high"
        missing = [t.text for t in names if _bare(t.low) not in written]  # names: not stemmed
        theirs = [t.text for q in verdict.quotes for t in q.tokens
                  if t.kind == "word" and not t.initial and q.source.capitalised(t)]
        if not missing:  # a sentence-initial word the sources never write, for a name
            said = {_bare(c.low) for c in claim}
            dropped = [t for q in verdict.quotes for t in q.tokens if t.kind == "word"
                       and t.content and q.source.capitalised(t) and _bare(t.low) not in said
                       and (not t.initial or q.source.capital_only(t.low))]
            if dropped:
                theirs = [t.text for t in dropped]
                missing = [t.text for t in claim if t.initial and t.kind == "word"
                           and t.capital and is_content(t) and not t.keys & keys
                           and not any(s.has(t.low) for s in sources)
                           and t.key not in synonym_sets()]  # "Setting up …": a common word
        if missing:
            problems.append(f"names {_listing(missing)}, which its quotes do not"
                            + (f" (they name {_listing(theirs)})" if theirs else ""))
    content = [t for t in claim if is_content(t)]
    if "negation" in checks:
        _negation(verdict, claim, content, quoted, keys)
        if not problems:
            _cut_negation(verdict, claim, keys)
    if content:
        covered = [t for t in content if t.keys & keys]
        verdict.coverage = len(covered) / len(content)
        if "coverage" in checks:
            _coverage(verdict, claim, keys, rules.coverage, sources)
            if not problems:
                _context(verdict, claim, keys)


def _parts(claim: list[Token]) -> list[tuple[bool, list[Token]]]:
    """The claim's parts: split at punctuation, "and", "or", "but", "because", ...; each
    with whether a word ("and", "which") joined it to the part before."""
    parts: list[tuple[bool, list[Token]]] = [(False, [])]
    for t in claim:
        if t.kind == "punct" or (t.kind == "word" and t.text.casefold() in _JOINS):
            parts.append((t.kind == "word", []))
        elif is_content(t):
            parts[-1][1].append(t)
    return [p for p in parts if p[1]]


def _coverage(verdict: ClaimVerdict, claim: list[Token], keys: set[str],
              threshold: float, sources: list[Source]) -> None:
    """The claim's content words must be in its quotes: a share of them overall, and at
    least one in every part of two or more ("... because of the new firmware")."""
    content = [t for t in claim if is_content(t)]
    missing = [t.text for t in content if not t.keys & keys]
    coverage = verdict.coverage or 0.0
    bare = [p for i, (joined, p) in enumerate(_parts(claim)) if (len(p) >= 2 or (
        joined and i)) and not any(t.keys & keys for t in p)]  # "… and has overheated"
    run = _uncovered_run(claim, keys)
    if coverage < threshold:
        verdict.problems.append(
            f"says more than its quotes: {_listing(missing)} "
            f"{'is' if len(set(missing)) == 1 else 'are'} not in them "
            f"({coverage:.0%} of its content words are; {threshold:.0%} needed)")
    elif bare:
        verdict.problems.append(
            f"says more than its quotes: nothing of {_listing([t.text for t in bare[0]])} "
            "is in them")
    elif run:
        verdict.problems.append(
            f"says more than its quotes: {' '.join(t.text for t in run)!r} is not in them")
    elif (mixed := _stitched(claim, verdict.quotes, keys, threshold)) is not None:
        verdict.problems.append(mixed)
    elif (swap := _modifier_swap(claim, verdict.quotes, keys, sources)) is not None:
        verdict.problems.append(swap)


def _stitched(claim: list[Token], quotes: list[Located], keys: set[str],
              threshold: float) -> str | None:
    """A part of the claim that no one quote holds, but two together do: its words taken
    from different places ("upgraded to Basic" out of "upgraded to Pro" and "says Basic").
    Only with two quotes or more, and for parts of two or three content words: a longer
    part may well sum up two quotes ("… high churn risk with a pending renewal")."""
    if len(quotes) < 2:
        return None
    each = []
    for q in quotes:
        mine: set[str] = set()
        for t in q.tokens:
            mine |= t.keys
        each.append(mine)
    for _, part in _parts(claim):
        if not 2 <= len(part) <= 3:  # a short statement: who did what, what is which
            continue
        held = [t for t in part if t.keys & keys]
        best = max(sum(1 for t in part if t.keys & k) for k in each)
        if len(held) / len(part) >= threshold > best / len(part):
            return (f"puts together what its quotes say apart: no one quote holds "
                    f"{_listing([t.text for t in part])}")
    return None


def _uncovered_run(claim: list[Token], keys: set[str]) -> list[Token]:
    """A phrase the claim adds at the end of one of its parts ("… after one wash at high
    temperature."): two or more content words in a row (stop words between them do not
    break the run) that the quotes do not hold, up to punctuation, a join or the end. A run
    followed by a quoted word is a paraphrase of what leads up to it, not an addition."""
    run: list[Token] = []
    for t in claim:
        if t.kind == "punct" or (t.kind == "word" and t.low in _JOINS):
            if len(run) >= 2:
                return run
            run = []
        elif t.content and t.keys & keys:
            run = []
        elif t.content:
            run.append(t)
    return run if len(run) >= 2 else []


def _modifier_swap(claim: list[Token], quotes: list[Located], keys: set[str],
                   sources: list[Source]) -> str | None:
    """A claim word put in the place of another in front of a word they share: "the
    wrong address" where the quote says "my work address", "a full refund" for "a partial
    refund"; or a list's last item swapped ("leather belt" for "leather gloves")."""
    for i, t in enumerate(claim[:-1]):
        nxt = claim[i + 1]
        if not (t.content and t.kind == "word" and not t.keys & keys and nxt.content
                and nxt.keys & keys and not t.initial and _elsewhere(t, sources)):
            continue
        for q in quotes:
            tokens = (*q.before[-1:], *q.tokens)  # "our paid | account" for "the demo account"
            for j in range(1, len(tokens)):
                w = tokens[j - 1]
                if tokens[j].keys & nxt.keys and w.kind == "word" and w.low not in STOP \
                        and not w.keys & _claim_keys(claim):  # "reports" is framing too
                    return (f"says {t.text!r} {nxt.text!r} where its quotes say {w.text!r} "
                            f"{tokens[j].text!r}")
    for i in range(1, len(claim)):
        t, prev = claim[i], claim[i - 1]
        end = i + 1 == len(claim) or claim[i + 1].kind == "punct"
        if not (end and t.content and t.kind == "word" and not t.keys & keys
                and prev.content and prev.keys & keys and _elsewhere(t, sources)):
            continue
        for q in quotes:
            tokens = q.tokens
            for j in range(len(tokens) - 1):
                w = tokens[j + 1]
                last = j + 2 == len(tokens) or tokens[j + 2].kind == "punct"
                if tokens[j].keys & prev.keys and last and w.content and w.kind == "word" \
                        and not w.keys & _claim_keys(claim):
                    return (f"says {prev.text!r} {t.text!r} where its quotes say "
                            f"{tokens[j].text!r} {w.text!r}")
    return None


def _elsewhere(t: Token, sources: list[Source]) -> bool:
    """Whether the sources write ``t`` somewhere (outside the quotes, since it is not in
    them): a claim that puts it in the quote's place mixes two things of the source up."""
    return any(s.has(t.low) for s in sources)


def _claim_keys(claim: list[Token]) -> set[str]:
    out: set[str] = set()
    for t in claim:
        out |= t.keys
    return out


def _context(verdict: ClaimVerdict, claim: list[Token], keys: set[str]) -> None:
    """What a quote was cut out of: a qualifier right before it ("my colleague's |laptop
    was stolen", "your competitor |offers free returns", "last winter |the boiler broke
    down") or a hypothetical ("if the payment had failed") the claim does not carry."""
    mine = _claim_keys(claim)
    said = {t.low for t in claim}
    reported = any(t.low in FRAMING_VERBS for t in claim)
    for q in verdict.quotes:
        clause = list(q.before)
        for k in range(len(clause) - 1, -1, -1):
            if clause[k].kind == "punct" or clause[k].low in _BREAKS:
                clause = clause[k + 1:]
                break
        for t in (*clause, *q.tokens):
            if t.low in HYPOTHETICAL and not said & HYPOTHETICAL and (
                    t.low != "if" or t.initial) and not (
                    t.low in EXPECTED and said & EXPECTED):  # "know if …" asks
                verdict.problems.append(
                    f"states as a fact what its quote {short(q.quote)!r} reads under "
                    f"{t.text!r}")
                return
        for t in q.tokens:  # "my neighbour's internet is slow" is not the customer's
            if t.kind == "word" and t.content and t.low.endswith("'s") and not (
                    t.keys & mine) and _bare(t.low) not in said:
                verdict.problems.append(f"is about {t.text!r} …, which it does not say "
                                        f"(in its quote {short(q.quote)!r})")
                return
        hay, at = q.source.normal.text, q.tokens[0].start if q.tokens else 0
        spoken = False
        for t in reversed(q.before[-4:]):
            if t.kind in ("punct", "cue") or t.low in _BREAKS or hay[t.end:at].strip():
                break  # a clause ends, a verb "is" stands between, or a non-word
            at = t.start
            if t.low in FRAMING_VERBS:
                if reported:
                    break  # "the rep told me | …" and "the customer was told …"
                spoken = True
                continue
            if not t.content:
                if t.low in DETERMINERS or t.low in FRAMING:
                    continue
                break  # "a refund for | the broken kettle": another phrase
            owner = t.low.endswith("'s") and t.kind == "word"
            if (owner or spoken) and not t.keys & mine:
                verdict.problems.append(
                    f"drops what its quote {short(q.quote)!r} is about: it is cut out of "
                    f"'{t.text} …' in the source")
                return
            break


def _cut_negation(verdict: ClaimVerdict, claim: list[Token], keys: set[str]) -> None:
    """A quote cut off right before a negation ("the replacement part is | not in
    stock"), or a claim that negates what its quotes never mention negated ("…, which
    never happened")."""
    for q in verdict.quotes:
        if q.after is not None and q.after.low in _PLAIN_NOT and not any(
                t.kind == "cue" for t in q.tokens):
            verdict.problems.append(f"rests on {short(q.quote)!r}, which the source goes on "
                                    f"to negate ({q.after.text!r})")
            return
    if any(t.kind == "cue" for q in verdict.quotes for t in (*q.before, *q.tokens)):
        return
    negated = [t for t in claim if t.negated and t.content and (
        t.clause or t.cue == "without")]  # ", which never happened", "… without notice"
    if negated and not any(t.keys & keys for t in negated):
        verdict.problems.append(f"negates {_listing([t.text for t in negated])} "
                                f"({negated[0].cue!r}), which its quotes do not mention")


def _misnumbered(claim: list[Token], quotes: list[Located], keys: set[str]) -> str | None:
    """A number put to another thing than its quotes put it to: "ordered 3 lamps" where
    they say "1 lamp … received 3"."""
    for i, t in enumerate(claim[:-1]):
        noun = claim[i + 1]
        if t.kind != "num" or t.soft or not (noun.content and noun.kind == "word"):
            continue
        for q in quotes:
            tokens = q.tokens
            hits = [j for j, w in enumerate(tokens) if w.keys & noun.keys]
            if not hits:
                continue
            near = _claim_keys([c for c in claim if c.content and c is not noun
                                and c is not t])
            ok = any(w.key == t.key and w.clause == tokens[h].clause and k < h
                     for h in hits for k, w in enumerate(tokens)) or any(
                w.key == t.key and any(v.content and v.keys & near and v is not w for v in
                                       tokens[max(0, k - 3):k + 4])
                for k, w in enumerate(tokens))  # "received 3", "2 of them damaged"
            other = [(tokens[h - 1], tokens[h]) for h in hits if h and tokens[h - 1].kind ==
                     "num" and tokens[h - 1].key != t.key]
            if other and not ok:
                theirs, thing = other[0]
                return (f"states {t.text + ' ' + noun.text!r}, where its quotes state "
                        f"{theirs.text + ' ' + thing.text!r}")
    return None


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
        last = False  # whether the clause's last word its quotes hold is negated there
        for t in words:
            same = [q for q in quoted if q.keys & t.keys]
            if same and t.negated:  # "unopened": negated by its own prefix
                if not any(q.negated for q in same):
                    verdict.problems.append(f"negates {t.text!r} ('un-'), which its quotes "
                                            "state without a negation")
                    return
                last = False
            elif same:
                last = all(q.negated for q in same)
                if last:
                    flipped.append((t, same[0]))
        if flipped and last:  # "the sync problem is still there after the update" passes
            verdict.problems.append(
                f"states {_listing([t.text for t, _ in flipped])} without a negation, where "
                f"its quotes negate it ({flipped[0][1].cue!r} in the source)")
            return
    for t in content:
        if t.kind == "word" and not t.keys & keys:
            against = [q.text for q in quoted if q.kind == "word" and not q.negated
                       and q.key in OPPOSITES.get(t.key, ())]
            if against:
                verdict.problems.append(f"says {t.text!r} where its quotes say the opposite "
                                        f"({against[0]!r})")
                return


def _lead_in(q: Located) -> list[Token]:
    """The tokens of the quote's own clause before it (a label such as "CRM note:" is
    part of it; a comma or a "but" ends it)."""
    out: list[Token] = []
    for t in reversed(q.before):
        if (t.kind == "punct" and t.text != ":") or t.low in SCOPE_ENDS:
            break
        out.append(t)
    return out


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
