"""``eval compare``: variants of one integration side by side on the same golden set.

Variants differ in model, prompt or parameters; each runs the whole stack. What is
compared: the headline score (the test split) with a bootstrap 95% confidence interval (a
fixed seed, so the same runs give the same interval), the dev split's score -- the one to
choose a threshold, a floor or a prompt by --, the examples that flip between right and
wrong, and cost and latency percentiles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from seamline.errors import ConfigError
from seamline.eval._run import EvalReport, GoldenSet, read_golden, run_eval
from seamline.inference import reads_prompt
from seamline.integration import Integration, load_integration

SEED = 20240601
RESAMPLES = 2000


def bootstrap_ci(values: list[float], *, resamples: int = RESAMPLES, seed: int = SEED,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; one value (or none) has no spread."""
    if len(values) < 2:
        v = values[0] if values else 0.0
        return v, v
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(resamples, len(data)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return float(lo), float(hi)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else 0.0


@dataclass(frozen=True)
class Flip:
    """One example that is right under one variant and wrong under another."""

    id: str
    scores: dict[str, float]  # variant -> per-example score


@dataclass
class Comparison:
    golden: str
    reports: dict[str, EvalReport]  # variant -> report, the first is the reference
    notes: list[str] = field(default_factory=list)  # what a variant cannot show

    @property
    def reference(self) -> str:
        return next(iter(self.reports))

    def ci(self, variant: str, split: str | None = None) -> tuple[float, float]:
        """The bootstrap interval of the headline (the test split), or of ``split``."""
        return bootstrap_ci([e.score for e in self.reports[variant].on(split)])

    def flips(self) -> list[Flip]:
        """Examples whose verdict (fully right or not) differs between any two variants."""
        by_id: dict[str, dict[str, float]] = {}
        for name, report in self.reports.items():
            for e in report.examples:
                by_id.setdefault(e.id, {})[name] = e.score
        return [Flip(i, s) for i, s in by_id.items() if len({v >= 1.0 for v in s.values()}) > 1]

    def summary(self) -> list[dict[str, Any]]:
        """One row per variant: score, interval, scorer means, cost and latency."""
        rows = []
        for name, r in self.reports.items():
            lo, hi = self.ci(name)
            rows.append({
                "variant": name, "score": r.score, "ci95": [lo, hi],
                "headline_split": r.headline_split, "score_dev": r.score_on("dev"),
                "ci95_dev": list(self.ci(name, "dev")), "pass_k": r.pass_k(),
                "means": {n: r.mean(n) for n in r.scorers},
                "means_dev": {n: r.mean(n, "dev") for n in r.scorers},
                "ci95_by_scorer": {n: list(bootstrap_ci([v for e in r.on(None)
                                                         if (v := e.scores.get(n)) is not None]))
                                   for n, kind in r.scorers.items() if kind == "quality"},
                "cost_total_usd": sum(e.cost_usd for e in r.examples),
                "cost_p50_usd": r.percentile("cost_usd", 50), "cost_p95_usd": r.percentile("cost_usd", 95),
                "latency_p50_ms": r.percentile("latency_ms", 50),
                "latency_p95_ms": r.percentile("latency_ms", 95),
                "answered": sum(e.output is not None for e in r.examples), "examples": len(r.examples),
            })
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {"golden": self.golden, "variants": self.summary(), "notes": self.notes,
                "flips": [{"id": f.id, "scores": f.scores} for f in self.flips()],
                "reports": {n: r.to_dict() for n, r in self.reports.items()}}


_OVERRIDES = ("model", "provider", "temperature", "system", "user", "system_file", "user_file",
              "retrieval_mode", "retrieval_k", "embedder", "retrieval_min_score",
              "retrieval_min_similarity")
_RETRIEVAL = {"retrieval_mode": "mode", "retrieval_k": "k", "embedder": "embedder",
              "retrieval_min_score": "min_score", "retrieval_min_similarity": "min_similarity"}


def apply_overrides(integration: Integration, overrides: dict[str, str]) -> Integration:
    """The integration with another model, temperature or prompt (inline or from a file)."""
    unknown = sorted(set(overrides) - set(_OVERRIDES))
    if unknown:
        raise ConfigError(f"Unknown variant setting(s) {unknown}; use {', '.join(_OVERRIDES)}.")
    route, prompt = integration.model, integration.prompt
    if "model" in overrides or "provider" in overrides:
        route = route.model_copy(update={k: overrides[k] for k in ("model", "provider") if k in overrides})
    if "temperature" in overrides:
        try:
            temperature = float(overrides["temperature"])
        except ValueError:
            raise ConfigError(f"The temperature {overrides['temperature']!r} is not a number.") from None
        route = route.model_copy(update={"params": {**route.params, "temperature": temperature}})
    base = integration.source_path.parent if integration.source_path else Path.cwd()
    texts = {}
    for key in ("system", "user"):
        if f"{key}_file" in overrides:
            path = base / overrides[f"{key}_file"]
            if not path.is_file():
                raise ConfigError(f"The prompt file {path} of a variant does not exist.")
            texts[key] = path.read_text(encoding="utf-8")
        elif key in overrides:
            texts[key] = overrides[key]
    if texts:
        prompt = prompt.model_copy(update=texts)
    retrieval = integration.retrieval
    wanted = {_RETRIEVAL[k]: v for k, v in overrides.items() if k in _RETRIEVAL}
    if wanted:
        if retrieval is None:
            raise ConfigError("A retrieval setting was given for an integration without retrieval.")
        try:  # validated like the file form: a mode or k that makes no sense fails here
            retrieval = type(retrieval).model_validate({**retrieval.model_dump(), **wanted})
        except ValidationError as exc:
            raise ConfigError(f"A variant's retrieval setting is invalid: "
                              f"{exc.errors()[0]['msg']}.") from None
    return integration.model_copy(update={"model": route, "prompt": prompt,
                                          "retrieval": retrieval})


def parse_variant(text: str, base: Integration) -> tuple[str, Integration]:
    """``NAME=path/or/module:attr`` (another integration) or ``NAME=key=value,key=value``."""
    name, sep, spec = text.partition("=")
    if not sep or not name or not spec:
        raise ConfigError(f"The variant {text!r} must look like NAME=integration.yaml or "
                          "NAME=model=local-words,temperature=0.2.")
    if "=" not in spec:
        return name, load_integration(spec)
    overrides = {}
    for part in spec.split(","):
        key, eq, value = part.partition("=")
        if not eq:
            raise ConfigError(f"The variant setting {part!r} of {name} must look like key=value.")
        overrides[key.strip()] = value.strip()
    return name, apply_overrides(base, overrides)


def compare(variants: dict[str, Integration], golden: Path | GoldenSet, *,
            providers: dict[str, Any] | None = None,
            on_example: Callable[[], None] | None = None) -> Comparison:
    """Run each variant on the same golden set; the first is the reference."""
    if not variants:
        raise ConfigError("Compare needs at least one variant.")
    gset = golden if isinstance(golden, GoldenSet) else read_golden(golden)
    reports = {name: run_eval(spec, gset, provider=(providers or {}).get(name), variant=name,
                              on_example=on_example)
               for name, spec in variants.items()}
    return Comparison(str(gset.path), reports, prompt_only_notes(variants))


def prompt_only_notes(variants: dict[str, Integration]) -> list[str]:
    """Variants that change only the prompt of a model that does not read it, said plainly."""
    names = list(variants)
    base = variants[names[0]]
    out = []
    for name in names[1:]:
        spec = variants[name]
        if (spec.prompt != base.prompt and spec.model == base.model
                and spec.retrieval == base.retrieval and not reads_prompt(spec.model)):
            out.append(f"Variant {name} changes only the prompt, which the route's model "
                       f"({spec.model.model}) does not read: its answers are {names[0]}'s by "
                       "construction.")
    return out
