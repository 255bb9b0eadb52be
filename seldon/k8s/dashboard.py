"""The Grafana dashboard of one use case's serving stack and closed loop, as code
(grafana-foundation-sdk).

`seldon/k8s/generate.py` (make manifests) writes it per use case beside its rules, and the use
case's kustomize component ships it as a ConfigMap labelled `grafana_dashboard: "1"` for Grafana's
dashboard sidecar. Every metric is `{case.metric_prefix}_X`. Serving panels read the model
server's metrics (seldon/metrics.py); loop panels read what monitoring pushes through the
Pushgateway (core/pushgateway.py). Every query is run against a real Prometheus by
tests/integration/operator/test_dashboard.py. Grafana's `$__rate_interval` is the only variable in
the queries besides the data source.
"""

from __future__ import annotations

import json

from grafana_foundation_sdk.builders.dashboard import Dashboard, DatasourceVariable, Row
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as Stat
from grafana_foundation_sdk.builders.statetimeline import Panel as StateTimeline
from grafana_foundation_sdk.builders.timeseries import Panel as Timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from seldon.k8s.rules import alert_stem
from usecases.spec import UseCase

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"


def query(expr: str, legend: str = "") -> Dataquery:
    target = Dataquery().expr(expr).datasource(DATASOURCE)
    return target.legend_format(legend) if legend else target


def timeseries(title: str, description: str, unit: str, *targets: Dataquery, width: int = 8) -> Timeseries:
    panel = Timeseries().title(title).description(description).unit(unit).datasource(DATASOURCE)
    for index, target in enumerate(targets):
        panel = panel.with_target(target.ref_id("ABCDEFGH"[index]))
    return panel.height(8).span(width)


def serving_panels(case: UseCase) -> list:
    """The requests and their answers, the versions served, then what the model predicts."""
    return [*request_panels(case), *version_panels(case), *prediction_panels(case)]


def request_panels(case: UseCase) -> list:
    """How many requests, how fast, which ones fail and why."""
    p = case.metric_prefix
    requests = f"{p}_requests_total"
    latency_buckets = f"sum by (le) (rate({p}_request_duration_seconds_bucket[{RATE}]))"
    return [
        timeseries(
            "Request rate by outcome",
            "Prediction requests per second: ok, rejected (4xx), error (5xx).",
            "reqps",
            query(f"sum by (outcome) (rate({requests}[{RATE}]))", "{{outcome}}"),
        ),
        timeseries(
            "Latency p50 / p99",
            "Request start to response body, across workers.",
            "s",
            query(f"histogram_quantile(0.5, {latency_buckets})", "p50"),
            query(f"histogram_quantile(0.99, {latency_buckets})", "p99"),
        ),
        timeseries(
            "4xx by rule",
            "Rejected requests per second, by the schema rule they broke.",
            "reqps",
            query(f"sum by (reason) (rate({p}_rejected_requests_total[{RATE}]))", "{{reason}}"),
        ),
        timeseries(
            "5xx share",
            "Share of requests answered with a server error; 0 while traffic flows without one.",
            "percentunit",
            query(
                f'(sum(rate({requests}{{outcome="error"}}[{RATE}])) '
                f"or sum(rate({requests}[{RATE}])) * 0) "
                f"/ sum(rate({requests}[{RATE}]))",
                "5xx",
            ),
        ),
        timeseries(
            "Unknown categories",
            "Rows per second carrying a category unseen in training (scored as missing), by feature.",
            "rowsps",
            query(f"sum by (feature) (rate({p}_unknown_category_total[{RATE}]))", "{{feature}}"),
        ),
    ]


def version_panels(case: UseCase) -> list:
    """The versions the workers serve, and their hot swaps."""
    p = case.metric_prefix
    return [
        Stat()
        .title("Served version")
        .description("Model versions the workers serve now, and how many workers serve each.")
        .datasource(DATASOURCE)
        .with_target(
            query(f"count by (bundle_version) ({p}_model_info == 1)", "v{{bundle_version}}").ref_id("A")
        )
        .height(8)
        .span(4),
        timeseries(
            "Model swaps",
            "Hot swaps per worker and outcome over the interval (failed: the new bundle was refused).",
            "short",
            query(f"sum by (outcome) (increase({p}_model_swaps_total[{RATE}]))", "{{outcome}}"),
            width=4,
        ),
    ]


def prediction_panels(case: UseCase) -> list:
    """What the model predicts: rows by class, and the score's quantiles."""
    p = case.metric_prefix
    scores = f"sum by (le) (rate({p}_model_score_bucket[{RATE}]))"
    return [
        timeseries(
            "Predicted rows by class",
            f"Rows per second by predicted class: {case.positive_class} when the probability reaches "
            f"the bundle's threshold ({case.threshold} by default), else {case.negative_class}.",
            "rowsps",
            query(f"sum by (label) (rate({p}_predicted_rows_total[{RATE}]))", "{{label}}"),
            width=12,
        ),
        timeseries(
            "Score quantiles",
            f"Median and 90th percentile of the predicted probability of {case.positive_class}, "
            "interpolated within the score histogram's buckets.",
            "percentunit",
            query(f"histogram_quantile(0.5, {scores})", "p50"),
            query(f"histogram_quantile(0.9, {scores})", "p90"),
            width=12,
        ),
    ]


def loop_panels(case: UseCase) -> list:
    p = case.metric_prefix
    return [
        timeseries(
            "Drift by feature (PSI, batch)",
            "Population stability index of each feature against the bundle's reference, last monitoring run.",
            "none",
            query(f'max by (feature) ({p}_monitoring_feature_psi{{source="batch"}})', "{{feature}}"),
            query(f"max by (source) ({p}_monitoring_score_psi)", "score ({{source}})"),
            width=12,
        ),
        timeseries(
            "Realized AUC vs holdout AUC",
            "ROC AUC on the monitored period's known truth against the judged version's holdout.",
            "none",
            query(f"max by (model_version) ({p}_monitoring_realized_roc_auc)", "realized v{{model_version}}"),
            query(f"max by (model_version) ({p}_monitoring_holdout_roc_auc)", "holdout v{{model_version}}"),
            width=12,
        ),
        StateTimeline()
        .title("Monitoring decisions")
        .description("The decision of each monitoring run: ok, drift or decay (1 = taken).")
        .datasource(DATASOURCE)
        .with_target(query(f"max by (decision) ({p}_monitoring_decision)", "{{decision}}").ref_id("A"))
        .height(6)
        .span(12),
        Stat()
        .title("Since the last monitoring run")
        .description(f"Alert {alert_stem(case)}MonitoringNotReported fires after 26 hours.")
        .datasource(DATASOURCE)
        .unit("s")
        .with_target(query(f"time() - max({p}_monitoring_last_run_timestamp_seconds)", "age").ref_id("A"))
        .height(6)
        .span(4),
        Stat()
        .title("Registry champion")
        .description("The version the registry's champion alias points at (pushed when it moves).")
        .datasource(DATASOURCE)
        .with_target(
            query(f"max by (bundle_version) ({p}_registry_champion_info)", "v{{bundle_version}}").ref_id("A")
        )
        .height(6)
        .span(4),
        Stat()
        .title("Rows monitored")
        .description("Rows of the last monitored period, per source.")
        .datasource(DATASOURCE)
        .with_target(query(f"sum by (source) ({p}_monitoring_rows)", "{{source}}").ref_id("A"))
        .height(6)
        .span(4),
    ]


def build(case: UseCase) -> Dashboard:
    dashboard = (
        Dashboard(f"{case.model_name}: {case.title}")
        .uid(case.model_name)
        .description("Serving (Seldon microservice) and the closed loop (monitoring, registry).")
        .tags([f"{case.name}-mlops", "seldon", "generated"])
        .refresh("1m")
        .time("now-6h", "now")
        .with_variable(DatasourceVariable("datasource").label("Data source").type("prometheus"))
        .with_row(Row("Serving"))
    )
    for panel in serving_panels(case):
        dashboard = dashboard.with_panel(panel)
    dashboard = dashboard.with_row(Row("Closed loop"))
    for panel in loop_panels(case):
        dashboard = dashboard.with_panel(panel)
    return dashboard


def render(case: UseCase) -> str:
    return json.dumps(build(case).build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"
