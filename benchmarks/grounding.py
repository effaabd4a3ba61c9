"""How well the deterministic grounding checks tell supported claims from unsupported ones,
and what they cost: precision and recall of "unsupported" per category, and µs per claim,
for the checks of issue 16 and, as the baseline on the same cases, the checker before it.

    python benchmarks/grounding.py [--split dev|dev2|test|holdout|holdout2|all] [--list] [--tune]

The labelled set is tests/outputs/data/grounding_{dev,dev2,test,holdout,holdout2}.jsonl: (sources, claim,
quotes, supported?) cases in ten categories (paraphrase, partial support, negation, number,
date and entity swaps, stop-word quotes, unrelated quotes, injected text, Unicode/
whitespace), plus non-English text, multi-sentence claims and lists in dev and holdout.
The rules were developed on dev. Test was written separately and only its aggregate
numbers (this script's tables) were read while the rules changed. holdout was written in
one sitting before any rule changed and run once mid-way (its aggregate numbers then
seen, its cases never read); holdout2 was written after that, before the last changes,
and run once at the end — its numbers are the untouched ones. dev2 (483 cases: support,
billing, CRM notes, sales e-mails, HR; seven languages; half honest paraphrases of many
kinds, half adversarial) was written for the third pass and tuned on with dev.
``--tune`` sweeps the coverage threshold on dev and dev2 (CLAIM_COVERAGE in
seamline.integration comes from there); ``--list`` prints the dev/dev2 cases the checks
get wrong (only those: reading the others case by case would tune on them).

Baselines: "old" is the checker before issue 16 (below); "pass 1" and "pass 2" are this
repository's grounding checks at commits f1f9714 and 726259e, read out of git into a
temporary package (columns left out when git or the commits are not there).

Time: each case is one claim with its sources; a case's time is the best of 9 runs of
``check_grounding`` (the word caches warm, as in a running service; the sources are
prepared afresh on every call), old and new interleaved case by case so that a slow spell
of a shared machine falls on both; the table shows the median and p99 over cases.
Targets: recall of unsupported >= 95 %, false failures of supported <= 5 %, p50 <= 200 µs.
Exit 1 when a held-out split (test, holdout, holdout2) misses one (today all do).
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from seamline.integration import GroundingSpec
from seamline.outputs import check_grounding

DATA = Path(__file__).resolve().parents[1] / "tests" / "outputs" / "data"
RECALL_TARGET, FALSE_FAIL_TARGET, MICROS_TARGET = 0.95, 0.05, 200.0
RUNS = 9


def load(split: str) -> list[dict[str, Any]]:
    with (DATA / f"grounding_{split}.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ---- the checker before issue 16, kept verbatim in spirit as the baseline ----------------
# A claim passed when it named at least one quote and every quote occurred somewhere in
# the source after whitespace/typography/NFKD normalisation (no casefold, no word bounds).
_OLD_FOLD = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u2026": "...",
})


def _old_normalise(text: str) -> str:
    out: list[str] = []
    pending_space = False
    for ch in text:
        for c in unicodedata.normalize("NFKD", ch).translate(_OLD_FOLD):
            if c.isspace():
                pending_space = bool(out)
                continue
            if pending_space:
                out.append(" ")
                pending_space = False
            out.append(c)
    return "".join(out)


def old_check(case: dict[str, Any]) -> bool:
    """True when the pre-issue-16 checker accepts the claim."""
    quotes = [q for q in case["quotes"] if q.strip()]
    if not quotes:
        return False
    hays = [_old_normalise(t) for t in case["sources"].values()]
    return all(any(_old_normalise(q) in hay for hay in hays) for q in quotes)


def new_check(case: dict[str, Any], coverage: float | None = None) -> bool:
    """True when today's checks accept the claim (the defaults of a claims_field)."""
    extra = {} if coverage is None else {"claim_coverage": coverage}
    spec = GroundingSpec(claims_field="claims", source_fields=tuple(case["sources"]),
                         trusted_fields=tuple(case["trusted"]), **extra)
    out = {"claims": [{"text": case["claim"], "quotes": case["quotes"]}]}
    return check_grounding(spec, out, case["sources"]).passed


# ---- the earlier passes of issue 16, out of git -------------------------------------------
ROOT = Path(__file__).resolve().parents[1]
PASSES = {"pass 1": "f1f9714", "pass 2": "726259e"}
_TMP = tempfile.TemporaryDirectory(prefix="grounding-passes-")


def past_check(commit: str) -> Callable[[dict[str, Any]], bool] | None:
    """``new_check`` with seamline.outputs as it was at ``commit`` (its modules copied into
    a package of their own, importing one another there), or None without git."""
    name = f"_outputs_{commit}"
    try:
        files = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "--name-only", commit,
                                "src/seamline/outputs/"], capture_output=True, text=True,
                               check=True).stdout.split()
        pkg = Path(_TMP.name) / name
        pkg.mkdir(exist_ok=True)
        for f in files:
            if f.endswith(".py"):
                text = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:{f}"],
                                      capture_output=True, text=True, check=True).stdout
                (pkg / Path(f).name).write_text(text.replace("seamline.outputs", name),
                                                encoding="utf-8")
    except (OSError, subprocess.CalledProcessError):
        return None
    if _TMP.name not in sys.path:
        sys.path.insert(0, _TMP.name)
    module = importlib.import_module(name)

    def check(case: dict[str, Any]) -> bool:
        spec = GroundingSpec(claims_field="claims", source_fields=tuple(case["sources"]),
                             trusted_fields=tuple(case["trusted"]))
        out = {"claims": [{"text": case["claim"], "quotes": case["quotes"]}]}
        return bool(module.check_grounding(spec, out, case["sources"]).passed)
    return check


# ---- scoring -------------------------------------------------------------------------------
@dataclass
class Score:
    tp: int = 0  # unsupported, and failed
    fn: int = 0  # unsupported, and passed
    fp: int = 0  # supported, and failed
    tn: int = 0

    def add(self, supported: bool, passed: bool) -> None:
        if supported:
            self.tn += passed
            self.fp += not passed
        else:
            self.fn += passed
            self.tp += not passed

    @property
    def recall(self) -> float | None:
        n = self.tp + self.fn
        return self.tp / n if n else None

    @property
    def precision(self) -> float | None:
        n = self.tp + self.fp
        return self.tp / n if n else None

    @property
    def false_fails(self) -> float | None:
        n = self.fp + self.tn
        return self.fp / n if n else None


def score(cases: list[dict[str, Any]], check: Callable[[dict[str, Any]], bool],
          ) -> tuple[dict[str, Score], Score, list[dict[str, Any]]]:
    per: dict[str, Score] = {}
    total = Score()
    wrong = []
    for case in cases:
        passed = check(case)
        per.setdefault(case["category"], Score()).add(case["supported"], passed)
        total.add(case["supported"], passed)
        if passed != case["supported"]:
            wrong.append(case)
    return per, total, wrong


def micros(cases: list[dict[str, Any]], checks: list[Callable[[dict[str, Any]], bool]],
           ) -> list[tuple[float, float]]:
    """(p50, p99) µs per claim for each check, timed interleaved case by case (so a slow
    spell of a shared machine falls on all of them), each case's best of RUNS runs."""
    best = [[float("inf")] * len(cases) for _ in checks]
    for _ in range(RUNS):
        for i, case in enumerate(cases):
            for k, check in enumerate(checks):
                t = time.perf_counter_ns()
                check(case)
                best[k][i] = min(best[k][i], (time.perf_counter_ns() - t) / 1000)
    out = []
    for times in best:
        ordered = sorted(times)
        out.append((statistics.median(times),
                    ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]))
    return out


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def table(title: str, old: tuple[dict[str, Score], Score, Any],
          new: tuple[dict[str, Score], Score, Any], counts: dict[str, tuple[int, int]]) -> Table:
    t = Table(title=title, caption="P: precision of \"unsupported\", R: its recall, FF: false "
                                   "failures (supported claims failed); old: before issue 16")
    for col in ("category", "unsup/sup", "old P", "old R", "old FF", "new P", "new R",
                "new FF"):
        t.add_column(col, justify="left" if col == "category" else "right")
    rows = [(cat, old[0][cat], new[0][cat]) for cat in sorted(counts)]
    rows.append(("all", old[1], new[1]))
    for name, o, n in rows:
        unsup, sup = counts.get(name, (n.tp + n.fn, n.fp + n.tn))
        t.add_row(name, f"{unsup}/{sup}", _pct(o.precision), _pct(o.recall),
                  _pct(o.false_fails), _pct(n.precision), _pct(n.recall), _pct(n.false_fails),
                  style="bold" if name == "all" else None)
    return t


def tune(console: Console) -> float:
    """The coverage threshold with the best recall at <= 5 % false failures, on dev+dev2
    (without one there, the one with the fewest errors)."""
    cases = load("dev") + load("dev2")
    t = Table(title="Coverage threshold on the dev and dev2 splits")
    for col in ("threshold", "recall of unsupported", "false failures", "errors"):
        t.add_column(col, justify="right")
    best: tuple[float, float, float] | None = None
    for step in range(30, 91, 5):
        threshold = step / 100
        _, total, wrong = score(cases, lambda c, th=threshold: new_check(c, th))
        recall, ff = total.recall or 0.0, total.false_fails or 0.0
        t.add_row(f"{threshold:.2f}", _pct(recall), _pct(ff), str(len(wrong)))
        key = (recall, -ff, -threshold) if ff <= FALSE_FAIL_TARGET else (
            -1.0, -float(len(wrong)), -threshold)
        if best is None or key > best:
            best = key
    console.print(t)
    chosen = -best[2] if best else 0.0
    console.print(f"chosen: {chosen:.2f} (best recall within {FALSE_FAIL_TARGET:.0%} false "
                  "failures; ties go to the lower threshold)")
    return chosen


SPLITS = ("dev", "dev2", "test", "holdout", "holdout2")
TUNED = ("dev", "dev2")  # the splits the rules were developed on
_ABOUT = {"dev": "the rules were developed on it",
          "dev2": "written for the third pass, which was developed on it and dev",
          "test": "written separately; only its aggregate numbers were read",
          "holdout": "written before any change; its aggregate numbers were read once, "
                     "mid-way",
          "holdout2": "written after that, before the last changes; run once, at the end"}


def report(console: Console, split: str, listing: bool,
           passes: dict[str, Callable[[dict[str, Any]], bool]]) -> dict[str, Any]:
    """Print one split's table (and its misses with ``listing``); return its totals."""
    cases = load(split)
    counts: dict[str, tuple[int, int]] = {}
    for c in cases:
        unsup, sup = counts.get(c["category"], (0, 0))
        counts[c["category"]] = (unsup + (not c["supported"]), sup + c["supported"])
    old, new = score(cases, old_check), score(cases, new_check)
    console.print(table(f"Grounding checks on the {split} split ({len(cases)} claims; "
                        f"{_ABOUT[split]}): precision and recall of \"unsupported\"", old, new,
                        counts))
    (old_p50, old_p99), (new_p50, new_p99) = micros(cases, [old_check, new_check])
    earlier = {label: score(cases, check)[1] for label, check in passes.items()}
    if listing:
        for case in new[2]:
            verdict = "false failure" if case["supported"] else "missed"
            console.print(f"[bold]{verdict}[/] {case['id']}: {case['claim']!r} "
                          f"<- {case['quotes']!r}", highlight=False)
    return {"split": split, "n": len(cases), "old": old[1], "new": new[1], "passes": earlier,
            "old_us": (old_p50, old_p99), "new_us": (new_p50, new_p99)}


def _met(row: dict[str, Any]) -> bool:
    total = row["new"]
    return ((total.recall or 0) >= RECALL_TARGET and (total.false_fails or 0) <= FALSE_FAIL_TARGET
            and row["new_us"][0] <= MICROS_TARGET)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="all")
    parser.add_argument("--list", action="store_true", help="print the cases gotten wrong "
                                                            "(dev and dev2 only: the others "
                                                            "are held out)")
    parser.add_argument("--tune", action="store_true", help="sweep the coverage threshold "
                                                            "on the dev split")
    args = parser.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 140)
    if args.tune:
        tune(console)
        return 0
    if args.list and args.split not in TUNED:
        parser.error("--list reads cases one by one: only on the dev and dev2 splits")
    passes = {label: check for label, commit in PASSES.items()
              if (check := past_check(commit)) is not None}
    rows = [report(console, split, args.list, passes)
            for split in (SPLITS if args.split == "all" else (args.split,))]
    t = Table(title="Summary: recall of unsupported claims, false failures of supported "
                    f"ones, µs per claim (best of {RUNS} runs each)")
    for col in ("split", "claims", "old R/FF", *(f"{p} R/FF" for p in passes), "new R",
                "new FF", "old p50/p99", "new p50/p99"):
        t.add_column(col, justify="left" if col == "split" else "right")
    for row in rows:
        o, n = row["old"], row["new"]
        t.add_row(row["split"], str(row["n"]), f"{_pct(o.recall)}/{_pct(o.false_fails)}",
                  *(f"{_pct(p.recall)}/{_pct(p.false_fails)}" for p in row["passes"].values()),
                  _pct(n.recall), _pct(n.false_fails),
                  "{:.0f}/{:.0f}".format(*row["old_us"]), "{:.0f}/{:.0f}".format(*row["new_us"]))
    console.print(t)
    held = [r for r in rows if r["split"] not in TUNED] or rows
    headline = "; ".join(
        f"{r['split']} recall {_pct(r['new'].recall)}, false failures "
        f"{_pct(r['new'].false_fails)}, p50/p99 {r['new_us'][0]:.0f}/{r['new_us'][1]:.0f} µs"
        for r in rows)
    ok = all(_met(r) for r in held)
    console.print(f"grounding: {headline} — targets (recall >= {RECALL_TARGET:.0%}, false "
                  f"failures <= {FALSE_FAIL_TARGET:.0%}, p50 <= {MICROS_TARGET:.0f} µs) on "
                  f"{'/'.join(r['split'] for r in held)}: "
                  + ("[green]met[/]" if ok else "[red]missed[/]"), highlight=False)
    return 0 if ok or args.split in TUNED else 1


if __name__ == "__main__":
    sys.exit(main())
