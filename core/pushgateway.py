"""Monitoring results as Prometheus metrics, pushed to a Pushgateway.

A monitoring run is a batch job: Prometheus cannot scrape it, so at its end the run pushes its
figures to a Pushgateway (`PUSHGATEWAY_URL`), which Prometheus scrapes with `honor_labels: true`.
Each push replaces the previous one of the same job, so the gateway always holds the last run:

    flights_monitoring_feature_psi{feature, source, model_version}   PSI per feature (batch|online)
    flights_monitoring_feature_ks{feature, source, model_version}    KS (total variation: categories)
    flights_monitoring_score_psi{source, model_version}              PSI of the score
    flights_monitoring_score_ks{source, model_version}               KS of the score
    flights_monitoring_realized_roc_auc{model_version}               on the period's known truth
    flights_monitoring_realized_log_loss{model_version}
    flights_monitoring_holdout_roc_auc{model_version}                the judged model's holdout figures
    flights_monitoring_holdout_log_loss{model_version}
    flights_monitoring_rows{source, model_version}                   rows monitored per source
    flights_monitoring_labelled_rows{model_version}                  rows whose truth is known
    flights_monitoring_decision{decision, model_version}             1 for the decision taken, else 0
    flights_monitoring_retrain{model_version}                        1 when the run asked for a retrain
    flights_monitoring_model_info{model_name, model_version}         the version judged (always 1)
    flights_monitoring_period_end_timestamp_seconds{model_version}   end of the monitored period
    flights_monitoring_last_run_timestamp_seconds                    when the run pushed

The online gate's judgement of the shadow challenger goes to its own job (`flights-shadow`):

    flights_shadow_roc_auc{role, model_version}        champion and challenger on the same requests
    flights_shadow_auc_gain{bound, challenger_version} the gain: point, low and high (the interval)
    flights_shadow_rows{kind, challenger_version}      rows scored in shadow, and of those labelled
    flights_shadow_promoted{challenger_version}        1 when the online gate promoted it

A figure that is undefined (no truth yet: no realized AUC) is left out rather than pushed as NaN.
Each run also pushes the registry's current champion to its own job (`contract.champion`).

Plain functions (no flytekit); the monitoring task calls `push_monitoring` at its end. The URL is
read when a function runs, never at import.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import pandas as pd

from contract.champion import champion_registry, push, push_champion, pushgateway_url
from contract.names import CHAMPION, MODEL_NAME

logger = logging.getLogger(__name__)

MONITORING_JOB = "flights-monitoring"
SHADOW_JOB = "flights-shadow"
DECISIONS = ("ok", "drift", "decay")
SCORE = "score"
PREFIX = "flights_monitoring_"
__all__ = ["champion_registry", "monitoring_registry", "push_monitoring"]


def _finite(value: Any) -> bool:
    try:
        return not math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def monitoring_registry(report: Any, drift: pd.DataFrame, now: float | None = None):
    """The metrics of one monitoring run (a `MonitoringReport` and its drift table, one row per
    feature and source, `feature == "score"` for the score) in a fresh CollectorRegistry."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    version = str(report.model_version)
    _add_drift(registry, version, drift)
    _add_figures(registry, version, report)
    _add_rows_and_decision(registry, version, report)
    _add_run_info(registry, version, report, now)
    return registry


def _gauge(registry, name: str, documentation: str, labels: tuple[str, ...] = ()):
    """A monitoring gauge labelled by the judged model version (then `labels`)."""
    from prometheus_client import Gauge

    return Gauge(PREFIX + name, documentation, ("model_version", *labels), registry=registry)


def _add_drift(registry, version: str, drift: pd.DataFrame) -> None:
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


def _add_figures(registry, version: str, report: Any) -> None:
    """Realized and holdout figures and the labelled row count, each only when defined."""
    figures = {
        "realized_roc_auc": ("ROC AUC on the period's rows whose truth is known", report.realized_auc),
        "realized_log_loss": ("log loss on the period's rows whose truth is known", report.realized_log_loss),
        "holdout_roc_auc": ("ROC AUC of the judged model on its holdout", report.validation_auc),
        "holdout_log_loss": ("log loss of the judged model on its holdout", report.validation_log_loss),
        "labelled_rows": ("rows of the period whose truth is known", report.labelled_rows),
    }
    for name, (documentation, value) in figures.items():
        if _finite(value):
            _gauge(registry, name, documentation).labels(version).set(float(value))


def _add_rows_and_decision(registry, version: str, report: Any) -> None:
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


def _add_run_info(registry, version: str, report: Any, now: float | None) -> None:
    """The judged model, the end of the monitored period and when the run reported."""
    from prometheus_client import Gauge

    info = Gauge(
        PREFIX + "model_info",
        "the model version the run judged",
        ("model_name", "model_version"),
        registry=registry,
    )
    info.labels(str(getattr(report, "model_name", "") or MODEL_NAME), version).set(1.0)
    if report.period_end:
        end = pd.Timestamp(report.period_end, tz="UTC").timestamp()
        period_end = _gauge(
            registry, "period_end_timestamp_seconds", "end of the monitored period, Unix time"
        )
        period_end.labels(version).set(end)
    Gauge(
        PREFIX + "last_run_timestamp_seconds",
        "when the last monitoring run reported, Unix time",
        registry=registry,
    ).set(time.time() if now is None else now)


def push_monitoring(report: Any, drift: pd.DataFrame, url: str | None = None) -> bool:
    """Push one monitoring run's metrics (and the registry's current champion) when a Pushgateway
    is configured. Returns False when none is. A configured gateway that refuses the push fails
    the run with an error naming the URL: metrics that silently stop would hide the loop."""
    url = pushgateway_url() if url is None else url
    if not url:
        return False
    push(url, MONITORING_JOB, monitoring_registry(report, drift))
    from core import registry

    push_champion(MODEL_NAME, registry.alias_version(MODEL_NAME, CHAMPION) or "", url)
    logger.info("monitoring metrics of version %s pushed to %s", report.model_version, url)
    return True


def shadow_registry(judgement: Any):
    """The metrics of one online-gate judgement (`core.online_gate.ShadowJudgement`)."""
    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry()
    challenger = str(judgement.challenger_version)
    auc = Gauge(
        "flights_shadow_roc_auc",
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
        "flights_shadow_auc_gain",
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
        "flights_shadow_rows",
        "rows the challenger scored in shadow (scored), and of those the ones with truth (labelled)",
        ("kind", "challenger_version"),
        registry=registry,
    )
    rows.labels("scored", challenger).set(float(judgement.shadow_rows))
    rows.labels("labelled", challenger).set(float(judgement.labelled_rows))
    Gauge(
        "flights_shadow_promoted",
        "1 when the online gate promoted the challenger",
        ("challenger_version",),
        registry=registry,
    ).labels(challenger).set(1.0 if judgement.promote else 0.0)
    return registry


def push_shadow(judgement: Any, url: str | None = None) -> bool:
    """Push the online gate's judgement when a Pushgateway is configured (False when none is)."""
    url = pushgateway_url() if url is None else url
    if not url or not judgement.challenger_version:
        return False
    push(url, SHADOW_JOB, shadow_registry(judgement))
    return True
