"""The registry side failing under a running server: MLflow down while the sync polls, a corrupt
bundle published as champion, a tampered one. Real mlflow server, sync sidecar and model server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import pytest
import requests
from serving_support import REPO, Server, free_port, metric_sum, parse_metrics

from seldon.pointer import read_pointer
from tests.integration.mlflow_server import mlflow_server
from tests.support.processes import registry_env, stop_group

pytestmark = pytest.mark.slow
MODEL = "flights-late-arrival"


def register(client, mlflow, bundle_dir, sha: str | None = None) -> str:
    """Log a bundle and register it with the registry's record of its model sha256 (as the
    training workflow does: the `model_sha256` version tag)."""
    recorded = sha or json.loads((bundle_dir / "metadata.json").read_text())["model_sha256"]
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(bundle_dir), "bundle")
    version = client.create_model_version(
        MODEL,
        source=f"{run.info.artifact_uri}/bundle",
        run_id=run.info.run_id,
        tags={"model_sha256": recorded},
    )
    return str(version.version)


def wait_until(check, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def sync_metrics(port: int) -> dict:
    return parse_metrics(requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)


def serves(server, record) -> str:
    response = server.predict({"jsonData": record})
    assert response.status_code == 200, response.text
    return response.json()["meta"]["tags"]["model_version"]


def start_sidecar(root, uri: str, metrics_port: int, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "seldon.sync", "--root", str(root), "--interval", "0.5"]
        + ["--metrics-port", str(metrics_port)],
        cwd=REPO,
        env=registry_env(uri),
        stdout=subprocess.DEVNULL,
        stderr=open(log, "w"),
        start_new_session=True,
    )


def outage_keeps_serving(server, record, version: str, metrics_port: int) -> float:
    """The registry is down: the sync fails, counts it, and the server keeps serving `version`.
    Returns the sync's last success time, from before the outage."""
    failed_before = metric_sum(sync_metrics(metrics_port), "flights_sync_polls_total", outcome="failed")
    wait_until(
        lambda: (
            metric_sum(sync_metrics(metrics_port), "flights_sync_polls_total", outcome="failed")
            >= failed_before + 3
        ),
        "failed polls to be counted",
    )
    assert all(serves(server, record) == version for _ in range(5))
    return last_success_at(metrics_port)


def last_success_at(metrics_port: int) -> float:
    return metric_sum(sync_metrics(metrics_port), "flights_sync_last_success_timestamp_seconds")


def refused(metrics_port: int, reason: str) -> float:
    return metric_sum(sync_metrics(metrics_port), "flights_sync_refused_bundles_total", reason=reason)


def corrupt_champion(client, mlflow, tmp_path, bundle_dir) -> str:
    """A truncated model.skops registered and made champion; returns its version."""
    broken = tmp_path / "broken"
    shutil.copytree(bundle_dir, broken)
    (broken / "model.skops").write_bytes((broken / "model.skops").read_bytes()[:-10])
    version = register(client, mlflow, broken, sha="0" * 64)
    client.set_registered_model_alias(MODEL, "champion", version)
    return version


def tampered_champion(client, mlflow, registry_dir, bundles) -> tuple[str, str]:
    """Bundle 1 registered, then replaced in the artifact store by bundle 2's files (model.skops,
    trees.treelite and metadata.json: self-consistent on its own, only the registry's record of
    the sha256 tells), and made champion; returns its version and artifact source."""
    version = register(client, mlflow, bundles["1"])
    registered = client.get_model_version(MODEL, version)
    stored = next(registry_dir.joinpath("artifacts").rglob(f"{registered.run_id}/artifacts/bundle"))
    for name in ("model.skops", "trees.treelite", "metadata.json"):
        shutil.copy(bundles["2"] / name, stored / name)
    client.set_registered_model_alias(MODEL, "champion", version)
    return version, registered.source


def assert_still_serving(server, record, root, version: str, refused_versions: tuple[str, ...]) -> None:
    """The pointer and every answer still name `version`; no refused bundle reached versions/."""
    assert read_pointer(root)["version"] == version
    assert all(serves(server, record) == version for _ in range(5))
    assert not any((root / "versions" / refused).exists() for refused in refused_versions)


def test_registry_outage_corrupt_and_tampered_champions_leave_the_last_good_model_serving(
    tmp_path, bundles, july_records
):
    import mlflow
    from mlflow import MlflowClient

    registry_dir, port, metrics_port = tmp_path / "registry", free_port(), free_port()
    root = tmp_path / "model-root"
    root.mkdir()
    record = july_records[0]
    server = sidecar = None
    try:
        with mlflow_server(registry_dir, port=port) as uri:
            mlflow.set_tracking_uri(uri)
            mlflow.set_experiment("sync-faults")
            client = MlflowClient(tracking_uri=uri)
            client.create_registered_model(MODEL)
            first = register(client, mlflow, bundles["1"])
            client.set_registered_model_alias(MODEL, "champion", first)
            sidecar = start_sidecar(root, uri, metrics_port, tmp_path / "sync.log")
            wait_until(lambda: read_pointer(root), "the first publication")
            server = Server(root, workers=1).start()
            assert serves(server, record) == first

        last_success = outage_keeps_serving(server, record, first, metrics_port)

        # ---- it comes back (same store, same port): the sync recovers and follows a promotion
        with mlflow_server(registry_dir, port=port) as uri:
            mlflow.set_tracking_uri(uri)
            client = MlflowClient(tracking_uri=uri)
            wait_until(lambda: last_success_at(metrics_port) > last_success, "a poll to succeed again")
            second = register(client, mlflow, bundles["2"])
            client.set_registered_model_alias(MODEL, "champion", second)
            wait_until(lambda: serves(server, record) == second, "the server to serve the promotion")

            # ---- a corrupt champion, then a tampered one: refused, the old one keeps serving
            third = corrupt_champion(client, mlflow, tmp_path, bundles["1"])
            wait_until(lambda: refused(metrics_port, "bundle"), "the corrupt bundle to be refused")
            fourth, source = tampered_champion(client, mlflow, registry_dir, bundles)
            wait_until(
                lambda: refused(metrics_port, "registry_sha256"),
                f"the tampered bundle ({source}) to be refused",
            )
            time.sleep(1.5)
            assert_still_serving(server, record, root, second, refused_versions=(third, fourth))
            after = sync_metrics(metrics_port)
            assert metric_sum(after, "flights_sync_polls_total", outcome="refused") >= 2
            assert metric_sum(after, "flights_sync_published_info", version=second) == 1
            log = (tmp_path / "sync.log").read_text()
            assert "differs from the registry's record" in log and f"version {fourth}" in log
    finally:
        for process in (sidecar, server.process if server else None):
            if process is not None:
                stop_group(process)
        mlflow.set_tracking_uri(None)
