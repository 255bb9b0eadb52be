"""Build bundles with the project's core functions and run the real Seldon server on loopback."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import requests

from seldon.pointer import version_dir, write_pointer
from tests.support import REPO, SERVING_PYTHON, deployment_env, free_port
from tests.support.processes import stop_group

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

MODEL_CLASS = "seldon.model.BundleModel"


DATA = REPO / "tests" / "data" / "serving"
MAX_BATCH_ROWS = 1500
MAX_REQUEST_BYTES = 2_000_000


def load_cases():
    spec = importlib.util.spec_from_file_location("serving_cases", DATA / "cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_root(base: Path, bundles: dict[str, Path], current: str = "1") -> Path:
    root = base / "model-root"
    for version, path in bundles.items():
        shutil.copytree(path, version_dir(root, version))
    write_pointer(root, current)
    return root


def train_bundles(base: Path) -> dict[str, Path]:
    """Bundles made by the training workflow itself, in process, in a store of their own:
    version 1 trained on May 2013 (holdout June), version 2 on October (holdout November), so
    the two score differently. Returns {version: downloaded bundle directory}."""
    from core import registry
    from core.model import Hyperparameters
    from tasks.data import DataConfig
    from workflows.training import training_workflow

    data = DataConfig(train_months=1, holdout_months=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLOPS_DATA_DIR", str(base / "store"))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        for as_of in (datetime(2013, 7, 1), datetime(2013, 12, 1)):
            training_workflow(as_of=as_of, data=data, hyperparameters=Hyperparameters(max_iter=60))
        return {
            version: registry.download_bundle(registry.MODEL_NAME, version, base / version)
            for version in ("1", "2")
        }


class BundleTraining:
    """`train_bundles` in a process of its own (`make_bundles.py`), started when made and waited
    for when a test needs the bundles. Its own HOME keeps its Flyte cache apart: a test of the
    cache running meanwhile sees only its own hits.

    One training a run: the bundles live in the run's shared dir (`MLOPS_TEST_SHARED_DIR`,
    tests/conftest.py), and of the pytest-xdist workers the first to claim them trains while the
    others wait for its exit code (tests copy the bundles they serve: `make_root`)."""

    def __init__(self) -> None:
        shared = Path(os.environ["MLOPS_TEST_SHARED_DIR"])
        self.base = shared / "bundles"
        self.exit_code = shared / "bundles.exit-code"
        self.log_path = shared / "bundles.log"
        self.process: subprocess.Popen | None = None
        try:
            self.base.mkdir()  # atomic: one worker claims the training
        except FileExistsError:
            return
        (self.base / "home").mkdir()
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("make_bundles.py")), str(self.base)],
                cwd=REPO,
                env={
                    **os.environ,
                    "HOME": str(self.base / "home"),
                    "PYTHONPATH": os.pathsep.join([str(REPO), str(Path(__file__).parent)]),
                },
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait(self, timeout: float) -> int:
        if self.process is not None:
            code = self.process.wait(timeout=timeout)
            self.exit_code.write_text(str(code))
            return code
        deadline = time.monotonic() + timeout
        while not self.exit_code.exists():
            assert time.monotonic() < deadline, f"the bundles were not trained within {timeout} s"
            time.sleep(0.5)
        return int(self.exit_code.read_text())

    def result(self, timeout: float = 900) -> dict[str, Path]:
        """{version: bundle directory} once the training has ended well, else fail with its log."""
        code = self._wait(timeout)
        assert code == 0, f"training the bundles failed ({code}):\n{self.log_path.read_text()[-5000:]}"
        return {version: self.base / version for version in ("1", "2")}

    def stop(self) -> None:
        """The training's own worker waits for it to end (another may still need the bundles);
        the run's end removes the shared dir."""
        if self.process is not None and self.process.poll() is None:
            try:
                self._wait(timeout=900)
            finally:
                stop_group(self.process, timeout=10)


def sync_in_process(*args: str) -> int:
    """`python -m seldon.sync <args>`'s `main` in this process: what it does to the model root,
    without a Python start and an mlflow import (about 7 s) per call. The registry settings it
    puts in the environment are undone after it; the deployment's settings are the use case's."""
    from seldon import sync

    with mock.patch.dict(os.environ, deployment_env()):
        return sync.main(list(args))


def sample_records(start: datetime, end: datetime, n: int) -> list[dict]:
    from usecases.flights.features import build_features
    from usecases.flights.source import load_window

    return request_records(build_features(load_window("", start, end)).head(n))


def request_records(table) -> list[dict]:
    """The request a caller sends for each flight of a feature table: every feature but those
    the online store gives, and the flight's scheduled departure and tail number to find them."""
    from usecases.flights.operational import OPERATIONAL_FEATURES
    from usecases.flights.schemas import FEATURES, TAILNUM, TIMESTAMP

    sent = [name for name in FEATURES if name not in OPERATIONAL_FEATURES]
    # every float as Python writes it (exact), not to_json's 10 digits: the served row is the batch row
    values = table[sent].astype(object).where(table[sent].notna(), None)
    records = [
        {k: (float(v) if isinstance(v, float | np.floating) else v) for k, v in row.items()}
        for row in values.to_dict("records")
    ]
    stamps = table[TIMESTAMP].dt.strftime("%Y-%m-%dT%H:%M").tolist()
    tails = table[TAILNUM].astype(object).where(table[TAILNUM].notna(), None).tolist()
    for record, stamp, tail in zip(records, stamps, tails, strict=True):
        record["sched_dep"] = stamp
        record["tailnum"] = tail
    return records


@dataclass
class Server:
    """A running `python -m seldon.serve` (the stock seldon-core-microservice main)."""

    root: Path
    env: dict = field(default_factory=dict)
    workers: int = 2
    http_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self, wait: bool = True, timeout: float = 60) -> Server:
        if not SERVING_PYTHON.exists():
            raise RuntimeError("no .venv-serving: run `make setup-serving` first")
        env = {
            **os.environ,
            **deployment_env(),  # the use case's metric prefix, as a deployment sets it
            "PYTHONPATH": str(REPO),
            "OMP_NUM_THREADS": "1",
            "MODEL_ROOT": str(self.root),
            "SERVING_BIND_HOST": "127.0.0.1",
            "MODEL_POLL_SECONDS": "0.5",
            # the workers' metric files beside the server's log, not in a temp dir of its own
            # that outlives the test
            "PROMETHEUS_MULTIPROC_DIR": str(self.root.parent / f"metrics-{self.http_port}"),
            **self.env,
        }
        self.log_path = self.root.parent / f"server-{self.http_port}.log"
        self.process = subprocess.Popen(
            [
                str(SERVING_PYTHON),
                "-m",
                "seldon.serve",
                MODEL_CLASS,
                "--workers",
                str(self.workers),
                "--grpc-workers",
                "0",
                "--http-port",
                str(self.http_port),
                "--metrics-port",
                str(self.metrics_port),
            ],
            cwd=REPO,
            env=env,
            stdout=open(self.log_path, "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() ends the server and its children
        )
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/health/status", timeout=1).status_code == 200:
                    requests.get(self.metrics_url, timeout=1).raise_for_status()
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"server not ready in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)  # gunicorn workers and the metrics server share the group

    def predict(self, body, **kwargs) -> requests.Response:
        return requests.post(f"{self.url}/api/v1.0/predictions", json=body, timeout=10, **kwargs)


def parse_metrics(text: str) -> dict[tuple[str, frozenset], float]:
    """Prometheus text format to {(name, labels): value} (comments skipped)."""
    out = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            labels = frozenset(_LABEL.findall(match.group(2) or ""))
            out[(match.group(1), labels)] = float(match.group(3))
    return out


def metric_sum(samples: dict, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and wanted <= lab)


def register(client, mlflow, bundle_dir: Path, model: str) -> str:
    """Log a bundle and register it as the training workflow does, with the registry's record of
    its model sha256 (the `model_sha256` version tag)."""
    sha = json.loads((bundle_dir / "metadata.json").read_text())["model_sha256"]
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(bundle_dir), "bundle")
    version = client.create_model_version(
        model, source=f"{run.info.artifact_uri}/bundle", run_id=run.info.run_id, tags={"model_sha256": sha}
    )
    return str(version.version)
