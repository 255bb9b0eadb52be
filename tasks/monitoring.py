"""Monitoring tasks: read the online request log, measure drift and realized performance against
the champion's bundle, decide, log to MLflow; and the no-retrain branch."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, NamedTuple

import pandas as pd
from flytekit import HashMethod, Resources
from flytekit.types.directory import FlyteDirectory

from core.gate import GateConfig, GateDecision
from core.monitoring import MonitoringReport, MonitoringThresholds
from core.online_gate import OnlineGateConfig, ShadowJudgement
from tasks.batch import ModelRef, PredictionFrame
from tasks.frames import FeatureFrame, hash_frame
from tasks.util import Service, pipeline_task

MONITOR_RESOURCES = Resources(cpu="1", mem="2Gi")

OnlineFrame = Annotated[pd.DataFrame, HashMethod(hash_frame)]
ShadowFrame = Annotated[pd.DataFrame, HashMethod(hash_frame)]


@pipeline_task(cache=False, calls=[Service.OBJECT_STORE])
def online_requests(request_log_dir: str, start: datetime, end: datetime) -> OnlineFrame:
    """Rows the online server predicted in [start, end). Not cached: the log grows; its content
    hash keys the monitor task's cache instead. Empty when no directory is given or present."""
    from core.monitoring import online_rows

    return online_rows(request_log_dir, start, end)


@pipeline_task(cache=False, calls=[Service.OBJECT_STORE])
def shadow_requests(request_log_dir: str, start: datetime, end: datetime) -> ShadowFrame:
    """Requests of [start, end) the challenger scored in shadow, both probabilities and the
    truth feedback has given them so far (`core.online_gate.shadow_frame`). Not cached: the log
    and its feedback grow."""
    from core.features import naive
    from core.online_gate import shadow_frame
    from core.request_logs import read_location

    rows, truth = read_location(request_log_dir, start)
    stamps = pd.to_datetime([r["ts"] for r in rows], utc=True, format="ISO8601").tz_localize(None)
    keep = (stamps >= naive(start)) & (stamps < naive(end))
    return shadow_frame([row for row, kept in zip(rows, keep, strict=True) if kept], truth)


@pipeline_task(cache=False, calls=[Service.TRACKING, Service.PUSHGATEWAY], deck=True)
def online_gate(
    shadow: ShadowFrame,
    model_name: str,
    gate: GateConfig,
    online: OnlineGateConfig,
) -> ShadowJudgement:
    """Judge the shadow challenger on the live requests (`core.online_gate`), promote it when its
    live gain clears the gate's margin, push the figures, render the deck. Not cached: it moves
    the registry's aliases."""
    from core.online_gate import apply_online_gate, judge_shadow
    from core.pushgateway import push_shadow
    from tasks.shadow_deck import render_shadow_deck

    judgement = apply_online_gate(judge_shadow(shadow, gate, online), model_name)
    push_shadow(judgement)  # to the Pushgateway, when PUSHGATEWAY_URL is set
    render_shadow_deck(judgement, shadow, gate)
    return judgement


@pipeline_task(cache=False)
def predictions_version(predictions: PredictionFrame) -> str:
    """The one model version a predictions table was scored with."""
    versions = sorted(predictions["model_version"].astype(str).unique())
    if len(versions) != 1:
        raise ValueError(f"a predictions table must come from one model version, found {versions or 'none'}")
    return versions[0]


class MonitorOutputs(NamedTuple):
    report: MonitoringReport
    retrain: bool


@pipeline_task(
    cache=True,
    calls=[Service.TRACKING, Service.PUSHGATEWAY],
    deck=True,
    ignored_inputs=("bundle",),
    requests=MONITOR_RESOURCES,
)
def monitor(
    tracking_uri: str,
    predictions: PredictionFrame,
    table: FeatureFrame,
    online: OnlineFrame,
    model: ModelRef,
    bundle: FlyteDirectory,
    start: datetime,
    end: datetime,
    thresholds: MonitoringThresholds,
) -> MonitorOutputs:
    """Drift of every feature and of the score against reference.json, realized ROC AUC and log
    loss against the holdout figures in metadata.json, the decision, an MLflow monitoring run and
    the Pushgateway (`core.monitoring_run.monitor_period`); then the deck."""
    from core.monitoring_run import monitor_period
    from tasks.monitoring_deck import render_monitoring_deck

    checked = monitor_period(
        Path(bundle.download()), model.version, predictions, table, online, start, end, thresholds
    )
    render_monitoring_deck(checked.report, checked.drift)
    return MonitorOutputs(report=checked.report, retrain=checked.report.retrain)


@pipeline_task(cache=False)
def no_retrain(report: MonitoringReport) -> GateDecision:
    """The `ok` branch: nothing trained, the champion stays."""
    return GateDecision(reasons=[f"monitoring decided '{report.decision}': no retrain"])
