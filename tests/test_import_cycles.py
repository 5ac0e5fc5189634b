"""The house has no import cycles among workbench/, ui/ and views/, imports inside functions
included (an import moved into a function to dodge a cycle is still a cycle). The imports are
read from the code with `ast`, so nothing is imported to check them."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("workbench", "ui", "views")


def module_names(root: Path, packages=PACKAGES) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _absolute(package: str, level: int, module: str | None) -> str:
    if not level:
        return module or ""
    base = package.split(".")[: len(package.split(".")) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the project modules it imports, anywhere in its code."""
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                graph[name].update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom):
                target = _absolute(package, node.level, node.module)
                for alias in node.names:
                    if f"{target}.{alias.name}" in modules:  # `from package import module`
                        graph[name].add(f"{target}.{alias.name}")
                    elif target in modules:
                        graph[name].add(target)
        graph[name].discard(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle as a path that returns to its start (one per strongly connected set)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == node:
                    break
            if len(members) > 1:
                found.append(_path_through(graph, set(members)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _path_through(graph: dict[str, set[str]], members: set[str]) -> list[str]:
    """A shortest way from the first member back to itself, to name the cycle."""
    start = min(members)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                return paths[node] + [start]
            if nxt not in paths:
                paths[nxt] = paths[node] + [nxt]
                queue.append(nxt)
    return sorted(members)


def test_no_import_cycles():
    found = cycles(import_graph(module_names(ROOT)))
    assert not found, "import cycles:\n" + "\n".join("  " + " -> ".join(c) for c in found)


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same imports between workbench's packages (a root module stands for itself)."""
    def owner(module: str) -> str:
        parts = module.split(".")
        return ".".join(parts[:2]) if len(parts) > 2 or (ROOT / Path(*parts)).is_dir() else module

    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        if module.startswith("workbench."):
            packages.setdefault(owner(module), set()).update(
                owner(t) for t in targets if t.startswith("workbench.") and owner(t) != owner(module))
    for targets in list(packages.values()):
        for target in targets:
            packages.setdefault(target, set())
    return packages


def test_packages_point_down():
    """Arrows between packages point down too: no two packages use each other, even through
    modules that do not form a cycle themselves."""
    graph = package_graph(import_graph(module_names(ROOT)))
    found = cycles(graph)
    assert not found, "packages that use each other:\n" + "\n".join("  " + " -> ".join(c) for c in found)


def test_a_cycle_is_found_and_named(tmp_path):
    """The check itself: a cycle through a function-level import is reported, with its path."""
    pkg = tmp_path / "workbench"
    (pkg / "runs").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "runs" / "__init__.py").write_text("")
    (pkg / "groups.py").write_text("from .runs import loop\n")
    (pkg / "runs" / "loop.py").write_text("def go():\n    from ..groups import x\n")
    (pkg / "clock.py").write_text("from . import groups\n")
    found = cycles(import_graph(module_names(tmp_path, ("workbench",))))
    assert found == [["workbench.groups", "workbench.runs.loop", "workbench.groups"]]


def test_the_root_keeps_the_core_only():
    """At most 10 modules at workbench/'s root beside its packages."""
    root_modules = sorted(p.name for p in (ROOT / "workbench").glob("*.py"))
    assert len(root_modules) <= 10, root_modules


def test_every_package_says_what_it_owns():
    for init in sorted((ROOT / "workbench").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 80, f"{init.relative_to(ROOT)} needs a docstring saying what it owns"
