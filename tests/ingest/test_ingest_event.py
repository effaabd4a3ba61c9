"""Ingest beyond redaction: per-field policy, dedupe keys, the vault, token counting, fitting."""

from __future__ import annotations

import pytest
from conftest import Ticket
from cryptography.fernet import Fernet

from seamline.errors import ConfigError, InputInvalid, InputTooLarge
from seamline.ingest import (
    TRUNCATION_MARKER,
    ApproxTokenCounter,
    Vault,
    fit_context,
    ingest_event,
)
from seamline.prompt import PromptTemplate
from seamline.store import open_store

BODY = "Refund me: card 4242 4242 4242 4242, mail ann@example.com"


def test_policies_redact_mask_drop_and_allow_each_field():
    ev = ingest_event(
        {"ticket_id": "T-1", "tenant": "acme", "customer": "ann@example.com", "body": BODY},
        schema=Ticket, pii={"ticket_id": "allow", "tenant": "drop", "customer": "mask"})
    assert ev.data["ticket_id"] == "T-1"
    assert "tenant" not in ev.data
    assert ev.data["customer"] != "ann@example.com" and ev.data["customer"].endswith("@example.com")
    assert ev.data["body"] == "Refund me: card <CARD_1>, mail <EMAIL_1>"
    assert ev.secrets == {"<CARD_1>": "4242 4242 4242 4242", "<EMAIL_1>": "ann@example.com"}
    assert "ann@example.com" not in repr(ev)


def test_the_same_value_in_two_fields_gets_one_placeholder():
    class Two(Ticket):
        subject: str = ""

    ev = ingest_event({"ticket_id": "T", "subject": "from ann@example.com", "body": BODY},
                      schema=Two, pii={"ticket_id": "allow"})
    assert ev.data["subject"] == "from <EMAIL_1>" and "<EMAIL_1>" in ev.data["body"]


def test_invalid_input_names_the_fields_without_echoing_values():
    with pytest.raises(InputInvalid) as exc:
        ingest_event({"ticket_id": "", "body": 4242424242424242}, schema=Ticket, pii={})
    message = str(exc.value)
    assert "ticket_id" in message and "body" in message and "4242424242424242" not in message
    with pytest.raises(InputInvalid, match="JSON object"):
        ingest_event(["not", "an", "object"], schema=Ticket, pii={})


def test_the_idempotency_key_is_kept_as_is_only_when_allowed():
    allowed = ingest_event({"ticket_id": "T-9", "body": "x"}, schema=Ticket,
                           pii={"ticket_id": "allow"}, idempotency_key="ticket_id")
    hashed = ingest_event({"ticket_id": "T-9", "body": "x"}, schema=Ticket, pii={},
                          idempotency_key="ticket_id")
    whole = ingest_event({"ticket_id": "T-9", "body": "x"}, schema=Ticket, pii={})
    assert allowed.idempotency_key == "T-9"
    assert hashed.idempotency_key.startswith("sha256:") and "T-9" not in hashed.idempotency_key
    assert whole.idempotency_key.startswith("sha256:") and whole.idempotency_key != hashed.idempotency_key


def test_the_vault_encrypts_and_reveals_only_for_its_event(tmp_path):
    store = open_store(tmp_path / "v.db")
    vault = Vault(store, Fernet.generate_key())
    with store.write() as conn:
        vault.put(conn, "e1", {"<EMAIL_1>": "ann@example.com"})
        vault.put(conn, "e2", {"<EMAIL_1>": "bob@example.com"})
    assert vault.reveal("e1", {"to": "<EMAIL_1>", "n": 3}) == {"to": "ann@example.com", "n": 3}
    assert vault.reveal("e2", ["<EMAIL_1>"]) == ["bob@example.com"]
    assert vault.reveal("e3", "<EMAIL_1>") == "<EMAIL_1>"
    wrong = Vault(store, Fernet.generate_key())
    with pytest.raises(ConfigError, match="vault key does not match"):
        wrong.reveal("e1", "<EMAIL_1>")


def test_the_vault_key_comes_from_the_environment_or_a_private_file(tmp_path, monkeypatch):
    monkeypatch.delenv("SEAMLINE_VAULT_KEY", raising=False)
    store = open_store(tmp_path / "k.db")
    Vault(store)
    key_file = tmp_path / "vault.key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    monkeypatch.setenv("SEAMLINE_VAULT_KEY", "not a key")
    with pytest.raises(ConfigError, match="not a valid Fernet key"):
        Vault(store)


def test_the_offline_token_counter_never_undercounts_much():
    counter = ApproxTokenCounter()
    english = "The quick brown fox jumps over the lazy dog. " * 20
    assert 180 <= counter.count(english) <= 260  # 180 words and punctuation marks
    assert counter.count("日本語のテキストです") >= 10  # one per CJK character
    assert counter.count("") == 0


def _render(template: PromptTemplate):
    return lambda data: template.render(**data)


def test_fit_truncates_the_longest_field_with_a_visible_marker():
    template = PromptTemplate("{{ subject }}\n{{ body }}")
    data = {"subject": "short", "body": "word " * 3000}
    rendered, used, tokens = fit_context(data, _render(template), counter=ApproxTokenCounter(),
                                         budget=500, policy="truncate", fields=("subject", "body"))
    assert tokens <= 500 and used["subject"] == "short"
    assert used["body"].endswith(TRUNCATION_MARKER.format(n=len(data["body"]) - used["body"].index("\n[…")))
    assert "truncated by Seamline" in rendered.user


def test_fit_dead_letters_when_the_policy_says_so():
    template = PromptTemplate("{{ body }}")
    with pytest.raises(InputTooLarge, match="dead_letter"):
        fit_context({"body": "word " * 3000}, _render(template), counter=ApproxTokenCounter(),
                    budget=100, policy="dead_letter")


def test_fit_gives_up_with_a_reason_when_the_template_alone_is_too_big():
    template = PromptTemplate("word " * 1000 + "{{ body }}")
    with pytest.raises(InputTooLarge, match="still needs"):
        fit_context({"body": "x"}, _render(template), counter=ApproxTokenCounter(),
                    budget=100, policy="truncate")
