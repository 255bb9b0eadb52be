"""Shared pieces of the pipeline tests: a small real window and how to run pyflyte."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from core.paths import PROJECT_ROOT
from scripts import flyte_log
from scripts.flyte_log import PLAIN_INFO_LOGS
from tests.support.mlflow_schema import seed

# Train on January 2013, hold out February: small enough for tests, real data all the same.
SMALL_AS_OF = datetime(2013, 3, 1)
SMALL_DATA = {"source_dir": "", "train_months": 1, "holdout_months": 1}
SMALL_HYPERPARAMETERS = {"max_iter": 60}

PYFLYTE = str(Path(sys.executable).with_name("pyflyte"))


def pyflyte_run(*args: str, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """`pyflyte run` from the repository root with plain-text INFO logs (cache hits are logged)."""
    inherited = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    full_env = {**inherited, **PLAIN_INFO_LOGS, **(env or {})}
    seed(Path(full_env["MLOPS_DATA_DIR"]) / "mlflow.db")  # the run's store starts migrated
    return subprocess.run(
        [PYFLYTE, "run", *args],
        cwd=PROJECT_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def train_small(env: dict, **hyperparameters) -> subprocess.CompletedProcess:
    """`pyflyte run` of the training workflow on the small window, with `hyperparameters` over
    the small ones."""
    return pyflyte_run(
        "workflows/training.py",
        "training_workflow",
        "--as_of",
        f"{SMALL_AS_OF:%Y-%m-%d}",
        "--data",
        json.dumps(SMALL_DATA),
        "--hyperparameters",
        json.dumps({**SMALL_HYPERPARAMETERS, **hyperparameters}),
        env=env,
    )


def cache_outcomes(log: str) -> dict[str, str]:
    """{task name: "hit" | "miss"} from flytekit's local cache log lines."""
    return dict(flyte_log.cache_outcomes(log))
