"""The Grafana dashboard as code: the use case's kustomize overlays ship it as a ConfigMap for
Grafana's sidecar (the committed JSON is what the code generates:
tests/integration/serving/test_manifests_generated.py), and every query of every panel returns at
least one series from a real Prometheus that scraped the live microservice and the Pushgateway."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

import usecases
from tests.integration.operator.conftest import PERIOD
from tests.support.system_tools import REPO, query, wait_for

CASE = usecases.current()  # the use case the loop of this folder runs
DASHBOARD = REPO / "seldon" / "k8s" / "usecases" / CASE.name / "component" / "grafana-dashboard.json"
# What Grafana substitutes before it sends a query; the data source is picked by the variable.
GRAFANA_VARIABLES = {"$__rate_interval": "1m"}


def panel_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        if panel["type"] != "row"
        for target in panel.get("targets", [])
    ]


def as_sent(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr}"
    return expr


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlays_ship_the_dashboard_for_grafanas_sidecar(overlay):
    built = subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "kubectl"),
            "kustomize",
            str(REPO / "seldon" / "k8s" / "usecases" / CASE.name / overlay),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    maps = [d for d in yaml.safe_load_all(built) if d and d["kind"] == "ConfigMap"]
    found = [m for m in maps if m["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    assert [m["metadata"]["name"] for m in found] == [f"{CASE.name}-grafana-dashboard"]
    assert found[0]["metadata"]["namespace"] == f"{CASE.name}-{overlay}"
    assert json.loads(found[0]["data"]["grafana-dashboard.json"]) == json.loads(DASHBOARD.read_text())


def test_the_dashboard_covers_serving_and_the_loop():
    titles = {title for title, _ in panel_queries()}
    assert titles >= {
        "Request rate by outcome",
        "Latency p50 / p99",
        "4xx by rule",
        "5xx share",
        "Unknown categories",
        "Served version",
        "Model swaps",
        "Predicted rows by class",
        "Score quantiles",
        "Drift by feature (PSI, batch)",
        "Realized AUC vs holdout AUC",
        "Monitoring decisions",
    }


@pytest.mark.slow
def test_every_panel_query_returns_series_from_the_live_system(served, prometheus):
    from tests.integration.serving.serving_support import sample_records

    # traffic while Prometheus watches, so that the rates have something to measure
    records = sample_records(*PERIOD, 30)
    for record in records:
        assert served.server.predict({"jsonData": record}).status_code == 200
    assert served.server.predict({"jsonData": dict(records[0], origin="XXX")}).status_code == 200
    assert served.server.predict({"jsonData": dict(records[0], distance=-1)}).status_code == 400
    wait_for(prometheus, as_sent(panel_queries()[0][1]), lambda r: any(float(s["value"][1]) > 0 for s in r))

    empty = []
    for title, expr in panel_queries():
        result = query(prometheus, as_sent(expr))
        if not result:
            empty.append((title, expr))
    assert not empty, f"panels without data: {empty}"
    # the latency quantiles are numbers (the traffic above fell inside their window)
    for expr in [e for t, e in panel_queries() if t == "Latency p50 / p99"]:
        result = wait_for(prometheus, as_sent(expr), lambda r: r and r[0]["value"][1] != "NaN")
        assert 0 < float(result[0]["value"][1]) < 5
