"""Layer 7, rollout: what "healthy" means for a canary, as thresholds against the baseline path.

Each broken criterion is a sentence with its numbers, so the audit trail and the alert
say why a rollout stopped without anyone re-running a query.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from seamline.rollout._health import Health


class Criteria(BaseModel):
    """Thresholds a step must hold to be promoted; any one broken rolls the flag back.

    Rates are shares (0.02 is two points). Latency holds when the AI path's p95 is within
    ``max_p95_ratio`` of the baseline's *or* under ``p95_cap_ms``: a baseline is often a
    rule answering in microseconds, which no model call can be within 1.5x of.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_events: int = Field(20, ge=1, description="AI-path events a step needs before promotion.")
    rollback_min_events: int = Field(5, ge=1, description="AI-path events before a breach counts.")
    max_error_rate_increase: float = Field(0.02, ge=0, le=1)
    max_p95_ratio: float = Field(1.5, gt=0)
    p95_cap_ms: float = Field(5000.0, gt=0)
    max_abstention_increase: float = Field(0.05, ge=0, le=1)
    max_refusal_increase: float = Field(0.02, ge=0, le=1)
    min_eval_score: float | None = Field(None, description="Production eval score floor, if scored.")


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def breaches(criteria: Criteria, health: Health) -> list[str]:
    """Every criterion the AI path breaks against the baseline, as sentences (none: healthy)."""
    ai, base, c = health.ai, health.baseline, criteria
    out: list[str] = []
    if ai.error_rate > base.error_rate + c.max_error_rate_increase:
        out.append(f"error rate {_pct(ai.error_rate)} ({ai.errors} of {ai.events}) against "
                   f"{_pct(base.error_rate)} on the baseline, more than "
                   f"{c.max_error_rate_increase * 100:g} points worse")
    limit = max(base.p95_ms * c.max_p95_ratio, c.p95_cap_ms)
    if ai.p95_ms > limit:
        out.append(f"p95 latency {ai.p95_ms:.0f} ms over the limit of {limit:.0f} ms "
                   f"(baseline {base.p95_ms:.0f} ms x {c.max_p95_ratio:g}, or {c.p95_cap_ms:g} ms)")
    if ai.abstention_rate > base.abstention_rate + c.max_abstention_increase:
        out.append(f"abstention rate {_pct(ai.abstention_rate)} against "
                   f"{_pct(base.abstention_rate)} on the baseline, more than "
                   f"{c.max_abstention_increase * 100:g} points worse")
    if ai.refusal_rate > base.refusal_rate + c.max_refusal_increase:
        out.append(f"refusal rate {_pct(ai.refusal_rate)} against {_pct(base.refusal_rate)} "
                   f"on the baseline, more than {c.max_refusal_increase * 100:g} points worse")
    if c.min_eval_score is not None and health.eval_score is not None \
            and health.eval_score < c.min_eval_score:
        out.append(f"production eval score {health.eval_score:.3f} under the floor "
                   f"{c.min_eval_score:g}")
    return out
