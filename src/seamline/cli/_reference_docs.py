"""What each key of the integration file means, with an example: the text behind
``seamline schema`` and ``docs/reference.md``.

Keyed by ``Model.field`` of the Pydantic spec (``seamline.integration``). A field the spec
gains without an entry here is reported by ``tests/cli/test_first_hour.py`` (and shows as
undocumented in the reference), so the reference cannot fall behind the spec silently.
An entry is the description, or ``(description, example)`` where the example is the value
as written in YAML; without one the example is the default (or a value of the type).
"""

from __future__ import annotations

from typing import Any

DOCS: dict[str, str | tuple[str, Any]] = {
    # -- Integration
    "Integration.name": (("Lower-case name; events, flags, costs and the audit trail are "
                         "filed under it."), "lead_intake"),
    "Integration.checklist": "The pre-build checklist; `seamline check` refuses blanks.",
    "Integration.input_schema": (
        ("The event's shape: a Pydantic model as `file.py:Class` / `module:Class`, or an "
        "inline schema (`{name, fields}`, see *Inline schemas*)."), "schemas.py:SupportEmail"),
    "Integration.output_schema": (
        ("The answer's shape, the same two forms as `input_schema`; the model's reply is "
        "validated against it."), "schemas.py:TriageResult"),
    "Integration.pii": (("Per input field: `redact` (typed placeholders, real values in the "
                        "vault), `mask`, `drop` or `allow`. A field not named is redacted."),
                        {"message_id": "allow", "body": "redact"}),
    "Integration.pii_kinds": ("PII kinds redacted in `redact` fields; empty: every kind.",
                              ["EMAIL", "CARD", "PHONE"]),
    "Integration.ingest_cpu_budget_s": (
        ("CPU seconds ingest (redaction, mostly) may spend on one event; past it the event "
        "is dead-lettered with its text sealed in the vault."), 2),
    "Integration.prompt": "The prompt template (sandboxed Jinja2).",
    "Integration.model": "The model route: provider, model, prices, budgets, retries, fallbacks.",
    "Integration.actions": "What happens with an answer: handlers run through the outbox.",
    "Integration.rollout": "The flag and the baseline that answers when the AI path is off.",
    "Integration.queue": "How background workers retry and lease this integration's jobs.",
    "Integration.grounding": "Checks of the answer against its source (quotes, claims, "
                             "citations, abstention, dual generation, a judge).",
    "Integration.retrieval": "Documents retrieved into the input before the prompt.",
    "Integration.idempotency_key": ("Input field whose value dedupes events.", "message_id"),
    "Integration.tenant_key": ("Input field naming the tenant, for budgets.", "tenant_id"),
    "Integration.user_key": ("Input field naming the end user, for per-user soft caps.",
                             "customer_id"),
    "Integration.text_fields": (("Fields the on-device model reads, in order; default: every "
                                "string field."), ["subject", "body"]),
    "Integration.stream": "The stream shape: consume a broker and decide once per window.",
    "Integration.sources": "Vendor webhooks and pollers that feed the queue.",
    "Integration.vendors": (("Per family of vendor-neutral actions (`crm`, `email`, `sms`, "
                            "`calendar`, `ticket`, `payments`): the vendor in force (`use`) "
                            "and each vendor's options; switching is the `use:` line "
                            "(docs/vendor-neutral.md)."),
                            {"crm": {"use": "hubspot", "hubspot": {},
                                     "salesforce": {"base_url": "https://acme.my.salesforce.com",
                                                    "contact_key_field": "Email_Key__c"}},
                             "email": {"use": "resend"}}),
    "Integration.source_path": "Set by the loader (where the file was read from); not a key to write.",
    # -- Checklist
    "Checklist.workflow": ("One sentence: what the integration does for whom.",
                           "Tag every inbound support e-mail with intent and urgency."),
    "Checklist.owner": ("The person or team paged when it breaks.", "support-platform@acme.example"),
    "Checklist.baseline_metric": ("What is measured today without the model.",
                                  "Share of intent tags the lead keeps unchanged."),
    "Checklist.monthly_cost_ceiling_usd": ("The month's spend ceiling in US dollars.", 200),
    # -- PromptSpec
    "PromptSpec.user": (("The user turn; `{{ field }}` names an input field or a param. "
                        "Or `user_file: prompt_user.j2`."), "Subject: {{ subject }}\n\n{{ body }}"),
    "PromptSpec.system": ("The system turn. Or `system_file: prompt_system.j2`.",
                          "You triage support e-mail."),
    "PromptSpec.params": ("Constants the templates may use.", {"company": "Acme Cloud"}),
    # -- ModelRoute
    "ModelRoute.provider": (("`local` (on-device), `anthropic`, `openai`, `openai-compatible` "
                            "(vLLM, Ollama, llama.cpp …) or `scripted` (tests)."), "anthropic"),
    "ModelRoute.model": (("The provider's model name; `local-linear`, `local-words` or "
                         "`local-extractive` on `local`."), "claude-sonnet-4-5"),
    "ModelRoute.params": ("Extra request parameters passed to the provider.", {"temperature": 0}),
    "ModelRoute.input_usd_per_mtok": (
        ("Price per million input tokens; set (with `output_usd_per_mtok`) for a model not in "
        "`prices.toml`, or 0 for a free self-hosted one."), 0),
    "ModelRoute.output_usd_per_mtok": ("Price per million output tokens.", 0),
    "ModelRoute.max_output_tokens": ("Largest reply asked for.", 400),
    "ModelRoute.context_window": ("Tokens the model accepts; the prompt is fitted to it.", 4096),
    "ModelRoute.oversize": "An input too large for the window: `truncate` or `dead_letter`.",
    "ModelRoute.budgets": "Hard caps in US dollars, reserved before each call.",
    "ModelRoute.base_url": ("Where the provider answers (see *base_url per provider*).",
                            "http://localhost:8000/v1"),
    "ModelRoute.api_key_env": (("Environment variable holding the key (default "
                               "`ANTHROPIC_API_KEY` / `OPENAI_API_KEY`); never the key itself."),
                               "ANTHROPIC_API_KEY"),
    "ModelRoute.timeout_s": "Seconds per attempt.",
    "ModelRoute.structured": (
        ("How structured output is asked for: `auto` (the best the provider supports), "
        "`tool` (Anthropic tool use), `json_schema` / `json_object` (OpenAI response "
        "formats), `json` (asked in the prompt) or `none`."), "json_schema"),
    "ModelRoute.max_tokens_param": (
        ("The request field that carries `max_output_tokens` on the OpenAI wire format: "
         "`auto` is `max_completion_tokens` on `openai` (reasoning models refuse "
         "`max_tokens`) and `max_tokens` on `openai-compatible` servers, most of which know "
         "only that one."), "max_tokens"),
    "ModelRoute.examples": (("JSONL of labelled examples the `local` model learns from "
                            "(see *The local model's examples*), relative to the file."),
                            "data/train.jsonl"),
    "ModelRoute.max_repairs": "Follow-up calls with the validation errors before dead-lettering (0–2).",
    "ModelRoute.retry": "Retries of one model: exponential backoff with full jitter.",
    "ModelRoute.breaker": "When to stop calling a failing model for a while.",
    "ModelRoute.rate_limit": "The provider's limits; calls wait for capacity instead of a 429.",
    "ModelRoute.cache_ttl_s": ("Opt-in response cache, seconds.", 3600),
    "ModelRoute.data": (("What the provider may receive: `redacted_only` (the default), or "
                        "`raw_allowed` for fields the PII policy lets through (`allow`), "
                        "which also needs `dpa_reviewed` (see docs/data-policies.md)."),
                        "raw_allowed"),
    "ModelRoute.region": ("Where the provider processes the data (free text), for the audit.",
                          "eu"),
    "ModelRoute.dpa_reviewed": (("When the provider's data-processing terms were reviewed "
                                 "(ISO date)."), "2025-11-03"),
    "ModelRoute.fallbacks": (("Routes tried in order when this one fails retryably or its "
                             "breaker is open."),
                             [{"provider": "local", "model": "local-linear",
                               "examples": "data/train.jsonl"}]),
    # -- Budgets
    "Budgets.per_call_usd": ("Largest estimated cost of one call.", 0.05),
    "Budgets.per_tenant_daily_usd": ("Spend per tenant per UTC day (needs `tenant_key`).", 5),
    "Budgets.daily_usd": ("Spend of this integration per UTC day.", 20),
    "Budgets.soft_daily_usd": (("Soft caps per UTC day: past one, an event runs on "
                               "`over_soft` instead of being refused (see docs/costs.md)."),
                              {"per_user": 0.5, "per_tenant": 3}),
    "Budgets.over_soft": (("Where an event past a soft cap runs: `baseline`, or `{route: …}` "
                          "naming a fallback's model or a whole route."),
                          {"route": "claude-haiku-4-5"}),
    "Budgets.alert_at": (("Shares of every hard cap that raise one alert per cap and period "
                         "(1.0 also when the cap refuses)."), [0.5, 0.8, 1.0]),
    # -- SoftCaps
    "SoftCaps.per_user": ("Spend per end user per UTC day (needs `user_key`).", 0.5),
    "SoftCaps.per_tenant": ("Spend per tenant per UTC day (needs `tenant_key`).", 3),
    # -- OverSoft
    "OverSoft.route": (("The model of one of the route's fallbacks, or a whole model route."),
                       "claude-haiku-4-5"),
    # -- RetrySpec
    "RetrySpec.max_retries": "Retries after the first attempt (0–10).",
    "RetrySpec.base_delay_s": "First backoff delay; doubles per retry.",
    "RetrySpec.max_delay_s": "Longest delay between two attempts.",
    "RetrySpec.deadline_s": "Give up after this long in all; none: no deadline.",
    # -- BreakerSpec
    "BreakerSpec.failure_threshold": "Consecutive failures that open the breaker.",
    "BreakerSpec.error_rate": "Or this share of failures within `window` calls.",
    "BreakerSpec.window": "Calls the error rate is measured over.",
    "BreakerSpec.cooldown_s": "How long an open breaker refuses calls before one is tried.",
    # -- RateLimitSpec
    "RateLimitSpec.rpm": ("Requests per minute.", 50),
    "RateLimitSpec.tpm": ("Tokens per minute.", 40000),
    "RateLimitSpec.burst_s": "Seconds of capacity that may be spent at once.",
    "RateLimitSpec.max_wait_s": "Longest wait for capacity before the call fails retryably.",
    "RateLimitSpec.shared_by": ("Who shares the bucket: `auto` (Redis when "
                                "`SEAMLINE_REDIS_URL` is set, else the store), `redis`, "
                                "`store` or `process`."),
    # -- ActionSpec
    "ActionSpec.name": ("Lower-case name of the action.", "tag_ticket"),
    "ActionSpec.handler": (("`file.py:function` called as `fn(params, *, idempotency_key) -> "
                           "dict`, or `connector:NAME.operation`."), "helpdesk.py:tag_ticket"),
    "ActionSpec.when": ("Sandboxed Jinja2 expression over `input` and `output`; empty: always.",
                        "output.urgency == 'critical'"),
    "ActionSpec.params": ("Parameter name → expression over `input` (redacted) and `output`.",
                          {"ticket_id": "input.message_id", "tags": "[output.intent]"}),
    "ActionSpec.reveal_pii": "Hand the handler the real values behind the placeholders.",
    "ActionSpec.approval": "When the action waits for a person (see *Approval*).",
    "ActionSpec.connector": (("Options of a `connector:` handler (base_url, channel, `*_env` "
                             "names of credential variables)."), {"channel": "#support"}),
    "ActionSpec.vendor": (("A `kind:` action's vendor instead of its family's `vendors.FAMILY.use` "
                          "(options still from `vendors`)."), "salesforce"),
    "ActionSpec.risk": (("`high`: sends, charges or contracts; its approval gate is never "
                         "dropped by evidence (a connector operation that sends, charges, "
                         "refunds, pays, posts or contracts is high whatever this says)."),
                        "high"),
    "ActionSpec.idempotent": (("The receiver dedupes on the idempotency key, so after a crash "
                              "the action is sent again; otherwise it waits for a person."), True),
    # -- VendorChoice
    "VendorChoice.use": ("The vendor that does this family's kinds.", "hubspot"),
    "VendorChoice.options": (("Per vendor, its connector options and adapter settings; written "
                             "beside `use` (`hubspot: {…}`), kept when switching."),
                             {"hubspot": {"token_env": "HUBSPOT_ACCESS_TOKEN"}}),
    # -- ApprovalPolicy
    "ApprovalPolicy.always": ("Every run of the action waits for a person.", True),
    "ApprovalPolicy.below_confidence": ("Wait when the output's confidence is below this.", 0.6),
    "ApprovalPolicy.confidence_field": "Output field holding the confidence.",
    "ApprovalPolicy.amount_field": ("Output field holding an amount.", "refund_amount"),
    "ApprovalPolicy.above_amount": ("Wait when the amount is above this (needs `amount_field`).", 100),
    "ApprovalPolicy.min_amount": "Amounts at or below this wait too (zero and negative ones by default).",
    "ApprovalPolicy.currency_field": ("Output field holding the currency (with `currency`).", "currency"),
    "ApprovalPolicy.currency": ("The currency an unapproved amount must be in (ISO 4217).", "USD"),
    # -- RolloutSpec
    "RolloutSpec.flag": ("The flag's name; default `NAME.ai`.", "support_triage.ai"),
    "RolloutSpec.default": (("`\"on\"`, `\"off\"` (quoted: YAML reads a bare on as true) or a "
                            "sticky percentage 0–100, until `seamline flag set` says otherwise."), 25),
    "RolloutSpec.sticky_key": ("Input field that keeps one customer on one path.", "customer_id"),
    "RolloutSpec.baseline": (("`file.py:function(data) -> dict` answering when the AI path is "
                             "off or fails."), "baseline.py:keyword_triage"),
    "RolloutSpec.baseline_on_failure": "Answer with the baseline when the AI path fails.",
    "RolloutSpec.mode": (("`live` (the flag decides), `shadow` (the model watched on every "
                          "event, acting nowhere; the baseline acts) or `gated` (every model "
                          "action waits for a person until evidence drops its gate); "
                          "docs/rollout.md."), "shadow"),
    "RolloutSpec.shadow_log": "Also write each shadow decision to the `seamline.shadow` logger.",
    "RolloutSpec.gates": ("Action → the evidence that drops its gate in the gated stage.",
                          {"tag_ticket": {"last": 200, "unedited_at_least": 0.98,
                                          "lower_bound_at_least": 0.95}}),
    "RolloutSpec.plan": (("The whole path as stages walked by `seamline rollout watch` on the "
                          "recorded numbers; while it runs its stage sets the mode."),
                         [{"stage": "shadow", "for": "7d"}, {"stage": "gated"},
                          {"stage": "canary", "steps": [5, 10, 25, 50, 100]}]),
    # -- GateRule
    "GateRule.last": "How many of the latest decisions on the action are weighed (at least 20).",
    "GateRule.unedited_at_least": "The share of them approved unedited the gate needs dropped.",
    "GateRule.lower_bound_at_least": ("The lower 95% (Wilson) bound that share needs; `check` "
                                      "refuses a bound `last` can never reach."),
    # -- RolloutStage
    "RolloutStage.stage": ("`shadow`, `gated` or `canary`.", "shadow"),
    "RolloutStage.for_": ("Shadow: how long at least (a duration); written `for`.", "7d"),
    "RolloutStage.min_events": "Shadow: answered shadow decisions needed before moving on.",
    "RolloutStage.min_agreement": ("Shadow: the lower 95% bound every output field's "
                                   "agreement needs."),
    "RolloutStage.steps": ("Canary: the flag's percentages, rising.", [5, 10, 25, 50, 100]),
    "RolloutStage.window": ("Canary: how long each step must stay healthy.", "1h"),
    "RolloutStage.criteria": (("Canary: the thresholds a step must hold (as `rollout start "
                               "--criteria`)."), {"max_error_rate_increase": 0.01}),
    "RolloutSpec.require_signoff": (("The flag goes above 0% only once a signed-off golden set "
                                     "is passed (docs/golden-signoff.md); `false` opts out."), True),
    # -- QueueSpec
    "QueueSpec.attempts": ("Tries per stage whose failures are transient.",
                           {"inference": 5, "actions": 5}),
    "QueueSpec.backoff_s": "First delay between tries; doubles per try (full jitter).",
    "QueueSpec.backoff_max_s": "Longest delay between tries.",
    "QueueSpec.max_claims": "A job claimed this often without finishing is dead-lettered.",
    "QueueSpec.lease_s": "How long a worker holds a job; renewed while it works.",
    # -- GroundingSpec
    "GroundingSpec.source_fields": ("Input fields quotes must come from; empty: every string field.",
                                    ["subject", "body"]),
    "GroundingSpec.quote_fields": ("Output fields holding verbatim quotes (`[]` steps into lists).",
                                   ["evidence[]"]),
    "GroundingSpec.claims_field": ("Output list of claims, each `{text, quotes}`.", "claims"),
    "GroundingSpec.claim_text_key": "Key of a claim's text.",
    "GroundingSpec.claim_quotes_key": "Key of a claim's quotes.",
    "GroundingSpec.unsupported_claims": "`fail` (repair, then dead-letter) or `retract` (remove, recorded).",
    "GroundingSpec.claim_checks": "What a claim must share with its quotes; loosen by naming fewer.",
    "GroundingSpec.claim_coverage": "Share of a claim's content words its quotes must hold.",
    "GroundingSpec.min_quote_words": "Content words every quote needs.",
    "GroundingSpec.trusted_fields": (("Input fields that are trusted references (a CRM record, "
                                     "documents); others are untrusted user text."), ["account"]),
    "GroundingSpec.untrusted_parameters": ("An action parameter stated only in untrusted text: "
                                           "`doubt` (confidence set aside) or `allow`."),
    "GroundingSpec.abstain_field": ("Output field whose abstain value is a valid answer.", "status"),
    "GroundingSpec.abstain_values": "Values of `abstain_field` that mean abstention.",
    "GroundingSpec.citations_field": ("Output field of cited ids/URLs (closed sources).", "citations"),
    "GroundingSpec.documents_field": ("Input field holding the documents provided.", "documents"),
    "GroundingSpec.document_id_keys": "Keys identifying a cited document object.",
    "GroundingSpec.numbers_from_sources": ("Every number in a claim must occur in the source.", True),
    "GroundingSpec.citations": (("Which contract backs the claims: `quotes` (the model's own, "
                                "checked verbatim) or `provider` (Anthropic's citations API; "
                                "anthropic routes only; docs/citations.md)."), "provider"),
    "GroundingSpec.answer_field": (("Output field that receives the cited answer's whole "
                                    "text (`citations: provider`)."), "answer"),
    "GroundingSpec.allowed_sources": ("Citation whitelist: ids, URLs or hosts (fnmatch patterns).",
                                      ["docs.acme.example", "kb-*"]),
    "GroundingSpec.reasoning_field": (("Visible reasoning written before the claims, kept in the "
                                      "audit trail."), "reasoning"),
    "GroundingSpec.dual": ("Generate twice; divergence on these fields is a canary.",
                           {"fields": ["amount"], "policy": "flag"}),
    "GroundingSpec.judge": ("A fresh-context judge call per claim.", {"policy": "fail"}),
    # -- DualSpec
    "DualSpec.fields": ("High-stakes output fields compared between the two generations.", ["amount"]),
    "DualSpec.temperature": "Temperature of the second generation.",
    "DualSpec.seed": "Seed of the second generation, where the provider takes one.",
    "DualSpec.policy": "A divergence: `flag` (recorded) or `fail`.",
    # -- JudgeSpec
    "JudgeSpec.model": ("Another model of the integration's provider; empty: the route's own.",
                        "claude-haiku-4-5"),
    "JudgeSpec.policy": "An unsupported claim: `fail`, `retract` or `flag`.",
    "JudgeSpec.route": ("The judge's own route (needed when the integration's model is on-device).",
                        {"provider": "anthropic", "model": "claude-haiku-4-5"}),
    # -- RetrievalSpec
    "RetrievalSpec.docs": ("Documents folder (.md, .html, .txt, .pdf), indexed incrementally.", "docs"),
    "RetrievalSpec.index": ("The index file; default `.seamline/index/NAME.db`.", "index.db"),
    "RetrievalSpec.db": ("`store` or `env:NAME` for a PostgreSQL index shared by machines.", "store"),
    "RetrievalSpec.query_field": "Input field searched with.",
    "RetrievalSpec.documents_field": "Input field the chunks found go to.",
    "RetrievalSpec.k": "Chunks retrieved (1–50).",
    "RetrievalSpec.mode": "`bm25`, `vector` or `hybrid` (reciprocal rank fusion).",
    "RetrievalSpec.embedder": ("`local` (all-MiniLM-L6-v2), `hashing` or `openai:MODEL`.", "local"),
    "RetrievalSpec.min_score": ("BM25 floor below which nothing is retrieved.", 1.5),
    "RetrievalSpec.min_similarity": ("Cosine floor below which nothing is retrieved.", 0.3),
    "RetrievalSpec.max_tokens": "Chunk size in tokens, when the pipeline builds the index.",
    "RetrievalSpec.overlap": "Tokens two neighbouring chunks share.",
    # -- StreamSpec and windows
    "StreamSpec.name": ("Names the window state in the store; default: the integration's name.", "risk"),
    "StreamSpec.key_field": ("Event field that partitions windows (a customer, an account).",
                             "customer_id"),
    "StreamSpec.time_field": (("Event field holding the event time (epoch seconds or ISO 8601); "
                              "required by time windows."), "ts"),
    "StreamSpec.window": (("`{kind: tumbling, size}`, `{kind: sliding, size, slide}` or "
                          "`{kind: count, size, slide}`."),
                          {"kind": "sliding", "size": "10m", "slide": "1m"}),
    "StreamSpec.allowed_lateness": ("The watermark trails stream time by this much.", "30s"),
    "StreamSpec.late_policy": "An event whose window closed: `dead_letter` or `recompute`.",
    "StreamSpec.retention": ("How long a closed window's events are kept for `recompute`.", "1d"),
    "StreamSpec.decision_events": "Newest events of a window handed to the decision.",
    "StreamSpec.source": ("`redis://…?stream=&group=` or `nats://…?stream=&subject=`.",
                          "redis://127.0.0.1:6379/0?stream=payments&group=risk"),
    "StreamSpec.idle_timeout": (("After this long with no message, stream time follows the wall "
                                "clock; 0: never."), "1m"),
    "StreamSpec.idle_flush": "Count windows: decide a quiet key's unfilled window after `idle_timeout`.",
    "TumblingWindow.kind": "`tumbling`.",
    "TumblingWindow.size": ("Window length (seconds or `10m`).", "5m"),
    "SlidingWindow.kind": "`sliding`.",
    "SlidingWindow.size": ("Window length.", "10m"),
    "SlidingWindow.slide": ("A window starts every `slide`.", "1m"),
    "CountWindow.kind": "`count`.",
    "CountWindow.size": ("Events per window.", 20),
    "CountWindow.slide": ("Decide every `slide` events; default `size`.", 5),
    # -- SourceSpec
    "SourceSpec.name": ("Lower-case name; answers at `POST /v1/webhooks/NAME`.", "stripe"),
    "SourceSpec.kind": ("The vendor's scheme: `stripe`, `shopify`, `github`, `slack`, `standard`, "
                        "`twilio`, `intercom`, `hubspot`, `zendesk`, `sendgrid`, `basic`, `postmark`, "
                        "`paddle`, `calcom`, `calendly`, `hmac` or `poll` (docs/webhooks.md)."),
    "SourceSpec.secret_env": (("Variable holding the signing secret (several, space-separated, "
                              "for rotation)."), "STRIPE_WEBHOOK_SECRET"),
    "SourceSpec.tolerance_s": "Oldest signed timestamp accepted.",
    "SourceSpec.api_version": ("The vendor API version written against.", "2024-06-20"),
    "SourceSpec.map": ("`fn(payload) -> dict | None`: the payload as the integration's input.",
                       "hooks.py:from_stripe"),
    "SourceSpec.contract": "Fields declared required, optional or ignored for drift detection.",
    "SourceSpec.id_field": ("Dotted path of the vendor's event id in the body.", "data.id"),
    "SourceSpec.id_header": "Refused: no signature covers such a header; use `id_field`.",
    "SourceSpec.max_body_bytes": ("Largest body accepted.", 65536),
    "SourceSpec.public_url": (("Twilio, HubSpot: the URL as entered at the vendor, when a proxy "
                              "rewrites host or path (the query comes from the request)."),
                             "https://hooks.example.com/v1/webhooks/sms"),
    "SourceSpec.hmac": ("The scheme of a `kind: hmac` source.", {"header": "X-Signature"}),
    "SourceSpec.poll": ("The fetch function of a `kind: poll` source.",
                        {"fetch": "poll.py:fetch", "interval_s": 60}),
    "FieldPolicy.required": ("Paths that must be present.", ["id", "type"]),
    "FieldPolicy.optional": ("Paths that may be missing.", ["data.note"]),
    "FieldPolicy.ignored": ("Never recorded nor compared.", ["data.metadata"]),
    "HmacScheme.header": ("Header holding the signature.", "X-Signature"),
    "HmacScheme.algorithm": "`sha1`, `sha256` or `sha512`.",
    "HmacScheme.encoding": "`hex` or `base64`.",
    "HmacScheme.prefix": ("Text before the signature.", "sha256="),
    "HmacScheme.timestamp_header": ("Header holding a signed timestamp.", "X-Timestamp"),
    "HmacScheme.separator": "Between timestamp and body in what is signed.",
    "PollSpec.fetch": ("`fn(cursor) -> (items, next_cursor)`.", "poll.py:fetch"),
    "PollSpec.interval_s": "Seconds between polls.",
    "PollSpec.start_cursor": "The cursor of the first poll.",
    "PollSpec.backoff_s": "First delay after a failed poll.",
    "PollSpec.max_backoff_s": "Longest delay after failed polls.",
}

# Keys the file form adds to the spec (integration/_files.py), keyed like DOCS.
FILE_KEYS: dict[str, tuple[str, str]] = {
    "PromptSpec.user_file": (("The user template read from a file, relative to the integration "
                             "file (instead of `user`)."), "prompt_user.j2"),
    "PromptSpec.system_file": ("The system template read from a file (instead of `system`).",
                               "prompt_system.j2"),
}
