"""A real Prometheus server scrapes the model server's metrics port and evaluates our rules."""

from __future__ import annotations

import json

import pytest
import requests
from serving_support import free_port, metric_sum, parse_metrics

from tests.support.processes import stop_group
from tests.support.system_tools import start_prometheus, wait_for

pytestmark = pytest.mark.slow
JOB = "flights-serving"


@pytest.fixture
def prometheus(tmp_path, server):
    scrape_configs = [
        {
            "job_name": JOB,
            "metrics_path": "/metrics",
            "static_configs": [{"targets": [f"127.0.0.1:{server.metrics_port}"]}],
        }
    ]
    address = f"127.0.0.1:{free_port()}"
    process = start_prometheus(tmp_path, scrape_configs, address)
    try:
        yield f"http://{address}"
    finally:
        stop_group(process, timeout=10)


def test_prometheus_scrapes_the_series_and_evaluates_the_rules(prometheus, server, july_records, bundles):
    for record in july_records[:20]:
        assert server.predict({"jsonData": record}).status_code == 200
    server.predict({"jsonData": dict(july_records[0], arr_hour=-3)})
    direct = parse_metrics(requests.get(server.metrics_url, timeout=5).text)
    ok_now = metric_sum(direct, "flights_requests_total", outcome="ok")
    assert ok_now >= 20

    wait_for(prometheus, f'up{{job="{JOB}"}}', lambda r: r[0]["value"][1] == "1")
    wait_for(
        prometheus,
        'sum(flights_requests_total{outcome="ok"})',
        lambda r: float(r[0]["value"][1]) == ok_now,
    )
    rejected = wait_for(
        prometheus,
        'sum by (reason) (flights_rejected_requests_total{reason="min"})',
        lambda r: float(r[0]["value"][1]) >= 1,
    )
    assert rejected[0]["metric"]["reason"] == "min"
    # more traffic so the rates have two different samples to work with
    for record in july_records[20:40]:
        assert server.predict({"jsonData": record}).status_code == 200
    wait_for(prometheus, 'flights:requests:rate5m{outcome="ok"}', lambda r: float(r[0]["value"][1]) > 0)
    p99 = wait_for(prometheus, "flights:latency_seconds:p99_5m", lambda r: r[0]["value"][1] != "NaN")
    assert 0 < float(p99[0]["value"][1]) < 5
    mean = wait_for(prometheus, "flights:score_mean:rate1h", lambda r: r[0]["value"][1] != "NaN")
    assert 0 < float(mean[0]["value"][1]) < 1
    info = wait_for(prometheus, 'flights_model_info{bundle_version="1"}', lambda r: True)
    trained = json.loads((bundles["1"] / "metadata.json").read_text())
    assert {s["metric"]["run_id"] for s in info} == {trained["run_id"]}
    alerts = requests.get(f"{prometheus}/api/v1/rules", params={"type": "alert"}, timeout=5).json()
    names = {rule["name"] for group in alerts["data"]["groups"] for rule in group["rules"]}
    assert "FlightsServingErrorRatioHigh" in names and "FlightsScoreShift" in names
