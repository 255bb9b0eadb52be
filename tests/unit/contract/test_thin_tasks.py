"""The tasks that evaluate, register and monitor are thin: each body makes one call into core/
(a function that returns a typed result) and keeps for itself the typing, the caching, the deck
and the I/O of Flyte types. Building a core type (a result or a cost record) is not a call."""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

from tests.support import REPO

THIN_TASKS = {
    "tasks/training.py": ("evaluate_model", "register_model"),
    "tasks/monitoring.py": ("monitor",),
}


def core_calls(function: ast.FunctionDef) -> set[str]:
    """The core/ functions `function` calls: names it imports from core (a function, or a module
    whose attribute it calls); classes left out."""
    bound: dict[str, str] = {}  # local name -> dotted core object
    for node in ast.walk(function):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "core":
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    called = set()
    for node in ast.walk(function):
        if not isinstance(node, ast.Call):
            continue
        target = node.func
        if isinstance(target, ast.Name) and target.id in bound:
            called.add(bound[target.id])
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            if target.value.id in bound:
                called.add(f"{bound[target.value.id]}.{target.attr}")
    return {name for name in called if not inspect.isclass(_resolve(name))}


def _resolve(dotted: str):
    module, _, attribute = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attribute)
    except ModuleNotFoundError:  # `from core import drift`: the name is a module
        return importlib.import_module(dotted)


def _task(path: str, name: str) -> ast.FunctionDef:
    tree = ast.parse((REPO / path).read_text())
    return next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)


@pytest.mark.parametrize(("path", "name"), [(p, n) for p, names in THIN_TASKS.items() for n in names])
def test_the_task_makes_one_call_into_core(path, name):
    calls = core_calls(_task(path, name))
    assert len(calls) == 1, f"{path}:{name} calls {sorted(calls)} in core/: one call, the rest in core"


def test_the_rule_counts_module_attributes_and_leaves_classes_out():
    source = (
        "def t():\n"
        "    from core import drift, evaluation\n"
        "    from core.candidate import FitCost\n"
        "    evaluation.evaluate(1, 2, 3)\n"
        "    drift.importance_weights(FitCost())\n"
    )
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    assert core_calls(function) == {"core.evaluation.evaluate", "core.drift.importance_weights"}
