"""Which service clients a task's code can reach, read from the source: the task function, then
every function, class and constant it names, followed across the project's modules (imports
inside functions included, type annotations left out: they run nothing), until a definition
imports a client library. What the settings test checks each task's retries against."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Iterator

from tasks.cache_policy import SourceTree, project, top_level_statements

# Top-level packages that talk to a service over the network: MLflow (tracking, registry, and
# the artifact store the request logs are read from), the Pushgateway's client, Redis, object
# stores, plain HTTP.
SERVICE_LIBRARIES = frozenset({"mlflow", "prometheus_client", "redis", "fsspec", "s3fs", "boto3", "requests"})

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def services_reached(func: Callable, tree: SourceTree | None = None) -> set[str]:
    """The service libraries (`SERVICE_LIBRARIES`) the code of `func` can reach."""
    tree = tree or project()
    function = inspect.unwrap(func)
    pending = [(function.__module__, function.__qualname__)]
    seen: set[tuple[str, str]] = set()
    reached: set[str] = set()
    while pending:
        module, name = pending.pop()
        if (module, name) in seen or tree.file_of(module) is None:
            continue
        seen.add((module, name))
        definitions, bindings = _top_level(tree, module)
        if name in bindings:  # a name the module imports: follow it to where it is defined
            pending.extend(_targets(tree, *bindings[name], reached))
            continue
        for node in definitions.get(name, ()):
            local = dict(bindings)
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    local.update(_bindings(inner, _package(tree, module)))
            for used, attribute in _uses(node):
                if used in local:
                    pending.extend(_targets(tree, *local[used], reached, attribute))
                elif used in definitions:
                    pending.append((module, used))
    return reached


def _targets(
    tree: SourceTree, module: str, name: str | None, reached: set[str], attribute: str | None = None
) -> Iterator[tuple[str, str]]:
    """What a binding leads to: a definition of a project module (`(module, name)`), a name
    looked up on a project module (`module.attribute`), or a library (added to `reached`)."""
    if tree.file_of(module) is None:
        if module.split(".")[0] in SERVICE_LIBRARIES:
            reached.add(module.split(".")[0])
        return
    if name is not None and tree.file_of(f"{module}.{name}"):  # `from package import module`
        module, name = f"{module}.{name}", None
    if name is None and attribute is not None and tree.file_of(f"{module}.{attribute}"):
        module, attribute = f"{module}.{attribute}", None  # `import package` then package.module
    if name is not None:
        yield module, name
    elif attribute is not None:
        yield module, attribute
    else:  # a project module used whole: every definition in it
        yield from ((module, defined) for defined in _top_level(tree, module)[0])


def _top_level(tree: SourceTree, module: str) -> tuple[dict[str, list[ast.AST]], dict[str, tuple]]:
    parsed = tree.module(module)
    definitions: dict[str, list[ast.AST]] = {}
    bindings: dict[str, tuple[str, str | None]] = {}
    for node in top_level_statements(parsed.tree.body):
        if isinstance(node, _DEFINITIONS):
            definitions.setdefault(node.name, []).append(node)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for inner in ast.walk(target):
                    if isinstance(inner, ast.Name):
                        definitions.setdefault(inner.id, []).append(node)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bindings.update(_bindings(node, _package(tree, module)))
    return definitions, bindings


def _package(tree: SourceTree, module: str) -> str:
    file = tree.file_of(module)
    return module if file is not None and file.name == "__init__.py" else module.rpartition(".")[0]


def _bindings(node: ast.Import | ast.ImportFrom, package: str) -> dict[str, tuple[str, str | None]]:
    """{name bound: (module, name in it, or None for the module itself)}."""
    if isinstance(node, ast.Import):
        return {
            (alias.asname or alias.name.split(".")[0]): (
                alias.name if alias.asname else alias.name.split(".")[0],
                None,
            )
            for alias in node.names
        }
    if node.level:
        parts = package.split(".")
        base = ".".join([*parts[: len(parts) - (node.level - 1)], *([node.module] if node.module else [])])
    else:
        base = node.module or ""
    return {(alias.asname or alias.name): (base, alias.name) for alias in node.names}


def _uses(node: ast.AST) -> Iterator[tuple[str, str | None]]:
    """(name, the attribute looked up on it or None) of every name the code uses, type
    annotations left out."""
    skipped = {id(n) for a in ast.walk(node) for annotation in _annotations(a) for n in ast.walk(annotation)}
    for inner in ast.walk(node):
        if id(inner) in skipped:
            continue
        if isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name):
            skipped.add(id(inner.value))  # the name is looked up on, not used whole
            yield inner.value.id, inner.attr
        elif isinstance(inner, ast.Name):
            yield inner.id, None


def _annotations(node: ast.AST) -> Iterator[ast.AST]:
    if isinstance(node, ast.arg) and node.annotation is not None:
        yield node.annotation
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
        yield node.returns
    elif isinstance(node, ast.AnnAssign):
        yield node.annotation
