"""Scoring an integration on a golden set, through every layer, actions in dry run.

A broken redaction or a parse failure costs points here, because the eval runs
the integration rather than calling the model alone.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from seamline.errors import ConfigError
from seamline.eval._split import check_split, split_of
from seamline.inference import build_gateway, models_dir_for
from seamline.integration import Integration
from seamline.runtime import Pipeline, read_jsonl
from seamline.store import open_store


def categorical_fields(schema) -> list[str]:
    out = []
    for name, f in schema.model_fields.items():
        ann = f.annotation
        if get_origin(ann) is Literal or any(get_origin(a) is Literal for a in get_args(ann)):
            out.append(name)
    return out


@dataclass
class GoldenScore:
    examples: int = 0
    answered: int = 0
    correct: dict[str, int] = field(default_factory=dict)
    all_correct: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (example id, reason)

    def accuracy(self, name: str) -> float:
        return self.correct.get(name, 0) / self.examples if self.examples else 0.0

    @property
    def exact(self) -> float:
        return self.all_correct / self.examples if self.examples else 0.0


def score_golden(integration: Integration, golden: Path, *, provider=None, baseline_only: bool = False,
                 on_example: Callable[[], None] | None = None,
                 split: str = "all") -> GoldenScore:
    """Run the golden examples of ``split`` (dev, test or all) through a throw-away store and
    compare categorical fields."""
    check_split(split)
    fields = categorical_fields(integration.output_schema)
    if not fields:
        raise ConfigError("The output schema has no categorical (Literal) fields to score.")
    score = GoldenScore(correct={f: 0 for f in fields})
    with tempfile.TemporaryDirectory(prefix="seamline-eval-") as tmp:
        store = open_store(Path(tmp) / "eval.db")
        # The on-device model's fit is kept beside the usual store: loaded, not fitted again.
        model = provider or build_gateway(integration, store, models_dir=models_dir_for())
        pipeline = Pipeline(integration, store, provider=model, dry_run=True)
        if baseline_only:
            pipeline.flags.set(integration.flag_name, "off", reason="baseline score")
        try:
            for n, line in read_jsonl(golden):
                try:
                    example: dict[str, Any] = json.loads(line)
                    if isinstance(example, dict) and "golden" in example and "input" not in example:
                        continue  # the header line
                    expected = example["output"]
                    raw = example["input"]
                except (ValueError, KeyError, TypeError):
                    raise ConfigError(f"Golden line {n} must be a JSON object with 'input' and "
                                      "'output'.") from None
                example_id = str(example.get("id") or raw.get(integration.idempotency_key or "")
                                 or f"line-{n}")
                if split != "all" and split_of(example, example_id) != split:
                    continue
                result = pipeline.process(raw)
                score.examples += 1
                got = result.output
                if got is None:
                    score.failures.append((str(raw.get("message_id", n)), result.reason))
                else:
                    score.answered += 1
                    hits = [got.get(f) == expected.get(f) for f in fields]
                    for f, hit in zip(fields, hits):
                        score.correct[f] += hit
                    score.all_correct += all(hits)
                if on_example:
                    on_example()
        finally:
            store.close()
    return score
