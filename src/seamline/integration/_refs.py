"""Resolving the references a declaration makes to user code.

``"pkg.module:attr"`` imports a module; ``"file.py:attr"`` loads a file that sits
beside the integration file, so a project needs no packaging to declare one.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from seamline.errors import ConfigError


def _load_file_module(path: Path) -> Any:
    path = path.resolve()
    if not path.is_file():
        raise ConfigError(f"The file {path} does not exist.")
    name = "seamline_user_" + hashlib.sha1(str(path).encode()).hexdigest()[:12] + "_" + path.stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"The file {path} cannot be loaded as Python.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise ConfigError(f"Loading {path} failed: {type(exc).__name__}: {exc}.") from exc
    return module


def resolve(ref: Any, *, base: Path | None = None, what: str = "reference") -> Any:
    """Turn ``"module:attr"`` or ``"file.py:attr"`` into the object; objects pass through."""
    if not isinstance(ref, str):
        return ref
    if ":" not in ref:
        raise ConfigError(f"The {what} {ref!r} must look like 'module:name' or 'file.py:name'.")
    target, _, attr = ref.rpartition(":")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_absolute() and base is not None:
            path = base / path
        module = _load_file_module(path)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ConfigError(f"The {what} {ref!r} names module {target!r}, which cannot be "
                              f"imported: {exc}.") from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"The {what} {ref!r}: {target!r} has no attribute {part!r}.") from None
    return obj
