"""Monitoring: drift against the bundle's reference, realized performance where labels exist,
and the ok / drift / decay decision. Plain pandas; `tasks/monitoring.py` wraps it."""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

import usecases
from contract.bundle import Reference
from core import drift
from core.features import naive
from usecases.loop_fields import loop_default

logger = logging.getLogger(__name__)

OK, DRIFT, DECAY = "ok", "drift", "decay"
SOURCE_BATCH, SOURCE_ONLINE = "batch", "online"


def monitoring_experiment() -> str:
    """The MLflow experiment of the use case's monitoring runs."""
    return f"{usecases.current().experiment}-monitoring"


@dataclass
class MonitoringThresholds:
    """When to act. Decay (labels say the model got worse) outranks drift (inputs moved).

    `max_auc_drop`: realized ROC AUC more than this below the champion's holdout AUC is decay.
    `max_log_loss_rise`: realized log loss more than this above the holdout log loss is decay.
    `max_score_psi`: the score's PSI above this (and above its noise level) is drift.
    `max_weighted_psi`: drift of the inputs, weighed by what the model uses: the sum over
    features of weight x PSI (counting a feature only when its PSI is above `max_feature_psi`
    and above what sampling noise gives at that n) above this is drift. The weights are the
    champion's permutation importances (metadata.json), equal when it has none.
    `min_rows`: a source (batch, online) with fewer rows is not judged (too noisy); with no
    source judged, nothing is decided. While labels are pending (`label_maturity`), decay is
    judged only on at least this many labelled rows: until then the decision rests on drift.
    `min_category_share`: training categories rarer than this are pooled into one bin.
    `max_estimated_auc_drop`: the ROC AUC estimated without labels (`core.estimation`, from the
    champion's calibrated scores) more than this below the holdout AUC is decay, seen before
    the labels.
    `min_performance_rows`: realized performance is judged on at least this many labelled rows,
    and the estimate on at least this many rows, of those the champion never fit.
    `min_new_days`: drift or decay asks for a retrain only when the last training (the champion's,
    or a later candidate the gate kept out: the registry's challenger) learnt every label up to a
    day at least this many days before the period's end: a retrain learns from the labels since
    then, and a training a few days old has nothing new to learn from (a retrain would only
    repeat it, daily, while the alarm lasts).
    `min_days_after_uncured`: when no window has been judged ok (on at least
    `min_performance_rows` labelled rows) since the last training, that training did not cure
    the alarm (a harder season, not a stale model): the next retrain waits until the last
    training learnt every label up to a day at least this many days before the period's end.
    `min_unexplained_auc_drop`: realized decay (with no drift) asks for a retrain only when the
    realized ROC AUC is also more than this below the ROC AUC estimated without labels on the
    same rows. The estimate reads the week's traffic through the champion's calibrated scores:
    when it fell as far as the realized AUC, the traffic explains the drop (a harder week, which
    a retrain does not cure); when the realized AUC fell below it, how the features relate to the
    outcome moved (what a retrain learns). -inf: every decay asks.
    """

    # Each default is the current use case's (`UseCase.monitoring`), else the base value in
    # `usecases.loop_defaults` (where it says which were chosen by replaying the loop, and how).
    max_auc_drop: float = loop_default("monitoring", "max_auc_drop")
    max_log_loss_rise: float = loop_default("monitoring", "max_log_loss_rise")
    max_feature_psi: float = loop_default("monitoring", "max_feature_psi")
    max_score_psi: float = loop_default("monitoring", "max_score_psi")
    max_weighted_psi: float = loop_default("monitoring", "max_weighted_psi")
    min_rows: int = loop_default("monitoring", "min_rows")
    min_category_share: float = loop_default("monitoring", "min_category_share")
    ignore_features: list[str] = loop_default("monitoring", "ignore_features")
    max_estimated_auc_drop: float = loop_default("monitoring", "max_estimated_auc_drop")
    min_performance_rows: int = loop_default("monitoring", "min_performance_rows")
    min_new_days: int = loop_default("monitoring", "min_new_days")
    min_days_after_uncured: int = loop_default("monitoring", "min_days_after_uncured")
    min_unexplained_auc_drop: float = loop_default("monitoring", "min_unexplained_auc_drop")


@dataclass
class MonitoringReport:
    decision: str = OK
    reasons: list[str] = field(default_factory=list)
    retrain: bool = False
    model_version: str = ""
    period_start: str = ""
    period_end: str = ""
    n_rows: int = 0
    n_online_rows: int = 0
    worst_feature: str = ""
    worst_psi: float = 0.0
    score_psi: float = 0.0
    weighted_psi: float = 0.0  # importance-weighted PSI above noise, batch source
    top_drift: list[str] = field(default_factory=list)  # largest weight x PSI contributions
    feature_alarm: bool = False  # the plain rule: any feature's PSI above max_feature_psi
    drift_alarm: bool = False  # this rule: weighted input drift or score drift (needs no labels)
    decayed: bool = False  # the labels say the model got worse
    estimated_decayed: bool = False  # the estimate says so, before the labels
    realized_auc: float = math.nan
    realized_log_loss: float = math.nan
    validation_auc: float = math.nan
    validation_log_loss: float = math.nan
    labelled_rows: int = 0  # rows the champion never fit whose truth is known
    labels_pending: int = 0  # rows of the period whose truth has not arrived yet
    unseen_rows: int = 0  # rows of the period after the champion's last fit day: what is judged
    last_fit_day: str = ""  # the champion's deployed model fit every row up to this day
    # the last training's knowledge (the champion's, or a later candidate's the gate kept out)
    last_trained_day: str = ""
    # a window was judged ok, on enough labelled rows, after the last training's day (unknown:
    # yes); when not, the alarm has lasted since that training: it did not cure it
    ok_since_training: bool = True
    # Estimated without labels on the unseen rows (core.estimation): ROC AUC, and the confusion
    # matrix at the threshold as shares of the rows, with its precision and recall.
    estimated_auc: float = math.nan
    estimated_true_positive: float = math.nan
    estimated_false_positive: float = math.nan
    estimated_true_negative: float = math.nan
    estimated_false_negative: float = math.nan
    estimated_precision: float = math.nan
    estimated_recall: float = math.nan
    mlflow_run_id: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def realized_performance(predictions: pd.DataFrame) -> tuple[float, float, int]:
    """(ROC AUC, log loss, labelled rows) over rows whose truth is known; NaN when undefined."""
    from sklearn.metrics import log_loss, roc_auc_score

    label = usecases.current().label
    known = predictions.loc[predictions[label].notna()]
    labels = known[label].astype(np.int64).to_numpy()
    if len(known) == 0 or len(np.unique(labels)) < 2:
        return math.nan, math.nan, int(len(known))
    scores = known["score"].to_numpy(dtype=np.float64)
    return (
        float(roc_auc_score(labels, scores)),
        float(log_loss(labels, scores, labels=[0, 1])),
        int(len(known)),
    )


def with_truth(predictions: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """`predictions` with the truth known now (from the period's feature table, read at monitoring
    time) in place of the truth it carried when scored; missing where still unknown."""
    case = usecases.current()
    known = features.set_index(case.key)[case.label].astype("Int64")
    truth = predictions[case.key].map(known).astype("Int64")
    return predictions.assign(**{case.label: truth})


def online_rows(request_log_dir: str, start: datetime, end: datetime) -> pd.DataFrame:
    """Rows the online server predicted during [start, end) (by request time), as features +
    `score`. `request_log_dir`: a directory or the URI the replicas ship to
    (`core.request_logs`). Empty when there is no log: monitoring works without the server."""
    from core.request_logs import read_location

    features = list(usecases.current().features)
    rows = pd.DataFrame(read_location(request_log_dir, start)[0])
    if rows.empty:
        return pd.DataFrame(columns=[*features, "score"])
    stamps = pd.to_datetime(rows["ts"], utc=True, format="ISO8601").dt.tz_localize(None)
    keep = (stamps >= naive(start)) & (stamps < naive(end))
    rows = rows.loc[keep].rename(columns={"probability": "score"})
    for name in features:
        if name not in rows:
            rows[name] = np.nan
    return rows[[*features, "score"]].reset_index(drop=True)


def drift_tables(
    reference: Reference,
    features: pd.DataFrame,
    scores: pd.Series,
    online: pd.DataFrame,
    thresholds: MonitoringThresholds | None = None,
    weights: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Drift per feature and score, for the batch data and (when present) the online requests;
    `judged` says whether the source had the minimum sample."""
    thresholds = thresholds or MonitoringThresholds()
    share = thresholds.min_category_share
    tables = [
        drift.drift_table(reference, features, scores, weights, share).assign(
            source=SOURCE_BATCH, judged=len(features) >= thresholds.min_rows
        )
    ]
    if len(online):
        tables.append(
            drift.drift_table(reference, online, online["score"], weights, share).assign(
                source=SOURCE_ONLINE, judged=len(online) >= thresholds.min_rows
            )
        )
    table = pd.concat(tables, ignore_index=True)
    return table.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)


def _source_drift(rows: pd.DataFrame, thresholds: MonitoringThresholds) -> tuple[float, list[str], list[str]]:
    """(weighted PSI, top contributions, drift reasons) of one source's rows."""
    features = rows.loc[(rows["feature"] != "score") & ~rows["feature"].isin(thresholds.ignore_features)]
    above = (features["psi"] > thresholds.max_feature_psi) & (features["psi"] > features["psi_noise"])
    contribution = (features["weight"] * features["psi"]).where(above, 0.0)
    weighted = float(contribution.sum())
    ranked = features.assign(contribution=contribution).sort_values("contribution", ascending=False)
    top = [
        f"{r.feature} (weight {r.weight:.3f} x PSI {r.psi:.3f})"
        for r in ranked.head(3).itertuples()
        if r.contribution > 0
    ]
    source = str(rows["source"].iloc[0])
    reasons = []
    if weighted > thresholds.max_weighted_psi:
        reasons.append(
            f"importance-weighted PSI {weighted:.3f} > {thresholds.max_weighted_psi:.2f} ({source}): "
            + ", ".join(top)
        )
    score = rows.loc[rows["feature"] == "score"]
    if len(score):
        psi, noise = float(score["psi"].iloc[0]), float(score["psi_noise"].iloc[0])
        if psi > thresholds.max_score_psi and psi > noise:
            reasons.append(
                f"score PSI {psi:.3f} > {thresholds.max_score_psi:.2f} (noise level {noise:.3f}, {source})"
            )
    return weighted, top, reasons


def decide(
    report: MonitoringReport, table: pd.DataFrame, thresholds: MonitoringThresholds
) -> MonitoringReport:
    """Fill worst drift, decision and reasons on `report` (which holds the performance figures)."""
    judged = table.loc[table["judged"]] if "judged" in table else table
    _record_worst_drift(report, judged, thresholds)
    notes = _unjudged_notes(table, thresholds)
    if judged.empty:
        report.decision, report.retrain = OK, False
        report.reasons = [*notes, "too few to judge, no action"]
        return report

    pending = _pending_note(report, thresholds)
    decay = _decay_reasons(report, thresholds)
    estimated = _estimated_decay_reasons(report, thresholds)
    shifted = _drift_reasons(report, judged, thresholds)
    report.drift_alarm, report.decayed = bool(shifted), bool(decay)
    report.estimated_decayed = bool(estimated)
    decay += estimated
    if decay:
        report.decision = DECAY
    elif shifted:
        report.decision = DRIFT
    else:
        report.decision = OK
    report.retrain = report.decision != OK
    report.reasons = decay + shifted or [_no_alarm_summary(report, thresholds)]
    new_days = _new_days(report)
    if report.retrain and new_days < thresholds.min_new_days:
        report.retrain = False
        report.reasons.append(
            f"no retrain: the last training learnt every label to {_trained_until(report)}, "
            f"{new_days} day(s) before the period's end (< {thresholds.min_new_days}): nothing new "
            "to learn from yet"
        )
    elif report.retrain and not report.ok_since_training and new_days < thresholds.min_days_after_uncured:
        report.retrain = False
        report.reasons.append(
            f"no retrain: no window judged ok since the last training (every label to "
            f"{_trained_until(report)}): it did not cure the alarm; the next waits for "
            f"{thresholds.min_days_after_uncured} days of new labels ({new_days} now)"
        )
    elif report.retrain and _explained_by_traffic(report, thresholds):
        report.retrain = False
        report.reasons.append(
            f"no retrain: the realized ROC AUC {report.realized_auc:.4f} is "
            f"{report.estimated_auc - report.realized_auc:+.4f} from the {report.estimated_auc:.4f} "
            f"estimated on the same rows (a retrain needs more than "
            f"{thresholds.min_unexplained_auc_drop:.3f} below it): the week's traffic explains the drop"
        )
    report.reasons += notes
    if pending:
        report.reasons.append(pending)
    elif not report.decayed and report.labelled_rows < thresholds.min_performance_rows:
        report.reasons.append(
            f"{report.labelled_rows} labelled rows the champion never fit "
            f"(< {thresholds.min_performance_rows}): realized decay not judged"
        )
    return report


def _explained_by_traffic(report: MonitoringReport, thresholds: MonitoringThresholds) -> bool:
    """Realized decay (the labels are in) with no drift, whose ROC AUC is not more than
    `min_unexplained_auc_drop` below the estimate on the same rows (an estimate that fell with it
    past its own limit is the same harder traffic)."""
    if not report.decayed or report.drift_alarm:
        return False
    if math.isnan(report.estimated_auc) or math.isnan(report.realized_auc):
        return False
    return report.estimated_auc - report.realized_auc <= thresholds.min_unexplained_auc_drop


def judged_ok(report: MonitoringReport, thresholds: MonitoringThresholds) -> bool:
    """The window was judged ok with its realized decay judged (enough labelled rows): what shows
    that the last training cured an alarm (`ok_since_training`)."""
    return report.decision == OK and report.labelled_rows >= thresholds.min_performance_rows


def _new_days(report: MonitoringReport) -> int:
    """Whole days between the champion's last fit day and the period's end (what a retrain now
    would learn from that the champion did not); unbounded when either is unknown."""
    trained = _trained_until(report)
    if not trained or not report.period_end:
        return 10**6
    return (pd.Timestamp(report.period_end) - pd.Timestamp(trained)).days - 1


def _trained_until(report: MonitoringReport) -> str:
    """The later of the champion's last fit day and the last training's (ISO dates)."""
    return max(report.last_fit_day, report.last_trained_day)


def _waiting_for_labels(report: MonitoringReport, thresholds: MonitoringThresholds) -> bool:
    """Labels are pending and too few have arrived to judge decay on (the oldest events first:
    not a sample of the period)."""
    return report.labels_pending > 0 and report.labelled_rows < thresholds.min_performance_rows


def _pending_note(report: MonitoringReport, thresholds: MonitoringThresholds) -> str:
    """What the pending labels mean for this decision; empty when none are pending."""
    if report.labels_pending <= 0:
        return ""
    head = f"labels pending: {report.labels_pending:,} of {report.n_rows:,} rows"
    if report.labelled_rows == 0:
        return f"{head}: decay not measured, decided on drift"
    if _waiting_for_labels(report, thresholds):
        return (
            f"{head}: decay not judged on {report.labelled_rows:,} labelled rows "
            f"(< {thresholds.min_performance_rows}), decided on drift"
        )
    return f"{head}: decay measured on the {report.labelled_rows:,} labelled"


def _record_worst_drift(
    report: MonitoringReport, judged: pd.DataFrame, thresholds: MonitoringThresholds
) -> None:
    """The worst feature's and the score's PSI over the judged sources, and the plain feature alarm."""
    features = judged.loc[
        (judged["feature"] != "score") & ~judged["feature"].isin(thresholds.ignore_features)
    ]
    scores = judged.loc[judged["feature"] == "score"]
    if len(features):
        worst = features.iloc[0]
        report.worst_feature, report.worst_psi = f"{worst['feature']}", float(worst["psi"])
    report.score_psi = float(scores["psi"].max()) if len(scores) else 0.0
    report.feature_alarm = bool((features["psi"] > thresholds.max_feature_psi).any())


def _unjudged_notes(table: pd.DataFrame, thresholds: MonitoringThresholds) -> list[str]:
    """One note per source too small to be judged."""
    notes = []
    for source, rows in table.groupby("source", sort=True):
        if "judged" in rows and not rows["judged"].all():
            notes.append(
                f"{source}: {int(rows['n'].max())} rows (< {thresholds.min_rows}): its drift is not judged"
            )
    return notes


def _decay_reasons(report: MonitoringReport, thresholds: MonitoringThresholds) -> list[str]:
    """Realized AUC fallen or log loss risen past their limits against the holdout's, on enough
    labelled rows the champion never fit."""
    decay: list[str] = []
    if report.labelled_rows < thresholds.min_performance_rows:
        return decay
    if not math.isnan(report.realized_auc) and not math.isnan(report.validation_auc):
        drop = report.validation_auc - report.realized_auc
        if drop > thresholds.max_auc_drop:
            decay.append(
                f"realized ROC AUC {report.realized_auc:.4f} is {drop:.4f} below the holdout's "
                f"{report.validation_auc:.4f} (limit {thresholds.max_auc_drop:.3f})"
            )
    if not math.isnan(report.realized_log_loss) and not math.isnan(report.validation_log_loss):
        rise = report.realized_log_loss - report.validation_log_loss
        if rise > thresholds.max_log_loss_rise:
            decay.append(
                f"realized log loss {report.realized_log_loss:.4f} is {rise:.4f} above the "
                f"holdout's {report.validation_log_loss:.4f} "
                f"(limit {thresholds.max_log_loss_rise:.3f})"
            )
    return decay


def _estimated_decay_reasons(report: MonitoringReport, thresholds: MonitoringThresholds) -> list[str]:
    """The ROC AUC estimated without labels fallen past its limit against the holdout's, on
    enough rows the champion never fit."""
    if report.unseen_rows < thresholds.min_performance_rows:
        return []
    if math.isnan(report.estimated_auc) or math.isnan(report.validation_auc):
        return []
    drop = report.validation_auc - report.estimated_auc
    if drop <= thresholds.max_estimated_auc_drop:
        return []
    return [
        f"estimated ROC AUC {report.estimated_auc:.4f} (without labels) is {drop:.4f} below the "
        f"holdout's {report.validation_auc:.4f} (limit {thresholds.max_estimated_auc_drop:.3f})"
    ]


def _drift_reasons(
    report: MonitoringReport, judged: pd.DataFrame, thresholds: MonitoringThresholds
) -> list[str]:
    """Drift reasons of every judged source; the report keeps the batch source's weighted PSI and
    top contributions (the online source's when batch is not judged)."""
    shifted: list[str] = []
    for source, rows in judged.groupby("source", sort=True):
        weighted, top, reasons = _source_drift(rows, thresholds)
        if source == SOURCE_BATCH or not report.top_drift:
            report.weighted_psi, report.top_drift = weighted, top
        shifted += reasons
    return shifted


def _no_alarm_summary(report: MonitoringReport, thresholds: MonitoringThresholds) -> str:
    """The figures behind an ok decision."""
    return (
        f"importance-weighted PSI {report.weighted_psi:.3f} (limit {thresholds.max_weighted_psi:.2f}; "
        f"largest: {', '.join(report.top_drift) or 'none above noise'}); worst feature PSI "
        f"{report.worst_psi:.3f} ({report.worst_feature}), score PSI {report.score_psi:.3f}; "
        f"realized AUC {report.realized_auc:.4f}, estimated {report.estimated_auc:.4f}, "
        f"vs holdout {report.validation_auc:.4f}"
    )


def log_to_mlflow(report: MonitoringReport, table: pd.DataFrame, thresholds: MonitoringThresholds) -> str:
    """One run in the monitoring experiment: thresholds as params, figures as metrics, the drift
    table as an artifact. Returns the run id."""
    import mlflow

    from core import registry

    registry.client()
    experiment = registry.experiment_id(monitoring_experiment())
    name = f"monitor-{report.period_start}-{report.period_end}-v{report.model_version}"
    with mlflow.start_run(experiment_id=experiment, run_name=name) as run:
        mlflow.log_params({k: str(v) for k, v in asdict(thresholds).items()})
        mlflow.set_tags(
            {
                "decision": report.decision,
                "model_version": report.model_version,
                "period_start": report.period_start,
                "period_end": report.period_end,
                "worst_feature": report.worst_feature,
            }
        )
        figures = {
            k: v
            for k, v in report.as_dict().items()
            if isinstance(v, float | int) and not isinstance(v, bool) and not math.isnan(float(v))
        }
        mlflow.log_metrics({k: float(v) for k, v in figures.items()})
        mlflow.log_metrics({f"psi_{r.source}_{r.feature}": float(r.psi) for r in table.itertuples()})
        mlflow.log_text(table.to_csv(index=False), "drift.csv")
        mlflow.log_text("\n".join(report.reasons), "reasons.txt")
        return run.info.run_id
