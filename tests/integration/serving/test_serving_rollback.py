"""Rollback through the registry alias: two replicas' sync sidecars (real processes) follow it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import pytest
from serving_support import REPO, register

from seldon.pointer import read_pointer
from seldon.rollback import RollbackRefused, rollback
from tests.support.processes import registry_env, run_module, stop_group

pytestmark = pytest.mark.slow
MODEL = "flights-late-arrival"


def wait_for_version(roots, version: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all((read_pointer(r) or {}).get("version") == version for r in roots):
            return
        time.sleep(0.3)
    raise AssertionError(f"pointers {[read_pointer(r) for r in roots]} never reached version {version}")


def test_rollback_moves_the_alias_and_every_replica_follows(tmp_path, bundles):
    """`python -m seldon.rollback --to 1` (the documented command) with two sidecars polling;
    then the refusals (no such version, a name that is not a version, a broken bundle), in process."""
    import mlflow
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    replicas = [tmp_path / "pod-a", tmp_path / "pod-b"]
    sidecars = []
    try:
        experiment = mlflow.create_experiment("rollback", artifact_location=(tmp_path / "art").as_uri())
        mlflow.set_experiment(experiment_id=experiment)
        client = MlflowClient(tracking_uri=uri)
        client.create_registered_model(MODEL)
        first = register(client, mlflow, bundles["1"], MODEL)
        second = register(client, mlflow, bundles["2"], MODEL)
        broken = tmp_path / "broken"
        shutil.copytree(bundles["1"], broken)
        (broken / "model.skops").write_bytes((broken / "model.skops").read_bytes()[:-10])
        third = register(client, mlflow, broken, MODEL)
        client.set_registered_model_alias(MODEL, "champion", second)

        for root in replicas:
            sidecars.append(
                subprocess.Popen(
                    [sys.executable, "-m", "seldon.sync", "--root", str(root), "--interval", "0.5"],
                    cwd=REPO,
                    env=registry_env(uri),
                    stdout=subprocess.DEVNULL,
                    stderr=open(tmp_path / f"{root.name}.log", "w"),
                    start_new_session=True,
                )
            )
        wait_for_version(replicas, second)

        moved = run_module("seldon.rollback", "--to", first, "--reason", "v2 misbehaves", uri=uri)
        assert moved.returncode == 0, moved.stderr
        assert f"moved from version {second} to {first}" in moved.stderr
        assert str(client.get_model_version_by_alias(MODEL, "champion").version) == first
        tag = json.loads(client.get_model_version(MODEL, first).tags["rollback"])
        assert (tag["from"], tag["reason"]) == (second, "v2 misbehaves")
        wait_for_version(replicas, first)  # both replicas, without anyone touching them

        for target, code, says in [
            ("7", 2, "has no version 7"),
            ("../1", 2, "is not a registry version"),
            (third, 3, "fails its checks"),
        ]:
            with pytest.raises(RollbackRefused, match=says) as refused:
                rollback(client, MODEL, "champion", target, uri)
            assert refused.value.exit_code == code
        assert str(client.get_model_version_by_alias(MODEL, "champion").version) == first
        time.sleep(1.5)  # three sidecar polls: nothing moved
        assert all(read_pointer(r)["version"] == first for r in replicas)
    finally:
        for sidecar in sidecars:
            stop_group(sidecar)
        mlflow.set_tracking_uri(None)
