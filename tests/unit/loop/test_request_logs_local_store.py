"""Where monitoring reads the request logs without a tracking server (a laptop's SQLite store):
`mlflow-artifacts:/` is the local artifact root the shipper writes to, and each use case's own
location (`experiments:/<model>-request-logs/...`) is a folder of its own experiment, so two use
cases served side by side are each monitored on their own requests alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

import usecases
from contract.log_store import LogStoreError, location, parse, resolve
from contract.request_log import RequestLog
from core.request_logs import local_store_uri, read_location


def test_mlflow_artifacts_without_a_server_is_the_local_artifact_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_DATA_DIR", str(tmp_path))
    local = local_store_uri("mlflow-artifacts:/request-logs", "sqlite:////x/mlflow.db")
    assert local == (tmp_path / "mlartifacts" / "request-logs").as_uri()
    # through a tracking server the URI is left to MLflow's artifact proxy
    served = local_store_uri("mlflow-artifacts:/request-logs", "http://127.0.0.1:5000")
    assert served == "mlflow-artifacts:/request-logs"
    assert local_store_uri("s3://bucket/logs", "sqlite:////x/mlflow.db") == "s3://bucket/logs"


def test_nothing_shipped_yet_reads_as_no_rows(fresh_store):
    assert read_location("mlflow-artifacts:/request-logs", datetime(2013, 7, 1)) == ([], {})
    # the use case's experiment does not exist yet: nothing was shipped, and reading makes none
    assert read_location(location("flights-late-arrival"), datetime(2013, 7, 1)) == ([], {})
    assert resolve(location("flights-late-arrival"), f"sqlite:///{fresh_store / 'mlflow.db'}") is None


def test_a_location_names_an_experiment_and_a_folder():
    assert location("bikes") == "experiments:/bikes-request-logs/request-logs"
    assert parse("experiments:/bikes-request-logs/request-logs-shadow") == (
        "bikes-request-logs",
        "request-logs-shadow",
    )
    assert parse("mlflow-artifacts:/request-logs") is None
    with pytest.raises(LogStoreError, match="expected experiments:/<experiment>/<folder>"):
        parse("experiments:/bikes-request-logs")


def test_two_use_cases_served_side_by_side_are_each_monitored_alone(fresh_store, tmp_path, monkeypatch):
    """Each use case's replica ships to the location its deployment derives (REGISTERED_MODEL,
    as `make serve` and the manifests set it), and each use case's monitoring, reading the
    location its launch plan gives, sees its own requests and none of the other's."""
    from core.monitoring import online_rows
    from seldon.ship import Shipper, default_destination

    monkeypatch.delenv("REQUEST_LOG_URI", raising=False)
    cases = {case.name: case for case in (usecases.load("flights"), usecases.load("visibility"))}
    sent = {"flights": 3, "visibility": 5}
    for name, case in cases.items():
        records = json.loads(case.sample_request.read_text())["jsonData"]
        body = json.dumps({"jsonData": [records, records]}).encode()  # two rows a request
        log = RequestLog(tmp_path / name, backups=0, max_seconds=0)
        for index in range(sent[name]):
            log.write(f"{name}-{index}", case.model_name, "1", body, [0.2, 0.7], [0, 1], {})
        log.close()
        monkeypatch.setenv("REGISTERED_MODEL", case.model_name)
        assert Shipper(tmp_path / name, default_destination(), "r1").ship_once() == (1, 0)

    start = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    end = start + timedelta(hours=2)
    for name, case in cases.items():
        monkeypatch.setenv("MLOPS_USE_CASE", name)
        rows, _ = read_location(location(case.model_name), start)
        assert sorted({r["request_id"] for r in rows}) == [f"{name}-{i}" for i in range(sent[name])]
        assert {r["model_name"] for r in rows} == {case.model_name}
        online = online_rows(location(case.model_name), start, end)
        assert len(online) == 2 * sent[name]
        assert list(online.columns) == [*case.features, "score"]
        assert online[list(case.features)].notna().any().any()  # its own features, as sent
