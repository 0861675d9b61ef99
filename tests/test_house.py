"""The house rules no linter states: no import circle anywhere, imports inside functions
included (import-linter sees those too, but only as edges of its own contracts), and no module
grown past the size a reader holds in mind.

The graph is read from the source (the AST), so it needs no import to succeed and sees every
import a module could ever run, at the top or inside a function.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "tui", "migrations")
MAX_LINES = 400  # outside migrations, whose revisions are written once and never grow


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _imported(module: str, path: Path, node: ast.Import | ast.ImportFrom, known) -> set[str]:
    """The modules of ours an import statement loads (the nearest known one for each name)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        # `from p import m` loads p.m when m is a module, and p itself for any other name.
        subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
        names = subs if len(subs) == len(node.names) else [*subs, base]
    found = set()
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    known = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        graph[module] = set()
        for node in ast.walk(tree):  # every import, at the top or inside a function
            if isinstance(node, ast.Import | ast.ImportFrom):
                graph[module] |= _imported(module, path, node, known)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_graph_sees_function_level_imports():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []
    # An import inside a function is an edge like any other.
    source = "def f():\n    from core import demo\n"
    node = ast.parse(source).body[0].body[0]
    assert _imported("x", ROOT / "x.py", node, {"core", "core.demo"}) == {"core.demo"}


def test_no_import_circle():
    found = circles(import_graph())
    assert found == [], "import circles (each a set of modules that import each other):\n" + (
        "\n".join(" <-> ".join(c) for c in found)
    )


def test_no_module_past_the_limit():
    long = {}
    for module, path in _modules().items():
        if module.startswith("migrations."):
            continue
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            long[module] = lines
    assert long == {}, f"modules over {MAX_LINES} lines: split them by what they do"


def test_every_screen_is_independent_of_the_others():
    """A new screen joins the contract that keeps screens from importing each other."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    listed = next(c["modules"] for c in contracts["contracts"] if c["type"] == "independence")
    screens = set()
    for path in (ROOT / "tui" / "screens").iterdir():
        if path.suffix == ".py" and path.stem != "__init__":
            screens.add(f"tui.screens.{path.stem}")
        elif (path / "__init__.py").exists() and path.name != "shared":  # shared: not a screen
            screens.add(f"tui.screens.{path.name}")
    assert set(listed) == screens
