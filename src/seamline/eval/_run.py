"""``eval run``: a golden set through every layer, scored, kept as a report, gated.

The eval scores the integration, not the model: each example goes through ingest,
prompt, inference, outputs and the actions in dry run on a throw-away store, so a broken
redaction or a reply that fails to parse costs points like a wrong answer does.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from seamline.audit import story
from seamline.errors import ConfigError
from seamline.eval._scorers import Context, NamedScorer, build_scorers
from seamline.inference import Message, ModelRequest
from seamline.integration import Integration
from seamline.runtime import DUPLICATE, Pipeline, read_jsonl
from seamline.store import open_store

REPORT_FORMAT = 1


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
    score: float  # mean of the quality scorers that apply; 0 without an answer or when none does
    output: Any = None
    cost_usd: float = 0.0
    latency_ms: float = 0.0


@dataclass
class EvalReport:
    """One integration (or variant) on one golden set; saved as JSON for the next gate."""

    integration: str
    golden: str
    version: str
    variant: str
    scorers: dict[str, str]  # name -> quality | measure
    examples: list[ExampleResult]
    created_at: float = field(default_factory=time.time)

    @property
    def score(self) -> float:
        """The headline: mean per-example score (0..1)."""
        return statistics.fmean(e.score for e in self.examples) if self.examples else 0.0

    def mean(self, name: str) -> float | None:
        values = [e.scores.get(name) for e in self.examples]
        present = [v for v in values if v is not None]
        return statistics.fmean(present) if present else None

    def percentile(self, what: str, q: float) -> float:
        from seamline.eval._compare import percentile

        return percentile([getattr(e, what) for e in self.examples], q)

    def to_dict(self) -> dict[str, Any]:
        return {"format": REPORT_FORMAT, "score": self.score,
                "means": {n: self.mean(n) for n in self.scorers}, **asdict(self)}

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalReport:
        examples = [ExampleResult(**e) for e in data["examples"]]
        return cls(data["integration"], data["golden"], data["version"], data["variant"],
                   data["scorers"], examples, data["created_at"])

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
             on_example: Callable[[], None] | None = None) -> EvalReport:
    """Run every rated example through a fresh store (actions in dry run) and score it."""
    gset = golden if isinstance(golden, GoldenSet) else read_golden(golden)
    if scorers is None:
        base = integration.source_path.parent if integration.source_path else Path.cwd()
        scorers = build_scorers(gset.scorers, integration, base=base)
    if not any(s.kind == "quality" for s in scorers):
        raise ConfigError("At least one quality scorer is needed for a score; only measures are declared.")
    results: list[ExampleResult] = []
    with tempfile.TemporaryDirectory(prefix="seamline-eval-") as tmp:
        store = open_store(Path(tmp) / "eval.db")
        try:
            pipeline = Pipeline(integration, store, provider=provider, dry_run=True)
            # The AI path is what is scored, whatever share the rollout flag gives it today.
            pipeline.flags.set(integration.flag_name, "on", reason="eval run")
            ask = _judge_for(pipeline, integration)
            for example in gset.examples:
                results.append(_score_one(pipeline, store, integration, example, scorers, ask))
                if on_example:
                    on_example()
        finally:
            store.close()
    return EvalReport(integration.name, str(gset.path), gset.version, variant or integration.name,
                      {s.name: s.kind for s in scorers}, results)


def _score_one(pipeline: Pipeline, store, integration: Integration, example: dict[str, Any],
               scorers: list[NamedScorer], ask: Callable[..., str]) -> ExampleResult:
    result = pipeline.process(example["input"])
    if result.state == DUPLICATE:
        raise ConfigError(f"Golden example {_example_id(example, integration)} (line {example['_line']}) "
                          "repeats the idempotency key of an earlier one; each example must be distinct.")
    context = Context(example={k: v for k, v in example.items() if k != "_line"}, state=result.state,
                      reason=result.reason, cost_usd=result.cost_usd, timings_ms=dict(result.timings_ms),
                      story=story(store, result.event_id), judge=ask)
    scores: dict[str, float | None] = {}
    for s in scorers:
        try:
            value = s(example["output"], result.output, context)
        except Exception as exc:  # noqa: BLE001 - a user's scorer failing is a sentence, not a crash
            raise ConfigError(f"The scorer {s.name} failed on example {_example_id(example, integration)}: "
                              f"{type(exc).__name__}: {exc}") from None
        scores[s.name] = None if value is None else float(value)
    quality = [v for s in scorers if s.kind == "quality" and (v := scores[s.name]) is not None]
    if example["output"] is None:
        # A golden "no answer": the input must be refused (dead-lettered), not answered.
        score = float(result.output is None)
    else:
        # No answer at all (a reply that never parsed, a dead letter) is wrong whatever else held.
        score = statistics.fmean(quality) if quality and result.output is not None else 0.0
    return ExampleResult(_example_id(example, integration), result.state, result.reason, scores,
                         score, result.output,
                         result.cost_usd, float(sum(result.timings_ms.values())))


def gate(report: EvalReport, *, min_score: float | None = None, baseline: EvalReport | None = None,
         max_regression: float | None = None) -> list[str]:
    """Sentences naming every bar the report misses; empty when it passes.

    ``min_score`` is a fraction (0.9); ``max_regression`` is in percentage points of the
    headline score against ``baseline`` (2 means 0.92 → 0.89 fails).
    """
    problems: list[str] = []
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
