"""Form-encoded bodies (``application/x-www-form-urlencoded``), as Twilio sends its webhooks.

One reader for both the Twilio signature (which covers the decoded fields) and the payload
handed to the map, so the two can never read different fields. A field sent twice becomes a
list of its values, in order, rather than one value silently winning.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from seamline.edges._signing import Headers
from seamline.errors import InputInvalid

MAX_FIELDS = 1000  # Twilio's largest callbacks carry a few dozen


def is_form(headers: Headers) -> bool:
    media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media == "application/x-www-form-urlencoded"


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """The decoded (name, value) pairs; :class:`InputInvalid` with a sentence otherwise."""
    try:
        text = body.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, strict_parsing=False, encoding="utf-8",
                         errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise InputInvalid("the form-encoded body is not valid UTF-8") from None
    except ValueError:
        raise InputInvalid(f"the form-encoded body has more than {MAX_FIELDS} fields") from None


def decode_form(body: bytes) -> dict[str, str | list[str]]:
    """The body's fields by name: a text, or the list of texts of a field sent more than once."""
    fields: dict[str, str | list[str]] = {}
    for name, value in form_pairs(body):
        earlier = fields.get(name)
        if earlier is None:
            fields[name] = value
        elif isinstance(earlier, list):
            earlier.append(value)
        else:
            fields[name] = [earlier, value]
    return fields
