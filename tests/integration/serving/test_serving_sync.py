"""The registry sync against a real MLflow registry (SQLite store in a temp dir)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from serving_support import register, sync_in_process

from contract.bundle import BundleError, load_bundle
from seldon.pointer import read_pointer
from tests.support.processes import run_module

pytestmark = pytest.mark.slow
MODEL = "flights-late-arrival"


def run_sync(root, uri) -> subprocess.CompletedProcess:
    """`python -m seldon.sync --once`, the command `make serve` runs first, as a process."""
    return run_module("seldon.sync", "--root", str(root), "--once", uri=uri)


def sync_once(root, uri) -> int:
    """The same command in this process (`serving_support.sync_in_process`)."""
    return sync_in_process("--root", str(root), "--once", "--tracking-uri", uri)


def run_id(bundle_dir) -> str:
    """The MLflow run that trained this bundle (the sync must hand over that very bundle)."""
    return json.loads((bundle_dir / "metadata.json").read_text())["run_id"]


def test_sync_follows_the_champion_alias(tmp_path, bundles):
    import mlflow
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    root = tmp_path / "model-root"
    mlflow.set_tracking_uri(uri)
    try:
        experiment = mlflow.create_experiment("serving-sync", artifact_location=(tmp_path / "art").as_uri())
        mlflow.set_experiment(experiment_id=experiment)
        client = MlflowClient(tracking_uri=uri)

        empty = run_sync(root, uri)
        assert empty.returncode == 2, empty.stderr
        assert "make demo" in empty.stderr and "champion" in empty.stderr

        client.create_registered_model(MODEL)
        first = register(client, mlflow, bundles["1"], MODEL)
        client.set_registered_model_alias(MODEL, "champion", first)
        assert sync_once(root, uri) == 0
        assert read_pointer(root)["version"] == first
        assert load_bundle(root / read_pointer(root)["path"]).metadata.run_id == run_id(bundles["1"])

        second = register(client, mlflow, bundles["2"], MODEL)
        client.set_registered_model_alias(MODEL, "champion", second)
        assert sync_once(root, uri) == 0
        assert read_pointer(root)["version"] == second
        assert load_bundle(root / "versions" / second).metadata.run_id == run_id(bundles["2"])

        tampered = tmp_path / "tampered"
        shutil.copytree(bundles["1"], tampered)
        (tampered / "model.skops").write_bytes((tampered / "model.skops").read_bytes()[:-10])
        third = register(client, mlflow, tampered, MODEL)
        client.set_registered_model_alias(MODEL, "champion", third)
        with pytest.raises(BundleError, match="does not match metadata.json model_sha256"):
            sync_once(root, uri)  # as a process: this traceback and a non-zero exit
        assert read_pointer(root)["version"] == second  # the servers keep the last good bundle
        assert not (root / "versions" / third).exists()
    finally:
        mlflow.set_tracking_uri(None)
