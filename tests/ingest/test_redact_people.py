"""People's data in redaction: names, postal addresses, dates of birth and identity numbers.

Through ``redact`` and through the ingest of an event; the labelled set's test split holds
the targets (recall and must-keep survival per kind); generated names, addresses and dates
of birth in random templates never survive; and redaction stays idempotent and total.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from seamline.ingest import (
    CpuBudget,
    RedactionSession,
    Vault,
    _ner,
    field_kind,
    ingest_event,
    mask,
    redact,
    redact_fields,
)
from seamline.integration import load_integration
from seamline.preflight import check
from seamline.store import open_store

DATA = Path(__file__).parent / "data"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support_triage"
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def kinds_of(text: str) -> list[tuple[str, str]]:
    return [(e.kind, e.value) for e in redact(text).entities]


# --- what the issue asked for, through redact ---------------------------------------------

def test_the_issues_example_loses_the_name_the_birth_date_and_the_address():
    r = redact("Thanks, Henry Okeke, born 04/05/1980, 12 Baker Street, London NW1 6XE")
    assert r.text == "Thanks, <PERSON_1>, born <DOB_1>, <ADDRESS_1>"


@pytest.mark.parametrize(("text", "name"), [
    ("Hi Sarah,\n\nI was charged twice.", "Sarah"),
    ("The invoice is wrong.\n\nThanks!\nRenee\nHarlow Dental", "Renee"),
    ("Hallo Jürgen,\n\ndie Rechnung ist offen.", "Jürgen"),
    ("Bonjour,\n\nmerci.\n\nCordialement,\nHélène Dubois", "Hélène Dubois"),
    ("Hola,\n\ngracias.\n\nSaludos,\nMaría José Fernández", "María José Fernández"),
    ("Dear Dr. Patel,\n\nthe file is attached.", "Dr. Patel"),
    ("My name is Oluwaseun Adeyemi and I cannot log in.", "Oluwaseun Adeyemi"),
    ("Attendees: Ana Souza, Li Wei, Oleksandr Kovalenko", "Oleksandr Kovalenko"),
    ("Please add Emily Chen, Noah Williams and Aarav Shah to the workspace.", "Aarav Shah"),
    ("Call with Priya Raman (VP Sales at Contoso) on Friday.", "Priya Raman"),
    ("Forward this to Peter van der Berg, please.", "Peter van der Berg"),
    ("I'm Sam O'Connell, applying for the store role.", "Sam O'Connell"),
    ("Cheers,\nFrank Osei-Bonsu", "Frank Osei-Bonsu"),
    ("よろしくお願いします。\n田中リナ", "田中リナ"),
])
def test_names_in_greetings_sign_offs_labels_and_running_text_are_people(text, name):
    found = [v for k, v in kinds_of(text) if k == "PERSON"]
    assert name in found, (text, found)


@pytest.mark.parametrize("text", [
    "We use Salesforce and HubSpot; checkout runs on Apple Pay via Stripe.",
    "Our Office Manager and the Head of Operations met Contoso about Google Workspace.",
    "Saving fails with NullPointerException in version 4.2.1 (build 2024.11.3).",
    "Order #55123 from 12 March 2024 for $49.00 arrived late; next Tuesday works.",
    "Our London office is closed; the Berlin team covers Monday to Friday.",
    "Regards,\nThe Finance Team\nNorthwind Traders",
    "Error 502 Bad Gateway on the Regional Sales dashboard since 08:10 UTC.",
    "The Honey Garlic Chicken card says 12 minutes. Harlow Dental and Oakmont Partners agree.",
])
def test_companies_products_titles_errors_dates_amounts_and_cities_survive(text):
    assert redact(text).text == text


# Given names that are also words, months, banks and products ("Will", "May", "Chase"): the
# word stays where it is a word, the person goes where the context says person.
@pytest.mark.parametrize(("text", "people"), [
    ("Hi Will,\n\nWill the refund reach my card?\n\nThanks,\nMay", ["Will", "May"]),
    ("May I ask why order #88213 was cancelled?", []),
    ("Mark the ticket as resolved. Grant access to the finance folder. Bill me monthly.", []),
    ("Dear Rose,\n\nRose Gold is back in stock.\n\nBest,\nFrank Delaney", ["Rose", "Frank Delaney"]),
    ("We bank with Wells Fargo and Chase; Grant Thornton audits us.", []),
    ("Hi Chase,\n\nChase declined the card again.\n\nAvery", ["Chase", "Avery"]),
    ("Pat: can someone check the sync?\nSue: on it\nPat: thanks!", ["Pat", "Sue", "Pat"]),
    ("Hi May,\n\nMay 2024 invoices are attached.\n\nBest,\nJune Park", ["May", "June Park"]),
    ("Will Smith and Jack Black signed the contract.", ["Will Smith", "Jack Black"]),
    ("Hallo Frank,\n\nErnst gemeint: die Rechnung ist doppelt.\n\nViele Grüße\nErnst Vogel",
     ["Frank", "Ernst Vogel"]),
    ("Hola Rosa,\n\nEl color Rosa está agotado. Luz verde en el panel.\n\nSaludos,\nLuz Moreno",
     ["Rosa", "Luz Moreno"]),
    ("Hi,\n\nThe Welcome email links to a 404.\n\nCheers,\nOnboarding", []),
])
def test_names_that_are_also_words_are_people_only_where_the_context_says_so(text, people):
    assert [v for k, v in kinds_of(text) if k == "PERSON"] == people


@pytest.mark.parametrize(("text", "kind", "value"), [
    ("Ship to: 350 Fifth Avenue, Suite 4100\nNew York, NY 10118", "ADDRESS",
     "350 Fifth Avenue, Suite 4100\nNew York, NY 10118"),
    ("bitte an Hauptstraße 5, 10115 Berlin schicken", "ADDRESS", "Hauptstraße 5, 10115 Berlin"),
    ("Je déménage au 12 rue de la Paix, 75002 Paris.", "ADDRESS", "12 rue de la Paix, 75002 Paris"),
    ("Stuur het naar Keizersgracht 123, 1015 CJ Amsterdam.", "ADDRESS",
     "Keizersgracht 123, 1015 CJ Amsterdam"),
    ("Date of birth: 1988-02-29", "DOB", "1988-02-29"),
    ("ich bin am 3. Mai 1978 geboren", "DOB", "3. Mai 1978"),
    ("My passport number is K8839201.", "ID_NUMBER", "K8839201"),
    ("Mi DNI es 53464097E.", "ID_NUMBER", "53464097E"),
    ("il mio codice fiscale è RSSMRA85T10A562S", "ID_NUMBER", "RSSMRA85T10A562S"),
    ("National insurance number: QQ 12 34 56 C", "ID_NUMBER", "QQ 12 34 56 C"),
])
def test_addresses_births_and_identity_numbers_in_several_countries(text, kind, value):
    assert (kind, value) in kinds_of(text)


def test_only_dates_with_a_birth_word_are_dates_of_birth():
    r = redact("My date of birth is August 14, 1983, not August 14, 2023 (when I signed up). "
               "Order shipped 2024-03-15.")
    assert [(e.kind, e.value) for e in r.entities] == [("DOB", "August 14, 1983")]


def test_a_checksum_decides_an_id_without_context_words():
    assert kinds_of("ref 53464097E") == [("ID_NUMBER", "53464097E")]
    assert kinds_of("ref 53464097A") == []  # the letter does not match the digits
    assert kinds_of("ticket ID 44321987, order ID 99887766") == []


def test_one_person_gets_one_placeholder_in_an_event_and_the_fullest_spelling():
    session = RedactionSession()
    a = redact("Hi Sarah,", session=session).text
    b = redact("Regards,\nSarah Lee", session=session).text
    c = redact("Tom Baker wrote too. Thanks Tom!", session=session).text
    assert (a, b) == ("Hi <PERSON_1>,", "Regards,\n<PERSON_1>")
    assert c == "<PERSON_2> wrote too. Thanks <PERSON_2>!"
    assert session.mapping == {"<PERSON_1>": "Sarah Lee", "<PERSON_2>": "Tom Baker"}


def test_two_people_sharing_a_first_name_keep_two_placeholders():
    session = RedactionSession()
    redact("Spoke with Sarah Lee and Sarah Kim.", session=session)
    assert redact("Sarah called back.", session=session).text == "<PERSON_3> called back."


def test_masks_keep_initials_and_the_end_of_an_id():
    assert mask("Regards,\nSarah Lee") == "Regards,\nS. L."
    assert mask("passport K8839201") == "passport *****201"


# --- per-field policy and the ingest of an event ------------------------------------------

@pytest.mark.parametrize(("name", "kind"), [
    ("name", "PERSON"), ("full_name", "PERSON"), ("first_name", "PERSON"),
    ("customerName", "PERSON"), ("contact", "PERSON"), ("address", "ADDRESS"),
    ("street", "ADDRESS"), ("shipping_address", "ADDRESS"), ("dob", "DOB"),
    ("birth_date", "DOB"), ("passport", "ID_NUMBER"), ("national_id", "ID_NUMBER"),
    ("company_name", None), ("file_name", None), ("email_address", None), ("body", None),
    ("ip_address", None), ("customer_id", None),
])
def test_a_fields_name_says_its_kind(name, kind):
    assert field_kind(name) == kind


def test_a_name_field_is_redacted_whole_whatever_the_detector_says():
    out, secrets = redact_fields(
        {"name": "k. nguyen", "first_name": "Apple", "contact": "jamie@example.com",
         "dob": 1980, "customer": {"full_name": "Sam", "city": "Leeds"},
         "company_name": "Acme", "body": "Hi Sam, thanks"}, {})
    assert out["name"] == "<PERSON_1>" and out["first_name"] == "<PERSON_2>"
    assert out["contact"] == "<EMAIL_1>"  # what the detectors find, when it is all of it
    assert out["dob"] == "<DOB_1>" and out["customer"] == {"full_name": "<PERSON_3>",
                                                          "city": "Leeds"}
    assert out["company_name"] == "Acme" and out["body"] == "Hi <PERSON_3>, thanks"
    assert secrets["<PERSON_1>"] == "k. nguyen" and secrets["<DOB_1>"] == "1980"


def test_pii_kinds_that_leave_person_out_leave_name_fields_to_the_other_detectors():
    out, _ = redact_fields({"name": "Sam Lee"}, {}, kinds=("EMAIL",))
    assert out == {"name": "Sam Lee"}


class Lead(BaseModel):
    lead_id: str
    full_name: str
    nickname: str = Field(json_schema_extra={"pii_kind": "PERSON"})
    notes: str


def test_the_ingest_of_an_event_redacts_people_and_the_vault_reveals_them():
    ev = ingest_event({"lead_id": "L-1", "full_name": "Thandiwe Nkosi", "nickname": "Thandi",
                       "notes": "Thandiwe Nkosi lives at 14 Elm Road, Leeds LS6 2AB, DOB "
                                "1990-03-14."},
                      schema=Lead, pii={"lead_id": "allow"})
    assert ev.data == {"lead_id": "L-1", "full_name": "<PERSON_1>", "nickname": "<PERSON_2>",
                       "notes": "<PERSON_1> lives at <ADDRESS_1>, DOB <DOB_1>."}
    store = open_store("sqlite:///:memory:")
    vault = Vault(store, Fernet.generate_key())
    with store.write() as conn:
        vault.put(conn, "evt_1", ev.secrets)
    assert vault.reveal("evt_1", ev.data["notes"]) == (
        "Thandiwe Nkosi lives at 14 Elm Road, Leeds LS6 2AB, DOB 1990-03-14.")
    store.close()


# --- without the model --------------------------------------------------------------------

@pytest.fixture
def no_model():
    _ner.reset(enabled=False)
    yield
    _ner.reset()


def test_without_the_model_redaction_runs_and_the_rules_still_find_names(no_model):
    r = redact("Hi Sarah,\n\nmy card 4242 4242 4242 4242 was charged twice.\n\nThanks,\nRenee")
    assert r.text == ("Hi <PERSON_1>,\n\nmy card <CARD_1> was charged twice.\n\nThanks,\n"
                      "<PERSON_2>")


def test_check_says_which_kinds_no_detector_covers(monkeypatch):
    monkeypatch.setenv(_ner.ENV, "off")
    spec = load_integration(EXAMPLE / "integration.yaml")
    sentences = [p.sentence for p in check(spec) if p.part == "pii"]
    assert any("named-entity model is not available" in s and "'body'" in s for s in sentences)
    narrowed = spec.model_copy(update={"pii_kinds": ("EMAIL", "PHONE")})

    class WithName(BaseModel):
        name: str
        body: str

    narrowed = narrowed.model_copy(update={"input_schema": WithName,
                                           "pii": {"name": "redact", "body": "redact"}})
    sentences = [p.sentence for p in check(narrowed) if p.part == "pii"]
    assert any("'name' holds a person's name" in s and "add PERSON" in s for s in sentences)


def test_loading_the_model_is_not_charged_to_an_events_budget():
    budget = CpuBudget(10.0)
    with budget.paused():
        sum(i * i for i in range(200_000))
    budget.check()  # paused work does not count, so nothing is spent to raise about


# --- the labelled set ---------------------------------------------------------------------

def _load(split: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / f"pii_{split}.jsonl").read_text().splitlines()]


def _score(rows: list[dict]) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    removed: dict[str, list[int]] = {}
    kept: dict[str, list[int]] = {}
    for row in rows:
        text = row["text"]
        held = bytearray(len(text))
        for e in redact(text).entities:
            held[e.start : e.end] = b"\x01" * (e.end - e.start)
        for s in row["must_remove"]:
            ok = all(held[i] or not text[i].isalnum() for i in range(s["start"], s["end"]))
            removed.setdefault(s["kind"], [0, 0])[0] += ok
            removed[s["kind"]][1] += 1
        for s in row["must_keep"]:
            ok = not any(held[s["start"] : s["end"]])
            kept.setdefault(s["kind"], [0, 0])[0] += ok
            kept[s["kind"]][1] += 1
    return removed, kept


def test_the_labelled_set_is_large_varied_and_split():
    dev, test, holdout = _load("dev"), _load("test"), _load("holdout")
    assert len(dev) + len(test) >= 300 and len(test) >= 150
    assert len({r["lang"] for r in dev + test}) >= 5
    assert {r["genre"] for r in test} >= {"email", "crm", "lead", "chat", "form"}
    assert not {r["text"] for r in dev} & {r["text"] for r in test}
    # The held-out split: written after the rules, never tuned on (benchmarks/redaction.py
    # --split holdout reports it; it is not held to the targets here).
    assert len(holdout) >= 120 and len({r["lang"] for r in holdout}) >= 5
    assert {r["genre"] for r in holdout} >= {"email", "crm", "lead", "chat", "form"}
    assert not {r["text"] for r in holdout} & {r["text"] for r in dev + test}


def test_the_test_split_meets_the_targets_for_every_kind():
    removed, kept = _score(_load("test"))
    for kind, (ok, n) in removed.items():
        assert ok / n >= 0.95, (kind, ok, n)
    for kind, (ok, n) in kept.items():
        # Kinds with few spans are held to one loss at most: one span of 15 is 6.7 points.
        assert ok / n >= 0.95 or n < 20 and n - ok <= 1, (kind, ok, n)
    assert sum(ok for ok, _ in kept.values()) / sum(n for _, n in kept.values()) >= 0.95


# --- properties ---------------------------------------------------------------------------

given_names = st.sampled_from([
    "Sarah", "Renee", "Jürgen", "Hélène", "Oluwaseun", "Siobhán", "Tomasz", "Chloé", "Björn",
    "Ngozi", "Mateus", "Zoë", "Priya", "Kwame", "Inês", "Dmitri", "Yusuf", "Aoife", "Léa",
])
family_names = st.sampled_from([
    "Okeke", "Müller", "Dubois", "O'Sullivan", "Kowalczyk", "Nguyen", "Fernández", "Rossi",
    "van der Berg", "Osei-Bonsu", "Lindqvist", "Haddad", "Mbatha", "Yılmaz", "Gonçalves",
])
# Any capitalised word, lexicon or not: the context makes it a name.
invented = st.from_regex(r"[BCDFGKLMNPRSTVZ][aeiou][a-z]{2,6}[aeiou]", fullmatch=True)
names = st.one_of(given_names, st.builds(lambda g, f: f"{g} {f}", given_names, family_names),
                  invented)
streets = st.builds(
    lambda n, w, t, city, pc: f"{n} {w} {t}, {city} {pc}",
    st.integers(1, 9999), st.sampled_from(["Baker", "Elm", "Queen", "Harbour", "Mill"]),
    st.sampled_from(["Street", "Road", "Avenue", "Lane", "Drive"]),
    st.sampled_from(["London", "Leeds", "Bristol"]),
    st.sampled_from(["NW1 6XE", "LS6 2AB", "BS8 1TH", "EC1A 1BB"]))
births = st.builds(lambda d, m, y: f"{d:02d}/{m:02d}/{y}", st.integers(1, 28), st.integers(1, 12),
                   st.integers(1930, 2005))
filler = st.sampled_from(["I was charged twice.", "The export keeps failing.",
                          "Can you check my order?", "The app crashes on login."])
TEMPLATES = [
    "Hi {name},\n\n{filler}\n\nThanks,\n{name2}",
    "Hello,\n\n{filler}\n\nBest regards,\n{name}",
    "My name is {name} and I was born on {dob}. {filler}",
    "{filler} Please ship it to {address}.\n\nCheers,\n{name}",
    "Name: {name}\nDate of birth: {dob}\nAddress: {address}",
    "Dear Ms. {name2},\n\n{filler}\n\nKind regards,\n{name}",
]


@PROPS
@given(st.sampled_from(TEMPLATES), names, names, streets, births, filler)
def test_no_generated_name_address_or_birth_date_survives(template, name, name2, address,
                                                         dob, fill):
    text = template.format(name=name, name2=name2, address=address, dob=dob, filler=fill)
    red = redact(text).text
    for value in (name, name2, address, dob):
        if value in text:
            assert value not in red, (value, red)
    assert fill in red or "{filler}" not in template


@PROPS
@given(st.sampled_from(TEMPLATES), names, names, streets, births, filler)
def test_redacting_people_twice_changes_nothing_more(template, name, name2, address, dob, fill):
    once = redact(template.format(name=name, name2=name2, address=address, dob=dob,
                                  filler=fill))
    twice = redact(once.text)
    assert twice.text == once.text and twice.entities == ()


@PROPS
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_people_detectors_never_raise_on_any_unicode(text):
    red = redact(text)
    for e in red.entities:
        assert text[e.start : e.end] == e.value
    assert redact(red.text).text == red.text
