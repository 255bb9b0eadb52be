"""Test isolation and tiers.

HOME (the Flyte local cache lives in ~/.flyte) and MLOPS_DATA_DIR are pointed at a temp dir
before flytekit is imported by any test module, so the tests never touch the user's Flyte cache
or MLflow store.

Every test gets the marker of its tier from the folder it lives in (tests/unit -> `unit`,
tests/integration -> `integration`, tests/e2e -> `e2e`): a new test has a tier without saying so,
and `pytest -m unit` (`make test-fast`) runs the fast one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from images.threads import thread_policy
from tests.support.scheduling import pytest_xdist_make_scheduler  # noqa: F401 - a hook
from tests.support.tiers import tier_of

# Set when pytest loads this file, once a run: a module that imported this file again would make
# a second session dir, point HOME at it and never remove it (what is shared lives in tests/support).
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="tabular-mlops-tests-"))
os.environ["HOME"] = str(_SESSION_DIR / "home")
# What the run's pytest-xdist workers share (the serving tests' bundles): set by the first process
# that loads this file, the controller when there are workers, which they inherit and which removes
# it when every worker is done.
SHARED_ENV = "MLOPS_TEST_SHARED_DIR"
_OWNS_SHARED = SHARED_ENV not in os.environ
os.environ.setdefault(SHARED_ENV, str(_SESSION_DIR / "shared"))
Path(os.environ[SHARED_ENV]).mkdir(parents=True, exist_ok=True)
os.environ["MLOPS_DATA_DIR"] = str(_SESSION_DIR / "mlops")
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
# The trees' OpenMP thread policy (images/threads.env, docs/performance.md), set before any test
# module imports scikit-learn: libgomp reads it once, when it loads.
for _name, _value in thread_policy().items():
    os.environ.setdefault(_name, _value)


def pytest_collection_modifyitems(config, items):
    for item in items:
        item.add_marker(tier_of(item.path))


@pytest.fixture(scope="session", autouse=True)
def migrated_mlflow_schema() -> None:
    """Fresh SQLite MLflow stores start from one migrated copy (tests/support/mlflow_schema.py)."""
    from tests.support import mlflow_schema

    mlflow_schema.install()


def pytest_sessionfinish(session, exitstatus):
    if _OWNS_SHARED:
        shutil.rmtree(os.environ[SHARED_ENV], ignore_errors=True)
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


@pytest.fixture
def fresh_store(tmp_path, monkeypatch) -> Path:
    """An empty MLflow store (SQLite + artifacts) for one test."""
    directory = tmp_path / "mlops"
    monkeypatch.setenv("MLOPS_DATA_DIR", str(directory))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return directory
