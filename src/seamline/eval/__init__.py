"""The eval harness: golden sets scored through the whole integration.

``run_eval`` scores one integration (every layer, actions in dry run) with plain scorer
functions; ``gate`` turns a report into the sentences a CI job fails on; ``compare`` runs
variants side by side with bootstrap intervals; ``sample_events`` draws production events
into a golden set for rating.
"""

from seamline.eval._compare import (
    Comparison,
    Flip,
    apply_overrides,
    bootstrap_ci,
    compare,
    parse_variant,
)
from seamline.eval._feedback import (
    TruthRefused,
    accuracy_over_time,
    import_truths,
    record_truth,
    sparkline,
)
from seamline.eval._golden import GoldenScore, categorical_fields, score_golden
from seamline.eval._production import ProductionScore, latest_runs, parse_duration, utc, watch
from seamline.eval._report import render_html, write_html
from seamline.eval._run import EvalReport, ExampleResult, GoldenSet, gate, read_golden, run_eval
from seamline.eval._sample import parse_since, sample_events, write_sample
from seamline.eval._scorers import (
    Context,
    NamedScorer,
    Scorer,
    abstention,
    build_scorers,
    cost,
    exact,
    field_match,
    grounding,
    judge,
    key_facts,
    latency,
    no_pii_leak,
    normalise,
    numeric,
    regex,
    set_score,
)
from seamline.eval._split import HEADLINE, SPLITS, check_split, split_of

__all__ = [
    "HEADLINE",
    "SPLITS",
    "Comparison",
    "Context",
    "EvalReport",
    "ExampleResult",
    "Flip",
    "GoldenScore",
    "GoldenSet",
    "NamedScorer",
    "ProductionScore",
    "Scorer",
    "TruthRefused",
    "abstention",
    "accuracy_over_time",
    "apply_overrides",
    "bootstrap_ci",
    "build_scorers",
    "categorical_fields",
    "check_split",
    "compare",
    "cost",
    "exact",
    "field_match",
    "gate",
    "grounding",
    "import_truths",
    "judge",
    "key_facts",
    "latency",
    "latest_runs",
    "no_pii_leak",
    "normalise",
    "numeric",
    "parse_duration",
    "parse_since",
    "parse_variant",
    "read_golden",
    "record_truth",
    "regex",
    "render_html",
    "run_eval",
    "sample_events",
    "score_golden",
    "set_score",
    "sparkline",
    "split_of",
    "utc",
    "watch",
    "write_html",
    "write_sample",
]
