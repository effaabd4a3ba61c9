"""A layer's public surface, imported name by name on first use (PEP 562).

A layer's ``__init__`` names the module each public name lives in; ``from seamline.actions
import list_awaiting`` then imports the one module that defines it and what that module
needs, not the whole layer. Without it ``seamline approvals list`` loaded the redactor's
patterns, the audit chain's signing and every connector (~1 s) to read one table.

The same hook as ``seamline/__init__``, shared by the layers, hand-written rather than
``lazy_loader``'s because it is a dozen lines of the standard mechanism. Each ``__init__``
keeps its imports under ``if TYPE_CHECKING:``, so type checkers and editors see the
surface as before, and installs the hook only in that block's ``else`` (tests/test_lazy
checks that the table, the imports and ``__all__`` name the same things).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["surface"]


def surface(package: str, modules: Mapping[str, Sequence[str | tuple[str, str]]],
            ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose names live in ``modules``:
    ``{"_outbox": ("decide", ...)}``, submodules relative to the package; a pair
    ``("ner_status", "status")`` is a name exported under another one."""
    where: dict[str, tuple[str, str]] = {}
    for module, names in modules.items():
        for entry in names:
            public, own = (entry, entry) if isinstance(entry, str) else entry
            where[public] = (f"{package}.{module}", own)
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        found = where.get(name)
        if found is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(found[0]), found[1])
        namespace[name] = value  # once loaded, a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
