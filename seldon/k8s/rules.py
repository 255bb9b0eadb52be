"""The Prometheus recording and alert rules of one use case, as code.

Every metric is `{case.metric_prefix}_X` (use case `bike-share`: `bike_share_X`), every
recording rule `{prefix}:...`, every alert `{Name}...` (`BikeShare...`). Each alert carries `severity`
(`page` or `ticket`), `component` (what is broken: serving, model, online-store, registry,
monitoring) and `use_case`, and one that means its component is down (not a symptom) carries
`impact: outage`, so that Alertmanager (deploy/alertmanager/alertmanager.yml) routes by severity
and inhibits by labels, never by alert names. `seldon/k8s/generate.py` writes them, as a
PrometheusRule and as the plain rule file Prometheus and promtool read; promtool tests:
tests/data/serving/alerts_test.yaml and tests/data/operator/monitoring_alerts_test.yaml, rendered
for each use case.
"""

from __future__ import annotations

import math

from contract.names import metric_label
from usecases.loop_defaults import BASE_MONITORING
from usecases.spec import UseCase

# The rule's `component` label: which part of the system an alert is about.
SERVING = "serving"  # the model server: errors, rejections, latency, swaps, the shadow challenger
MODEL = "model"  # what the model sees and answers: score shift, unknown categories, decay, drift
ONLINE_STORE = "online-store"  # the online features
REGISTRY = "registry"  # the registry sync and the champion the pods serve
MONITORING = "monitoring"  # the monitoring runs themselves
COMPONENTS = (SERVING, MODEL, ONLINE_STORE, REGISTRY, MONITORING)
SEVERITIES = ("page", "ticket")
IMPACT, OUTAGE = "impact", "outage"  # deploy/alertmanager/alertmanager.yml inhibits by it
# Why a row's online features are missing (scoring.online): `not_known` is normal (the store
# answered, nothing to tell); the other reasons make every online feature of the row missing.
NOT_KNOWN = "not_known"


def monitoring_limit(case: UseCase, name: str) -> float:
    """A limit of the use case's monitoring (its `monitoring` override, else the base value;
    seldon/ imports nothing of core): an alert on a judged signal speaks when monitoring does,
    and a use case that turned the signal off (`inf`) has no alert for it."""
    return float(case.monitoring.get(name, BASE_MONITORING[name]))


def estimated_auc_drop(case: UseCase) -> float:
    """The estimated ROC AUC's fall below the holdout's that the use case's monitoring calls decay."""
    return monitoring_limit(case, "max_estimated_auc_drop")


def score_psi(case: UseCase) -> float:
    """The score's PSI that the use case's monitoring calls drift."""
    return monitoring_limit(case, "max_score_psi")


def alert_stem(case: UseCase) -> str:
    """`weather` -> `Weather`, `bike-rentals` -> `BikeRentals`."""
    return "".join(part.capitalize() for part in case.name.split("-"))


def positive_label(case: UseCase) -> str:
    """The positive class as the `label` value of the server's counter of predicted rows."""
    return metric_label(case.positive_class)


def serving_recording_rules(case: UseCase) -> list[dict]:
    """Counters and histograms are summed over the workers (prometheus-client multiprocess mode);
    gauges carry a pid label per live worker: always aggregate."""
    p = case.metric_prefix
    requests = f"sum(rate({p}_requests_total[5m]))"
    rules = [
        ("requests:rate5m", f"sum by (outcome) (rate({p}_requests_total[5m]))"),
        ("error_ratio:rate5m", f'sum(rate({p}_requests_total{{outcome="error"}}[5m]))\n  / {requests}'),
        ("reject_ratio:rate5m", f'sum(rate({p}_requests_total{{outcome="rejected"}}[5m]))\n  / {requests}'),
        (
            "latency_seconds:p99_5m",
            f"histogram_quantile(0.99, sum by (le) (rate({p}_request_duration_seconds_bucket[5m])))",
        ),
        (
            "positive_rate:ratio_rate1h",
            f'sum(rate({p}_predicted_rows_total{{label="{positive_label(case)}"}}[1h]))\n'
            f"  / sum(rate({p}_predicted_rows_total[1h]))",
        ),
        ("score_mean:rate1h", f"sum(rate({p}_model_score_sum[1h])) / sum(rate({p}_model_score_count[1h]))"),
        ("score_mean:rate1d", f"sum(rate({p}_model_score_sum[1d])) / sum(rate({p}_model_score_count[1d]))"),
        ("score_median:rate1h", f"histogram_quantile(0.5, sum by (le) (rate({p}_model_score_bucket[1h])))"),
        (
            "unknown_category_ratio:rate1h",
            f"sum(rate({p}_unknown_category_total[1h]))\n  / sum(rate({p}_predicted_rows_total[1h]))",
        ),
    ]
    if case.online is not None:
        # Rows scored without the online store's features, by why (store_unavailable: the store
        # does not answer; store_behind: its feed has not reached the row's t). Either reason
        # makes every online feature of the row missing, so the busiest feature counts the rows.
        rules.append(
            (
                "online_features_missing_ratio:rate5m",
                f"max by (reason) (sum by (feature, reason) "
                f'(rate({p}_online_features_missing_total{{reason!="{NOT_KNOWN}"}}[5m])))\n'
                f"  / ignoring (reason) group_left () sum(rate({p}_predicted_rows_total[5m]))",
            )
        )
    rules.append(
        (
            "online_accuracy:ratio_rate1d",
            f"sum(rate({p}_feedback_correct_rows_total[1d]))\n  / sum(rate({p}_feedback_rows_total[1d]))",
        )
    )
    return [{"record": f"{p}:{name}", "expr": expr} for name, expr in rules]


def _alert(
    case: UseCase,
    name: str,
    expr: str,
    severity: str,
    component: str,
    summary: str,
    description: str,
    for_: str | None = None,
    outage: bool = False,
) -> dict:
    assert severity in SEVERITIES and component in COMPONENTS, (severity, component)
    rule: dict = {"alert": alert_stem(case) + name, "expr": expr}
    if for_:
        rule["for"] = for_
    rule["labels"] = {"severity": severity, "component": component, "use_case": case.name}
    if outage:  # the component is down, not one of its symptoms: Alertmanager silences those
        rule["labels"][IMPACT] = OUTAGE
    rule["annotations"] = {"summary": summary, "description": description}
    return rule


def serving_alerts(case: UseCase) -> list[dict]:
    """The server's health, what the model answers, the online store (when the use case reads
    one), then the swaps, the shadow challenger and the registry sync."""
    online = _online_store_alerts(case) if case.online is not None else []
    return _server_alerts(case) + _answer_alerts(case) + online + _bundle_alerts(case)


def _server_alerts(case: UseCase) -> list[dict]:
    """The model server is down, fails, rejects or is slow."""
    p = case.metric_prefix
    return [
        _alert(
            case,
            "ServingDown",
            f"absent({p}_model_info == 1)",
            "page",
            SERVING,
            "No model server worker serves a model",
            f"No worker has reported a served bundle ({p}_model_info) for 5 minutes: the model pods "
            "are down or not ready, or Prometheus cannot scrape them (the PodMonitor). See the "
            "SeldonDeployment's pods and events.",
            for_="5m",
            outage=True,
        ),
        _alert(
            case,
            "ServingErrorRatioHigh",
            f"{p}:error_ratio:rate5m > 0.01",
            "page",
            SERVING,
            "More than 1% of prediction requests fail with a server error",
            "Error ratio {{ $value | humanizePercentage }} over 5m. Check the model container logs.",
            for_="5m",
        ),
        _alert(
            case,
            "ServingRejectRatioHigh",
            f"{p}:reject_ratio:rate5m > 0.05",
            "ticket",
            SERVING,
            "More than 5% of prediction requests are rejected (4xx)",
            f"See {p}_rejected_requests_total by reason: a client sends requests that break schema.json.",
            for_="15m",
        ),
        _alert(
            case,
            "ServingLatencyP99High",
            f"{p}:latency_seconds:p99_5m > 0.1",
            "page",
            SERVING,
            "p99 prediction latency above 100 ms",
            "p99 is {{ $value | humanizeDuration }}. Check CPU throttling and GUNICORN_WORKERS.",
            for_="10m",
        ),
    ]


def _answer_alerts(case: UseCase) -> list[dict]:
    """What the model answers moved: its scores, unseen categories, accuracy on feedback."""
    p = case.metric_prefix
    return [
        _alert(
            case,
            "ScoreShift",
            f"abs({p}:score_mean:rate1h - {p}:score_mean:rate1d) > 0.05",
            "ticket",
            MODEL,
            f"Mean predicted probability of {case.positive_class} moved by more than 0.05 "
            "against the last day",
            "Inputs may have drifted: run the monitoring workflow (PSI per feature against reference.json).",
            for_="30m",
        ),
        _alert(
            case,
            "UnknownCategoriesHigh",
            f"{p}:unknown_category_ratio:rate1h > 0.05",
            "ticket",
            MODEL,
            "More than 5% of rows carry categories unseen in training",
            f"They are scored as missing; {p}_unknown_category_total names the features. "
            "Consider retraining.",
            for_="30m",
        ),
        _alert(
            case,
            "OnlineAccuracyLow",
            f"{p}:online_accuracy:ratio_rate1d < 0.6 and sum(increase({p}_feedback_rows_total[1d])) > 500",
            "ticket",
            MODEL,
            "Accuracy on labelled feedback fell below 60% over the last day",
            "Realized performance decay: the monitoring workflow should trigger a retrain.",
            for_="1h",
        ),
    ]


def _online_store_alerts(case: UseCase) -> list[dict]:
    """Rows scored without the online features (for a use case that declares them)."""
    assert case.online is not None
    return [
        _alert(
            case,
            "OnlineFeaturesMissing",
            f"{case.metric_prefix}:online_features_missing_ratio:rate5m > 0.05",
            "page",
            ONLINE_STORE,
            "More than 5% of rows are scored without the online store's features ({{ $labels.reason }})",
            "{{ $value | humanizePercentage }} of rows over 5m scored without the online features "
            f"({', '.join(case.online.features)}). store_unavailable: the model pods cannot reach "
            "the store (ONLINE_STORE_URL, the online-store Service and NetworkPolicy); "
            "store_behind: the store's event feed has stopped or lags behind t.",
            for_="5m",
        )
    ]


def _bundle_alerts(case: UseCase) -> list[dict]:
    """The bundle served: a refused swap, a failing shadow challenger, a sync that refuses the
    champion's bundle or cannot reach the registry."""
    p = case.metric_prefix
    return [
        _alert(
            case,
            "ModelSwapFailed",
            f'sum(increase({p}_model_swaps_total{{outcome="failed"}}[15m])) > 0',
            "ticket",
            SERVING,
            "A worker refused to switch to the new bundle and keeps serving the old one",
            "The new bundle failed its checks (sha256, allowlist, schema). See the model container log.",
        ),
        # the answers are the champion's either way: this only says the online gate gets no evidence
        _alert(
            case,
            "ShadowChallengerFailing",
            f'sum(rate({p}_shadow_requests_total{{outcome="failed"}}[15m]))\n'
            f'  / sum(rate({p}_shadow_requests_total{{outcome=~"scored|failed"}}[15m])) > 0.05\n'
            f'or sum(increase({p}_shadow_requests_total{{outcome="load_failed"}}[15m])) > 0',
            "ticket",
            SERVING,
            "The shadow challenger fails on requests, or its bundle did not load",
            "Answers are the champion's and unaffected; the requests the challenger failed on carry "
            "no challenger score, so the online gate cannot judge it on them. failed: the challenger "
            "raised on the champion's checked columns (a feature it expects that requests do not "
            "carry); load_failed: challenger.json names a bundle that fails its checks. See the "
            "model container log.",
        ),
        _alert(
            case,
            "SyncRefusedBundle",
            f"sum(increase({p}_sync_refused_bundles_total[15m])) > 0",
            "page",
            REGISTRY,
            "The registry sync refused the champion's bundle: pods keep serving the previous version",
            f"Reason in {p}_sync_refused_bundles_total: registry_sha256 = the model file differs from "
            "the registry's record (tampering), bundle = it fails its own checks. See the "
            "registry-sync log; make rollback moves the alias back.",
        ),
        _alert(
            case,
            "SyncFailing",
            f"time() - max({p}_sync_last_success_timestamp_seconds) > 600",
            "ticket",
            REGISTRY,
            "The registry sync has not reached the registry for 10 minutes",
            "Pods keep serving their last good bundle but will not follow promotions. See "
            f'{p}_sync_polls_total{{outcome="failed"}} and the registry-sync log.',
            for_="5m",
        ),
    ]


def monitoring_alerts(case: UseCase) -> list[dict]:
    """On what the monitoring workflow pushes through the Pushgateway (core/pushgateway.py),
    scraped with honor_labels, and the registry's champion, pushed when the alias moves."""
    return _judgement_alerts(case) + _reporting_alerts(case) + [_served_not_champion(case)]


def _judgement_alerts(case: UseCase) -> list[dict]:
    """What a monitoring run judged: decay, an estimated drop, a sustained score drift (the last
    two at the use case's own limits, and only when it has them on)."""
    p = case.metric_prefix
    alerts = [
        _alert(
            case,
            "ModelDecay",
            f'{p}_monitoring_decision{{decision="decay"}} == 1',
            "ticket",
            MODEL,
            "Monitoring judged model version {{ $labels.model_version }} decayed",
            "Realized ROC AUC or log loss on labelled rows moved past the thresholds against the "
            "holdout figures. The monitoring workflow retrains; check the gate's decision and the "
            "monitoring deck.",
        )
    ]
    if math.isfinite(estimated_auc_drop(case)):
        # the estimate, before the labels: its own alert, so a person sees which signal spoke
        alerts.append(
            _alert(
                case,
                "EstimatedPerformanceDrop",
                f"{p}_monitoring_holdout_roc_auc - {p}_monitoring_estimated_roc_auc "
                f"> {estimated_auc_drop(case)}",
                "ticket",
                MODEL,
                "The ROC AUC of version {{ $labels.model_version }} estimated without labels fell "
                "below its holdout's",
                'Estimated {{ $value | printf "%.3f" }} below the holdout ROC AUC, from the calibrated '
                "scores of the traffic the model never fit, before the labels arrive (confidence-based "
                "performance estimation: blind to a change in how the features relate to the "
                f"outcome). Compare {p}_monitoring_realized_roc_auc as the labels come in, and the "
                "monitoring deck.",
            )
        )
    if math.isfinite(score_psi(case)):
        # three daily runs in a row (two days apart at least) with the score's PSI over the limit
        alerts.append(
            _alert(
                case,
                "ScoreDriftSustained",
                f"max by (source, model_version) ({p}_monitoring_score_psi) > {score_psi(case)}",
                "ticket",
                MODEL,
                "The score of version {{ $labels.model_version }} has drifted for two days "
                "({{ $labels.source }})",
                'Score PSI {{ $value | printf "%.3f" }} against reference.json on every monitoring '
                f"run for two days. See {p}_monitoring_feature_psi for the features that moved.",
                for_="2d",
            )
        )
    return alerts


def _reporting_alerts(case: UseCase) -> list[dict]:
    """The monitoring runs stopped reporting, or never did."""
    p = case.metric_prefix
    return [
        _alert(
            case,
            "MonitoringNotReported",
            f"time() - max({p}_monitoring_last_run_timestamp_seconds) > 26 * 3600",
            "ticket",
            MONITORING,
            "No monitoring run has reported for more than 26 hours",
            "The daily monitoring launch plan did not run, failed, or cannot reach the Pushgateway. "
            "Check the Flyte executions of daily_monitoring.",
        ),
        _alert(
            case,
            "MonitoringNeverReported",
            f"absent({p}_monitoring_last_run_timestamp_seconds)",
            "ticket",
            MONITORING,
            "No monitoring metrics in the Pushgateway for 26 hours",
            "Monitoring has not pushed since Prometheus started (or the Pushgateway lost its data): "
            "set PUSHGATEWAY_URL for the monitoring tasks.",
            for_="26h",
        ),
    ]


def _served_not_champion(case: UseCase) -> dict:
    """The pods serve a version the registry's champion alias no longer names."""
    p = case.metric_prefix
    return _alert(
        case,
        "ServedVersionNotChampion",
        f"count by (bundle_name, bundle_version) ({p}_model_info == 1)\n"
        f"  unless on (bundle_name, bundle_version) ({p}_registry_champion_info == 1)\n"
        f"  and on () (count({p}_registry_champion_info) > 0)",
        "page",
        REGISTRY,
        "Serving version {{ $labels.bundle_version }} while the registry's champion is another",
        "The registry sync did not swap to the champion (fetch failure, bundle refused by its "
        f"checks). See the registry-sync container log and {p}_model_swaps_total.",
        for_="10m",
    )


def rule_groups(case: UseCase) -> list[dict]:
    """The groups of the rule file: serving recordings, serving alerts, then monitoring alerts."""
    return [
        {"name": f"{case.name}-serving.rules", "interval": "30s", "rules": serving_recording_rules(case)},
        {"name": f"{case.name}-serving.alerts", "rules": serving_alerts(case)},
        {"name": f"{case.name}-monitoring.alerts", "rules": monitoring_alerts(case)},
    ]


def prometheus_rule(case: UseCase) -> dict:
    """The PrometheusRule (Prometheus Operator) holding the groups."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "rules"},  # prefixed with the use case's name by its component
        "spec": {"groups": rule_groups(case)},
    }
