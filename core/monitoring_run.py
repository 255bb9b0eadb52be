"""One monitoring run of a period: what the monitoring workflow's `monitor` task does, as a plain
function that never imports flytekit."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pandas as pd

from core.monitoring import MonitoringThresholds
from core.monitoring_window import PeriodMonitoring, Window, judge_window

VALIDATION_METRICS = ("roc_auc", "log_loss")


def _challenger_trained_until() -> str:
    """The last day of labels the registry's challenger learnt (a later training the gate kept
    out), empty when there is none: a retrain as of the next days would repeat it."""
    import usecases
    from contract.names import CHALLENGER
    from core import registry

    name = usecases.current().model_name
    version = registry.alias_version(name, CHALLENGER)
    return registry.version_metadata(name, version).training_window.deployed_fit_end if version else ""


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
    figures in its metadata.json, ROC AUC and confusion matrix estimated without labels, the
    decision (`core.monitoring_window.judge_window`: on the rows the champion never fit), an
    MLflow monitoring run, and its figures pushed to the Pushgateway (when PUSHGATEWAY_URL is
    set)."""
    from contract.bundle import load_bundle
    from core import monitoring
    from core.batch import in_period, require_prediction_columns
    from core.pushgateway import push_monitoring

    require_prediction_columns(predictions)
    loaded = load_bundle(bundle_dir, require_reference=True)
    if loaded.version != version:  # a bundle downloaded for a version carries that version
        loaded = replace(loaded, metadata=replace(loaded.metadata, version=version))
    features = in_period(table, start, end)
    # The truth known now, not what the batch table held when it was scored.
    scored = monitoring.with_truth(in_period(predictions, start, end), features)
    if scored.empty:
        raise ValueError(f"no predictions in [{start:%Y-%m-%d}, {end:%Y-%m-%d}): nothing to monitor")
    holdout = loaded.metadata.metrics
    for name in VALIDATION_METRICS:
        if name not in holdout:
            raise ValueError(f"bundle {version} metadata.json has no validation metric '{name}'")
    window = Window(scored, features, online, start, end)
    checked = judge_window(loaded, window, thresholds, _challenger_trained_until())
    checked.report.mlflow_run_id = monitoring.log_to_mlflow(checked.report, checked.drift, thresholds)
    push_monitoring(checked.report, checked.drift)
    return checked
