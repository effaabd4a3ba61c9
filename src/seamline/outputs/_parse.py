"""Layer 4, outputs: from reply text to a validated output, or a reason why not.

The repair instruction carries the exact validation errors back to the model;
the runtime asks at most twice before the event is dead-lettered.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

from seamline.errors import OutputError, OutputInvalid
from seamline.outputs._extract import extract_json


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'the object'}: {e['msg'].rstrip('.')}"
        for e in exc.errors(include_url=False, include_input=False)
    )


def parse_output(text: str, schema: type[BaseModel]) -> dict[str, Any]:
    """The reply's one JSON object, validated; raises an :class:`OutputError` subclass."""
    obj = extract_json(text)
    try:
        return schema.model_validate(obj).model_dump(mode="json")
    except ValidationError as exc:
        raise OutputInvalid(f"the reply does not match the output schema ({_describe(exc)})") from None


def repair_instruction(error: OutputError, schema: type[BaseModel]) -> str:
    """The stricter follow-up message sent after an invalid reply."""
    return (
        "Your previous reply could not be used: "
        f"{error}.\nReply again with exactly one JSON object and nothing else: no prose, "
        "no code fences. It must validate against this JSON schema:\n"
        + json.dumps(schema.model_json_schema(), sort_keys=True, ensure_ascii=False)
    )
