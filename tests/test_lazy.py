"""Layers whose public names load on first use (``seamline.lazy``) keep the surface they had.

For each such ``__init__``: the table of names, the ``if TYPE_CHECKING:`` imports that type
checkers read and ``__all__`` name the same things, every name resolves to the object its
module defines, and importing one name does not import the layer's other modules.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from seamline.lazy import surface

SRC = Path(__file__).resolve().parents[1] / "src" / "seamline"
LAZY = sorted(p.parent.name for p in SRC.glob("*/__init__.py")
              if "surface(__name__" in p.read_text(encoding="utf-8"))


def _declared(package: str) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """(the table, the TYPE_CHECKING imports): public name -> (module, name in it)."""
    tree = ast.parse((SRC / package / "__init__.py").read_text(encoding="utf-8"))
    table: dict[str, tuple[str, str]] = {}
    imports: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "_MODULES":
            for module, names in ast.literal_eval(node.value).items():
                for entry in names:
                    public, own = (entry, entry) if isinstance(entry, str) else entry
                    table[public] = (f"seamline.{package}.{module}", own)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.module
                for alias in stmt.names:
                    imports[alias.asname or alias.name] = (stmt.module, alias.name)
    return table, imports


def test_the_layers_named_in_the_brief_load_lazily():
    assert {"actions", "audit", "eval", "ingest", "queue", "runtime"} <= set(LAZY)


@pytest.mark.parametrize("package", LAZY)
def test_the_table_the_type_checking_imports_and_all_name_the_same_things(package):
    table, imports = _declared(package)
    module = importlib.import_module(f"seamline.{package}")
    assert table == imports
    assert set(table) == set(module.__all__)
    assert len(module.__all__) == len(set(module.__all__))


@pytest.mark.parametrize("package", LAZY)
def test_every_name_is_the_object_its_module_defines(package):
    table, _ = _declared(package)
    module = importlib.import_module(f"seamline.{package}")
    for public, (where, own) in table.items():
        assert getattr(module, public) is getattr(importlib.import_module(where), own), public
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError, match="no attribute 'nothing_like_this'"):
        module.nothing_like_this  # noqa: B018


@pytest.mark.parametrize("package, name, left_out", [
    ("actions", "list_awaiting", {"seamline.actions._plan", "seamline.connectors"}),
    ("ingest", "redact", {"seamline.ingest._event", "seamline.ingest._vault",
                          "seamline.ingest._people", "seamline.ingest._address"}),
    ("audit", "append", {"seamline.audit._signing", "seamline.ingest"}),
    ("runtime", "dead_letters_now", {"seamline.runtime._pipeline", "seamline.actions"}),
    ("queue", "JobQueue", {"seamline.queue._worker", "seamline.runtime._pipeline"}),
    ("eval", "check_split", {"seamline.eval._run", "seamline.eval._compare"}),
])
def test_importing_one_name_leaves_the_layer_s_other_modules_unloaded(package, name, left_out):
    code = (f"import sys, json\nfrom seamline.{package} import {name}\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    assert f"seamline.{package}" in loaded
    assert loaded & left_out == set()


def test_a_looked_up_name_becomes_a_plain_attribute(monkeypatch):
    fake = type(sys)("seamline_fake_pkg")
    monkeypatch.setitem(sys.modules, "seamline_fake_pkg", fake)
    monkeypatch.setitem(sys.modules, "seamline_fake_pkg.part", json)  # any real module
    getattr_, dir_ = surface("seamline_fake_pkg", {"part": ("dumps", ("load_it", "loads"))})
    assert getattr_("dumps") is json.dumps and fake.__dict__["dumps"] is json.dumps
    assert getattr_("load_it") is json.loads
    assert {"dumps", "load_it"} <= set(dir_())
    with pytest.raises(AttributeError):
        getattr_("loads")  # only under the name it is exported as
