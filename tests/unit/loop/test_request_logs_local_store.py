"""`mlflow-artifacts:/` without a tracking server: the daily monitoring launch plan's request-log
location read on a laptop's SQLite store is the local artifact root the shipper writes to."""

from __future__ import annotations

from datetime import datetime

from core.request_logs import local_store_uri, read_location


def test_mlflow_artifacts_without_a_server_is_the_local_artifact_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_DATA_DIR", str(tmp_path))
    local = local_store_uri("mlflow-artifacts:/request-logs", "sqlite:////x/mlflow.db")
    assert local == (tmp_path / "mlartifacts" / "request-logs").as_uri()
    # through a tracking server the URI is left to MLflow's artifact proxy
    served = local_store_uri("mlflow-artifacts:/request-logs", "http://127.0.0.1:5000")
    assert served == "mlflow-artifacts:/request-logs"
    assert local_store_uri("s3://bucket/logs", "sqlite:////x/mlflow.db") == "s3://bucket/logs"


def test_nothing_shipped_yet_reads_as_no_rows(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert read_location("mlflow-artifacts:/request-logs", datetime(2013, 7, 1)) == ([], {})
