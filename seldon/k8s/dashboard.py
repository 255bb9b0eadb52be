"""The Grafana dashboard of the serving stack and the closed loop, as code (grafana-foundation-sdk).

    .venv/bin/python seldon/k8s/dashboard.py     (make dashboard)

writes `seldon/k8s/base/grafana-dashboard.json`, which the kustomize base ships as a ConfigMap
labelled `grafana_dashboard: "1"` for Grafana's dashboard sidecar. Serving panels read the model
server's metrics (seldon/metrics.py); loop panels read what monitoring pushes through the
Pushgateway (core/pushgateway.py). Every query is run against a real Prometheus by
tests/integration/operator/test_dashboard.py. Grafana's `$__rate_interval` is the only variable in
the queries besides the data source.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from grafana_foundation_sdk.builders.dashboard import Dashboard, DatasourceVariable, Row
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as Stat
from grafana_foundation_sdk.builders.statetimeline import Panel as StateTimeline
from grafana_foundation_sdk.builders.timeseries import Panel as Timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from seldon.metrics import LATENCY, MODEL_INFO, REJECTED, REQUESTS, SWAPS, UNKNOWN_CATEGORY

OUTPUT = Path(__file__).resolve().parent / "base" / "grafana-dashboard.json"
UID = "flights-late-arrival"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"
LATENCY_BUCKETS = f"sum by (le) (rate({LATENCY}_bucket[{RATE}]))"


def query(expr: str, legend: str = "") -> Dataquery:
    target = Dataquery().expr(expr).datasource(DATASOURCE)
    return target.legend_format(legend) if legend else target


def timeseries(title: str, description: str, unit: str, *targets: Dataquery, width: int = 8) -> Timeseries:
    panel = Timeseries().title(title).description(description).unit(unit).datasource(DATASOURCE)
    for index, target in enumerate(targets):
        panel = panel.with_target(target.ref_id("ABCDEFGH"[index]))
    return panel.height(8).span(width)


def serving_panels() -> list:
    return [
        timeseries(
            "Request rate by outcome",
            "Prediction requests per second: ok, rejected (4xx), error (5xx).",
            "reqps",
            query(f"sum by (outcome) (rate({REQUESTS}[{RATE}]))", "{{outcome}}"),
        ),
        timeseries(
            "Latency p50 / p99",
            "Request start to response body, across workers.",
            "s",
            query(f"histogram_quantile(0.5, {LATENCY_BUCKETS})", "p50"),
            query(f"histogram_quantile(0.99, {LATENCY_BUCKETS})", "p99"),
        ),
        timeseries(
            "4xx by rule",
            "Rejected requests per second, by the schema rule they broke.",
            "reqps",
            query(f"sum by (reason) (rate({REJECTED}[{RATE}]))", "{{reason}}"),
        ),
        timeseries(
            "5xx share",
            "Share of requests answered with a server error; 0 while traffic flows without one.",
            "percentunit",
            query(
                f'(sum(rate({REQUESTS}{{outcome="error"}}[{RATE}])) '
                f"or sum(rate({REQUESTS}[{RATE}])) * 0) "
                f"/ sum(rate({REQUESTS}[{RATE}]))",
                "5xx",
            ),
        ),
        timeseries(
            "Unknown categories",
            "Rows per second carrying a category unseen in training (scored as missing), by feature.",
            "rowsps",
            query(f"sum by (feature) (rate({UNKNOWN_CATEGORY}[{RATE}]))", "{{feature}}"),
        ),
        Stat()
        .title("Served version")
        .description("Model versions the workers serve now, and how many workers serve each.")
        .datasource(DATASOURCE)
        .with_target(
            query(f"count by (bundle_version) ({MODEL_INFO} == 1)", "v{{bundle_version}}").ref_id("A")
        )
        .height(8)
        .span(4),
        timeseries(
            "Model swaps",
            "Hot swaps per worker and outcome over the interval (failed: the new bundle was refused).",
            "short",
            query(f"sum by (outcome) (increase({SWAPS}[{RATE}]))", "{{outcome}}"),
            width=4,
        ),
    ]


def loop_panels() -> list:
    return [
        timeseries(
            "Drift by feature (PSI, batch)",
            "Population stability index of each feature against the bundle's reference, last monitoring run.",
            "none",
            query('max by (feature) (flights_monitoring_feature_psi{source="batch"})', "{{feature}}"),
            query("max by (source) (flights_monitoring_score_psi)", "score ({{source}})"),
            width=12,
        ),
        timeseries(
            "Realized AUC vs holdout AUC",
            "ROC AUC on the monitored period's known truth against the judged version's holdout.",
            "none",
            query(
                "max by (model_version) (flights_monitoring_realized_roc_auc)", "realized v{{model_version}}"
            ),
            query(
                "max by (model_version) (flights_monitoring_holdout_roc_auc)", "holdout v{{model_version}}"
            ),
            width=12,
        ),
        StateTimeline()
        .title("Monitoring decisions")
        .description("The decision of each monitoring run: ok, drift or decay (1 = taken).")
        .datasource(DATASOURCE)
        .with_target(query("max by (decision) (flights_monitoring_decision)", "{{decision}}").ref_id("A"))
        .height(6)
        .span(12),
        Stat()
        .title("Since the last monitoring run")
        .description("Alert FlightsMonitoringNotReported fires after 26 hours.")
        .datasource(DATASOURCE)
        .unit("s")
        .with_target(query("time() - max(flights_monitoring_last_run_timestamp_seconds)", "age").ref_id("A"))
        .height(6)
        .span(4),
        Stat()
        .title("Registry champion")
        .description("The version the registry's champion alias points at (pushed when it moves).")
        .datasource(DATASOURCE)
        .with_target(
            query("max by (bundle_version) (flights_registry_champion_info)", "v{{bundle_version}}").ref_id(
                "A"
            )
        )
        .height(6)
        .span(4),
        Stat()
        .title("Rows monitored")
        .description("Rows of the last monitored period, per source.")
        .datasource(DATASOURCE)
        .with_target(query("sum by (source) (flights_monitoring_rows)", "{{source}}").ref_id("A"))
        .height(6)
        .span(4),
    ]


def build() -> Dashboard:
    dashboard = (
        Dashboard("Flights late-arrival model")
        .uid(UID)
        .description("Serving (Seldon microservice) and the closed loop (monitoring, registry).")
        .tags(["flights-mlops", "seldon", "generated"])
        .refresh("1m")
        .time("now-6h", "now")
        .with_variable(DatasourceVariable("datasource").label("Data source").type("prometheus"))
        .with_row(Row("Serving"))
    )
    for panel in serving_panels():
        dashboard = dashboard.with_panel(panel)
    dashboard = dashboard.with_row(Row("Closed loop"))
    for panel in loop_panels():
        dashboard = dashboard.with_panel(panel)
    return dashboard


def render() -> str:
    return json.dumps(build().build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def main() -> None:
    OUTPUT.write_text(render())
    sys.stdout.write(f"wrote {OUTPUT}\n")


if __name__ == "__main__":
    main()
