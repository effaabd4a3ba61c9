"""The store's tables, as SQLAlchemy Core metadata.

Core rather than the ORM: the pipeline writes several rows per event on its hot
path, and plain inserts keep that within the SQLite commit floor.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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
    UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
    Index("ix_outbox_status", "status"),
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
    Index("ix_audit_event", "event_id"),
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
