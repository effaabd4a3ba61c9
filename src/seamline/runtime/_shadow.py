"""The shadow path's layers 3-5: the model answers and plans, the baseline answers and acts.

``rollout.mode: shadow`` puts every event here. The model's call runs under the same
budgets and its output is planned like any other, but the actions it asks for are only
recorded, as would-have-run, in the event's ``shadow`` audit entry (written in the same
commit as the outcome); the baseline's answer is the one the event keeps and acts on. A
model that fails, times out or is refused by a cap changes nothing for the baseline: its
failure is recorded beside it.
"""

from __future__ import annotations

from dataclasses import replace

from seamline.integration import Integration
from seamline.rollout import log_shadow, shadow_entry
from seamline.runtime._baseline import Baseline
from seamline.runtime._decide import PlanActions
from seamline.runtime._infer import Infer
from seamline.runtime._types import Admission, Inference, Refusal


class Shadow:
    """The model watched: its answer recorded, the baseline's acted on."""

    def __init__(self, integration: Integration, infer: Infer, plan: PlanActions,
                 baseline: Baseline) -> None:
        self.integration, self.infer, self.plan, self.baseline = integration, infer, plan, baseline

    def run(self, a: Admission) -> Inference:
        ai = self.infer.run(a)
        error, would = ai.error, []
        if ai.output is not None:
            planned = self.plan.run(a, ai)
            if isinstance(planned, Refusal):
                error = planned.reason
            else:
                would = [{"name": p.name, "params": p.params,
                          "approval_reason": p.approval_reason} for p in planned.actions]
        entry = shadow_entry(ai.output, error, would, ai.cost_usd, ai.model)
        if ai.grounding is not None:
            entry["grounding"] = ai.grounding.as_dict()
        if self.integration.rollout.shadow_log:
            log_shadow(self.integration.name, a.event_id, entry)
        acted = self.baseline.run(a)
        # The model's calls and cost stay the event's (they were made and are paid for).
        return replace(acted, cost_usd=ai.cost_usd, calls=ai.calls, model=ai.model,
                       reservations=ai.reservations, shadow=entry)
