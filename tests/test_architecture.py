"""The layout is the architecture: packages import each other without cycles, and only
through each other's public surface (``__init__`` and modules without an underscore).

Read from the source, not from what is imported at run time: a function-level import
counts as much as a module-level one (hiding a cycle inside a function does not remove
it); only imports under ``if TYPE_CHECKING:`` are left out, since they never run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "seamline"
HEAVY = ("sqlalchemy", "alembic", "httpx", "fastapi", "sklearn", "openai", "anthropic")


def _package(path: Path) -> str:
    parts = path.relative_to(SRC).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every seamline import in a file, TYPE_CHECKING blocks left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module.count(".") == 1:  # `from seamline.pkg import _module`
                names += [f"{node.module}.{a.name}" for a in node.names]
            found += [(node.lineno, n) for n in names if n.startswith("seamline.")]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("seamline.")]
    return found


def _graph() -> tuple[dict[str, set[str]], dict[tuple[str, str], str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    where: dict[tuple[str, str], str] = {}
    for path in SRC.rglob("*.py"):
        me = _package(path)
        if me == "__init__":  # the top-level package re-exports; nothing imports it back
            continue
        for line, module in _imports(path):
            other = module.split(".")[1]
            if other != me:
                edges[me].add(other)
                where.setdefault((me, other), f"{path.relative_to(SRC)}:{line}")
    return edges, where


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_two_packages_import_each_other_even_through_a_function_level_import():
    edges, where = _graph()
    cycles = _cycles(edges)
    detail = [" -> ".join(c) + ": " + ", ".join(
        f"{a}->{b} at {where[(a, b)]}" for a in c for b in c if (a, b) in where)
        for c in cycles]
    assert cycles == [], "\n".join(detail)


def test_the_cycle_finder_finds_a_cycle_when_there_is_one():
    # The check above passes only if the finder can fail: a three-package ring and a
    # self-contained pair must both be reported.
    ring = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": {"d"}, "f": {"a"}}
    assert sorted(_cycles(ring)) == [["a", "b", "c"], ["d", "e"]]


def test_no_package_imports_another_packages_underscore_module():
    offenders = []
    for path in SRC.rglob("*.py"):
        me = _package(path)
        for line, module in _imports(path):
            parts = module.split(".")
            if len(parts) >= 3 and parts[1] != me and any(p.startswith("_") for p in parts[2:]):
                offenders.append(f"{path.relative_to(SRC)}:{line} imports {module}")
    assert offenders == [], "\n".join(offenders)


def test_every_package_declares_its_public_surface():
    missing = [p.name for p in SRC.iterdir()
               if (p / "__init__.py").is_file() and "__all__" not in
               (p / "__init__.py").read_text(encoding="utf-8")]
    assert missing == []
    assert (SRC / "py.typed").is_file()  # the annotations are part of the promise


def test_importing_seamline_loads_no_database_http_or_model_library():
    # Even with the declaration API in hand (Integration, load_integration, check's module).
    code = ("import sys, seamline; seamline.Integration, seamline.load_integration; "
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.split())
    assert "seamline" in loaded and "pydantic" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_the_top_level_names_resolve_and_are_the_layers_own():
    import seamline
    from seamline.integration import Integration
    from seamline.preflight import check

    assert seamline.Integration is Integration and seamline.check is check
    assert set(seamline.__all__) <= set(dir(seamline))
    with __import__("pytest").raises(AttributeError):
        seamline.nothing_like_this  # noqa: B018
