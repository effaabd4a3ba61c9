"""Specification of PII redaction: what goes, what stays, and how placeholders behave."""

from __future__ import annotations

import re
import time

import pytest

from seamline.errors import ConfigError
from seamline.ingest._redact import PII_KINDS, Entity, Redaction, RedactionSession, mask, redact

PLACEHOLDER = re.compile(r"<([A-Z]+)_(\d+)>")

# Vendor tokens are assembled from pieces so that secret scanners (and GitHub
# push protection) do not mistake this file for a leak.
GITHUB_TOKEN = "ghp" + "_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
STRIPE_KEY = "sk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
OPENAI_KEY = "sk" + "-proj-" + "Xy12Ab34Cd56Ef78Gh90Ij12Kl34"
ANTHROPIC_KEY = "sk" + "-ant-api03-" + "q8Z3kT0xV7nB2mW5yR1uE4iO9pA6sD"
SLACK_TOKEN = "xox" + "b-1234567890-0987654321-" + "AbCdEfGhIjKlMnOpQrStUvWx"
GOOGLE_KEY = "AI" + "za" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
TWILIO_KEY = "S" + "K" + "0123456789abcdef0123456789abcdef"
SENDGRID_KEY = (
    "S" + "G." + "abcdefghijklmnopqrstuv" + "." + "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg"
)
AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"  # AWS's documented example id
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
KEY_LINE = "PRIVATE" + " KEY-----"
PEM = (
    f"-----BEGIN RSA {KEY_LINE}\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n"
    f"4lgOEePzNm0tRgeLezV6ffAt0gunVTLw\n-----END RSA {KEY_LINE}"
)


def kinds_of(r: Redaction) -> list[str]:
    return [e.kind for e in r.entities]


def assert_redacted(text: str, value: str, kind: str, **kw) -> Redaction:
    r = redact(text, **kw)
    assert value not in r.text, r.text
    assert any(e.kind == kind and e.value == value for e in r.entities), (kind, value, r.entities)
    return r


# --- every kind, in sentences people actually write -------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "jane.doe@example.com",
        "jane.doe+orders@example.com",
        "ops-team@mail.eu.example.co.uk",
        "J_Smith99@Example.ORG",
    ],
)
def test_email_is_redacted(value):
    r = assert_redacted(f"Please reply to {value} before Friday.", value, "EMAIL")
    assert r.text == "Please reply to <EMAIL_1> before Friday."


def test_email_does_not_eat_trailing_punctuation():
    r = redact("Write to (ann@example.com), or bob@example.org. Thanks!")
    assert r.text == "Write to (<EMAIL_1>), or <EMAIL_2>. Thanks!"


@pytest.mark.parametrize(
    "value",
    [
        "+44 20 7946 0958",
        "+1 415-555-0132",
        "+49 30 901820",
        "(415) 555-0132",
        "415-555-0132",
        "4155550132",
    ],
)
def test_phone_is_redacted(value):
    r = assert_redacted(f"You can call me on {value} after 5pm.", value, "PHONE")
    assert r.text == "You can call me on <PHONE_1> after 5pm."


@pytest.mark.parametrize(
    "value",
    ["020 7946 0958", "01 42 68 53 00", "030 901820"],  # GB, FR, DE national formats
)
def test_national_phone_of_other_common_regions_is_redacted(value):
    assert_redacted(f"Our office line is {value}.", value, "PHONE")


def test_phone_national_format_follows_region():
    text = "Ruf mich an: 030 901820 oder (415) 555-0132."
    de = redact(text, region="DE")
    assert "030 901820" not in de.text
    # A US national number means nothing without the US as the region.
    assert "(415) 555-0132" in de.text
    assert "(415) 555-0132" not in redact(text, region="US").text


@pytest.mark.parametrize(
    "value",
    [
        "4242 4242 4242 4242",  # Visa
        "4242424242424242",
        "4242-4242-4242-4242",
        "5555 5555 5555 4444",  # Mastercard
        "2223 0031 2200 3222",  # Mastercard 2-series
        "3782 822463 10005",  # Amex 4-6-5
        "6011 1111 1111 1117",  # Discover
    ],
)
def test_card_is_redacted(value):
    r = assert_redacted(f"I paid with card {value}, expiry 12/26.", value, "CARD")
    assert r.text == "I paid with card <CARD_1>, expiry 12/26."


@pytest.mark.parametrize(
    "value",
    ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "FR1420041010050500013M02606"],
)
def test_iban_is_redacted(value):
    r = assert_redacted(f"Please refund to IBAN {value} today.", value, "IBAN")
    assert r.text == "Please refund to IBAN <IBAN_1> today."


@pytest.mark.parametrize("value", ["123-45-6789", "536 22 1234"])
def test_ssn_is_redacted(value):
    r = assert_redacted(f"My SSN is {value}, please keep it safe.", value, "SSN")
    assert r.text == "My SSN is <SSN_1>, please keep it safe."


@pytest.mark.parametrize(
    "value",
    [
        "203.0.113.42",
        "2001:db8::1",
        "::1",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "fe80::1ff:fe23:4567:890a",
    ],
)
def test_ip_is_redacted(value):
    r = assert_redacted(f"The login came from {value}, not from us.", value, "IP")
    assert r.text == "The login came from <IP_1>, not from us."


@pytest.mark.parametrize(
    "value",
    [
        AWS_KEY_ID,
        GITHUB_TOKEN,
        STRIPE_KEY,
        OPENAI_KEY,
        ANTHROPIC_KEY,
        SLACK_TOKEN,
        GOOGLE_KEY,
        TWILIO_KEY,
        SENDGRID_KEY,
        JWT,
        PEM,
    ],
)
def test_vendor_secret_is_redacted(value):
    r = assert_redacted(f"oops, I pasted {value} into the ticket", value, "SECRET")
    assert r.text == "oops, I pasted <SECRET_1> into the ticket"


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        ("password: hunter2.", "hunter2", "password: <SECRET_1>."),
        ("api_key=abc123xyz789", "abc123xyz789", "api_key=<SECRET_1>"),
        ('DB_PASSWORD="c0rrect horse"', "c0rrect horse", 'DB_PASSWORD="<SECRET_1>"'),
        ("token = 'tok_4f8a9b'", "tok_4f8a9b", "token = '<SECRET_1>'"),
        (f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET, "aws_secret_access_key = <SECRET_1>"),
    ],
)
def test_labelled_secret_value_is_redacted_label_kept(text, secret, kept):
    r = assert_redacted(text, secret, "SECRET")
    assert r.text == kept


def test_truncated_private_key_is_redacted_to_the_end():
    text = f"key follows\n-----BEGIN OPENSSH {KEY_LINE}\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU"
    assert redact(text).text == "key follows\n<SECRET_1>"


# --- what must survive ------------------------------------------------------------------


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


@pytest.mark.parametrize(
    "order", ["1234567890123456", "4242 4242 4242 4241", "5555-5555-5555-4440"]
)
def test_luhn_invalid_sixteen_digit_numbers_survive(order):
    assert not _luhn_ok(order.replace(" ", "").replace("-", ""))
    text = f"Your order {order} has shipped."
    assert redact(text).text == text


@pytest.mark.parametrize(
    "iban", ["GB82 WEST 1234 5698 7654 33", "DE89370400440532013001", "XX82WEST12345698765432"]
)
def test_iban_with_bad_checksum_or_country_survives(iban):
    text = f"IBAN {iban} was rejected by the bank."
    assert redact(text).text == text


@pytest.mark.parametrize(
    "ssn",
    ["000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", "123-00-4567", "123-45-0000"],
)
def test_invalid_ssn_survives(ssn):
    text = f"Reference {ssn} is not a social security number."
    assert redact(text).text == text


@pytest.mark.parametrize(
    "text",
    [
        "The meeting is on 2024-03-15 at 10:30, or 15.03.2024 at 14:00:00.",
        "It costs $1,299.99, €1.234.567,89 or 1 299,99 € with tax.",
        "Upgrade from version 1.2.3 to v10.15.7 and Python 3.11.",
        "Order #4155550132 and invoice no. 20240315 are linked to ticket 88231901.",
        "Invoice INV-2024-0042 for SKU AB-12345678.",
        "The stream ran from 10:30:45 to 11:02:13 (mac 00:1A:2B:3C:4D:5E, not an IP).",
        "Bad addresses 999.1.1.1 and 1.2.3 and 01.02.03.04 stay as they are.",
        "We grew 12.5% to 1,234,567 users in Q3 2024.",
        # Zero-led dates and amounts read as national numbers in GB, DE or FR.
        "Geliefert am 08.04.2024, Frist (09-10-2024), gültig 01.01.2024 - 02.02.2024.",
        "Zwischen 0,99 € und 0.234.567,00 € pro Jahr.",
    ],
)
@pytest.mark.parametrize("region", ["US", "GB", "DE", "FR"])
def test_numbers_that_are_not_pii_survive(text, region):
    assert redact(text, region=region).text == text


def test_digits_inside_an_email_or_iban_are_not_a_phone_or_card():
    iban = "DE65 4242 4242 4242 4242 00"  # its digits contain a Luhn-valid Visa number
    r = redact(f"Send 4155550132@example.com the IBAN {iban}.")
    assert kinds_of(r) == ["EMAIL", "IBAN"]


def test_a_value_inside_a_longer_one_belongs_to_it_whatever_its_rank():
    # SSN and CARD outrank EMAIL, but here they are only its local part.
    r = redact("Write to 123-45-6789@example.com or 4242424242424242@example.com.")
    assert r.text == "Write to <EMAIL_1> or <EMAIL_2>."


def test_a_valid_iban_beats_a_card_read_across_its_end():
    # "4242 4242 4242" ends the IBAN; with the "4242" after it, it also reads
    # as a Luhn-valid Visa number. The checksummed IBAN is the better reading.
    r = redact("IBAN BE13 4242 4242 4242 4242 as agreed")
    assert r.text == "IBAN <IBAN_1> 4242 as agreed"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4242 4242 4242 4242 123 45 6789 end", "card <CARD_1> <SSN_1> end"),
        ("from ::3605 2221 4141 0277 0007", "from <IP_1> <CARD_1>"),
        ("at 10:30 4242 4242 4242 4242", "at 10:30 <CARD_1>"),
        ("card:4242424242424242, #4521 5555 5555 5555 4444", "card:<CARD_1>, #4521 <CARD_2>"),
        ("001-01-2457 5130 3032 8294 0006 x", "<SSN_1> <CARD_1> x"),
    ],
)
def test_a_card_next_to_other_numbers_is_read_whole(text, expected):
    # The neighbour must not be read into the card, nor the card into the neighbour.
    assert redact(text).text == expected


def test_phone_next_to_a_date_is_still_found():
    r = redact("Called on 2024-03-15 (415) 555-0132 about it.")
    assert r.text == "Called on 2024-03-15 <PHONE_1> about it."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # phonenumbers alone drops the first number, or its "+1", or eats the
        # next number's first digits, when only a space separates them.
        ("(415) 555-0199 415.555.0123", "<PHONE_1> <PHONE_2>"),
        ("+1 415-555-0132 415.555.0123", "<PHONE_1> <PHONE_2>"),
        ("+49 30 901820 415.555.0123", "<PHONE_1> <PHONE_2>"),
        ("(415) 555-0199 3.11 (415) 555-0199", "<PHONE_1> 3.11 <PHONE_1>"),
        ("+49 30 901820 3.11", "<PHONE_1> 3.11"),
        ("v1.2.3 (415) 555-0199", "v1.2.3 <PHONE_1>"),
        ("Bestellung +49 30 901820", "Bestellung <PHONE_1>"),
    ],
)
def test_phone_numbers_next_to_other_numbers_are_found_whole(text, expected):
    assert redact(text).text == expected


# --- placeholders and sessions ---------------------------------------------------------


def test_same_value_twice_gets_the_same_placeholder():
    r = redact("Mail ann@example.com, I repeat: ann@example.com.")
    assert r.text == "Mail <EMAIL_1>, I repeat: <EMAIL_1>."
    assert len(r.entities) == 2


def test_two_spellings_of_one_value_share_a_placeholder():
    r = redact(
        "Card 4242 4242 4242 4242 aka 4242424242424242; phone +1 415-555-0132 aka (415) 555-0132."
    )
    assert r.text == "Card <CARD_1> aka <CARD_1>; phone <PHONE_1> aka <PHONE_1>."


def test_different_values_are_numbered_in_order_of_appearance():
    r = redact("From bob@example.com to ann@example.com, cc bob@example.com; call +1 415-555-0132.")
    assert r.text == "From <EMAIL_1> to <EMAIL_2>, cc <EMAIL_1>; call <PHONE_1>."


def test_session_shares_numbering_across_fields():
    s = RedactionSession()
    subject = redact("Refund for ann@example.com", session=s)
    body = redact("Hi, this is bob@example.com writing for ann@example.com.", session=s)
    assert subject.text == "Refund for <EMAIL_1>"
    assert body.text == "Hi, this is <EMAIL_2> writing for <EMAIL_1>."
    assert s.mapping == {"<EMAIL_1>": "ann@example.com", "<EMAIL_2>": "bob@example.com"}


def test_mapping_is_a_copy():
    s = RedactionSession()
    redact("ann@example.com", session=s)
    s.mapping.clear()
    assert s.mapping == {"<EMAIL_1>": "ann@example.com"}


def test_without_a_session_each_call_starts_at_one():
    assert redact("ann@example.com").text == redact("bob@example.com").text == "<EMAIL_1>"


def test_offsets_point_at_the_value_in_the_original_text():
    text = (
        "Hi! ann@example.com · +1 415-555-0132 · 4242 4242 4242 4242 · 203.0.113.7"
        " · password: s3cret!x"
    )
    r = redact(text)
    assert len(r.entities) == 5
    for e in r.entities:
        assert text[e.start : e.end] == e.value
    assert [e.start for e in r.entities] == sorted(e.start for e in r.entities)
    rebuilt = text
    for e in reversed(r.entities):
        rebuilt = rebuilt[: e.start] + e.placeholder + rebuilt[e.end :]
    assert rebuilt == r.text


def test_redacting_redacted_text_changes_nothing():
    r = redact('password: <SECRET_1> and <EMAIL_1>, token="<SECRET_2>" from ann@example.com')
    assert r.text == 'password: <SECRET_1> and <EMAIL_1>, token="<SECRET_2>" from <EMAIL_1>'
    again = redact(r.text)
    assert again.text == r.text
    assert again.entities == ()


# --- options ---------------------------------------------------------------------------


def test_kinds_limits_what_is_redacted():
    text = "ann@example.com, +1 415-555-0132, 203.0.113.7"
    r = redact(text, kinds=["EMAIL", "IP"])
    assert r.text == "<EMAIL_1>, +1 415-555-0132, <IP_1>"
    assert redact(text, kinds="phone").text == "ann@example.com, <PHONE_1>, 203.0.113.7"


def test_empty_kinds_means_every_kind():
    # Mirrors Integration.pii_kinds, where empty means all: failing open would leak.
    assert redact("ann@example.com", kinds=[]).text == "<EMAIL_1>"


def test_unknown_kind_or_region_is_a_config_error():
    with pytest.raises(ConfigError):
        redact("x", kinds=["EMAIL", "PASSPORT"])
    with pytest.raises(ConfigError):
        redact("x", region="ZZ")


def test_pii_kinds_lists_every_kind():
    assert PII_KINDS == ("EMAIL", "PHONE", "CARD", "IBAN", "SSN", "IP", "SECRET",
                         "PERSON", "ADDRESS", "DOB", "ID_NUMBER")


def test_empty_text():
    assert redact("") == Redaction("", ())
    assert mask("") == ""


# --- mask ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("jane.doe@example.com", "j***@example.com"),
        ("4242 4242 4242 4242", "**** **** **** 4242"),
        ("+1 415-555-0132", "+* ***-***-0132"),
        ("GB82 WEST 1234 5698 7654 32", "GB** **** **** **** **54 32"),
        ("123-45-6789", "***-**-6789"),
        ("203.0.113.42", "203.0.113.*"),
        ("2001:db8:85a3::8a2e:370:7334", "2001:db8:85a3:*"),
        (GITHUB_TOKEN, "****"),
        (JWT, "****"),
    ],
)
def test_mask_keeps_only_the_tail_and_shape(value, masked):
    assert mask(f"Value: {value}.") == f"Value: {masked}."


def test_mask_of_a_labelled_secret_hides_all_of_it():
    assert mask("password: hunter2") == "password: ****"


def test_mask_respects_kinds_and_keeps_no_vault():
    assert mask("ann@example.com 123-45-6789", kinds=["SSN"]) == "ann@example.com ***-**-6789"


# --- nothing leaks through repr ---------------------------------------------------------


def test_repr_and_str_hold_no_real_value():
    s = RedactionSession()
    r = redact("Mail ann@example.com, card 4242 4242 4242 4242, password: hunter2", session=s)
    shown = " ".join(
        [repr(r), str(r), repr(r.entities), str(r.entities), repr(s), f"{r}", f"{r!r}"]
    )
    for secret in ("ann@example.com", "4242 4242 4242 4242", "hunter2", "4242"):
        assert secret not in shown
    assert "EMAIL=1" in repr(r) and "CARD=1" in repr(r) and "SECRET=1" in repr(r)
    assert str(r) == r.text


def test_entity_repr_hides_value_but_equality_still_uses_it():
    a = Entity("EMAIL", "<EMAIL_1>", 0, 15, "ann@example.com")
    b = Entity("EMAIL", "<EMAIL_1>", 0, 15, "bob@example.com")
    assert "ann@example.com" not in repr(a)
    assert a != b


# --- other languages -------------------------------------------------------------------


def test_german_text():
    text = (
        "Sehr geehrte Damen und Herren, bitte überweisen Sie die 1.234,50 € bis zum 15.03.2024 "
        "auf mein Konto DE89 3704 0044 0532 0130 00. Sie erreichen mich unter +49 30 901820 "
        "oder per E-Mail an max.mustermann@beispiel.de. Passwort: Geheim123"
    )
    r = redact(text, region="DE")
    assert r.text == (
        "Sehr geehrte Damen und Herren, bitte überweisen Sie die 1.234,50 € bis zum 15.03.2024 "
        "auf mein Konto <IBAN_1>. Sie erreichen mich unter <PHONE_1> "
        "oder per E-Mail an <EMAIL_1>. Passwort: <SECRET_1>"
    )


def test_japanese_text():
    text = (
        "お世話になっております。メールアドレスはtaro.yamada@example.co.jpです。"
        "電話番号は+81 3-1234-5678、カード番号は4242424242424242です。パスワード：himitsu99"
    )
    r = redact(text)
    assert r.text == (
        "お世話になっております。メールアドレスは<EMAIL_1>です。"
        "電話番号は<PHONE_1>、カード番号は<CARD_1>です。パスワード：<SECRET_1>"
    )


def test_placeholders_have_the_documented_shape():
    r = redact(
        "ann@example.com +1 415-555-0132 4242424242424242 DE89370400440532013000 "
        "123-45-6789 203.0.113.7 " + JWT
    )
    assert [PLACEHOLDER.fullmatch(e.placeholder).group(1) for e in r.entities] == [
        "EMAIL", "PHONE", "CARD", "IBAN", "SSN", "IP", "SECRET",
    ]  # fmt: skip


# --- adversarial input ------------------------------------------------------------------


@pytest.mark.parametrize(
    "blob",
    [
        ".".join(["1"] * 20_000),  # once quadratic in the price pattern
        "1 (2) 3-4.5/6 " * 3_000,  # one endless phone window
        ":" * 40_000,
        "a" * 40_000 + "@example.com",
        "password: " * 4_000,
    ],
    ids=["dotted-digits", "digit-soup", "colons", "long-local-part", "labels"],
)
def test_adversarial_input_stays_roughly_linear(blob):
    # ~40 KB each; linear code takes well under 0.5 s here, quadratic takes many.
    start = time.perf_counter()
    redact(blob)
    assert time.perf_counter() - start < 3.0
