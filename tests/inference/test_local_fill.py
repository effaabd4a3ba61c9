"""The on-device model's extraction rules: a value with its evidence, or nothing."""

from __future__ import annotations

import datetime
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from seamline.inference._local_fill import fill_fields
from seamline.inference._local_schema import plan_for


def _fill(schema: type[BaseModel], body: str, **more: str) -> dict:
    texts = [("body", body), *more.items()]
    return fill_fields(plan_for(schema), texts)


class Money(BaseModel):
    label: Literal["a", "b"]
    refund_amount_usd: float
    fee: float
    currency: str


@pytest.mark.parametrize(("body", "usd"), [
    ("Refund my order for $4,999", 4999.0),
    ("Please refund USD 4,999.50 now", 4999.5),
    ("refund of 12.50 USD", 12.5),
    ("I paid US$ 30 and want it back", 30.0),
    ("It was 40 dollars", 40.0),
])
def test_amounts_with_their_currency(body: str, usd: float) -> None:
    fill = _fill(Money, body)["refund_amount_usd"]
    assert fill.filled and fill.value == usd
    found = fill.found[0]
    assert body[found.start:found.end] == found.quote
    assert 0 < fill.confidence <= 0.95


@pytest.mark.parametrize(("body", "why"), [
    ("Refund my order please", "no amount in USD"),
    ("Refund 4999 please", "no amount in USD"),  # no currency: not an amount of money
    ("Refund €4.999,00", "only in EUR"),  # nothing converts
    ("Refund $5k please", "no amount"),  # "$5k" is not "$5"
    ("I paid $40 and then $60", "several amounts"),
])
def test_amounts_that_are_not_stated_or_ambiguous_are_not_filled(body: str, why: str) -> None:
    fill = _fill(Money, body)["refund_amount_usd"]
    assert not fill.filled and why in fill.why_not


def test_the_amount_next_to_the_fields_word_settles_several() -> None:
    fills = _fill(Money, "I paid $40 for shipping. Please refund $25 of it.")
    assert fills["refund_amount_usd"].value == 25.0
    assert fills["refund_amount_usd"].found[0].rule == "amount next to the field's word"
    assert fills["currency"].value == "USD"
    assert _fill(Money, "€12,50 please")["currency"].value == "EUR"

    class Any_(BaseModel):
        label: Literal["a", "b"]
        amount: float
        currency: str

    assert not _fill(Any_, "$5 and €6")["currency"].filled  # which one?
    assert not _fill(Any_, "$5 and €6")["amount"].filled
    assert _fill(Any_, "¥500 only")["currency"].value == "JPY"


class Counts(BaseModel):
    label: Literal["a", "b"]
    seats: int
    priority: int = Field(ge=1, le=5)
    quantity: int


def test_numbers_next_to_the_fields_word() -> None:
    fills = _fill(Counts, "Please add 5 seats, priority: 2. I ordered 3 x mugs.")
    assert (fills["seats"].value, fills["priority"].value, fills["quantity"].value) == (5, 2, 3)
    assert _fill(Counts, "add two seats")["seats"].value == 2
    assert not _fill(Counts, "priority 9")["priority"].filled  # outside the field's bounds
    assert not _fill(Counts, "add 2.5 seats")["seats"].filled  # not an int
    assert not _fill(Counts, "I waited 2 weeks")["quantity"].filled  # a bare number says nothing


class Things(BaseModel):
    label: Literal["a", "b"]
    order_id: str
    delivery_date: str
    contact_email: str
    website_url: str
    order_ids: list[str]
    due: datetime.date


def test_ids_dates_addresses() -> None:
    body = ("My order A-561020 was due on 12 March 2026 (invoice 2026-03-01). Mail <EMAIL_1> or "
            "see https://acme.example/orders/1.")
    fills = _fill(Things, body)
    assert fills["order_id"].value == "A-561020"
    assert fills["contact_email"].value == "<EMAIL_1>"
    assert fills["website_url"].value == "https://acme.example/orders/1"
    assert fills["order_ids"].value == ["A-561020"]
    # Two different dates, and "due" is next to the written one.
    assert fills["due"].value == "2026-03-12"
    assert not fills["delivery_date"].filled  # two dates, nothing says which is the delivery
    assert _fill(Things, "Delivered on 2026-03-04.")["delivery_date"].value == "2026-03-04"
    assert _fill(Things, "due 25/12/2026")["due"].value == "2026-12-25"
    assert not _fill(Things, "due 03/04/2026")["due"].filled  # 3 April or March 4?
    assert not _fill(Things, "my id is 12345")["order_id"].filled  # no "order" next to it
    assert _fill(Things, "nothing here")["order_ids"].value == []  # it names none


class Flags(BaseModel):
    label: Literal["a", "b"]
    needs_human: bool
    is_urgent: bool
    wants_callback: bool = Field(json_schema_extra={"cues": ["ring me"]})


def test_booleans_from_cue_words_and_their_negation() -> None:
    fills = _fill(Flags, "This is urgent! Please ring me. I do not want a bot, get me an agent.")
    assert fills["needs_human"].value is True
    assert fills["is_urgent"].value is True
    assert fills["wants_callback"].value is True  # a cue declared on the field
    assert _fill(Flags, "No need for a human.")["needs_human"].value is False
    assert not _fill(Flags, "Hello")["needs_human"].filled
    mixed = _fill(Flags, "I need a human. Actually no human needed.")["needs_human"]
    assert not mixed.filled and "both ways" in mixed.why_not


class Free(BaseModel):
    label: Literal["a", "b"]
    reply: str
    details: dict
    note: str = "x"


def test_free_text_and_objects_have_no_rule() -> None:
    fills = _fill(Free, "Refund my order for $4,999")
    assert not fills["reply"].filled and not fills["details"].filled
    assert "no rule" in fills["reply"].why_not


@pytest.mark.parametrize("body", [
    "Refund $40 or $4,999, whichever",
    "Please refund $40-$60 depending on the damage.",
    "Refund either $40 or $45.",
    "Refund somewhere between $40 and $60.",
    "Refund $40 / $60, not sure.",
])
def test_values_offered_as_alternatives_are_not_chosen_between(body: str) -> None:
    # The field's word is nearest one of them, but the input has not chosen: neither is taken.
    fill = _fill(Money, body)["refund_amount_usd"]
    assert not fill.filled and "several amounts" in fill.why_not


def test_alternatives_in_another_sentence_do_not_unsettle_the_stated_value() -> None:
    body = "Shipping was $5 or $6, I forget. Please refund $25 of it."
    assert _fill(Money, body)["refund_amount_usd"].value == 25.0
