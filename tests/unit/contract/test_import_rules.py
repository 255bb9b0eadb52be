"""The layering the contract exists for: neither core/ nor seldon/ imports the other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import REPO

# package -> top-level packages of this project it must never import
FORBIDDEN = {
    "core": {"seldon"},
    "seldon": {"core", "tasks", "workflows"},
    "contract": {"core", "seldon", "scoring", "tasks", "workflows"},
    "scoring": {"core", "seldon", "tasks", "workflows"},
    # the operational features: one definition that training, batch and serving all import
    "operational": {"core", "seldon", "scoring", "contract", "tasks", "workflows"},
}


def _imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_across_the_contract(package):
    offenders = set()
    for path in sorted((REPO / package).rglob("*.py")):
        name = str(path.relative_to(REPO))
        crossing = _imported_packages(path) & FORBIDDEN[package]
        if crossing:
            offenders.add(f"{name} imports {sorted(crossing)}")
    assert not offenders, offenders


def test_the_serving_image_never_imports_usecases():
    """The serving image has no pandera, so no use case: what the server names after one comes
    from the bundle and the deployment's settings (contract/deployment.py). Every module the
    Dockerfile copies, function-level imports included."""
    import re

    copied = re.findall(
        r"\b((?:contract|scoring|seldon|operational|explain)/\w+\.py)\b", (REPO / "Dockerfile").read_text()
    )
    assert "seldon/model.py" in copied and "contract/deployment.py" in copied
    offenders = sorted(path for path in copied if "usecases" in _imported_packages(REPO / path))
    assert not offenders, offenders


def test_the_rule_sees_function_level_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from seldon.pointer import read_pointer\n    import core.paths\n")
    assert _imported_packages(module) == {"seldon", "core"}


def test_contract_imports_only_the_standard_library_numpy_and_skops_at_module_level():
    allowed = {"contract", "numpy", "skops", "__future__", "orjson"}  # orjson optional (try/except)
    for path in sorted((REPO / "contract").rglob("*.py")):
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom | ast.Try)]
        names = set()
        for node in top:
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    names.update(a.name.split(".")[0] for a in inner.names)
                elif isinstance(inner, ast.ImportFrom) and inner.module:
                    names.add(inner.module.split(".")[0])
        import sys

        third_party = {n for n in names if n not in sys.stdlib_module_names} - allowed
        assert not third_party, f"{path.name} imports {sorted(third_party)} at module level"


def test_operational_imports_only_numpy_and_pandas_at_module_level():
    """Both environments import it: redis is imported where the store is used, nothing else."""
    import sys

    for path in sorted((REPO / "operational").rglob("*.py")):
        tree = ast.parse(path.read_text())
        names = set()
        for node in tree.body:
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        third_party = {n for n in names if n not in sys.stdlib_module_names}
        assert third_party <= {"operational", "numpy", "pandas", "__future__"}, (path.name, third_party)
