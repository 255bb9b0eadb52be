"""Where the project keeps its local state: resolved at call time, never at import.

`data_dir` and `tracking_uri` are the contract's (`contract.registry`): the registry-sync sidecar
finds the same store without importing `core`."""

from __future__ import annotations

from pathlib import Path

from contract.registry import data_dir, tracking_uri

PROJECT_ROOT = Path(__file__).resolve().parent.parent

__all__ = ["PROJECT_ROOT", "artifact_root", "data_dir", "tracking_uri"]


def artifact_root() -> str:
    """Artifact location for experiments created against the local store."""
    return (data_dir() / "mlartifacts").as_uri()
