"""Durations written the way people write them: ``90``, ``30s``, ``15m``, ``2h``, ``1d``, ``1w``.

One parser for every place that takes one (stream windows, watch intervals, eval windows,
rollout steps), so ``1w`` or ``500ms`` means the same everywhere.
"""

from __future__ import annotations

import re

from seamline.errors import ConfigError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$", re.IGNORECASE)


def seconds(text: str) -> float:
    """Seconds from a duration text; a :class:`ConfigError` sentence otherwise."""
    match = _DURATION.match(str(text))
    if not match:
        raise ConfigError(f"{text!r} is not a duration; write seconds or e.g. 90s, 15m, 2h, "
                          "1d or 1w.")
    return float(match.group(1)) * _UNITS[(match.group(2) or "s").lower()]
