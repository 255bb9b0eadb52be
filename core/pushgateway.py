"""Monitoring results as Prometheus metrics, pushed to a Pushgateway.

A monitoring run is a batch job: Prometheus cannot scrape it, so at its end the run pushes its
figures to a Pushgateway (`PUSHGATEWAY_URL`), which Prometheus scrapes with `honor_labels: true`.
Each push replaces the previous one of the same job (`<prefix>-monitoring`), so the gateway always
holds the last run. `<prefix>` is the use case's metric prefix (`UseCase.metric_prefix`):

    <prefix>_monitoring_feature_psi{feature, source, model_version}   PSI per feature (batch|online)
    <prefix>_monitoring_feature_ks{feature, source, model_version}    KS (total variation: categories)
    <prefix>_monitoring_score_psi{source, model_version}              PSI of the score
    <prefix>_monitoring_score_ks{source, model_version}               KS of the score
    <prefix>_monitoring_realized_roc_auc{model_version}               on the period's known truth
    <prefix>_monitoring_realized_log_loss{model_version}
    <prefix>_monitoring_holdout_roc_auc{model_version}                the judged model's holdout figures
    <prefix>_monitoring_holdout_log_loss{model_version}
    <prefix>_monitoring_estimated_roc_auc{model_version}              estimated without labels (CBPE)
    <prefix>_monitoring_estimated_confusion{cell, model_version}      expected share of rows: tp fp tn fn
    <prefix>_monitoring_rows{source, model_version}                   rows monitored per source
    <prefix>_monitoring_labelled_rows{model_version}                  rows whose truth is known
    <prefix>_monitoring_decision{decision, model_version}             1 for the decision taken, else 0
    <prefix>_monitoring_retrain{model_version}                        1 when the run asked for a retrain
    <prefix>_monitoring_model_info{model_name, model_version}         the version judged (always 1)
    <prefix>_monitoring_period_end_timestamp_seconds{model_version}   end of the monitored period
    <prefix>_monitoring_last_run_timestamp_seconds                    when the run pushed

The online gate's judgement of the shadow challenger goes to its own job (`<prefix>-shadow`):

    <prefix>_shadow_roc_auc{role, model_version}        champion and challenger on the same requests
    <prefix>_shadow_auc_gain{bound, challenger_version} the gain: point, low and high (the interval)
    <prefix>_shadow_rows{kind, challenger_version}      rows scored in shadow, and of those labelled
    <prefix>_shadow_promoted{challenger_version}        1 when the online gate promoted it

A figure that is undefined (no truth yet: no realized AUC) is left out rather than pushed as NaN.
Each run also pushes the registry's current champion to its own job (`contract.champion`).

Plain functions (no flytekit); the monitoring task calls `push_monitoring` at its end. The use
case is the process's (`usecases.current()`) unless one is given; the URL is read when a function
runs, never at import.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import pandas as pd

import usecases
from contract.champion import champion_registry, push, push_champion, pushgateway_url
from contract.names import CHAMPION
from usecases.spec import UseCase

logger = logging.getLogger(__name__)

DECISIONS = ("ok", "drift", "decay")
SCORE = "score"
__all__ = ["champion_registry", "monitoring_registry", "push_monitoring"]


def monitoring_job(case: UseCase) -> str:
    return f"{case.metric_prefix}-monitoring"


def shadow_job(case: UseCase) -> str:
    return f"{case.metric_prefix}-shadow"


def _finite(value: Any) -> bool:
    try:
        return not math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def monitoring_registry(
    report: Any, drift: pd.DataFrame, now: float | None = None, case: UseCase | None = None
):
    """The metrics of one monitoring run (a `MonitoringReport` and its drift table, one row per
    feature and source, `feature == "score"` for the score) in a fresh CollectorRegistry."""
    from prometheus_client import CollectorRegistry

    case = case or usecases.current()
    registry = _Registry(CollectorRegistry(), f"{case.metric_prefix}_monitoring_")
    version = str(report.model_version)
    _add_drift(registry, version, drift)
    _add_figures(registry, version, report)
    _add_rows_and_decision(registry, version, report)
    _add_run_info(registry, version, report, now, case.model_name)
    return registry.collectors


class _Registry:
    """A CollectorRegistry and the prefix of the names of what goes in it."""

    def __init__(self, collectors, prefix: str):
        self.collectors, self.prefix = collectors, prefix


def _gauge(registry: _Registry, name: str, documentation: str, labels: tuple[str, ...] = ()):
    """A monitoring gauge labelled by the judged model version (then `labels`)."""
    from prometheus_client import Gauge

    return Gauge(
        registry.prefix + name, documentation, ("model_version", *labels), registry=registry.collectors
    )


def _add_drift(registry: _Registry, version: str, drift: pd.DataFrame) -> None:
    """PSI and KS per feature and source, and of the score per source; undefined values left out."""
    feature_psi = _gauge(
        registry,
        "feature_psi",
        "PSI of a feature against the bundle's reference",
        ("feature", "source"),
    )
    feature_ks = _gauge(
        registry,
        "feature_ks",
        "KS distance of a feature against its reference (total variation for categories)",
        ("feature", "source"),
    )
    score_psi = _gauge(
        registry, "score_psi", "PSI of the predicted probability against its reference", ("source",)
    )
    score_ks = _gauge(
        registry,
        "score_ks",
        "KS distance of the predicted probability against its reference",
        ("source",),
    )
    for row in drift.itertuples(index=False):
        source = str(getattr(row, "source", "batch"))
        targets: list[tuple[Any, str, tuple[str, ...]]]
        if str(row.feature) == SCORE:
            targets = [(score_psi, "psi", (version, source)), (score_ks, "ks", (version, source))]
        else:
            labels = (version, str(row.feature), source)
            targets = [(feature_psi, "psi", labels), (feature_ks, "ks", labels)]
        for metric, column, labelvalues in targets:
            value = getattr(row, column, math.nan)
            if _finite(value):
                metric.labels(*labelvalues).set(float(value))


def _add_figures(registry: _Registry, version: str, report: Any) -> None:
    """Realized and holdout figures and the labelled row count, each only when defined."""
    figures = {
        "realized_roc_auc": ("ROC AUC on the period's rows whose truth is known", report.realized_auc),
        "realized_log_loss": ("log loss on the period's rows whose truth is known", report.realized_log_loss),
        "holdout_roc_auc": ("ROC AUC of the judged model on its holdout", report.validation_auc),
        "holdout_log_loss": ("log loss of the judged model on its holdout", report.validation_log_loss),
        "labelled_rows": ("rows of the period whose truth is known", report.labelled_rows),
        "estimated_roc_auc": (
            "ROC AUC estimated without labels from the calibrated scores of the rows the model never fit",
            getattr(report, "estimated_auc", math.nan),
        ),
    }
    for name, (documentation, value) in figures.items():
        if _finite(value):
            _gauge(registry, name, documentation).labels(version).set(float(value))
    cells = {
        cell: getattr(report, f"estimated_{field}", math.nan)
        for cell, field in (
            ("tp", "true_positive"),
            ("fp", "false_positive"),
            ("tn", "true_negative"),
            ("fn", "false_negative"),
        )
    }
    if all(_finite(value) for value in cells.values()):
        confusion = _gauge(
            registry,
            "estimated_confusion",
            "confusion matrix at the threshold estimated without labels, as shares of the rows",
            ("cell",),
        )
        for cell, value in cells.items():
            confusion.labels(version, cell).set(float(value))


def _add_rows_and_decision(registry: _Registry, version: str, report: Any) -> None:
    """Rows per source, the decision taken (1) among all decisions (0), and the retrain flag."""
    rows = _gauge(registry, "rows", "rows monitored in the period, per source", ("source",))
    rows.labels(version, "batch").set(float(report.n_rows))
    rows.labels(version, "online").set(float(report.n_online_rows))

    decision = _gauge(
        registry,
        "decision",
        "1 for the decision the run took (ok, drift, decay), 0 otherwise",
        ("decision",),
    )
    for name in sorted({*DECISIONS, str(report.decision)}):
        decision.labels(version, name).set(1.0 if name == report.decision else 0.0)
    retrain = _gauge(registry, "retrain", "1 when the run asked for a retrain")
    retrain.labels(version).set(1.0 if report.retrain else 0.0)


def _add_run_info(registry: _Registry, version: str, report: Any, now: float | None, model_name: str) -> None:
    """The judged model, the end of the monitored period and when the run reported."""
    from prometheus_client import Gauge

    info = Gauge(
        registry.prefix + "model_info",
        "the model version the run judged",
        ("model_name", "model_version"),
        registry=registry.collectors,
    )
    info.labels(str(getattr(report, "model_name", "") or model_name), version).set(1.0)
    if report.period_end:
        end = pd.Timestamp(report.period_end, tz="UTC").timestamp()
        period_end = _gauge(
            registry, "period_end_timestamp_seconds", "end of the monitored period, Unix time"
        )
        period_end.labels(version).set(end)
    Gauge(
        registry.prefix + "last_run_timestamp_seconds",
        "when the last monitoring run reported, Unix time",
        registry=registry.collectors,
    ).set(time.time() if now is None else now)


def push_monitoring(
    report: Any, drift: pd.DataFrame, url: str | None = None, case: UseCase | None = None
) -> bool:
    """Push one monitoring run's metrics (and the registry's current champion) when a Pushgateway
    is configured. Returns False when none is. A configured gateway that refuses the push fails
    the run with an error naming the URL: metrics that silently stop would hide the loop."""
    url = pushgateway_url() if url is None else url
    if not url:
        return False
    case = case or usecases.current()
    push(url, monitoring_job(case), monitoring_registry(report, drift, case=case))
    from core import registry

    champion = registry.alias_version(case.model_name, CHAMPION) or ""
    push_champion(case.model_name, champion, case.metric_prefix, url)
    logger.info("monitoring metrics of version %s pushed to %s", report.model_version, url)
    return True


def shadow_registry(judgement: Any, case: UseCase | None = None):
    """The metrics of one online-gate judgement (`core.online_gate.ShadowJudgement`)."""
    from prometheus_client import CollectorRegistry, Gauge

    prefix = (case or usecases.current()).metric_prefix
    registry = CollectorRegistry()
    challenger = str(judgement.challenger_version)
    auc = Gauge(
        f"{prefix}_shadow_roc_auc",
        "live ROC AUC on the requests both models scored, once their truth arrived",
        ("role", "model_version"),
        registry=registry,
    )
    for role, version, value in (
        ("champion", judgement.champion_version, judgement.champion_auc),
        ("challenger", challenger, judgement.challenger_auc),
    ):
        if _finite(value):
            auc.labels(role, str(version)).set(float(value))
    gain = Gauge(
        f"{prefix}_shadow_auc_gain",
        "challenger minus champion live ROC AUC: the point and its paired-bootstrap interval",
        ("bound", "challenger_version"),
        registry=registry,
    )
    for bound, value in (
        ("point", judgement.auc_gain),
        ("low", judgement.gain_low),
        ("high", judgement.gain_high),
    ):
        if _finite(value):
            gain.labels(bound, challenger).set(float(value))
    rows = Gauge(
        f"{prefix}_shadow_rows",
        "rows the challenger scored in shadow (scored), and of those the ones with truth (labelled)",
        ("kind", "challenger_version"),
        registry=registry,
    )
    rows.labels("scored", challenger).set(float(judgement.shadow_rows))
    rows.labels("labelled", challenger).set(float(judgement.labelled_rows))
    Gauge(
        f"{prefix}_shadow_promoted",
        "1 when the online gate promoted the challenger",
        ("challenger_version",),
        registry=registry,
    ).labels(challenger).set(1.0 if judgement.promote else 0.0)
    return registry


def push_shadow(judgement: Any, url: str | None = None, case: UseCase | None = None) -> bool:
    """Push the online gate's judgement when a Pushgateway is configured (False when none is)."""
    url = pushgateway_url() if url is None else url
    if not url or not judgement.challenger_version:
        return False
    case = case or usecases.current()
    push(url, shadow_job(case), shadow_registry(judgement, case))
    return True
