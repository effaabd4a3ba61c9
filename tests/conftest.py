"""Shared fixtures: a fresh store per test and a small integration driven by a scripted model."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import settings
from pydantic import BaseModel, Field

from seamline.inference import ScriptedModel
from seamline.integration import (
    ActionSpec,
    ApprovalPolicy,
    Checklist,
    Integration,
    ModelRoute,
    PromptSpec,
    RolloutSpec,
)
from seamline.store import open_store

# On CI, property tests draw the same examples every run: a failure there is reproducible.
settings.register_profile("ci", derandomize=True, deadline=None, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "support_triage"


class Ticket(BaseModel):
    ticket_id: str = Field(min_length=1)
    tenant: str = "t1"
    customer: str = "c1"
    body: str = Field(min_length=1)


class Verdict(BaseModel):
    label: Literal["refund", "other"]
    confidence: float = Field(ge=0, le=1)
    amount: float = 0.0
    quote: str = ""


DOWNSTREAM: list[tuple[str, dict]] = []


def record_refund(params: dict, *, idempotency_key: str) -> dict:
    """A downstream fake that remembers every call, so tests can count effects."""
    DOWNSTREAM.append((idempotency_key, params))
    return {"ok": True}


def keyword_baseline(data: dict) -> dict:
    return {"label": "refund" if "refund" in data["body"].lower() else "other", "confidence": 0.5}


def make_integration(**overrides) -> Integration:
    fields = dict(
        name="refunds",
        checklist=Checklist(workflow="Route refund requests.", owner="ops", baseline_metric="manual",
                            monthly_cost_ceiling_usd=100),
        input_schema=Ticket,
        output_schema=Verdict,
        pii={"ticket_id": "allow", "tenant": "allow", "customer": "allow", "body": "redact"},
        prompt=PromptSpec(system="Classify.", user="Ticket {{ ticket_id }}: {{ body }}"),
        model=ModelRoute(provider="scripted", model="scripted-1", input_usd_per_mtok=1.0,
                         output_usd_per_mtok=2.0, max_output_tokens=100, context_window=2000),
        actions=(
            ActionSpec(name="refund", handler=record_refund, when="output.label == 'refund'",
                       params={"ticket": "input.ticket_id", "amount": "output.amount",
                               "body": "input.body"},
                       approval=ApprovalPolicy(amount_field="amount", above_amount=100)),
        ),
        rollout=RolloutSpec(flag="refunds.ai", sticky_key="customer", baseline=keyword_baseline),
        idempotency_key="ticket_id",
        tenant_key="tenant",
    )
    fields.update(overrides)
    return Integration(**fields)


def verdict(label: str = "refund", confidence: float = 0.9, amount: float = 20.0, quote: str = ""):
    """A scripted model that always answers with this verdict."""
    return ScriptedModel(lambda req: json.dumps(
        {"label": label, "confidence": confidence, "amount": amount, "quote": quote}))


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "seamline.db")
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _clean_downstream(tmp_path, monkeypatch):
    DOWNSTREAM.clear()
    monkeypatch.setenv("SUPPORT_TRIAGE_HELPDESK_DB", str(tmp_path / "helpdesk.db"))
    # The audit's local signing key and default checkpoint folder live in the user's config
    # folder: a test's own, never the developer's (nor their configured key or sink).
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("SEAMLINE_AUDIT_KEY", "SEAMLINE_AUDIT_KEY_FILE", "SEAMLINE_AUDIT_PUBLIC_KEY",
                 "SEAMLINE_AUDIT_CHECKPOINTS"):
        monkeypatch.delenv(name, raising=False)
    yield
    DOWNSTREAM.clear()


@pytest.fixture
def pg_url():
    """A throwaway PostgreSQL database (CI runs PostgreSQL at 127.0.0.1:5432, trust auth)."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DBAPIError

    admin_url = os.environ.get("SEAMLINE_TEST_PG",
                               "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"seamline_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except DBAPIError as exc:  # pragma: no cover - CI has PostgreSQL; say so plainly if not
        pytest.fail(f"PostgreSQL is not reachable at {admin_url}: {exc.orig}")
    yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_store(pg_url, monkeypatch):
    """A migrated store on a throwaway PostgreSQL database (a shared DB needs a vault key)."""
    from cryptography.fernet import Fernet

    monkeypatch.setenv("SEAMLINE_VAULT_KEY", Fernet.generate_key().decode())
    s = open_store(pg_url)
    yield s
    s.close()


@pytest.fixture(scope="session")
def pgvector_server() -> Iterator[object]:
    """PostgreSQL 16 with pgvector (``pgserver``: the system one has none) on a Unix socket.

    Not under pytest's ``tmp_path``: as root the server runs as the ``pgserver`` user, and
    every pytest run resets ``/tmp/pytest-of-root`` to mode 0700, which would lock that user
    out of its data directory whenever another test run starts.
    """
    with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set"
        warnings.simplefilter("ignore")
        import pgserver

        folder = Path(tempfile.mkdtemp(prefix="seamline-pgvector-"))
        try:
            server = pgserver.get_server(folder / "pgdata", cleanup_mode="delete")
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    try:
        yield server
    finally:
        server.cleanup()  # stops the server and deletes pgdata
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def vector_url(pgvector_server) -> str:
    """A fresh database on that server (no ``retrieval_*`` tables yet)."""
    name = f"seamline_vec_{uuid.uuid4().hex[:10]}"
    import psycopg

    with psycopg.connect(pgvector_server.get_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return pgvector_server.get_uri(database=name)


@pytest.fixture
def go_live_waived(monkeypatch):
    """For tests of the canary's mechanics (promotion, rollback, flips), not of eval-first
    go-live: the sign-off check is waived, as if each integration passed its signed-off
    golden set. tests/eval/test_signoff.py tests that check itself, unwaived."""
    from seamline.rollout import _golive

    monkeypatch.setattr(_golive, "check_go_live", lambda *a, **k: None)
    monkeypatch.setattr(_golive, "go_live_problem", lambda *a, **k: None)
