"""A real `mlflow server` process on 127.0.0.1 for the tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from tests.support import free_port
from tests.support.mlflow_schema import seed
from tests.support.processes import stop_group


@contextmanager
def mlflow_server(
    directory: Path,
    startup_timeout: float = 120.0,
    port: int | None = None,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
):
    """Start `mlflow server` (SQLite backend, proxied artifacts) and yield its URI; stop it after.
    The same `directory` and `port` again restart the same registry (an outage and its end).
    `args` go to the command line (`--app-name basic-auth`), `env` to its environment."""
    port = port or free_port()
    seed(directory / "mlflow.db")  # a new store starts migrated; a restart finds its own
    command = [
        str(Path(sys.executable).with_name("mlflow")),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{directory / 'mlflow.db'}",
        "--artifacts-destination",
        str(directory / "artifacts"),
        *args,
    ]
    log = open(directory / "server.log", "w")
    # The project runs no MLflow job (GenAI scorers, trace roll-ups): without job execution the
    # server starts no huey consumer, one more process importing mlflow beside it (18 s -> 11 s
    # to healthy here).
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **(env or {})}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {(directory / 'server.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"mlflow server not healthy after {startup_timeout} s")
            time.sleep(0.5)
        yield uri
    finally:
        stop_group(process, timeout=20)
        log.close()
