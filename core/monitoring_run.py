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


def kept_out_trained_until() -> str:
    """The last day of labels the newest training the gate kept out learnt: the registry's
    challenger's, or the newest rejected candidate's (it takes no alias, but a retrain as of the
    next days would repeat it as surely: the daily replay counts both); empty when there is none."""
    import usecases
    from contract.names import CHALLENGER
    from core import registry
    from core.gate import REJECTED

    name = usecases.current().model_name
    rejected = registry.client().search_model_versions(f"name = '{name}' and tag.promotion = '{REJECTED}'")
    versions = [
        version
        for version in (
            registry.alias_version(name, CHALLENGER),
            max((str(v.version) for v in rejected), key=int, default=None),
        )
        if version
    ]
    ends = [registry.version_metadata(name, v).training_window.deployed_fit_end for v in versions]
    return max(ends, default="")


def judged_ok_since(as_of: str, thresholds: MonitoringThresholds) -> bool:
    """Whether a monitoring run judged a window ok, on at least `min_performance_rows` labelled
    rows (`core.monitoring.judged_ok`), that ended after `as_of` (the last training's day, ISO):
    when none did, the alarm has lasted since that training (`MonitoringReport.ok_since_training`)."""
    import mlflow

    from core import registry
    from core.monitoring import OK, monitoring_experiment

    registry.client()
    runs = mlflow.search_runs(
        experiment_ids=[registry.experiment_id(monitoring_experiment())],
        filter_string=(
            f"tags.decision = '{OK}' and metrics.labelled_rows >= {thresholds.min_performance_rows}"
        ),
        output_format="list",
    )
    return any(run.data.tags.get("period_end", "") > as_of for run in runs)


def _last_training_day(bundle_fit_end: str, kept_out_fit_end: str) -> str:
    """The day the last training ran as of (the day after the last day of labels it learnt)."""
    trained = max(bundle_fit_end, kept_out_fit_end)
    return f"{pd.Timestamp(trained) + pd.Timedelta(days=1):%Y-%m-%d}" if trained else ""


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
    kept_out_fit_end = kept_out_trained_until()
    trained_as_of = _last_training_day(loaded.metadata.training_window.deployed_fit_end, kept_out_fit_end)
    ok_since = not trained_as_of or judged_ok_since(trained_as_of, thresholds)
    checked = judge_window(loaded, window, thresholds, kept_out_fit_end, ok_since)
    checked.report.mlflow_run_id = monitoring.log_to_mlflow(checked.report, checked.drift, thresholds)
    push_monitoring(checked.report, checked.drift)
    return checked
