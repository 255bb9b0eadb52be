"""One monitoring run of a period: what the monitoring workflow's `monitor` task does, as a plain
function that never imports flytekit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from core.monitoring import MonitoringReport, MonitoringThresholds

VALIDATION_METRICS = ("roc_auc", "log_loss")


@dataclass(frozen=True)
class PeriodMonitoring:
    """The decision with its figures, and the drift table it was taken on (what the deck shows)."""

    report: MonitoringReport
    drift: pd.DataFrame


def monitor_period(
    bundle_dir: Path,
    version: str,
    predictions: pd.DataFrame,
    table: pd.DataFrame,
    online: pd.DataFrame,
    start: datetime,
    end: datetime,
    thresholds: MonitoringThresholds,
) -> PeriodMonitoring:
    """Drift of every feature and of the score against the champion's reference.json (batch
    predictions and the online requests), realized ROC AUC and log loss against the holdout
    figures in its metadata.json, the decision, an MLflow monitoring run, and its figures pushed
    to the Pushgateway (when PUSHGATEWAY_URL is set)."""
    from contract.bundle import load_bundle
    from core import monitoring
    from core.batch import in_period, require_prediction_columns
    from core.pushgateway import push_monitoring

    require_prediction_columns(predictions)
    loaded = load_bundle(bundle_dir, require_reference=True)
    features = in_period(table, start, end)
    # The truth known now, not what the batch table held when it was scored.
    scored = monitoring.with_truth(in_period(predictions, start, end), features)
    if scored.empty:
        raise ValueError(f"no predictions in [{start:%Y-%m-%d}, {end:%Y-%m-%d}): nothing to monitor")
    holdout = loaded.metadata.metrics
    for name in VALIDATION_METRICS:
        if name not in holdout:
            raise ValueError(f"bundle {version} metadata.json has no validation metric '{name}'")

    auc, loss, labelled = monitoring.realized_performance(scored)
    report = MonitoringReport(
        model_version=version,
        period_start=f"{start:%Y-%m-%d}",
        period_end=f"{end:%Y-%m-%d}",
        n_rows=len(scored),
        n_online_rows=len(online),
        realized_auc=auc,
        realized_log_loss=loss,
        labelled_rows=labelled,
        labels_pending=len(scored) - labelled,
        validation_auc=float(holdout["roc_auc"]),
        validation_log_loss=float(holdout["log_loss"]),
    )
    weights = loaded.metadata.feature_importance or None
    drift = monitoring.drift_tables(
        loaded.require_reference(), features, scored["score"], online, thresholds, weights
    )
    report = monitoring.decide(report, drift, thresholds)
    report.mlflow_run_id = monitoring.log_to_mlflow(report, drift, thresholds)
    push_monitoring(report, drift)
    return PeriodMonitoring(report, drift)
