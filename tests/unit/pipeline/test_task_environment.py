"""On a cluster a task's pod resolves the use case its task was registered with: every task of
the workflows carries MLOPS_USE_CASE in its environment, and so does the task image."""

from __future__ import annotations

import importlib
import pkgutil

from flytekit.core.python_function_task import PythonFunctionTask

import tasks
import usecases
from images.task_image import TASK_IMAGE


def _project_tasks() -> list[PythonFunctionTask]:
    found = []
    for module in pkgutil.iter_modules(tasks.__path__):
        loaded = importlib.import_module(f"tasks.{module.name}")
        found += [v for v in vars(loaded).values() if isinstance(v, PythonFunctionTask)]
    return found


def test_every_task_and_the_task_image_carry_the_use_case():
    expected = {usecases.ENV: usecases.current().name}
    found = _project_tasks()
    assert len(found) > 20
    missing = sorted(t.name for t in found if t.environment.get(usecases.ENV) != expected[usecases.ENV])
    assert not missing, f"tasks without {usecases.ENV}: {missing}"
    assert isinstance(TASK_IMAGE, str) or TASK_IMAGE.env[usecases.ENV] == expected[usecases.ENV]
