"""Cache versions computed from code (`tasks.cache_policy`): what changes a task's version and
what does not, on small source trees written by the tests, then on the project's own tasks."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest
from flytekit.core.cache import Cache, VersionParameters

from tasks.cache_policy import CodeVersion, SourceTree, task_code

MODULES = {
    "lib/__init__.py": "",
    "lib/features.py": """
        from lib import deep

        def build(rows):
            return deep.scale(rows) + 1
        """,
    "lib/deep.py": """
        def scale(rows):
            return 2 * rows
        """,
    "lib/lazy.py": """
        def late():
            return 3
        """,
    "lib/other.py": """
        def unrelated():
            return 'nobody calls me'
        """,
    "lib/declared.py": """
        import usecases

        def build(rows):
            return usecases.current_build(rows)
        """,
    "flow/__init__.py": "",
    "flow/work.py": """
        from lib import features
        from lib.other import unrelated as _unrelated
        from .helpers import tidy

        LIMIT = 10


        def _clip(value):
            return min(value, LIMIT)


        def uses_features(rows: int) -> int:
            return _clip(features.build(rows))


        def imports_lazily() -> int:
            from lib.lazy import late

            return late()


        def relative(rows: int) -> int:
            return tidy(rows)


        def plain() -> int:
            return 1


        def through_use_case(rows: int) -> int:
            from lib.declared import build

            return build(rows)
        """,
    "flow/helpers.py": """
        def tidy(rows):
            return rows
        """,
    "usecases/__init__.py": "",
    "usecases/alpha/__init__.py": """
        def build_features(rows):
            return rows
        """,
    "usecases/alpha/table.csv": "a,b\n1,2\n",
    "usecases/alpha/README.md": "# alpha\n",
    "usecases/beta/__init__.py": """
        def build_features(rows):
            return -rows
        """,
    "requirements.txt": "# via uv\npandas==2.2.3\n    # via flow\nscikit-learn==1.7.2\n",
}


def write_tree(root: Path) -> Path:
    for name, text in MODULES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


@pytest.fixture
def tree(tmp_path) -> Path:
    return write_tree(tmp_path / "repo")


def versions(root: Path, use_case: str = "alpha") -> dict[str, str]:
    """Every function of flow/work.py -> its version, read by a new SourceTree (a new process)."""
    source = SourceTree(root, lambda: root / "usecases" / use_case, root / "requirements.txt")
    names = re.findall(r"^def (\w+)", (root / "flow" / "work.py").read_text(), flags=re.M)
    return {name: source.task_code("flow.work", name).digest() for name in names if not name.startswith("_")}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {name for name in before if before[name] != after[name]}


def test_a_change_in_a_function_the_task_calls_changes_its_version_and_no_other(tree):
    before = versions(tree)
    edit(tree / "lib" / "features.py", "+ 1", "+ 2")
    assert changed(before, versions(tree)) == {"uses_features"}


def test_a_change_two_imports_down_changes_the_version(tree):
    before = versions(tree)
    edit(tree / "lib" / "deep.py", "2 * rows", "3 * rows")
    assert changed(before, versions(tree)) == {"uses_features"}


def test_an_import_inside_the_function_counts(tree):
    before = versions(tree)
    edit(tree / "lib" / "lazy.py", "return 3", "return 4")
    assert changed(before, versions(tree)) == {"imports_lazily"}


def test_a_relative_import_counts(tree):
    before = versions(tree)
    edit(tree / "flow" / "helpers.py", "return rows", "return rows[:]")
    assert changed(before, versions(tree)) == {"relative"}


def test_a_module_level_helper_and_constant_of_the_task_module_count(tree):
    before = versions(tree)
    edit(tree / "flow" / "work.py", "LIMIT = 10", "LIMIT = 11")
    assert changed(before, versions(tree)) == {"uses_features"}


def test_editing_one_task_leaves_its_neighbours_in_the_same_module(tree):
    before = versions(tree)
    edit(tree / "flow" / "work.py", "def plain() -> int:\n    return 1", "def plain() -> int:\n    return 2")
    assert changed(before, versions(tree)) == {"plain"}


def test_an_unrelated_module_and_an_import_nobody_uses_leave_every_version(tree):
    before = versions(tree)
    edit(tree / "lib" / "other.py", "nobody calls me", "still nobody")
    (tree / "lib" / "new_module.py").write_text("X = 1\n")
    assert changed(before, versions(tree)) == set()


def test_the_task_decorator_is_not_its_code(tree):
    before = versions(tree)
    edit(tree / "flow" / "work.py", "\ndef plain()", "\n@some_decorator(retries=3)\ndef plain()")
    assert changed(before, versions(tree)) == set()


def test_the_current_use_case_counts_for_the_code_that_reaches_usecases(tree):
    before = versions(tree)
    edit(tree / "usecases" / "alpha" / "__init__.py", "return rows", "return rows + 0")
    assert changed(before, versions(tree)) == {"through_use_case"}
    edited = versions(tree)
    edit(tree / "usecases" / "alpha" / "table.csv", "1,2", "1,3")  # data the use case ships
    assert changed(edited, versions(tree)) == {"through_use_case"}
    shipped = versions(tree)
    edit(tree / "usecases" / "alpha" / "README.md", "alpha", "Alpha")  # its docs do not count
    edit(tree / "usecases" / "beta" / "__init__.py", "-rows", "-2 * rows")  # nor another use case
    assert changed(shipped, versions(tree)) == set()


def test_another_use_case_gives_other_versions(tree):
    assert changed(versions(tree, "alpha"), versions(tree, "beta")) == {"through_use_case"}


def test_a_new_pin_changes_every_version_and_a_comment_none(tree):
    before = versions(tree)
    edit(tree / "requirements.txt", "    # via flow", "    # via flow and lib")
    assert changed(before, versions(tree)) == set()
    edit(tree / "requirements.txt", "scikit-learn==1.7.2", "scikit-learn==1.8.0")
    assert changed(before, versions(tree)) == set(before)


def test_versions_depend_on_source_bytes_only_not_on_where_line_endings_or_file_times(tree, tmp_path):
    before = versions(tree)
    elsewhere = tmp_path / "elsewhere" / "clone"
    shutil.copytree(tree, elsewhere)
    for path in elsewhere.rglob("*.py"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))  # a Windows checkout
    (elsewhere / "lib" / "__pycache__").mkdir()
    (elsewhere / "lib" / "__pycache__" / "features.cpython-311.pyc").write_bytes(b"\x00stale")
    assert versions(elsewhere) == before


def test_a_function_nested_in_another_takes_its_whole_module(tree):
    edit(
        tree / "flow" / "work.py",
        "def plain() -> int:\n    return 1",
        "def plain() -> int:\n    def inner():\n        return 1\n    return inner()",
    )
    source = SourceTree(tree, lambda: tree / "usecases" / "alpha")
    nested = source.task_code("flow.work", "plain.<locals>.inner")
    assert "file:flow.work" in nested.labels and "module:lib.features" in nested.labels


# -- the project's own tasks ------------------------------------------------------------------------


def _project_tasks():
    from flytekit.core.python_function_task import PythonFunctionTask

    import tasks.batch
    import tasks.data
    import tasks.monitoring
    import tasks.reproduce
    import tasks.training
    import tasks.tuning
    import tasks.util

    modules = (
        tasks.batch,
        tasks.data,
        tasks.monitoring,
        tasks.reproduce,
        tasks.training,
        tasks.tuning,
        tasks.util,
    )
    return [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, PythonFunctionTask) and value.name.startswith(module.__name__)
    ]


def test_every_cached_task_of_the_project_has_its_computed_version():
    cached = [t for t in _project_tasks() if t.metadata.cache]
    assert len(cached) >= 15
    for one in cached:
        computed = Cache(policies=[CodeVersion()]).get_version(VersionParameters(func=one.task_function))
        assert one.metadata.cache_version == computed, one.name
        assert re.fullmatch(r"[0-9a-f]{64}", computed)
    assert len({t.metadata.cache_version for t in cached}) == len(cached), "two tasks share a version"


def test_the_tasks_that_compute_features_follow_the_use_cases_feature_builder():
    import inspect

    import usecases
    from tasks.batch import period_features
    from tasks.data import build_feature_table

    builder = inspect.unwrap(usecases.current().build_features)
    for computing in (build_feature_table, period_features):
        assert builder.__module__ in task_code(computing.task_function).modules, computing.name


def test_the_scan_of_imports_finds_every_import_the_parser_finds_in_the_repository():
    """A dependency's imports are found by a scan of its text, not a parse (the cost of computing
    versions at import): it must miss none of the project's imports, in any module."""
    from tasks.cache_policy import project

    tree = project()
    checked = 0
    for package in sorted(tree.packages):
        for path in sorted((tree.root / package).rglob("*.py")):
            relative = path.relative_to(tree.root).with_suffix("")
            name = ".".join(relative.parts[:-1] if relative.name == "__init__" else relative.parts)
            module = tree.module(name)
            parsed = tree._ours(module.imports_within(module.tree))
            scanned = tree._ours(module.imports_scanned())
            assert parsed <= scanned, (name, sorted(parsed - scanned))
            checked += 1
    assert checked > 100
