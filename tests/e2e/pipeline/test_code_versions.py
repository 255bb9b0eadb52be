"""Cache versions follow the code, as a user sees it: in a copy of the repository, `pyflyte run`
a small workflow (features, then a fit), edit the use case's feature function, run it again."""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

import usecases
from scripts.flyte_log import PLAIN_INFO_LOGS
from tasks.cache_policy import SourceTree
from tests.support import REPO
from tests.support.pipeline import PYFLYTE, SMALL_AS_OF, SMALL_DATA, cache_outcomes

pytestmark = pytest.mark.slow

WORKFLOW = Path("tests/data/pipeline/features_then_fit.py")
# workflow's cached tasks -> (module, function): the versions the copy's policy computes
TASKS = {
    "tasks.data.data_window": ("tasks.data", "data_window"),
    "tasks.data.load_source": ("tasks.data", "load_source"),
    "tasks.data.build_feature_table": ("tasks.data", "build_feature_table"),
    "tasks.data.split_train_holdout": ("tasks.data", "split_train_holdout"),
    "tasks.training.train_model": ("tasks.training", "train_model"),
}
EDITED_AND_DOWNSTREAM = {
    "tasks.data.build_feature_table",
    "tasks.data.split_train_holdout",
    "tasks.training.train_model",
}


def copy_repository(destination: Path) -> Path:
    """The project's packages, the image's pins and the workflow file: what the run imports."""
    source = SourceTree(REPO, lambda: REPO)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in source.packages:
        shutil.copytree(REPO / package, destination / package, ignore=ignore)
    (destination / WORKFLOW).parent.mkdir(parents=True)
    shutil.copy2(REPO / WORKFLOW, destination / WORKFLOW)
    return destination


def run(copy: Path, home: Path) -> dict[str, str]:
    """`pyflyte run` the workflow in `copy` (its modules first on the path); {task: hit | miss}."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"},
        **PLAIN_INFO_LOGS,
        "HOME": str(home),
        "MLOPS_DATA_DIR": str(home / "mlops"),
        "PYTHONPATH": str(copy),
    }
    arguments = [
        "--as_of",
        f"{SMALL_AS_OF:%Y-%m-%d}",
        "--config",
        json.dumps(SMALL_DATA),
        "--hyperparameters",
        json.dumps({"max_iter": 20}),
    ]
    command = [PYFLYTE, "run", str(WORKFLOW), "features_then_fit", *arguments]
    result = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=900)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    return dict(cache_outcomes(log))


def versions(copy: Path) -> dict[str, str]:
    use_case = copy / Path(usecases.current().package_dir).resolve().relative_to(REPO)
    tree = SourceTree(copy, lambda: use_case, copy / "images" / "requirements.txt")
    return {name: tree.task_code(module, function).digest() for name, (module, function) in TASKS.items()}


def edit_feature_function(copy: Path) -> Path:
    """Change what the use case's feature builder returns, the way a person edits it: one value
    of a numeric feature on the earliest row (a training row), still within the column's range."""
    case = usecases.current()
    builder = inspect.unwrap(case.build_features)
    path = copy / Path(inspect.getsourcefile(builder)).resolve().relative_to(REPO)
    name = builder.__name__
    source = path.read_text()
    assert f"\ndef {name}(" in source
    renamed = source.replace(f"\ndef {name}(", f"\ndef _{name}_before_the_edit(", 1)
    wrapper = f"""

        def {name}(*args, **kwargs):
            table = _{name}_before_the_edit(*args, **kwargs)
            column, first = {case.numeric_features[0]!r}, table[{case.timestamp!r}].idxmin()
            values = table[column]
            table.loc[first, column] = values.max() if values[first] != values.max() else values.min()
            return table
        """
    path.write_text(renamed + textwrap.dedent(wrapper))
    return path


def test_editing_the_feature_function_recomputes_it_and_everything_downstream(tmp_path):
    copy = copy_repository(tmp_path / "repository")
    home = tmp_path / "home"

    first = run(copy, home)
    assert set(first) == set(TASKS) and set(first.values()) == {"miss"}, first
    before = versions(copy)

    edit_feature_function(copy)
    after = versions(copy)
    assert before["tasks.data.build_feature_table"] != after["tasks.data.build_feature_table"]

    second = run(copy, home)
    assert set(second) == set(TASKS)
    recomputed = {task for task, outcome in second.items() if outcome == "miss"}
    versions_changed = {task for task in TASKS if before[task] != after[task]}
    # The edited task and everything downstream of it recompute; upstream, a task recomputes
    # exactly when its own code (its computed version) changed.
    assert recomputed == EDITED_AND_DOWNSTREAM | versions_changed, (second, versions_changed)
