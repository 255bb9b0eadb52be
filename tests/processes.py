"""Running the repository's modules as processes against a registry, and stopping what a test
started: the whole process group, politely first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def stop_group(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM the process group of `process` (started with `start_new_session=True`), SIGKILL
    what is left after `timeout`: servers such as `mlflow server` run their workers as children."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    try:
        os.killpg(process.pid, signal.SIGKILL)  # children that outlived the leader
    except ProcessLookupError:
        pass


def registry_env(uri: str) -> dict[str, str]:
    """This environment, with the repository importable and MLflow pointed at `uri`."""
    return {**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": str(REPO)}


def run_module(module: str, *args: str, uri: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m <module> <args>` from the repository root against the registry at `uri`, to its end."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env=registry_env(uri),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
