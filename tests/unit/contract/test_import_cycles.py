"""No import cycle anywhere in the project: between modules (inside a package or across) and
between top-level packages. Function-level imports count: an import moved into a function to
dodge a cycle still ties the two modules together."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from tests.support import REPO

SKIPPED = {"tests", "docs", "deploy"}  # no importable project code


def _project_modules(repo: Path) -> dict[str, Path]:
    modules = {}
    for path in sorted(repo.glob("*/**/*.py")):
        parts = path.relative_to(repo).parts
        if parts[0].startswith(".") or parts[0] in SKIPPED:
            continue
        name = ".".join(parts)[: -len(".py")].removesuffix(".__init__")
        modules[name] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `name` imports, anywhere in its file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        targets: Iterable[str] = ()
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from a import b` imports the module a.b when there is one, else names of a
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names
            ]
        for target in targets:
            while target and target not in modules:  # `import a.b.c` of a package a.b's name
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in sorted(graph.get(node, ())):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _module_graph(repo: Path) -> dict[str, set[str]]:
    modules = _project_modules(repo)
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _package_graph(modules: dict[str, set[str]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, targets in modules.items():
        top = name.split(".")[0]
        graph.setdefault(top, set()).update(t.split(".")[0] for t in targets if t.split(".")[0] != top)
    return graph


def test_no_module_imports_itself_back():
    assert _cycles(_module_graph(REPO)) == []


def test_no_package_imports_itself_back():
    assert _cycles(_package_graph(_module_graph(REPO))) == []


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_rule_finds_a_cycle_inside_a_package_through_a_function_level_import(tmp_path):
    repo = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg.b import thing\n",
            "pkg/b.py": "def thing():\n    from . import a\n",
            "pkg/c.py": "import pkg.a\n",
        },
    )
    assert _cycles(_module_graph(repo)) == [["pkg.a", "pkg.b"]]


def test_the_rule_finds_a_cycle_across_packages(tmp_path):
    repo = _write(
        tmp_path,
        {
            "one/__init__.py": "",
            "one/x.py": "from two.y import f\n",
            "one/z.py": "",
            "two/__init__.py": "",
            "two/y.py": "def f():\n    import one.z\n",
        },
    )
    assert _cycles(_module_graph(repo)) == []  # no module cycle ...
    assert _cycles(_package_graph(_module_graph(repo))) == [["one", "two"]]  # ... but the packages


def _closure(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for child in graph.get(todo.pop(), ()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def test_the_model_class_stays_thin():
    """The Seldon modules the model class imports, directly or not: no change to the wrapper
    (those are `seldon.wrapper_changes`, applied by `seldon.serve`), at most 700 lines."""
    seldon = sorted(m for m in _closure(_module_graph(REPO), "seldon.model") if m.split(".")[0] == "seldon")
    assert "seldon.wrapper_changes" not in seldon
    lines = sum(len((REPO / (m.replace(".", "/") + ".py")).read_text().splitlines()) for m in seldon)
    assert lines <= 700, (lines, seldon)
