"""One monitoring window judged: drift, realized and estimated performance, the decision. What
the monitor task decides on a period (`core.monitoring_run.monitor_period`, which then logs and
pushes it) and what the daily replay decides on each day (`core.daily_replay`), as one plain
function.

The champion's performance is judged only on rows it never fit: those after its deployed model's
last fit day (`metadata.json` `training_window`). A model retrained on the 15th fit every label
known then; its realized AUC on the week before would be measured on its own training rows, and
would look better than anything it will serve (and its scores of them, more confident, would
inflate the estimate too). So right after a retrain, realized and estimated performance wait for
`min_performance_rows` such rows. Drift compares the window's inputs with the training
distribution, every row counting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

import usecases
from contract.bundle import Bundle
from core.monitoring import MonitoringReport, MonitoringThresholds


@dataclass(frozen=True)
class Window:
    """One monitoring window [start, end): the champion's predictions of it (`scored`, with the
    truth known now), its feature rows and the rows its servers predicted (`online`)."""

    scored: pd.DataFrame
    features: pd.DataFrame
    online: pd.DataFrame
    start: datetime
    end: datetime


@dataclass(frozen=True)
class PeriodMonitoring:
    """The decision with its figures, and the drift table it was taken on (what the deck shows)."""

    report: MonitoringReport
    drift: pd.DataFrame


def last_fit_day(bundle: Bundle) -> pd.Timestamp | None:
    """The last day of rows the bundle's deployed model fit (None when the bundle does not say)."""
    end = bundle.metadata.training_window.deployed_fit_end
    return pd.Timestamp(end).normalize() if end else None


def unseen(frame: pd.DataFrame, fit_day: pd.Timestamp | None) -> pd.DataFrame:
    """The rows of `frame` after `fit_day` (every row when it is None): what the model never fit."""
    if fit_day is None:
        return frame
    timestamp = usecases.current().timestamp
    return frame.loc[frame[timestamp] >= fit_day + pd.Timedelta(days=1)]


def mature_truth(frame: pd.DataFrame, known_at: datetime) -> pd.DataFrame:
    """`frame` with its truth kept only where the event is `label_maturity` old at `known_at`
    (the use case's declaration: when a truth is known), missing elsewhere."""
    from core.features import naive

    case = usecases.current()
    mature = frame[case.timestamp] + case.label_maturity <= naive(known_at)
    truth = frame[case.label].astype("Int64").where(mature.to_numpy(), pd.NA)
    return frame.assign(**{case.label: truth})


def judge_window(
    bundle: Bundle,
    window: Window,
    thresholds: MonitoringThresholds,
    last_trained_day: str = "",
    ok_since_training: bool = True,
) -> PeriodMonitoring:
    """Judge the champion (`bundle`) on one `window`; `last_trained_day`, the last day of labels a
    later training (the registry's challenger) learnt, when there is one; `ok_since_training`,
    whether a window was judged ok since the last training
    (`core.monitoring_run.judged_ok_since`). The figures
    (`measure_window`) and the decision on them (`core.monitoring.decide`), with notes on what
    was left out. Logs nothing: the caller does."""
    from core.monitoring import decide

    measured = measure_window(bundle, window, thresholds)
    measured.report.last_trained_day = last_trained_day
    measured.report.ok_since_training = ok_since_training
    report = decide(measured.report, measured.drift, thresholds)
    fit_day = last_fit_day(bundle)
    if fit_day is not None and report.unseen_rows < report.n_rows:
        report.reasons.append(
            f"judged on the {report.unseen_rows} of {report.n_rows} rows after the champion's last "
            f"fit day {fit_day:%Y-%m-%d}"
        )
    if bundle.require_reference().calibration is None:
        report.reasons.append("the bundle holds no calibration: performance not estimated")
    return PeriodMonitoring(report, measured.drift)


def measure_window(bundle: Bundle, window: Window, thresholds: MonitoringThresholds) -> PeriodMonitoring:
    """The figures of one window, before any decision: drift of its features and scores against
    reference.json, and, on the rows the champion never fit, realized ROC AUC and log loss on
    their known truth and the ROC AUC and confusion matrix estimated without labels from their
    calibrated scores. Only
    `min_rows` and `min_category_share` of `thresholds` shape them, so the decision can be
    taken again on them under other thresholds (what the daily replay's choice of thresholds
    does)."""
    from core import monitoring
    from core.estimation import estimate_from_scores

    scored, online = window.scored, window.online
    holdout = bundle.metadata.metrics
    fit_day = last_fit_day(bundle)
    judged_scores = unseen(scored, fit_day)
    auc, loss, labelled = monitoring.realized_performance(judged_scores)
    report = MonitoringReport(
        model_version=bundle.version,
        period_start=f"{window.start:%Y-%m-%d}",
        period_end=f"{window.end:%Y-%m-%d}",
        n_rows=len(scored),
        n_online_rows=len(online),
        realized_auc=auc,
        realized_log_loss=loss,
        labelled_rows=labelled,
        labels_pending=int(scored[usecases.current().label].isna().sum()),
        unseen_rows=len(judged_scores),
        last_fit_day=f"{fit_day:%Y-%m-%d}" if fit_day is not None else "",
        validation_auc=float(holdout["roc_auc"]),
        validation_log_loss=float(holdout["log_loss"]),
    )
    reference = bundle.require_reference()
    if reference.calibration is not None and len(judged_scores):
        estimate = estimate_from_scores(
            reference.calibration, judged_scores["score"].to_numpy(), bundle.schema.threshold
        )
        report.estimated_auc = estimate.roc_auc
        report.estimated_true_positive = estimate.true_positive
        report.estimated_false_positive = estimate.false_positive
        report.estimated_true_negative = estimate.true_negative
        report.estimated_false_negative = estimate.false_negative
        report.estimated_precision = estimate.precision
        report.estimated_recall = estimate.recall
    weights = bundle.metadata.feature_importance or None
    # Drift compares the inputs with the training distribution: every row of the window counts
    # (a single day after a retrain is no sample of a week's inputs: its weekday alone drifts).
    drift = monitoring.drift_tables(reference, window.features, scored["score"], online, thresholds, weights)
    return PeriodMonitoring(report, drift)
