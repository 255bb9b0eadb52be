"""Monitoring workflow: for [start, end), compare inputs and scores with the champion's
reference, and realized performance (where labels exist) with its holdout figures; on `drift` or
`decay`, run the training workflow (as of `end`), whose promotion gate then decides. Before
that, the online gate judges the shadow challenger on the period's live requests (those whose
truth has arrived) and promotes it when its live gain clears the gate's margin.

    pyflyte run workflows/monitoring.py monitoring_workflow --start 2013-07-01 --end 2013-08-01

`monitoring_workflow` scores the period itself through the batch workflow (whose day partitions
are cached, so the daily scoring run's work is reused); `monitor_predictions_workflow` monitors a
predictions table given as input.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from flytekit import conditional, workflow

from core.gate import GateConfig, GateDecision
from core.model import Hyperparameters, use_case_hyperparameters
from core.monitoring import MonitoringReport, MonitoringThresholds
from core.online_gate import OnlineGateConfig
from tasks.batch import PredictionFrame, days_from, period_features, resolve_model
from tasks.data import DataConfig, load_source
from tasks.frames import USE_CASE
from tasks.monitoring import (
    monitor,
    no_retrain,
    online_gate,
    online_requests,
    predictions_version,
    shadow_requests,
)
from tasks.util import tracking_target, truth_known_at
from workflows.batch_inference import batch_inference_workflow
from workflows.training import training_workflow


class MonitoringOutputs(NamedTuple):
    report: MonitoringReport
    gate: GateDecision


@workflow
def monitor_predictions_workflow(
    predictions: PredictionFrame,
    start: datetime,
    end: datetime,
    request_log_dir: str = "",
    thresholds: MonitoringThresholds = MonitoringThresholds(),
    model_name: str = USE_CASE.model_name,
    data: DataConfig = DataConfig(),
    hyperparameters: Hyperparameters = use_case_hyperparameters(),
    gate: GateConfig = GateConfig(),
    shadow_gate: OnlineGateConfig = OnlineGateConfig(),
) -> MonitoringOutputs:
    """Monitor the given predictions (of one model version) and retrain when they say so."""
    tracking_uri = tracking_target()
    resolved = resolve_model(
        tracking_uri=tracking_uri,
        model_name=model_name,
        version=predictions_version(predictions=predictions),
    )
    loaded = load_source(source_dir=data.source_dir, start=start, end=end)
    table = period_features(raw=loaded.raw, known_at=truth_known_at(end=end))
    shadow = online_gate(
        shadow=shadow_requests(request_log_dir=request_log_dir, start=start, end=end),
        model_name=model_name,
        gate=gate,
        online=shadow_gate,
    )
    checked = monitor(
        tracking_uri=tracking_uri,
        predictions=predictions,
        table=table,
        online=online_requests(request_log_dir=request_log_dir, start=start, end=end),
        model=resolved.model,
        bundle=resolved.bundle,
        start=start,
        end=end,
        thresholds=thresholds,
    )
    shadow >> checked.report  # a challenger promoted on live traffic is the champion a retrain faces
    decision = (
        conditional("retrain")
        .if_(checked.retrain.is_true())
        .then(training_workflow(as_of=end, hyperparameters=hyperparameters, data=data, gate=gate))
        .else_()
        .then(no_retrain(report=checked.report))
    )
    return MonitoringOutputs(report=checked.report, gate=decision)


@workflow
def monitoring_workflow(
    start: datetime,
    end: datetime,
    model_version: str = "",
    request_log_dir: str = "",
    thresholds: MonitoringThresholds = MonitoringThresholds(),
    model_name: str = USE_CASE.model_name,
    data: DataConfig = DataConfig(),
    hyperparameters: Hyperparameters = use_case_hyperparameters(),
    gate: GateConfig = GateConfig(),
) -> MonitoringOutputs:
    """Score [start, end) with the champion (or `model_version`), then monitor and act."""
    predictions = batch_inference_workflow(
        start=start, end=end, model_version=model_version, model_name=model_name, data=data
    )
    return monitor_predictions_workflow(
        predictions=predictions,
        start=start,
        end=end,
        request_log_dir=request_log_dir,
        thresholds=thresholds,
        model_name=model_name,
        data=data,
        hyperparameters=hyperparameters,
        gate=gate,
    )


@workflow
def daily_monitoring_workflow(
    kickoff_time: datetime,
    days: int = USE_CASE.monitoring_days,
    request_log_dir: str = "",
    thresholds: MonitoringThresholds = MonitoringThresholds(),
    model_name: str = USE_CASE.model_name,
    data: DataConfig = DataConfig(),
    hyperparameters: Hyperparameters = use_case_hyperparameters(),
    gate: GateConfig = GateConfig(),
) -> MonitoringOutputs:
    """Monitor the `days` whole days before the kickoff's date with the current champion."""
    period = days_from(kickoff=kickoff_time, days=days, before=True)
    return monitoring_workflow(
        start=period.start,
        end=period.end,
        request_log_dir=request_log_dir,
        thresholds=thresholds,
        model_name=model_name,
        data=data,
        hyperparameters=hyperparameters,
        gate=gate,
    )
