"""Test isolation: the tests never touch the user's Flyte cache or MLflow store.

HOME (the Flyte local cache lives in ~/.flyte) and MLOPS_DATA_DIR are pointed at a temp dir
before flytekit is imported by any test module.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="flights-mlops-tests-"))
os.environ["HOME"] = str(_SESSION_DIR / "home")
os.environ["MLOPS_DATA_DIR"] = str(_SESSION_DIR / "mlops")
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


@pytest.fixture
def fresh_store(tmp_path, monkeypatch) -> Path:
    """An empty MLflow store (SQLite + artifacts) for one test."""
    directory = tmp_path / "mlops"
    monkeypatch.setenv("MLOPS_DATA_DIR", str(directory))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return directory
