"""The shape docs/architecture.md describes: no import cycle, one definition per name, the façade
used by no module of advisor, every module on the page."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "src" / "advisor"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        out[".".join(p for p in parts if p != "__init__") or "advisor"] = path
    return out


def _imports(path: Path, name: str) -> set[str]:
    """The advisor modules a module imports, at its top or inside functions, but not for the type
    checker alone (`if TYPE_CHECKING:`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for stmt in block.body
        for node in ast.walk(stmt)
    }
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = set()
    for node in ast.walk(tree):
        if id(node) in typing_only or not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            target = ".".join([*[p for p in base if p != "advisor"], *([node.module] if node.module else [])])
            candidates = [target] if node.module else [f"{target}.{a.name}".strip(".") for a in node.names]
        elif node.module and node.module.startswith("advisor."):
            candidates = [node.module.removeprefix("advisor.")]
        else:
            continue
        out.update(c for c in candidates if c)
    return out


def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {m for m in _imports(path, name) if m in modules and m != name} for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of a graph (its strongly connected components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    assert cycles(graph()) == []


def test_the_facade_is_imported_by_no_module_of_advisor():
    """`api` is for library users and the CLI; the features call `stages` and `loading` directly."""
    users = sorted(name for name, deps in graph().items() if "api" in deps)
    assert users in ([], ["advisor"], ["advisor", "cli"], ["cli"]), users


def test_one_definition_per_public_name():
    """A public function or class is defined in one module: searching for its name finds it once."""
    where: dict[str, list[str]] = {}
    for name, path in _modules().items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                where.setdefault(node.name, []).append(name)
    assert {n: m for n, m in where.items() if len(m) > 1} == {}


def test_every_module_is_on_the_architecture_page():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [
        path.name
        for path in sorted(PACKAGE.glob("*.py"))
        if path.name not in ("__init__.py", "__main__.py") and f"`{path.name}`" not in page
    ]
    assert missing == []
    assert "`render/`" in page


def test_the_cli_lists_the_catalog_as_the_catalog_does():
    """The CLI writes the catalog's lists out (importing the catalog would slow every start): they agree."""
    from advisor.catalog import LISTS
    from advisor.cli import CATALOG_LISTS

    assert CATALOG_LISTS == LISTS
