"""Properties of redaction over generated texts: PII never survives, everything else always does."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seamline.ingest._redact import mask, redact

PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PLACEHOLDER = re.compile(r"<(?:EMAIL|PHONE|CARD|IBAN|SSN|IP|SECRET)_[0-9]+>")
# The kinds the generated documents hold. A random word may be a name ("Anna") or read as
# one after "Thanks", so the tests that every other word survives leave PERSON and the other
# people's kinds out; those have their own properties in test_redact_people.py.
STRUCTURED = ("EMAIL", "PHONE", "CARD", "IBAN", "SSN", "IP", "SECRET")

# Words and numbers that look a bit like PII and must come through untouched.
SAFE_WORDS = [
    "hello", "refund", "order", "Thanks", "please", "Danke", "für", "die", "Bestellung",
    "ありがとう", "注文", "café", "2024-03-15", "15.03.2024", "08.04.2024", "10:30", "14:00:00", "$19.99",
    "€12,50", "v1.2.3", "3.11", "#4521", "1234567890123456", "99.5%", "RFC-822", "(see", "below)",
    "Q3", "x86_64", "IPv6", "ISO-8601",
]  # fmt: skip
# Words that would turn the next token into a labelled secret ("token 1234...").
SECRET_ROOTS = ("pass", "pwd", "secret", "key", "token", "earer")

safe_word = st.one_of(
    st.sampled_from(SAFE_WORDS),
    st.from_regex(r"[A-Za-z]{1,12}", fullmatch=True).filter(
        lambda w: not any(r in w.lower() for r in SECRET_ROOTS)
    ),
)


def _luhn_check_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (1 if i % 2 else 2)
        total += d - 9 if d > 9 else d
    return str(-total % 10)


@st.composite
def emails(draw):
    local = draw(st.from_regex(r"[a-z0-9]{1,10}(?:[._+\-][a-z0-9]{1,8}){0,2}", fullmatch=True))
    labels = draw(
        st.lists(st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True), min_size=1, max_size=3)
    )
    tld = draw(st.from_regex(r"[a-z]{2,6}", fullmatch=True))
    return "EMAIL", f"{local}@{'.'.join(labels)}.{tld}"


# (IIN prefix, length, group shape when printed)
CARD_BRANDS = [
    ("4", 16, (4, 4, 4, 4)), ("51", 16, (4, 4, 4, 4)), ("55", 16, (4, 4, 4, 4)),
    ("2221", 16, (4, 4, 4, 4)), ("34", 15, (4, 6, 5)), ("37", 15, (4, 6, 5)),
    ("6011", 16, (4, 4, 4, 4)), ("65", 16, (4, 4, 4, 4)), ("3528", 16, (4, 4, 4, 4)),
    ("36", 14, (4, 6, 4)),
]  # fmt: skip


@st.composite
def cards(draw):
    prefix, length, shape = draw(st.sampled_from(CARD_BRANDS))
    body = prefix + draw(
        st.text("0123456789", min_size=length - len(prefix) - 1, max_size=length - len(prefix) - 1)
    )
    number = body + _luhn_check_digit(body)
    sep = draw(st.sampled_from(["", " ", "-"]))
    if not sep:
        return "CARD", number
    groups, pos = [], 0
    for size in shape:
        groups.append(number[pos : pos + size])
        pos += size
    return "CARD", sep.join(groups)


# country, BBAN alphabet per position class: "n" digit, "a" letter, "c" either.
IBAN_FORMATS = {
    "GB": "aaaa" + "n" * 14, "DE": "n" * 18, "FR": "n" * 10 + "c" * 11 + "nn",
    "NL": "aaaa" + "n" * 10, "ES": "n" * 20, "IT": "a" + "n" * 10 + "c" * 12,
    "BE": "n" * 12, "CH": "n" * 5 + "c" * 12, "NO": "n" * 11, "PL": "n" * 24,
}  # fmt: skip
ALPHABET = {
    "n": "0123456789",
    "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "c": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
}


@st.composite
def ibans(draw):
    country = draw(st.sampled_from(sorted(IBAN_FORMATS)))
    bban = "".join(draw(st.sampled_from(ALPHABET[c])) for c in IBAN_FORMATS[country])
    rearranged = bban + country + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in rearranged)) % 97
    compact = f"{country}{check:02d}{bban}"
    if draw(st.booleans()):
        return "IBAN", compact
    return "IBAN", " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


@st.composite
def ssns(draw):
    area = draw(st.integers(1, 899).filter(lambda a: a != 666))
    group = draw(st.integers(1, 99))
    serial = draw(st.integers(1, 9999))
    sep = draw(st.sampled_from(["-", " "]))
    return "SSN", f"{area:03d}{sep}{group:02d}{sep}{serial:04d}"


ips = st.one_of(
    st.ip_addresses(v=4).map(lambda a: ("IP", str(a))),
    st.ip_addresses(v=6).map(str).filter(lambda s: s != "::").map(lambda s: ("IP", s)),
)

phones = st.sampled_from(
    [
        "+1 415-555-0132",
        "(415) 555-0199",
        "415.555.0123",
        "+44 20 7946 0958",
        "+49 30 901820",
        "+33 1 42 68 53 00",
    ]
).map(lambda p: ("PHONE", p))

pii = st.one_of(emails(), cards(), ibans(), ssns(), ips, phones)
token = st.one_of(safe_word.map(lambda w: ("WORD", w)), pii)
SEPARATORS = [" ", ", ", "; ", "\n", " | "]


@st.composite
def documents(draw):
    tokens = draw(st.lists(token, min_size=1, max_size=12))
    sep = draw(st.sampled_from(SEPARATORS))
    if sep == " ":
        # Two digit-grouped values side by side with only a space between them have no
        # single reading ("001 01 5388 2221 0000 0000 0009": an SSN then a card, or a
        # card in the middle?): nobody can split them, so documents keep a word between.
        spaced: list[tuple[str, str]] = []
        for kind, value in tokens:
            if spaced and kind != "WORD" and spaced[-1][0] != "WORD":
                spaced.append(("WORD", draw(safe_word)))
            spaced.append((kind, value))
        tokens = spaced
    return tokens, sep, sep.join(value for _, value in tokens)


@PROPS
@given(documents())
def test_no_generated_pii_value_survives(doc):
    tokens, _, text = doc
    red = redact(text).text
    for kind, value in tokens:
        if kind != "WORD":
            assert value not in red, (kind, value, red)


@PROPS
@given(documents())
def test_every_other_word_survives_in_order(doc):
    tokens, sep, text = doc
    # Each PII token becomes exactly one placeholder of its kind; every other
    # character stays where it was.
    red = redact(text, kinds=STRUCTURED)
    expected = sep.join("\0" if kind != "WORD" else value for kind, value in tokens)
    assert PLACEHOLDER.sub("\0", red.text) == expected
    assert [e.kind for e in red.entities] == [kind for kind, _ in tokens if kind != "WORD"]


@PROPS
@given(documents())
def test_redaction_is_idempotent(doc):
    _, _, text = doc
    once = redact(text)
    twice = redact(once.text)
    assert twice.text == once.text
    assert twice.entities == ()


@PROPS
@given(documents())
def test_entity_offsets_slice_the_original_to_the_value(doc):
    tokens, _, text = doc
    red = redact(text, kinds=STRUCTURED)
    for e in red.entities:
        assert text[e.start : e.end] == e.value
    assert [e.value for e in red.entities] == [value for kind, value in tokens if kind != "WORD"]


@PROPS
@given(st.text())
def test_redact_and_mask_never_raise_on_arbitrary_text(text):
    red = redact(text)
    for e in red.entities:
        assert text[e.start : e.end] == e.value
    assert isinstance(mask(text), str)
