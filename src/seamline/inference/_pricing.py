"""Layer 3, inference: what a model's tokens cost, from a price table updatable without a release.

The table ships as ``prices.toml`` beside this module; a TOML file named by the
environment variable ``SEAMLINE_PRICES`` is laid over it, field by field, and is
re-read whenever it changes. A route's own per-million prices win over the table.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seamline.errors import ConfigError
from seamline.inference._types import Usage
from seamline.integration import Integration, ModelRoute

SHIPPED = Path(__file__).with_name("prices.toml")
PRICES_ENV = "SEAMLINE_PRICES"
_FIELDS = ("input", "output", "cache_write", "cache_read", "batch_discount")
# Providers that never bill: an unknown model name of theirs costs nothing.
_FREE_PROVIDERS = ("local", "scripted")


@dataclass(frozen=True, slots=True, init=False)
class Price:
    """US dollars per million tokens of each kind; cache rates default to the input rate."""

    input: float
    output: float
    cache_write: float
    cache_read: float
    batch_discount: float  # fraction taken off every rate for batch calls

    # Written out so the cache rates may be left out (None) yet are always floats once made.
    def __init__(self, input: float, output: float, cache_write: float | None = None,
                 cache_read: float | None = None, batch_discount: float = 0.0) -> None:
        given = dict(zip(_FIELDS, (input, output, cache_write, cache_read, batch_discount),
                         strict=True))
        for name, value in given.items():
            if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)
                                      or not math.isfinite(value) or value < 0):
                raise ValueError(f"{name} must be a non-negative number of dollars, not {value!r}")
        if batch_discount > 1:
            raise ValueError(f"batch_discount is a fraction 0..1, not {batch_discount!r}")
        given["cache_write"] = input if cache_write is None else cache_write
        given["cache_read"] = input if cache_read is None else cache_read
        for name, value in given.items():
            object.__setattr__(self, name, value)

    @property
    def worst_input(self) -> float:
        """The dearest rate a prompt token can be billed at (a cache write may cost more)."""
        return max(self.input, self.cache_write, self.cache_read)


FREE = Price(0.0, 0.0)


def cost(usage: Usage, price: Price, batch: bool = False) -> float:
    """Dollars for one call's usage, cache tokens at their own rates."""
    total = (usage.input_tokens * price.input + usage.output_tokens * price.output
             + usage.cache_write_tokens * price.cache_write
             + usage.cache_read_tokens * price.cache_read) / 1e6
    return total * (1.0 - price.batch_discount) if batch else total


class PriceTable:
    """Prices by model name: exact name first, then the longest key the name starts with."""

    def __init__(self, entries: Mapping[str, Mapping[str, Any]], sources: tuple[str, ...] = ()):
        self.sources = sources
        self._raw = {k: dict(v) for k, v in entries.items()}
        self.prices: dict[str, Price] = {}
        for key, fields in self._raw.items():
            where = f"{key!r} in {' + '.join(sources) or 'the price table'}"
            missing = [f for f in ("input", "output") if f not in fields]
            if missing:
                raise ConfigError(f"The price of {where} lacks {' and '.join(missing)}.")
            try:
                self.prices[key] = Price(**fields)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"The price of {where} is invalid: {exc}.") from None
        self._exact = {k: p for k, p in self.prices.items() if not k.endswith("*")}
        # Longest first, so the first key a name starts with is the most specific.
        self._prefixes = sorted(((k.rstrip("*"), p) for k, p in self.prices.items()),
                                key=lambda kp: -len(kp[0]))
        self._found: dict[str, Price | None] = {}

    @classmethod
    def from_toml(cls, path: Path, base: PriceTable | None = None) -> PriceTable:
        """Read ``path``; laid over ``base`` when given, field by field for known models."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"The price file {path} does not exist.") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"The price file {path} is not valid TOML: {exc}.") from None
        extra = set(data) - {"models", "as_of"}
        models = data.get("models", {})
        if extra or not isinstance(models, dict):
            raise ConfigError(f"The price file {path} may hold only [models.\"<name>\"] tables "
                              f"(and as_of); found {', '.join(sorted(extra)) or 'models = ...'}.")
        entries = {k: dict(v) for k, v in base._raw.items()} if base else {}
        for name, fields in models.items():
            if not isinstance(fields, dict):
                raise ConfigError(f"The price of {name!r} in {path} must be a table of rates.")
            unknown = set(fields) - set(_FIELDS)
            if unknown:
                raise ConfigError(f"The price of {name!r} in {path} has unknown field(s) "
                                  f"{', '.join(sorted(unknown))}; use {', '.join(_FIELDS)}.")
            entries[name] = {**entries.get(name, {}), **fields}
        return cls(entries, (base.sources if base else ()) + (str(path),))

    def lookup(self, model: str) -> Price | None:
        """The price of ``model``, or None when no key names or begins it."""
        if model in self._found:
            return self._found[model]
        found = self._exact.get(model)
        if found is None:
            found = next((p for prefix, p in self._prefixes if prefix and model.startswith(prefix)),
                         None)
        self._found[model] = found
        return found


_shipped: PriceTable | None = None
_overlaid: dict[tuple[str, int, int], PriceTable] = {}


def default_table() -> PriceTable:
    """The shipped table, overlaid by the file ``SEAMLINE_PRICES`` names (re-read when it changes)."""
    global _shipped
    if _shipped is None:
        _shipped = PriceTable.from_toml(SHIPPED)
    user = os.environ.get(PRICES_ENV, "").strip()
    if not user:
        return _shipped
    try:
        st = os.stat(user)
    except OSError:
        raise ConfigError(f"{PRICES_ENV} names {user}, which cannot be read.") from None
    key = (user, st.st_mtime_ns, st.st_size)
    table = _overlaid.get(key)
    if table is None:
        table = PriceTable.from_toml(Path(user), _shipped)
        _overlaid.clear()  # keep only the current version of the file
        _overlaid[key] = table
    return table


def route_price(route: ModelRoute, table: PriceTable | None = None) -> Price:
    """The price of one model route.

    A route that sets ``input_usd_per_mtok``/``output_usd_per_mtok`` declares its own
    prices, which win; its cache rates keep the table's ratio to the input rate (the
    providers define them that way) and the table's batch discount applies. Otherwise
    the table decides, and a model it does not know is a configuration error.
    """
    table = table or default_table()
    listed = table.lookup(route.model)
    declared = ({"input_usd_per_mtok", "output_usd_per_mtok"} & route.model_fields_set
                or route.input_usd_per_mtok > 0 or route.output_usd_per_mtok > 0)
    if declared:
        rate = route.input_usd_per_mtok
        if listed is None or listed.input <= 0:
            return Price(rate, route.output_usd_per_mtok)
        return Price(rate, route.output_usd_per_mtok,
                     rate * listed.cache_write / listed.input,
                     rate * listed.cache_read / listed.input,
                     listed.batch_discount)
    if listed is not None:
        return listed
    if route.provider in _FREE_PROVIDERS:
        return FREE
    where = " + ".join(table.sources) or "the price table"
    raise ConfigError(
        f"There is no price for model {route.model!r} (provider {route.provider!r}) in {where}. "
        f"Add it to a TOML price file named by {PRICES_ENV}, or set input_usd_per_mtok and "
        "output_usd_per_mtok on the integration's model route.")


def price_usage(integration: Integration, usage: Usage, *, batch: bool = False,
                table: PriceTable | None = None) -> float:
    """Dollars one call of ``integration`` cost, cache tokens included."""
    return cost(usage, route_price(integration.model, table), batch)
