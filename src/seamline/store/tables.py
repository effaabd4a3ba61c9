"""The store's tables, as SQLAlchemy Core metadata.

Core rather than the ORM: the pipeline writes several rows per event on its hot
path, and plain inserts keep that within the SQLite commit floor.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# 64-bit on PostgreSQL (a busy audit log outgrows 2^31 rows); INTEGER on SQLite so the
# column stays an alias of the rowid.
BigId = BigInteger().with_variant(Integer, "sqlite")

# One row per event received, duplicates included: nothing is dropped silently.
events = Table(
    "events",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("integration", String(100), nullable=False),
    Column("idempotency_key", String(300), nullable=False),
    Column("tenant", String(200), nullable=False, default=""),
    Column("state", String(30), nullable=False),
    Column("stage", String(30), nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("path", String(20), nullable=False, default=""),  # "ai" | "baseline"
    Column("duplicate_of", String(40), nullable=True),
    Column("input", Text, nullable=True),  # redacted JSON
    Column("output", Text, nullable=True),  # JSON the actions were planned from
    Column("fallback_output", Text, nullable=True),  # baseline answer after an AI failure
    Column("prompt_version", String(80), nullable=False, default=""),
    Column("model", String(200), nullable=False, default=""),
    Column("cost_usd", Float, nullable=False, default=0.0),
    Column("timings", Text, nullable=True),  # JSON: layer -> milliseconds
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_events_integration_state", "integration", "state"),
    # The console's lists page by id (time-ordered) within a state or an integration.
    Index("ix_events_state_id", "state", "id"),
    Index("ix_events_integration_id", "integration", "id"),
)

dedupe_keys = Table(
    "dedupe_keys",
    metadata,
    Column("integration", String(100), primary_key=True),
    Column("idempotency_key", String(300), primary_key=True),
    Column("event_id", String(40), nullable=False),
)

# Real values behind PII placeholders, encrypted; only the action layer reads them.
vault = Table(
    "vault",
    metadata,
    Column("event_id", String(40), primary_key=True),
    Column("placeholder", String(60), primary_key=True),
    Column("ciphertext", Text, nullable=False),
)

prompt_versions = Table(
    "prompt_versions",
    metadata,
    Column("version", String(80), primary_key=True),
    Column("integration", String(100), nullable=False),
    Column("system", Text, nullable=False),
    Column("user", Text, nullable=False),
    Column("params", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

budget_counters = Table(
    "budget_counters",
    metadata,
    Column("scope", String(300), primary_key=True),
    Column("cap_usd", Float, nullable=False),
    Column("spent_usd", Float, nullable=False, default=0.0),
    Column("updated_at", Float, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(80), nullable=False),
    Column("event_id", String(40), ForeignKey("events.id"), nullable=False),
    Column("integration", String(100), nullable=False),
    Column("action", String(100), nullable=False),
    Column("params", Text, nullable=False),  # JSON, placeholders unresolved
    Column("status", String(30), nullable=False),
    Column("approval_reason", Text, nullable=False, default=""),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=False, default=""),
    Column("result", Text, nullable=True),
    Column("decided_by", String(200), nullable=False, default=""),
    Column("comment", Text, nullable=False, default=""),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    # Intent before effect: set (its own commit) just before the handler runs, cleared
    # with the result. Set with no result after the sender stopped: the action is in doubt.
    Column("intent_at", Float, nullable=True),
    Column("intent_by", String(200), nullable=False, server_default=""),  # host:pid/thread
    # The connector credential a ``waiting_credentials`` row waits for (seamline.connectors'
    # OAuth): fixed by a re-authorization or a refresh, its rows run again.
    Column("waiting_for", String(100), nullable=False, server_default=""),
    # What a person approved: the digest of the action, its parameters and its key. An
    # approved row runs only while it still hashes to this (an edit after it voids it).
    Column("approved_digest", String(80), nullable=False, server_default=""),
    UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
    Index("ix_outbox_status", "status"),
    Index("ix_outbox_event", "event_id"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(40), nullable=False),
    Column("integration", String(100), nullable=False),
    Column("stage", String(30), nullable=False),
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Column("payload", Text, nullable=True),  # redacted
    Column("created_at", Float, nullable=False),
    Index("ix_dead_letters_integration", "integration"),
    Index("ix_dead_letters_event", "event_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=False),
    Column("event_id", String(40), nullable=False),
    Column("integration", String(100), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # SHA-256 of ``payload_salt`` (16 random bytes, hex) and ``payload``: the row's hash
    # covers this instead of the payload, so a payload purged or erased ('' and '') leaves a
    # row that still verifies, and a guess at the payload cannot be tested against it. NULL
    # on rows written before migration 0014 (their hash covers the payload, which must stay).
    Column("payload_hash", String(64), nullable=True),
    Column("payload_salt", String(32), nullable=True),
    Index("ix_audit_event", "event_id"),
)

# A copy of every signed checkpoint of the chain (seamline.audit). Verifiers trust the copy
# in the sink outside the database; this one lets the next checkpoint link to the last.
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("idx", BigId, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("at", Float, nullable=False),
    Column("body", Text, nullable=False),  # the signed JSON, as published
    Column("published", Boolean, nullable=False, default=False),
)

# The chain's head, one row; writers lock it so appends serialise across processes.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigId, nullable=False),
    Column("hash", String(64), nullable=False),
)

flags = Table(
    "flags",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("mode", String(10), nullable=False),  # on | off | percent
    Column("percent", Float, nullable=False, default=100.0),
    Column("reason", Text, nullable=False, default=""),
    Column("updated_at", Float, nullable=False),
)

integrations = Table(
    "integrations",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("source", Text, nullable=False, default=""),
    Column("updated_at", Float, nullable=False),
)

# Opt-in cache of model replies (seamline.inference._cache.Caching), keyed by a hash of
# everything that determines the reply.
response_cache = Table(
    "response_cache",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("reply", Text, nullable=False),  # JSON: text, model, stop_reason, usage
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

# Rate-limit buckets shared through the store (GCRA: one theoretical arrival time per
# key and resource), for processes on one machine or workers sharing PostgreSQL.
rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("slot", String(300), primary_key=True),
    Column("tat", Float, nullable=False),
)

# The durable queue of the background shape (seamline.queue): one row per unit of work.
# ``payload`` holds the raw event encrypted with the vault key (it may carry PII the
# pipeline has not redacted yet) and is erased once the job is done.
jobs = Table(
    "jobs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("integration", String(100), nullable=False),
    Column("event_id", String(40), nullable=False),
    Column("kind", String(20), nullable=False),  # event | redrive
    Column("payload", Text, nullable=True),  # Fernet token of the raw event; None once done
    Column("status", String(20), nullable=False),  # queued | running | done | dead
    Column("attempts", Integer, nullable=False, default=0),  # claims so far
    Column("available_at", Float, nullable=False),
    Column("lease_owner", String(120), nullable=False, default=""),
    Column("lease_expires_at", Float, nullable=False, default=0.0),
    Column("last_error", Text, nullable=False, default=""),
    Column("outcome", String(30), nullable=False, default=""),  # the event's state when done
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    # Who submitted it, "via:name" (session:ana, api_key:api-key:3f2a…, webhook:stripe);
    # the event's ingest entry in the audit trail says so too. Never a secret.
    Column("submitted_by", String(200), nullable=False, server_default=""),
    Index("ix_jobs_claim", "status", "available_at", "id"),
    Index("ix_jobs_lease", "status", "lease_expires_at"),
    Index("ix_jobs_event", "event_id"),
)

# The stream shape (seamline.streaming): window state lives here, not in the consumer, so
# a restarted or second consumer carries on from the last committed batch.
# One row per declared stream: the latest event time (the watermark trails it) and counters.
stream_progress = Table(
    "stream_progress",
    metadata,
    Column("stream", String(200), primary_key=True),
    Column("max_event_time", Float, nullable=True),
    Column("applied", BigInteger, nullable=False, default=0),
    Column("late_dead_lettered", BigInteger, nullable=False, default=0),
    Column("late_recomputed", BigInteger, nullable=False, default=0),
    Column("invalid", BigInteger, nullable=False, default=0),
    Column("updated_at", Float, nullable=False),
)

# Every source message whose effect is committed, written in the same transaction as that
# effect: a redelivery after a crash (or a message claimed by a second consumer) is seen here.
stream_applied = Table(
    "stream_applied",
    metadata,
    Column("stream", String(200), primary_key=True),
    Column("message_id", String(200), primary_key=True),
    Column("applied_at", Float, nullable=False),
    Index("ix_stream_applied_at", "applied_at"),
)

# One row per window that holds at least one event. ``status``: 0 open, 1 due (closed, its
# revision not decided yet), 2 decided; a recomputed late event bumps the revision, due again.
stream_windows = Table(
    "stream_windows",
    metadata,
    Column("stream", String(200), primary_key=True),
    Column("key_value", String(300), primary_key=True),
    Column("window_start", Float, primary_key=True),
    Column("window_end", Float, primary_key=True),
    Column("events_count", Integer, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("status", Integer, nullable=False, default=0),
    Column("decided_revision", Integer, nullable=False, default=0),
    Column("event_id", String(40), nullable=True),  # the decision's event
    Column("updated_at", Float, nullable=False),
    Index("ix_stream_windows_due", "stream", "status", "window_end"),
)

# The events windows are made of, stored once however many windows hold them. ``payload``
# is the raw event encrypted with the vault key: it has not been through redaction yet.
stream_events = Table(
    "stream_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("stream", String(200), nullable=False),
    Column("key_value", String(300), nullable=False),
    Column("event_time", Float, nullable=False),
    Column("seq", BigInteger, nullable=False),  # the key's event number, for count windows
    Column("message_id", String(200), nullable=False),
    Column("payload", Text, nullable=False),
    Index("ix_stream_events_time", "stream", "key_value", "event_time"),
    Index("ix_stream_events_seq", "stream", "key_value", "seq"),
)

# How many events each key has had: the position of the next one in its count windows.
stream_keys = Table(
    "stream_keys",
    metadata,
    Column("stream", String(200), primary_key=True),
    Column("key_value", String(300), primary_key=True),
    Column("next_seq", BigInteger, nullable=False),
)

# ---- edges (seamline.contracts, seamline.edges, seamline.connectors) ----------------------

# One row per contract (direction, name, version) and per field path seen in it.
contracts = Table(
    "contracts",
    metadata,
    Column("direction", String(10), primary_key=True),  # inbound | outbound
    Column("name", String(200), primary_key=True),  # source or connector
    Column("version", String(60), primary_key=True),  # the vendor's API version
    Column("observations", BigInteger, nullable=False, default=0),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
)

contract_fields = Table(
    "contract_fields",
    metadata,
    Column("direction", String(10), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("version", String(60), primary_key=True),
    Column("path", String(500), primary_key=True),
    Column("types", String(100), nullable=False),  # "string" or "integer|string"
    Column("first_seen", Float, nullable=False),
)

drift_events = Table(
    "drift_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("direction", String(10), nullable=False),
    Column("contract", String(200), nullable=False),
    Column("version", String(60), nullable=False),
    Column("path", String(500), nullable=False),
    Column("change", String(20), nullable=False),  # added | missing | type_changed
    Column("before", String(100), nullable=False),
    Column("after", String(100), nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_drift_contract", "contract", "at"),
)

# Webhook deliveries already accepted, by the vendor's delivery/event id: a replay is refused.
webhook_receipts = Table(
    "webhook_receipts",
    metadata,
    Column("source", String(100), primary_key=True),
    Column("delivery_id", String(300), primary_key=True),
    Column("event_id", String(40), nullable=False),
    Column("received_at", Float, nullable=False),
    # The timestamp the delivery's signature covered (schemes that sign one): the same id
    # with the same signed timestamp again is a captured request replayed, not a retry.
    Column("signed_at", Float, nullable=True),
)

# Where each poller left off, so a restart neither skips nor repeats.
poll_cursors = Table(
    "poll_cursors",
    metadata,
    Column("source", String(100), primary_key=True),
    Column("cursor", Text, nullable=False, default=""),
    Column("next_poll_at", Float, nullable=False, default=0.0),
    Column("failures", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=False, default=""),
    Column("updated_at", Float, nullable=False),
)

# Sends to vendors with no idempotency support, recorded before sending: a retry after an
# unknown outcome is checked here (and with the vendor where it can be), never sent blindly.
connector_sends = Table(
    "connector_sends",
    metadata,
    Column("connector", String(100), primary_key=True),
    Column("idempotency_key", String(120), primary_key=True),
    Column("status", String(20), nullable=False),  # sending | sent | failed | unknown
    Column("reply", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("updated_at", Float, nullable=False),
)

# OAuth 2.0 credentials of connectors (seamline.connectors), one row per credential name.
# Tokens are sealed with the vault key; ``version`` is bumped by every change, so a refresh
# (which may rotate the refresh token) is saved only over the row it started from.
oauth_credentials = Table(
    "oauth_credentials",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("connector", String(100), nullable=False, default=""),
    Column("version", Integer, nullable=False, default=0),
    Column("state", String(20), nullable=False),  # ok | failed | pending (never authorized)
    Column("sealed", Text, nullable=True),  # the token response (access, refresh token)
    Column("expires_at", Float, nullable=True),  # of the access token
    Column("issued_at", Float, nullable=True),  # of the access token
    Column("authorized_at", Float, nullable=True),  # the last authorization-code exchange
    Column("refreshed_at", Float, nullable=True),  # the last successful refresh
    Column("refreshing_until", Float, nullable=True),  # a worker's lease on refreshing now
    Column("reason", Text, nullable=False, default=""),  # why it failed, or a refresh's warning
    Column("retry", Boolean, nullable=False, default=False),  # a failure a later try may fix
    Column("failed_at", Float, nullable=True),
    Column("pending", Text, nullable=True),  # sealed state and PKCE verifier of an authorization
    Column("updated_at", Float, nullable=False),
)

# Alerts raised (seamline.alerts): drift at the edges, replies of unexpected shape, ...
alerts = Table(
    "alerts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(60), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("sentence", Text, nullable=False),
    Column("labels", Text, nullable=False),  # JSON
    Column("at", Float, nullable=False),
    Index("ix_alerts_kind_at", "kind", "at"),
)

# ---- access (seamline.access) and review ---------------------------------------------------

# People who sign in to the console; ``password_hash`` is argon2id (never the password).
users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(20), nullable=False),  # viewer | reviewer | admin
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Server-side sessions: the cookie holds a random token, the store only its SHA-256.
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(64), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_seen_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_sessions_username", "username"),
)

# Failed sign-ins, per username and per client address, so that every server process
# counts the same failures (rows older than the throttle's window are deleted as it goes).
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_login_failures_key_at", "key", "at"),
    Index("ix_login_failures_at", "at"),
)

# Rejected actions, kept as evaluation examples: what the model saw and said, and why a
# reviewer said no.
eval_examples = Table(
    "eval_examples",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("integration", String(100), nullable=False),
    Column("event_id", String(40), nullable=False),
    Column("outbox_id", BigInteger, nullable=False),
    Column("action", String(100), nullable=False),
    Column("input", Text, nullable=True),  # redacted JSON
    Column("output", Text, nullable=True),  # JSON
    Column("params", Text, nullable=False),  # JSON, the action as proposed
    Column("reviewer", String(200), nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("created_at", Float, nullable=False),
    Index("ix_eval_examples_integration", "integration", "created_at"),
)

# ---- prove it (seamline.eval feedback, production eval; seamline.rollout schedules) --------

# Ground truth recorded for an event (POST /v1/feedback, the CLI): the latest word wins.
ground_truth = Table(
    "ground_truth",
    metadata,
    Column("event_id", String(40), primary_key=True),
    Column("integration", String(100), nullable=False),
    Column("truth", Text, nullable=False),  # JSON: the expected output (or some of its fields)
    Column("source", String(40), nullable=False),  # api | cli | approval | import
    Column("actor", String(200), nullable=False, default=""),
    Column("created_at", Float, nullable=False),
    Index("ix_ground_truth_integration", "integration", "created_at"),
)

# Scores of evaluations over time (production windows, golden runs), for drift and reports.
eval_runs = Table(
    "eval_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("integration", String(100), nullable=False),
    Column("kind", String(20), nullable=False),  # production | golden
    Column("window_start", Float, nullable=False),
    Column("window_end", Float, nullable=False),
    Column("examples", Integer, nullable=False),
    Column("score", Float, nullable=True),
    Column("details", Text, nullable=False),  # JSON
    Column("created_at", Float, nullable=False),
    Index("ix_eval_runs_integration", "integration", "kind", "created_at"),
)

# A staged rollout of a flag: its steps, where it is, what health it needs to go on.
rollout_plans = Table(
    "rollout_plans",
    metadata,
    Column("flag", String(200), primary_key=True),
    Column("integration", String(100), nullable=False),
    Column("steps", Text, nullable=False),  # JSON list of percentages, e.g. [5, 10, 25, 50, 100]
    Column("step", Integer, nullable=False),  # index of the current step
    Column("window_s", Float, nullable=False),  # how long health must hold before promoting
    Column("criteria", Text, nullable=False),  # JSON: thresholds against the baseline path
    Column("status", String(20), nullable=False),  # running | paused | rolled_back | complete
    Column("step_started_at", Float, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("updated_at", Float, nullable=False),
)

# One agent run: where it is (running, awaiting_approval, completed, stopped, failed), why it
# ended, and its conversation and usage so a paused run resumes where it stopped.
agent_runs = Table(
    "agent_runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("agent", String(100), nullable=False),
    Column("status", String(30), nullable=False),
    Column("stop_reason", String(40), nullable=False, default=""),
    Column("task", Text, nullable=False),
    Column("answer", Text, nullable=False, default=""),
    Column("state", Text, nullable=False),  # JSON: turns, usage, the call waiting for a person
    Column("steps", Integer, nullable=False, default=0),
    Column("tokens", Integer, nullable=False, default=0),
    Column("cost_usd", Float, nullable=False, default=0.0),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_agent_runs_agent_status", "agent", "status"),
)


# One row per worker process (``seamline worker``, a server's in-process workers): its
# heartbeat, and the problem that keeps it from working (a store it cannot write).
workers = Table(
    "workers",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("host", String(200), nullable=False, default=""),
    Column("pid", Integer, nullable=False, default=0),
    Column("integrations", Text, nullable=False, default=""),
    Column("started_at", Float, nullable=False),
    Column("beat_at", Float, nullable=False),
    Column("problem", Text, nullable=False, default=""),
    Column("problem_since", Float, nullable=True),
    Column("stopped_at", Float, nullable=True),
)


# A declared rollout plan being walked (rollout.plan: shadow, then gated, then canary): the
# stage it is in and since when; its stage sets the integration's mode while it runs.
rollout_stages = Table(
    "rollout_stages",
    metadata,
    Column("integration", String(100), primary_key=True),
    Column("plan", Text, nullable=False),  # JSON: the declared stages when it started
    Column("stage", Integer, nullable=False),  # index into plan
    Column("status", String(20), nullable=False),  # running | complete | rolled_back
    Column("stage_started_at", Float, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("updated_at", Float, nullable=False),
)

# The shares of a cap that have raised their alert (budgets.alert_at), and the soft caps
# an event went past: one row per counter scope (which names its day or month) and share,
# so each is claimed once, in the transaction that moved the counter, however many workers
# race; ``announced_at`` is set by the process that then raised the alert.
budget_alerts = Table(
    "budget_alerts",
    metadata,
    Column("scope", String(300), primary_key=True),
    Column("permille", Integer, primary_key=True),  # the share of the cap, in thousandths
    Column("integration", String(100), nullable=False),
    Column("cap", String(40), nullable=False),  # the counter's label: "daily", "per-user soft daily" …
    Column("reason", String(20), nullable=False),  # reached | refused | over_soft
    Column("spent_usd", Float, nullable=False),
    Column("cap_usd", Float, nullable=False),
    Column("claimed_at", Float, nullable=False),
    Column("announced_at", Float, nullable=True),
    Index("ix_budget_alerts_pending", "integration", "announced_at"),
)

# Who signed off which golden set for an integration (seamline eval signoff): its content
# hash (an edit voids the sign-off), size, coverage of the input distribution and the
# score a golden run must reach before the flag may go above 0% (seamline.rollout).
eval_signoffs = Table(
    "eval_signoffs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("integration", String(100), nullable=False),
    Column("golden_path", Text, nullable=False),  # resolved, absolute
    Column("golden_hash", String(64), nullable=False),  # SHA-256 of the file's bytes
    Column("golden_version", String(80), nullable=False, default=""),
    Column("examples", Integer, nullable=False),  # scored (rated) examples
    Column("hand_rated", Integer, nullable=False),  # lines marked "rated": true
    Column("min_score", Float, nullable=False),  # the bar, a fraction 0..1
    Column("coverage", Float, nullable=True),  # 0..1, the weakest field's; None: nothing to cover
    Column("details", Text, nullable=False),  # JSON: coverage per field, values missing
    Column("signed_by", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_eval_signoffs_integration", "integration", "created_at"),
)
