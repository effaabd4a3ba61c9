"""Contracts learned from traffic; drift reported once, per kind, with declared policies."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from seamline.contracts import (
    ADDED,
    MISSING,
    TYPE_CHANGED,
    ContractBook,
    FieldPolicy,
    contract_list,
    drift_report,
    on_drift,
    shape_of,
)

STRIPE_V1 = {"id": "evt_1", "type": "charge.succeeded",
             "data": {"object": {"amount": 1200, "currency": "eur", "refunds": [{"id": "re_1"}]}}}


def test_the_shape_is_paths_and_types_never_values():
    shape = shape_of(STRIPE_V1)
    assert shape["data.object.amount"] == "integer"
    assert shape["data.object.refunds[].id"] == "string"
    assert "evt_1" not in repr(shape) and "eur" not in repr(shape)
    assert shape_of({"a": [1, "x", None]})["a[]"] == "integer|null|string"


def test_the_first_payload_teaches_and_later_ones_are_compared(store):
    book = ContractBook(store)
    assert book.observe("inbound", "stripe", "2024-06-20", STRIPE_V1) == []
    assert book.observe("inbound", "stripe", "2024-06-20", STRIPE_V1) == []
    changed = {**STRIPE_V1, "data": {"object": {"amount": "12.00", "currency": "eur",
                                                "refunds": [], "livemode": False}}}
    drifts = book.observe("inbound", "stripe", "2024-06-20", changed)
    kinds = {(d.path, d.change) for d in drifts}
    assert kinds == {("data.object.amount", TYPE_CHANGED), ("data.object.livemode", ADDED)}
    amount = next(d for d in drifts if d.change == TYPE_CHANGED)
    assert amount.before == "integer" and amount.after == "string"
    assert "changed type from integer to string" in amount.sentence
    # Reported once: the new field and type are part of the contract now.
    assert ContractBook(store).observe("inbound", "stripe", "2024-06-20", changed) == []
    assert sorted(r.change for r in drift_report(store)) == [ADDED, TYPE_CHANGED]
    (row,) = contract_list(store)
    assert row.observations == 4 and row.version == "2024-06-20"


def test_versions_are_separate_contracts(store):
    book = ContractBook(store)
    book.observe("outbound", "hubspot", "v3", {"id": "1"})
    assert book.observe("outbound", "hubspot", "v4", {"id": 1, "x": True}) == []


def test_required_optional_and_ignored_fields(store):
    policy = FieldPolicy(required=("data.object.amount",), ignored=("data.object.metadata",))
    book = ContractBook(store)
    book.observe("inbound", "shop", "1", {"data": {"object": {"amount": 1, "metadata": {"a": 1}}}},
                 policy)
    missing = book.observe("inbound", "shop", "1", {"data": {"object": {"metadata": {"b": "x"}}}},
                           policy)
    assert [(d.path, d.change) for d in missing] == [("data.object.amount", MISSING)]
    assert "required field data.object.amount is missing" in missing[0].sentence
    # An undeclared field going missing is not drift: optional until proven required.
    assert book.observe("inbound", "shop", "1", {"data": {"object": {"amount": 2}}}, policy) == []


def test_drift_is_counted_in_prometheus_and_sent_to_alert_hooks(store):
    seen = []
    hook = on_drift(seen.append)
    try:
        book = ContractBook(store)
        before = REGISTRY.get_sample_value("seamline_contract_drift_total",
                                           {"direction": "outbound", "contract": "zendesk",
                                            "change": ADDED}) or 0.0
        book.observe("outbound", "zendesk", "v2", {"ticket": {"id": 1}})
        book.observe("outbound", "zendesk", "v2", {"ticket": {"id": 1, "via": "api"}})
        after = REGISTRY.get_sample_value("seamline_contract_drift_total",
                                          {"direction": "outbound", "contract": "zendesk",
                                           "change": ADDED})
        assert after == before + 1
        assert [d.path for d in seen] == ["ticket.via"]
    finally:
        from seamline.contracts._book import _hooks
        _hooks.remove(hook)


@pytest.mark.parametrize("payload", [[], "text", 3, None])
def test_payloads_that_are_not_objects_have_a_shape_too(store, payload):
    assert ContractBook(store).observe("inbound", "odd", "1", payload) == []


def test_the_drift_command_names_each_change_in_a_sentence(tmp_path):
    from typer.testing import CliRunner

    from seamline.cli import app
    from seamline.store import open_store

    db = str(tmp_path / "d.db")
    s = open_store(db)
    book = ContractBook(s)
    book.observe("inbound", "github", "2022-11-28", {"action": "opened", "number": 1})
    book.observe("inbound", "github", "2022-11-28", {"action": "opened", "number": "1"})
    s.close()
    out = CliRunner().invoke(app, ["drift", "--db", db], env={"COLUMNS": "200"})
    assert out.exit_code == 0
    assert "field number changed type from integer to string" in out.output
    assert "Contracts learned from traffic" in out.output
    empty = CliRunner().invoke(app, ["drift", "--db", db, "--contract", "stripe"])
    assert "No drift for stripe" in empty.output
