"""Dev and test: what may be tuned on, and what the headline is measured on.

Anything chosen by looking at scores -- a threshold, a retrieval floor, a regularisation
strength, a prompt -- is chosen on the ``dev`` split; the headline is the ``test`` split,
which nothing was tuned on. A golden line names its split (``"split": "dev"``); a line
that does not is placed by a hash of its id, so the assignment never changes when lines
are added or reordered, and about half of the lines land in each.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from seamline.errors import ConfigError

Split = Literal["dev", "test"]
SPLITS: tuple[Split, ...] = ("dev", "test")
HEADLINE: Split = "test"


def split_of(example: dict[str, Any], example_id: str) -> Split:
    """The line's own ``split``, else ``dev`` or ``test`` by a hash of its id."""
    given = example.get("split")
    if given is not None:
        if given not in SPLITS:
            raise ConfigError(f"Golden example {example_id} has split {given!r}; use dev or test.")
        return given
    digest = hashlib.sha256(example_id.encode("utf-8")).digest()
    return "dev" if digest[0] % 2 == 0 else "test"


def check_split(name: str) -> str:
    """``dev``, ``test`` or ``all``, or a ConfigError naming the choices."""
    if name not in (*SPLITS, "all"):
        raise ConfigError(f"The split {name!r} is unknown; use test (the headline), dev or all.")
    return name
