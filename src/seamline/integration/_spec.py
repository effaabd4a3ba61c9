"""The one place that names everything about an integration.

An :class:`Integration` is declared in Python or loaded from YAML/TOML (see
``_files.py``); both produce this same object, which every layer reads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from seamline.durations import seconds
from seamline.integration._grounding import GroundingSpec, JudgeSpec
from seamline.integration._retrieval import RetrievalSpec
from seamline.integration._source import SourceSpec
from seamline.integration._stream import StreamSpec
from seamline.integration._vendors import VendorChoice
from seamline.scrub import install_log_filter
from seamline.scrub import register as register_secret_names

PIIAction = Literal["redact", "mask", "drop", "allow"]
OversizePolicy = Literal["truncate", "dead_letter"]
RetriedStage = Literal["inference", "actions"]  # stages whose transient failures a queue retries


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, arbitrary_types_allowed=True)


class Checklist(_Frozen):
    """The pre-build checklist: nobody goes live with a blank here."""

    workflow: str = Field("", description="One sentence: what the integration does for whom.")
    owner: str = Field("", description="The person or team paged when it breaks.")
    baseline_metric: str = Field("", description="What is measured today without the model.")
    monthly_cost_ceiling_usd: float | None = Field(None, ge=0)


class PromptSpec(_Frozen):
    user: str
    system: str = ""
    params: dict[str, Any] = Field(default_factory=dict)


class SoftCaps(_Frozen):
    """Daily soft caps in US dollars: an event whose worst case would take the day's spend
    of its end user (``user_key``) or tenant (``tenant_key``) past one is not refused but
    runs on ``budgets.over_soft`` (a cheaper route, or the baseline)."""

    per_user: float | None = Field(None, ge=0)
    per_tenant: float | None = Field(None, ge=0)


class OverSoft(_Frozen):
    """Where an event past a soft cap runs: ``route`` is a whole model route, or the model
    name of one of the primary route's fallbacks."""

    route: ModelRoute | str


class Budgets(_Frozen):
    """Hard caps in US dollars, checked before each call by reserving its estimate; soft
    caps that degrade instead of refusing; and the shares of each hard cap that alert."""

    per_call_usd: float | None = Field(None, ge=0)
    per_tenant_daily_usd: float | None = Field(None, ge=0)
    daily_usd: float | None = Field(None, ge=0)
    soft_daily_usd: SoftCaps | None = None
    # An event past a soft cap: ``baseline``, or ``{route: <ModelRoute or fallback name>}``.
    over_soft: Literal["baseline"] | OverSoft | None = None
    # Shares of every hard cap (daily, per-tenant daily, global daily, monthly) at which
    # one alert is raised per cap and period, e.g. [0.5, 0.8, 1.0]; 1.0 also when it refuses.
    alert_at: tuple[float, ...] = ()

    @field_validator("alert_at")
    @classmethod
    def _shares(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        bad = [s for s in value if not 0 < s <= 1]
        if bad:
            raise ValueError(f"alert_at holds shares of a cap between 0 (excluded) and 1, "
                             f"not {', '.join(f'{s:g}' for s in bad)}")
        return tuple(sorted(set(value)))


class RetrySpec(_Frozen):
    """Retries of one model: exponential backoff with full jitter, Retry-After honoured."""

    max_retries: int = Field(3, ge=0, le=10)
    base_delay_s: float = Field(0.5, ge=0)
    max_delay_s: float = Field(30.0, ge=0)
    deadline_s: float | None = Field(60.0, gt=0)


class BreakerSpec(_Frozen):
    """When to stop calling a failing model for a while (per provider and model)."""

    failure_threshold: int = Field(5, ge=1)
    error_rate: float = Field(0.5, gt=0, le=1)
    window: int = Field(20, ge=1)
    cooldown_s: float = Field(30.0, ge=0)


class RateLimitSpec(_Frozen):
    """The provider's limits for this model and key; calls wait instead of meeting a 429."""

    rpm: float | None = Field(None, gt=0)
    tpm: float | None = Field(None, gt=0)
    burst_s: float = Field(1.0, gt=0)
    max_wait_s: float | None = Field(60.0, gt=0)
    # Who shares the bucket: "auto" is Redis when SEAMLINE_REDIS_URL is set, else the store.
    shared_by: Literal["auto", "redis", "store", "process"] = "auto"


class ModelRoute(_Frozen):
    provider: str = "local"
    model: str = "local-linear"
    params: dict[str, Any] = Field(default_factory=dict)
    # Prices per million tokens; the on-device model costs nothing.
    input_usd_per_mtok: float = Field(0.0, ge=0)
    output_usd_per_mtok: float = Field(0.0, ge=0)
    max_output_tokens: int = Field(512, gt=0)
    context_window: int = Field(8192, gt=0)
    oversize: OversizePolicy = "truncate"
    budgets: Budgets = Field(default_factory=lambda: Budgets())
    # Remote providers: where, which environment variable holds the key, how long to wait,
    # and how to ask for structured output ("auto": the best the provider supports).
    base_url: str | None = None
    api_key_env: str | None = None
    timeout_s: float = Field(60.0, gt=0)
    structured: Literal["auto", "tool", "json", "json_schema", "json_object", "none"] = "auto"
    # OpenAI wire format: which field carries max_output_tokens ("auto": max_completion_tokens
    # on openai, which reasoning models require; max_tokens on openai-compatible servers).
    max_tokens_param: Literal["auto", "max_completion_tokens", "max_tokens"] = "auto"
    # Labelled examples the on-device model learns from (JSONL of {"input", "output"}).
    examples: Path | None = None
    max_repairs: int = Field(2, ge=0, le=2)
    retry: RetrySpec = RetrySpec()
    breaker: BreakerSpec = BreakerSpec()
    rate_limit: RateLimitSpec | None = None
    # Opt-in response cache, keyed by model, the full prompt and parameters.
    cache_ttl_s: float | None = Field(None, gt=0)
    # Tried in order when this model fails retryably or its breaker is open.
    fallbacks: tuple[ModelRoute, ...] = ()
    # The provider's data policy (seamline check, the audit of every call): whether it may
    # receive values an integration lets through unredacted, where it processes them, and
    # when its data-processing terms were reviewed.
    data: Literal["redacted_only", "raw_allowed"] = "redacted_only"
    region: str = ""
    dpa_reviewed: date | None = None


# Budgets may name a route to degrade to, and the judge its own route: ModelRoute exists
# only now.
OverSoft.model_rebuild(_types_namespace={"ModelRoute": ModelRoute})
Budgets.model_rebuild()
ModelRoute.model_rebuild()
JudgeSpec.model_rebuild(_types_namespace={"ModelRoute": ModelRoute})
GroundingSpec.model_rebuild(_types_namespace={"ModelRoute": ModelRoute})


class ApprovalPolicy(_Frozen):
    """When an action waits for a person instead of running.

    Nothing in an event can lift these rules: the confidence compared with
    ``below_confidence`` is the model's own only while Seamline finds no instruction-like
    text in the input and no doubt in the grounding checks; an amount runs unapproved
    only when it is a finite number above ``min_amount`` (zero and negative amounts wait by
    default), at most ``above_amount``, and in ``currency`` when one is declared.
    """

    always: bool = False
    below_confidence: float | None = Field(None, ge=0, le=1)
    confidence_field: str = "confidence"
    amount_field: str | None = None
    above_amount: float | None = None
    # Amounts at or below this wait too: a refund of 0 or of -5000 is not routine.
    min_amount: float = 0.0
    # With both: the output's currency field must name this currency (case aside).
    currency_field: str | None = None
    currency: str | None = Field(None, min_length=3, max_length=3)

    @model_validator(mode="after")
    def _coherent(self) -> ApprovalPolicy:
        if (self.currency_field is None) != (self.currency is None):
            raise ValueError("approval: currency_field and currency go together (the output "
                             "field holding the currency, and the currency it must be)")
        if self.above_amount is not None and self.above_amount < self.min_amount:
            raise ValueError(f"approval: above_amount {self.above_amount} is below min_amount "
                             f"{self.min_amount}; every amount would wait")
        if (self.above_amount is not None or self.currency_field) and not self.amount_field:
            raise ValueError("approval: above_amount and currency need amount_field, the "
                             "output field holding the amount")
        return self

    @property
    def is_auto(self) -> bool:
        return (not self.always and self.below_confidence is None and self.amount_field is None)


class ActionSpec(_Frozen):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    handler: str | Callable[..., Any]
    # A sandboxed Jinja2 expression over ``input`` and ``output``; empty means always.
    when: str = ""
    # Parameter name -> sandboxed Jinja2 expression over ``input`` and ``output``.
    params: dict[str, str] = Field(default_factory=dict)
    # Whether the handler receives real values in place of PII placeholders.
    reveal_pii: bool = False
    approval: ApprovalPolicy = ApprovalPolicy()
    # Options of the connector when ``handler`` is "connector:NAME.operation" (base_url,
    # channel, the names of the environment variables holding credentials …).
    connector: dict[str, Any] = Field(default_factory=dict)
    # The receiver dedupes on the idempotency key: after a crash between sending and
    # recording, the action is sent again with the same key. Otherwise such an action is
    # "in doubt" and waits for a person (connectors that can ask the vendor ask first).
    idempotent: bool = False
    # "high": the action sends, charges or contracts; its approval gate is never dropped
    # by evidence (rollout.gates). A connector operation that sends, charges or contracts
    # is high-risk whatever this says (seamline.rollout.action_risk).
    risk: Literal["low", "high"] = "low"
    # A vendor-neutral action (``handler: kind:FAMILY.VERB``): this vendor instead of the
    # integration's ``vendors.FAMILY.use`` (its options still come from ``vendors``).
    vendor: str | None = None


class GateRule(_Frozen):
    """When the gated stage's approval gate of one action may be dropped: over the last
    ``last`` decisions on it, at least ``unedited_at_least`` of them approved as they were,
    with the lower 95% (Wilson) bound of that share at least ``lower_bound_at_least``."""

    last: int = Field(200, ge=20)
    unedited_at_least: float = Field(0.98, gt=0, le=1)
    lower_bound_at_least: float = Field(0.95, gt=0, le=1)


class RolloutStage(_Frozen):
    """One stage of a declared rollout plan (``rollout.plan``), walked by ``rollout watch``.

    ``shadow``: the model watched for at least ``for`` (a duration) and ``min_events``
    events, then on when every output field agrees with what happened with a lower 95%
    bound of at least ``min_agreement``. ``gated``: every action approved by a person, on
    when every declared gate rule holds (their gates are dropped as they do). ``canary``:
    the flag's staged rollout over ``steps`` with ``window`` and ``criteria``, rolled back
    on a breach; high-risk actions keep their gates through it and after.
    """

    stage: Literal["shadow", "gated", "canary"]
    for_: str = Field("7d", alias="for")
    min_events: int = Field(100, ge=1)
    min_agreement: float = Field(0.9, gt=0, le=1)
    steps: tuple[float, ...] = (5, 10, 25, 50, 100)
    window: str = "1h"
    criteria: dict[str, Any] = Field(default_factory=dict)

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False,
                              populate_by_name=True)

    @field_validator("for_", "window")
    @classmethod
    def _duration(cls, value: str) -> str:
        seconds(value)  # a sentence now, not at 3 am when the stage would end
        return value


class RolloutSpec(_Frozen):
    flag: str = ""
    # "on", "off" or a percentage 0..100 of sticky keys sent down the AI path.
    default: Literal["on", "off"] | float = "on"

    @field_validator("default", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted on/off as true/false; never let that become a 1% canary.
        if isinstance(value, bool):
            return "on" if value else "off"
        return value

    sticky_key: str = ""
    baseline: str | Callable[..., Any] | None = None
    baseline_on_failure: bool = True
    # "live": the flag sends each event down the AI path or the baseline's. "shadow": the
    # AI path runs on every event under the same budgets, its actions are recorded as
    # "would have run" and never executed, and the baseline answers and acts; `seamline
    # rollout report` scores the two. "gated": the AI path answers, and every action waits
    # for a person until its gate is dropped by evidence (``gates``).
    mode: Literal["live", "shadow", "gated"] = "live"
    # Also write each shadow decision to the "seamline.shadow" logger (redacted, one line).
    shadow_log: bool = True
    # Action name -> the evidence that drops its gate in the gated stage.
    gates: dict[str, GateRule] = Field(default_factory=dict)
    # The whole path as one plan, e.g. [{stage: shadow, for: 7d}, {stage: gated},
    # {stage: canary, steps: [5, 10, 25, 50, 100]}]; while it runs, its stage sets the mode.
    plan: tuple[RolloutStage, ...] = ()
    # Eval-first go-live: the flag goes above 0% only once a signed-off golden set is passed
    # by the current prompt version and model (seamline.rollout.go_live_problem). False is
    # the declared opt-out, for integrations whose quality is not judged by a golden set.
    require_signoff: bool = True


_FIVE_TRIES: dict[RetriedStage, int] = {"inference": 5, "actions": 5}


class QueueSpec(_Frozen):
    """How workers run this integration in the background (seamline.queue).

    ``attempts`` caps the tries of a job per stage whose failures are transient (the
    provider down or rate limited: ``inference``; a downstream system failing: ``actions``);
    between tries the job waits ``backoff_s * 2**n`` seconds (full jitter, at most
    ``backoff_max_s``). A job claimed ``max_claims`` times without finishing (its workers
    kept dying) is dead-lettered. A worker holds a job for ``lease_s`` seconds and renews
    the lease while it works; another worker takes over an expired lease.
    """

    attempts: dict[RetriedStage, int] = Field(default_factory=lambda: _FIVE_TRIES.copy())
    backoff_s: float = Field(2.0, gt=0)
    backoff_max_s: float = Field(300.0, gt=0)
    max_claims: int = Field(10, ge=1)
    lease_s: float = Field(30.0, ge=1)

    @field_validator("attempts")
    @classmethod
    def _positive(cls, value: dict[RetriedStage, int]) -> dict[RetriedStage, int]:
        bad = {k: v for k, v in value.items() if v < 1}
        if bad:
            raise ValueError(f"attempts must be at least 1, not {bad}")
        return value


class Integration(_Frozen):
    name: str = Field(pattern=r"^[a-z][a-z0-9_\-]*$")
    checklist: Checklist = Checklist()
    input_schema: type[BaseModel]
    output_schema: type[BaseModel]
    pii: dict[str, PIIAction] = Field(default_factory=dict)
    # PII kinds redacted in fields whose policy is "redact"; empty means every kind.
    pii_kinds: tuple[str, ...] = ()
    # Seconds of CPU ingest may spend on one event (redaction, mostly); past it the event is
    # dead-lettered with its text sealed in the vault, never kept half-scanned.
    ingest_cpu_budget_s: float = Field(2.0, gt=0, le=600)
    prompt: PromptSpec
    model: ModelRoute = ModelRoute()
    actions: tuple[ActionSpec, ...] = ()
    rollout: RolloutSpec = RolloutSpec()
    queue: QueueSpec = QueueSpec()
    # Checks of the output against its source (seamline.outputs): quotes, claims, citations,
    # abstention, dual generation, a fresh-context judge.
    grounding: GroundingSpec = GroundingSpec()
    # Documents retrieved into the input before the prompt (seamline.retrieval).
    retrieval: RetrievalSpec | None = None
    idempotency_key: str = Field("", description="Input field whose value dedupes events.")
    tenant_key: str = Field("", description="Input field naming the tenant, for budgets.")
    user_key: str = Field("", description="Input field naming the end user, for soft caps.")
    # Fields the on-device model reads, in order; default: every string field.
    text_fields: tuple[str, ...] = ()
    # The stream shape: consume a broker and decide once per window (seamline.streaming).
    stream: StreamSpec | None = None
    # Where events come from besides the API: vendor webhooks and pollers (seamline.edges).
    sources: tuple[SourceSpec, ...] = ()
    # Per family of vendor-neutral actions (crm, email, ...): the vendor that does them and
    # each vendor's options; switching vendor is the family's ``use:`` line.
    vendors: dict[str, VendorChoice] = Field(default_factory=dict)
    source_path: Path | None = Field(None, description="Where the file form was loaded from.")

    @property
    def flag_name(self) -> str:
        return self.rollout.flag or f"{self.name}.ai"

    @property
    def secret_env_names(self) -> tuple[str, ...]:
        """Every environment variable this declaration names as holding a secret: sources'
        ``secret_env``, models' ``api_key_env`` (fallbacks too), connectors' ``*_env``
        options, a retrieval database's ``env:NAME``."""
        names: list[str] = [s.secret_env for s in self.sources if s.secret_env]
        routes = [self.model]
        over_soft = self.model.budgets.over_soft
        if over_soft is not None and over_soft != "baseline" and not isinstance(over_soft.route, str):
            routes.append(over_soft.route)
        while routes:
            route = routes.pop()
            names += [route.api_key_env] if route.api_key_env else []
            routes += route.fallbacks
        for action in self.actions:
            names += [v for k, v in action.connector.items()
                      if k.endswith("_env") and isinstance(v, str) and v]
        for choice in self.vendors.values():
            names += choice.secret_env_names
        if self.retrieval is not None and self.retrieval.db.startswith("env:"):
            names.append(self.retrieval.db.removeprefix("env:"))
        return tuple(dict.fromkeys(names))

    @model_validator(mode="after")
    def _register_secrets(self) -> Integration:
        # Declaring an integration is where Seamline learns which variables hold secrets,
        # whatever they are called: from now on the audit, the logs and the console take
        # their values out (seamline.scrub).
        register_secret_names(self.secret_env_names)
        install_log_filter()
        return self
