"""A real Prometheus server scrapes the model server's metrics port and evaluates our rules."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
import requests
import yaml
from serving_support import REPO, free_port, metric_sum, parse_metrics

from tests.processes import stop_group
from tests.system_tools import system_binary

pytestmark = pytest.mark.slow
JOB = "flights-serving"


@pytest.fixture
def prometheus(tmp_path, server):
    binary = system_binary("prometheus")
    spec = yaml.safe_load((REPO / "seldon/k8s/base/prometheusrule.yaml").read_text())["spec"]
    for group in spec["groups"]:
        group["interval"] = "1s"  # evaluate as often as we scrape, the test is short
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(spec))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["rules.yaml"],
        "scrape_configs": [
            {
                "job_name": JOB,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [f"127.0.0.1:{server.metrics_port}"]}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = open(tmp_path / "prometheus.log", "w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, which stop_group ends
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            raise TimeoutError((tmp_path / "prometheus.log").read_text())
        yield url
    finally:
        stop_group(process, timeout=10)
        log.close()


def query(url: str, promql: str) -> list[dict]:
    answer = requests.get(f"{url}/api/v1/query", params={"query": promql}, timeout=5).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def wait_for(url: str, promql: str, check, timeout: float = 20) -> list[dict]:
    deadline = time.monotonic() + timeout
    result = []
    while time.monotonic() < deadline:
        result = query(url, promql)
        if result and check(result):
            return result
        time.sleep(0.5)
    raise AssertionError(f"{promql} never satisfied the check; last result {result}")


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
