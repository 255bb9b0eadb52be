"""Running the repository's modules as processes against a registry, and stopping what a test
started: the whole process group, politely first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support import REPO, deployment_env


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
    """This environment, with the repository importable, MLflow pointed at `uri` and the
    deployment's settings of the use case (`deployment_env`)."""
    return {**os.environ, **deployment_env(), "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": str(REPO)}


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


def wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    """Until `url` answers 200; fails with the end of `log` if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited: {log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout} s: {log.read_text()[-3000:]}")


def start_ready(command: list[str], ready_url: str, log: Path) -> subprocess.Popen:
    """Start `command` in its own process group, in `log`'s folder with its output to `log`, and
    wait until `ready_url` answers (stopped again if it never does). Stop it with `stop_group`."""
    with open(log, "w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=log.parent
        )
    try:
        wait_ready(ready_url, process, log)
    except BaseException:
        stop_group(process, timeout=10)
        raise
    return process
