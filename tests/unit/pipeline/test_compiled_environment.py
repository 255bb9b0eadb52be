"""The pipeline environment is installed with its bytecode compiled (the Makefile's
UV_COMPILE_BYTECODE), so a task's process imports flytekit, MLflow's SQLAlchemy store and the
migrations it checks without compiling them from source, also where Python may not write
`__pycache__` (PYTHONDONTWRITEBYTECODE, a read-only tree)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

# What every training process loads: pyflyte's start, and MLflow's SQLAlchemy store with the
# migration scripts it reads to check a store's schema (mlflow/store/db/utils.py).
PACKAGES = ("flytekit.core", "mlflow.store", "sqlalchemy.orm", "alembic")


def _uncompiled(package: str) -> list[str]:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, package
    root = Path(next(iter(spec.submodule_search_locations)))
    sources = sorted(root.rglob("*.py"))
    assert len(sources) > 10, f"{package}: {len(sources)} sources under {root}"
    return [str(s) for s in sources if not Path(importlib.util.cache_from_source(str(s))).is_file()]


def test_the_libraries_a_task_loads_are_compiled_at_install():
    missing = {package: files for package in PACKAGES if (files := _uncompiled(package))}
    assert not missing, (
        "an environment installed without its bytecode compiled (made before the Makefile's "
        "UV_COMPILE_BYTECODE: `rm .venv/.synced && make setup`): "
        f"{ {package: (len(files), files[:2]) for package, files in missing.items()} }"
    )
