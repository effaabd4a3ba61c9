"""Layer 7, rollout: flags with sticky percentage canaries and the baseline path.

When the AI path is off or fails, the integration's baseline function answers. A staged
rollout promotes a flag step by step while the AI path stays as healthy as the baseline,
and rolls it back at once when it does not; alert rules watch the runtime's numbers;
OpenFeature connects Seamline's flags with a team's own flag service, both ways.
No flag goes above 0% before the integration passes its signed-off golden set (eval-first
go-live, ``go_live_problem``). Before the canary: shadow mode (the model watched, the baseline acting) and the gated
stage (every action approved by a person until evidence drops its gate).
"""

from seamline.rollout._criteria import Criteria, breaches
from seamline.rollout._flags import Flags, FlagState, bucket, parse_state
from seamline.rollout._gates import (
    GateEvidence,
    Gates,
    action_risk,
    evidence,
    gate_flag,
    gate_problems,
    wilson_lower,
    wilson_upper,
)
from seamline.rollout._golive import (
    GOLDEN,
    GoldenRun,
    SignOff,
    check_go_live,
    go_live_problem,
    golden_hash,
    golden_runs,
    latest_signoff,
    model_identity,
    owner_of,
    prompt_version,
)
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
from seamline.rollout._shadow import (
    SHADOW,
    Agreement,
    ShadowReport,
    log_shadow,
    shadow_entry,
    shadow_report,
)
from seamline.rollout._stages import (
    StageDecision,
    StageModes,
    StageState,
    advance,
    advance_all,
    get_stage,
    start_plan,
)

__all__ = [
    "GOLDEN",
    "SHADOW",
    "Agreement",
    "AlertRule",
    "Criteria",
    "Decision",
    "DelegatedFlagState",
    "FlagState",
    "Flags",
    "GateEvidence",
    "Gates",
    "GoldenRun",
    "Health",
    "OpenFeatureFlags",
    "PathHealth",
    "Plan",
    "SeamlineProvider",
    "ShadowReport",
    "SignOff",
    "StageDecision",
    "StageModes",
    "StageState",
    "abort_rollout",
    "action_risk",
    "advance",
    "advance_all",
    "breaches",
    "bucket",
    "check_go_live",
    "evaluate_all",
    "evaluate_rollout",
    "evaluate_rules",
    "evidence",
    "flip",
    "gate_flag",
    "gate_problems",
    "get_plan",
    "get_stage",
    "go_live_problem",
    "golden_hash",
    "golden_runs",
    "latest_signoff",
    "list_plans",
    "load_rules",
    "log_shadow",
    "measure",
    "measure_metric",
    "model_identity",
    "owner_of",
    "parse_state",
    "pause_rollout",
    "prompt_version",
    "resume_rollout",
    "shadow_entry",
    "shadow_report",
    "start_plan",
    "start_rollout",
    "wilson_lower",
    "wilson_upper",
]
