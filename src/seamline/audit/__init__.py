"""Layer 6, audit: append-only, hash-chained record of every event's story.

``append`` writes inside a caller's transaction; ``verify`` names broken rows.
"""

from seamline.audit._chain import (
    AuditEntry,
    ChainProblem,
    VerifyReport,
    append,
    canonical_json,
    story,
    verify,
)

__all__ = ["AuditEntry", "ChainProblem", "VerifyReport", "append", "canonical_json", "story", "verify"]
