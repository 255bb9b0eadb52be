"""`make test` deals a file, or a group of files, to one worker (tests/support/scheduling.py)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from tests.support.scheduling import GROUPS, unit_of_work

REPO = Path(__file__).resolve().parents[3]
# Session fixtures of tests/integration/operator/conftest.py, made once a run only when every
# file requesting them runs on one worker.
SHARED_FIXTURES = {"loop": "operator-loop", "served": "operator-loop"}


def test_a_test_is_dealt_with_its_file_or_its_files_group():
    assert unit_of_work("tests/a/test_x.py::test_one") == "tests/a/test_x.py"
    assert unit_of_work("tests/a/test_x.py::Case::test_one[2]") == "tests/a/test_x.py"
    grouped = next(iter(GROUPS))
    assert unit_of_work(f"{grouped}::test_one[x]") == GROUPS[grouped]


def _functions(tree: ast.Module) -> list[ast.FunctionDef]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]


def _is_test_or_fixture(function: ast.FunctionDef) -> bool:
    return function.name.startswith("test_") or "fixture" in ast.unparse(function.decorator_list)


def test_every_file_requesting_a_shared_session_fixture_is_in_its_group():
    checked = 0
    for path in sorted((REPO / "tests").rglob("test_*.py")):
        functions = _functions(ast.parse(path.read_text()))
        requested = {
            arg.arg for function in functions if _is_test_or_fixture(function) for arg in function.args.args
        }
        own = {function.name for function in functions}  # a file's own fixture of that name
        name = str(path.relative_to(REPO))
        for fixture in (requested - own) & SHARED_FIXTURES.keys():
            assert GROUPS.get(name) == SHARED_FIXTURES[fixture], (
                f"{name} requests '{fixture}' but is not in the group '{SHARED_FIXTURES[fixture]}' "
                "of tests/support/scheduling.py: two workers would make it twice"
            )
            checked += 1
    assert checked >= 3  # the dashboard, monitoring-alert and registry-page files


def test_two_workers_run_a_group_of_files_on_one_worker(tmp_path):
    tests = tmp_path / "tests"
    tests.mkdir()
    out = tmp_path / "where.txt"
    for name in ("test_a", "test_b", "test_c", "test_d"):
        (tests / f"{name}.py").write_text(
            "import os\n\nimport pytest\n\n\n@pytest.mark.parametrize('n', range(3))\n"
            "def test_where(n):\n"
            f"    with open({str(out)!r}, 'a') as f:\n"
            "        f.write(__name__ + ' ' + os.environ['PYTEST_XDIST_WORKER'] + '\\n')\n"
        )
    groups = {"tests/test_a.py": "together", "tests/test_b.py": "together"}
    (tmp_path / "conftest.py").write_text(
        "from tests.support import scheduling\n"
        "from tests.support.scheduling import pytest_xdist_make_scheduler  # noqa: F401\n\n"
        f"scheduling.GROUPS = {groups}\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "xdist",
            "-p",
            "no:cacheprovider",
            "-n",
            "2",
            "--dist",
            "loadfile",
            "tests",
        ],
        cwd=tmp_path,
        # only pytest-xdist: the environment's other plugins would cost seconds in three processes
        env={**os.environ, "PYTHONPATH": str(REPO), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    workers: dict[str, set[str]] = {}
    for line in out.read_text().splitlines():
        module, worker = line.split()
        workers.setdefault(module, set()).add(worker)
    assert len(workers) == 4 and all(len(w) == 1 for w in workers.values()), workers  # a file: one worker
    assert workers["test_a"] == workers["test_b"], workers  # the group: one worker
