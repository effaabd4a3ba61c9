"""The eval harness: golden sets scored through the whole integration.

``run_eval`` scores one integration (every layer, actions in dry run) with plain scorer
functions; ``gate`` turns a report into the sentences a CI job fails on; ``compare`` runs
variants side by side with bootstrap intervals; ``sample_events`` draws production events
into a golden set for rating; ``sign_off`` records a person's sign-off of a golden set and
``record_golden_run`` the runs that the rollout's go-live check reads.

Each name loads with its own module on first use (``seamline.lazy``): ``seamline run``
scoring a golden set does not import the comparison's bootstrap or the HTML report.
"""

from typing import TYPE_CHECKING

from seamline.lazy import surface

_MODULES = {
    "_compare": ("Comparison", "Flip", "apply_overrides", "bootstrap_ci", "compare",
                 "parse_variant"),
    "_feedback": ("TruthRefused", "accuracy_over_time", "import_truths", "record_truth",
                  "sparkline"),
    "_golden": ("GoldenScore", "categorical_fields", "score_golden"),
    "_production": ("ProductionScore", "latest_runs", "parse_duration", "utc", "watch"),
    "_report": ("render_html", "write_html"),
    "_run": ("EvalReport", "ExampleResult", "GoldenSet", "gate", "read_golden", "run_eval"),
    "_sample": ("parse_since", "sample_events", "write_sample"),
    "_signoff": ("MIN_HAND_RATED", "Coverage", "FieldCoverage", "coverage", "hand_rated",
                 "record_golden_run", "sign_off", "signed_bar"),
    "_scorers": ("Context", "NamedScorer", "Scorer", "abstention", "build_scorers",
                 "citation_coverage", "cost", "exact", "field_match", "grounding", "judge", "key_facts", "latency",
                 "no_pii_leak", "normalise", "numeric", "regex", "set_score"),
    "_split": ("HEADLINE", "SPLITS", "check_split", "split_of"),
}

if TYPE_CHECKING:
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
        citation_coverage,
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
    from seamline.eval._signoff import (
        MIN_HAND_RATED,
        Coverage,
        FieldCoverage,
        coverage,
        hand_rated,
        record_golden_run,
        sign_off,
        signed_bar,
    )
    from seamline.eval._split import HEADLINE, SPLITS, check_split, split_of
else:
    __getattr__, __dir__ = surface(__name__, _MODULES)

__all__ = [
    "HEADLINE",
    "MIN_HAND_RATED",
    "SPLITS",
    "Comparison",
    "Context",
    "Coverage",
    "EvalReport",
    "ExampleResult",
    "FieldCoverage",
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
    "citation_coverage",
    "compare",
    "cost",
    "coverage",
    "exact",
    "field_match",
    "gate",
    "grounding",
    "hand_rated",
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
    "record_golden_run",
    "record_truth",
    "regex",
    "render_html",
    "run_eval",
    "sample_events",
    "score_golden",
    "set_score",
    "sign_off",
    "signed_bar",
    "sparkline",
    "split_of",
    "utc",
    "watch",
    "write_html",
    "write_sample",
]
