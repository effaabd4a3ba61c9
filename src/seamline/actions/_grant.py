"""An approval is a grant on exactly what runs: a digest of the action, its parameters and
its idempotency key, taken when a person approves (after their edits).

The runner recomputes it before sending: parameters changed after the approval (by a bug,
a re-plan, or someone with write access to the store) void the grant and the action waits
for a person again. The key is in the digest, so a grant cannot be carried to another row;
a row runs at most once, so the grant is single-use.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def action_digest(integration: str, action: str, params: Any, key: str) -> str:
    """``sha256:`` over the canonical JSON of what would run."""
    blob = json.dumps({"integration": integration, "action": action, "params": params,
                       "idempotency_key": key}, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


VOID = ("the parameters changed after this action was approved, so that approval (for "
        "other parameters) is void: review and approve it again")

__all__ = ["VOID", "action_digest"]
