"""Where the project keeps its local state: resolved at call time, never at import."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Local state (MLflow store, request logs, reports): `MLOPS_DATA_DIR` or `<repo>/.mlops`."""
    path = Path(os.environ.get("MLOPS_DATA_DIR", PROJECT_ROOT / ".mlops"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def tracking_uri() -> str:
    """`MLFLOW_TRACKING_URI` when set, else a SQLite store in the project data directory."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return f"sqlite:///{data_dir() / 'mlflow.db'}"


def artifact_root() -> str:
    """Artifact location for experiments created against the local store."""
    return (data_dir() / "mlartifacts").as_uri()
