"""The ingestion path's shape: sources yield, one consumer consumes, and no import circle joins them.

Reads the ``import`` statements (every one, also those inside functions) of the ingest package, the sources,
landing and arrow_text, and imports each of those modules in a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import supervision

PACKAGE = Path(supervision.__file__).parent
OWNED = ("supervision.pipeline", "supervision.ingest", "supervision.sources", "supervision.landing", "supervision.arrow_text")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _owned(name: str) -> bool:
    return any(name == o or name.startswith(o + ".") for o in OWNED)


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules ``path`` imports (a package's ``__init__`` counts when anything below it is)."""
    out: set[str] = set()
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        for name in names:
            while name:
                if name in modules:
                    out.add(name)
                name = name.rpartition(".")[0]
    out.discard(_module_name(path))
    return out


def _graph(owned_only: bool = True) -> dict[str, set[str]]:
    modules = _modules()
    return {name: {m for m in _imports(path, modules) if _owned(m) or not owned_only}
            for name, path in modules.items() if _owned(name) or not owned_only}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import one another, directly or round about (strongly connected, 2 or more)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def test_the_graph_reader_finds_a_circle_when_there_is_one():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_circle_through_ingest_sources_or_landing():
    """Also none that leaves them and comes back (e.g. through errors or registry): the whole package's graph."""
    graph = _graph(owned_only=False)
    assert "supervision.ingest.consume" in graph and "supervision.sources.filedrop" in graph
    assert [c for c in _circles(graph) if any(_owned(m) for m in c)] == []


def test_sources_never_import_the_consumer_and_the_consumer_no_transport():
    graph = _graph()
    for name, deps in graph.items():
        if name.startswith("supervision.sources"):
            assert not deps & {"supervision.ingest.consume", "supervision.ingest.run"}, name
    transports = {"supervision.sources.filedrop", "supervision.sources.filereader", "supervision.sources.pull",
                  "supervision.sources.http_api", "supervision.sources.database"}
    assert not graph["supervision.ingest.consume"] & transports
    assert "supervision.pipeline" not in _modules()


def test_readers_do_not_import_validation():
    modules = _modules()
    for name, path in modules.items():
        if name.startswith("supervision.sources") or name in ("supervision.landing", "supervision.arrow_text"):
            assert "supervision.validation" not in _imports(path, modules), name


@pytest.mark.parametrize("module", sorted(n for n in _modules() if _owned(n)))
def test_each_module_imports_alone(module):
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
