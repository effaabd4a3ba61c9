"""``eval run``: a golden set through every layer, scored, kept as a report, gated.

The eval scores the integration, not the model: each example goes through ingest,
prompt, inference, outputs and the actions in dry run on a throw-away store, so a broken
redaction or a reply that fails to parse costs points like a wrong answer does.

The headline is measured on the golden set's ``test`` split, which nothing is tuned on
(``_split``), from the quality scorers that can fail for the model in use; ``--repeat``
runs the set k times for pass^k and the examples that flip between runs.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from seamline.audit import story
from seamline.errors import ConfigError
from seamline.eval._scorers import Context, NamedScorer, build_scorers
from seamline.eval._split import HEADLINE, split_of
from seamline.inference import Message, ModelRequest, build_gateway, models_dir_for, reads_prompt
from seamline.integration import Integration
from seamline.runtime import DUPLICATE, Pipeline, read_jsonl
from seamline.store import open_store

REPORT_FORMAT = 2


@dataclass(frozen=True)
class GoldenSet:
    """A versioned golden set: an optional header line, then ``{input, output}`` lines.

    The header is ``{"golden": {"version": "...", "scorers": [...]}}``; lines marked
    ``"rated": false`` (fresh samples nobody has rated yet) are left out of scoring.
    """

    path: Path
    version: str
    scorers: list[Any] | None
    examples: list[dict[str, Any]]
    unrated: int = 0


def read_golden(path: Path) -> GoldenSet:
    version, unrated = "", 0
    scorers: list[Any] | None = None
    examples: list[dict[str, Any]] = []
    for n, line in read_jsonl(path):
        try:
            item = json.loads(line)
        except ValueError:
            raise ConfigError(f"Golden line {n} of {path} is not valid JSON.") from None
        if isinstance(item, dict) and isinstance(item.get("golden"), dict) and not examples:
            version = str(item["golden"].get("version", ""))
            scorers = item["golden"].get("scorers")
            continue
        if not isinstance(item, dict) or not isinstance(item.get("input"), dict) or "output" not in item:
            raise ConfigError(f"Golden line {n} of {path} must be a JSON object with 'input' and 'output'.")
        if item.get("rated") is False:
            unrated += 1
            continue
        examples.append({**item, "_line": n})
    if not examples:
        raise ConfigError(f"The golden set {path} has no rated examples to score.")
    return GoldenSet(path, version, scorers, examples, unrated)


@dataclass
class ExampleResult:
    id: str
    state: str
    reason: str
    scores: dict[str, float | None]
    # Mean of the headline scorers that apply (quality, informative for this model); 0 without
    # an answer or when none applies. With --repeat: the mean over the runs.
    score: float
    output: Any = None
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    split: str = HEADLINE
    runs: list[float] = field(default_factory=list)  # the score of each run

    def passes(self, bar: float) -> int:
        return sum(r >= bar for r in (self.runs or [self.score]))


@dataclass
class EvalReport:
    """One integration (or variant) on one golden set; saved as JSON for the next gate.

    The headline (:attr:`score`) is the mean per-example score on the ``test`` split (every
    example when no line is in it), from the quality scorers that are informative for the
    integration's model; ``left_out`` says why each other one is not in it.
    """

    integration: str
    golden: str
    version: str
    variant: str
    scorers: dict[str, str]  # name -> quality | measure
    examples: list[ExampleResult]
    created_at: float = field(default_factory=time.time)
    left_out: dict[str, str] = field(default_factory=dict)  # scorer -> why not in the headline
    notes: list[str] = field(default_factory=list)  # what these scores cannot show
    repeat: int = 1
    pass_bar: float = 1.0  # an example passes a run when its score reaches this

    @property
    def headline_split(self) -> str:
        return HEADLINE if any(e.split == HEADLINE for e in self.examples) else "all"

    def on(self, split: str | None = None) -> list[ExampleResult]:
        """The examples of ``split`` ("dev", "test", "all"; None: the headline's)."""
        split = split or self.headline_split
        return [e for e in self.examples if split == "all" or e.split == split]

    @property
    def score(self) -> float:
        """The headline: mean per-example score (0..1) on the untouched split."""
        return self.score_on(None)

    def score_on(self, split: str | None) -> float:
        chosen = self.on(split)
        return statistics.fmean(e.score for e in chosen) if chosen else 0.0

    @property
    def headline_scorers(self) -> list[str]:
        return [n for n, k in self.scorers.items() if k == "quality" and not self.left_out.get(n)]

    def mean(self, name: str, split: str | None = None) -> float | None:
        values = [e.scores.get(name) for e in self.on(split)]
        present = [v for v in values if v is not None]
        return statistics.fmean(present) if present else None

    def pass_k(self, split: str | None = None) -> float:
        """pass^k: the share of examples that pass in every one of the k runs."""
        chosen = self.on(split)
        runs = max(self.repeat, 1)
        return (sum(e.passes(self.pass_bar) == runs for e in chosen) / len(chosen)
                if chosen else 0.0)

    def flaky(self) -> list[ExampleResult]:
        """Examples that passed in some runs and failed in others."""
        return [e for e in self.examples if 0 < e.passes(self.pass_bar) < len(e.runs)]

    def percentile(self, what: str, q: float) -> float:
        from seamline.eval._compare import percentile

        return percentile([getattr(e, what) for e in self.examples], q)

    def to_dict(self) -> dict[str, Any]:
        return {"format": REPORT_FORMAT, "score": self.score, "headline_split": self.headline_split,
                "score_dev": self.score_on("dev"), "headline_scorers": self.headline_scorers,
                "means": {n: self.mean(n) for n in self.scorers},
                "means_dev": {n: self.mean(n, "dev") for n in self.scorers},
                "pass_k": self.pass_k(), "flaky": [e.id for e in self.flaky()], **asdict(self)}

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalReport:
        examples = [ExampleResult(**e) for e in data["examples"]]
        return cls(data["integration"], data["golden"], data["version"], data["variant"],
                   data["scorers"], examples, data["created_at"], data.get("left_out", {}),
                   data.get("notes", []), data.get("repeat", 1), data.get("pass_bar", 1.0))

    @classmethod
    def load(cls, path: Path) -> EvalReport:
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise ConfigError(f"The report {path} does not exist.") from None
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"{path} is not a report written by `seamline eval run --report`.") from None


def _example_id(example: dict[str, Any], integration: Integration) -> str:
    if "id" in example:
        return str(example["id"])
    key = example["input"].get(integration.idempotency_key or "")
    return str(key) if key not in (None, "") else f"line-{example['_line']}"


def _judge_for(pipeline: Pipeline, integration: Integration) -> Callable[..., str]:
    """A judge that asks the integration's own provider (its route, policies and pricing)."""
    def ask(system: str, user: str, model: str = "") -> str:
        request = ModelRequest(messages=(Message("system", system), Message("user", user)),
                               model=model or integration.model.model, params={"temperature": 0},
                               max_tokens=integration.model.max_output_tokens)
        return pipeline.provider.complete(request).text
    return ask


def run_eval(integration: Integration, golden: Path | GoldenSet, *, provider=None,
             scorers: list[NamedScorer] | None = None, variant: str = "",
             on_example: Callable[[], None] | None = None, repeat: int = 1,
             pass_bar: float = 1.0) -> EvalReport:
    """Run every rated example through a fresh store (actions in dry run) and score it;
    ``repeat`` times (each run on its own store), for pass^k and flakiness."""
    gset = golden if isinstance(golden, GoldenSet) else read_golden(golden)
    if repeat < 1:
        raise ConfigError("--repeat must be at least 1.")
    if scorers is None:
        base = integration.source_path.parent if integration.source_path else Path.cwd()
        scorers = build_scorers(gset.scorers, integration, base=base)
    if not any(s.kind == "quality" for s in scorers):
        raise ConfigError("At least one quality scorer is needed for a score; only measures are declared.")
    left_out = {s.name: why for s in scorers if s.kind == "quality" and (why := s.left_out(integration))}
    if all(s.name in left_out for s in scorers if s.kind == "quality"):
        raise ConfigError("Every quality scorer is left out of the headline for this model ("
                          + "; ".join(f"{n}: {w}" for n, w in left_out.items())
                          + "): add one that checks the answer (fields, key_facts, exact...).")
    runs: list[list[ExampleResult]] = []
    for _ in range(repeat):
        runs.append(_one_run(integration, gset, provider, scorers, left_out, on_example))
    results = [_merged([run[i] for run in runs]) for i in range(len(gset.examples))]
    report = EvalReport(integration.name, str(gset.path), gset.version, variant or integration.name,
                        {s.name: s.kind for s in scorers}, results, left_out=left_out,
                        notes=prompt_notes(integration), repeat=repeat, pass_bar=pass_bar)
    if repeat > 1 and not report.flaky():
        report.notes.append(f"The {repeat} runs agree on every example"
                            + (" (the on-device model is deterministic)."
                               if not reads_prompt(integration.model) else "."))
    return report


def prompt_notes(integration: Integration) -> list[str]:
    """What a prompt change can do to these scores, said plainly when the answer is nothing."""
    if reads_prompt(integration.model):
        return []
    return [(f"The route's model ({integration.model.model}) does not read the prompt: a "
             "prompt change cannot change these scores. Evaluate prompts on a remote route.")]


def _one_run(integration: Integration, gset: GoldenSet, provider: Any,
             scorers: list[NamedScorer], left_out: dict[str, str],
             on_example: Callable[[], None] | None) -> list[ExampleResult]:
    results: list[ExampleResult] = []
    with tempfile.TemporaryDirectory(prefix="seamline-eval-") as tmp:
        store = open_store(Path(tmp) / "eval.db")
        try:
            # The on-device model's fit is kept beside the usual store, not the throw-away one:
            # the next eval loads it instead of fitting again.
            model = provider or build_gateway(integration, store, models_dir=models_dir_for())
            pipeline = Pipeline(integration, store, provider=model, dry_run=True)
            # The AI path is what is scored, whatever share the rollout flag gives it today.
            pipeline.flags.set(integration.flag_name, "on", reason="eval run")
            ask = _judge_for(pipeline, integration)
            for example in gset.examples:
                results.append(_score_one(pipeline, store, integration, example, scorers,
                                          left_out, ask))
                if on_example:
                    on_example()
        finally:
            store.close()
    return results


def _merged(runs: list[ExampleResult]) -> ExampleResult:
    """One example over its runs: the first run's answer, the mean score, every run's score."""
    first = runs[0]
    scores = [r.score for r in runs]
    return replace(first, score=statistics.fmean(scores), runs=scores)


def _score_one(pipeline: Pipeline, store, integration: Integration, example: dict[str, Any],
               scorers: list[NamedScorer], left_out: dict[str, str],
               ask: Callable[..., str]) -> ExampleResult:
    result = pipeline.process(example["input"])
    example_id = _example_id(example, integration)
    if result.state == DUPLICATE:
        raise ConfigError(f"Golden example {example_id} (line {example['_line']}) "
                          "repeats the idempotency key of an earlier one; each example must be distinct.")
    context = Context(example={k: v for k, v in example.items() if k != "_line"}, state=result.state,
                      reason=result.reason, cost_usd=result.cost_usd, timings_ms=dict(result.timings_ms),
                      story=story(store, result.event_id), judge=ask)
    scores: dict[str, float | None] = {}
    for s in scorers:
        try:
            value = s(example["output"], result.output, context)
        except Exception as exc:  # noqa: BLE001 - a user's scorer failing is a sentence, not a crash
            raise ConfigError(f"The scorer {s.name} failed on example {example_id}: "
                              f"{type(exc).__name__}: {exc}") from None
        scores[s.name] = None if value is None else float(value)
    quality = [v for s in scorers if s.kind == "quality" and s.name not in left_out
               and (v := scores[s.name]) is not None]
    if example["output"] is None:
        # A golden "no answer": the input must be refused (dead-lettered), not answered.
        score = float(result.output is None)
    else:
        # No answer at all (a reply that never parsed, a dead letter) is wrong whatever else held.
        score = statistics.fmean(quality) if quality and result.output is not None else 0.0
    return ExampleResult(example_id, result.state, result.reason, scores, score, result.output,
                         result.cost_usd, float(sum(result.timings_ms.values())),
                         split_of(example, example_id))


def gate(report: EvalReport, *, min_score: float | None = None, baseline: EvalReport | None = None,
         max_regression: float | None = None) -> list[str]:
    """Sentences naming every bar the report misses; empty when it passes.

    ``min_score`` is a fraction (0.9); ``max_regression`` is in percentage points of the
    headline score against ``baseline`` (2 means 0.92 → 0.89 fails).
    """
    problems: list[str] = []
    leaked = [e.id for e in report.examples if e.scores.get("no_pii_leak") == 0.0]
    if leaked:  # not a score to average away: a redaction bug fails the gate on its own
        problems.append(f"PII reached the model's prompt on {len(leaked)} example(s) "
                        f"(no_pii_leak): {', '.join(leaked[:10])}{' …' if len(leaked) > 10 else ''}.")
    if min_score is not None and report.score < min_score:
        problems.append(f"The eval score {report.score:.1%} is below the bar of {min_score:.1%}.")
    if max_regression is not None:
        if baseline is None:
            raise ConfigError("--max-regression needs --baseline-report, the report to compare against.")
        drop = (baseline.score - report.score) * 100
        if drop > max_regression:
            worse = [e.id for e, b in _paired(report, baseline) if e.score < b.score]
            problems.append(f"The eval score fell {drop:.1f} points ({baseline.score:.1%} → "
                            f"{report.score:.1%}), more than the {max_regression:g} allowed; worse on "
                            f"{len(worse)} example(s): {', '.join(worse[:10])}"
                            f"{' …' if len(worse) > 10 else ''}.")
    return problems


def _paired(report: EvalReport, baseline: EvalReport) -> list[tuple[ExampleResult, ExampleResult]]:
    before = {e.id: e for e in baseline.examples}
    return [(e, before[e.id]) for e in report.examples if e.id in before]
