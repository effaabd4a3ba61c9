"""The support-triage demo in the Python form; integration.yaml says the same in YAML."""

from __future__ import annotations

from pathlib import Path

from seamline.integration import (
    ActionSpec,
    ApprovalPolicy,
    Budgets,
    Checklist,
    Integration,
    ModelRoute,
    PromptSpec,
    RolloutSpec,
    resolve,
)

HERE = Path(__file__).parent

integration = Integration(
    name="support_triage",
    checklist=Checklist(
        workflow="Tag every inbound support e-mail with intent and urgency, and page on-call for critical ones.",
        owner="support-platform@acme.example",
        baseline_metric="Share of tickets whose intent tag the support lead keeps unchanged (keyword rules today).",
        monthly_cost_ceiling_usd=200,
    ),
    input_schema=resolve("schemas.py:SupportEmail", base=HERE),
    output_schema=resolve("schemas.py:TriageResult", base=HERE),
    pii={"message_id": "allow", "tenant_id": "allow", "customer_id": "allow", "language": "allow",
         "from_email": "redact", "subject": "redact", "body": "redact"},
    prompt=PromptSpec(
        system=(HERE / "prompt_system.j2").read_text(encoding="utf-8"),
        user=(HERE / "prompt_user.j2").read_text(encoding="utf-8"),
        params={"company": "Acme Cloud",
                "intents": ["billing", "refund", "technical", "account", "shipping",
                            "cancellation", "feedback", "other"],
                "urgencies": ["low", "normal", "high", "critical"]},
    ),
    model=ModelRoute(
        provider="local", model="local-linear", examples=(HERE / "data" / "train.jsonl").resolve(),
        context_window=4096, max_output_tokens=400, oversize="truncate",
        budgets=Budgets(per_call_usd=0.05, per_tenant_daily_usd=5, daily_usd=20),
    ),
    actions=(
        ActionSpec(name="tag_ticket", handler="helpdesk.py:tag_ticket",
                   params={"ticket_id": "input.message_id", "tags": "[output.intent, output.urgency]"},
                   approval=ApprovalPolicy(below_confidence=0.2)),
        ActionSpec(name="escalate", handler="helpdesk.py:escalate",
                   when="output.urgency == 'critical'", reveal_pii=True,
                   params={"ticket_id": "input.message_id", "summary": "output.summary",
                           "urgency": "output.urgency", "contact": "input.from_email"},
                   approval=ApprovalPolicy(always=True)),
    ),
    rollout=RolloutSpec(flag="support_triage.ai", default="on", sticky_key="customer_id",
                        baseline="baseline.py:keyword_triage"),
    idempotency_key="message_id",
    tenant_key="tenant_id",
    text_fields=("subject", "body"),
    source_path=(HERE / "integration.py").resolve(),
)
