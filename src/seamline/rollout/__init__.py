"""Layer 7, rollout: flags with sticky percentage canaries and the baseline path.

When the AI path is off or fails, the integration's baseline function answers. A staged
rollout promotes a flag step by step while the AI path stays as healthy as the baseline,
and rolls it back at once when it does not; alert rules watch the runtime's numbers;
OpenFeature connects Seamline's flags with a team's own flag service, both ways.
"""

from seamline.rollout._criteria import Criteria, breaches
from seamline.rollout._flags import Flags, FlagState, bucket, parse_state
from seamline.rollout._health import Health, PathHealth, measure
from seamline.rollout._openfeature import DelegatedFlagState, OpenFeatureFlags, SeamlineProvider
from seamline.rollout._rules import AlertRule, evaluate_rules, load_rules, measure_metric
from seamline.rollout._schedule import (
    Decision,
    Plan,
    abort_rollout,
    evaluate_all,
    evaluate_rollout,
    flip,
    get_plan,
    list_plans,
    pause_rollout,
    resume_rollout,
    start_rollout,
)

__all__ = [
    "AlertRule", "Criteria", "Decision", "DelegatedFlagState", "FlagState", "Flags", "Health",
    "OpenFeatureFlags", "PathHealth", "Plan", "SeamlineProvider", "abort_rollout", "breaches",
    "bucket", "evaluate_all", "evaluate_rollout", "evaluate_rules", "flip", "get_plan",
    "list_plans", "load_rules", "measure", "measure_metric", "parse_state", "pause_rollout",
    "resume_rollout", "start_rollout",
]
