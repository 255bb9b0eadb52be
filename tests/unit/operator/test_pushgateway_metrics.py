"""The metrics one monitoring run publishes, built from a report and drift table made here."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

import usecases
from core.monitoring import MonitoringReport
from core.pushgateway import champion_registry, monitoring_registry
from tests.support.use_cases import renamed

CASE = usecases.current()
P = CASE.metric_prefix


def samples(registry) -> dict[tuple[str, frozenset], float]:
    from prometheus_client import generate_latest

    text = generate_latest(registry).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def labels(**pairs: str) -> frozenset:
    return frozenset(pairs.items())


REPORT = MonitoringReport(
    decision="drift",
    retrain=True,
    model_version="4",
    period_end="2013-03-08",
    n_rows=1200,
    n_online_rows=30,
    realized_auc=math.nan,  # no truth yet
    realized_log_loss=math.nan,
    validation_auc=0.75,
    validation_log_loss=0.55,
    labelled_rows=0,
)
DRIFT = pd.DataFrame(
    {
        "feature": ["temp", "carrier", "score", "temp", "score"],
        "source": ["batch", "batch", "batch", "online", "online"],
        "psi": [0.31, 0.02, 0.12, 0.5, math.nan],
        "ks": [0.2, 0.05, 0.08, 0.4, math.nan],
    }
)


def test_every_figure_of_the_run_becomes_a_sample():
    got = samples(monitoring_registry(REPORT, DRIFT, now=1_700_000_000.0))
    for row in DRIFT.dropna().itertuples():
        if row.feature == "score":
            key = labels(model_version="4", source=row.source)
            assert got[(f"{P}_monitoring_score_psi", key)] == row.psi
            assert got[(f"{P}_monitoring_score_ks", key)] == row.ks
        else:
            key = labels(model_version="4", feature=row.feature, source=row.source)
            assert got[(f"{P}_monitoring_feature_psi", key)] == row.psi
            assert got[(f"{P}_monitoring_feature_ks", key)] == row.ks
    v4 = labels(model_version="4")
    assert got[(f"{P}_monitoring_holdout_roc_auc", v4)] == REPORT.validation_auc
    assert got[(f"{P}_monitoring_rows", labels(model_version="4", source="batch"))] == REPORT.n_rows
    assert got[(f"{P}_monitoring_rows", labels(model_version="4", source="online"))] == REPORT.n_online_rows
    decisions = {dict(k)["decision"]: v for (n, k), v in got.items() if n == f"{P}_monitoring_decision"}
    assert decisions == {"ok": 0.0, "drift": 1.0, "decay": 0.0}
    assert got[(f"{P}_monitoring_retrain", v4)] == 1.0
    assert got[(f"{P}_monitoring_last_run_timestamp_seconds", frozenset())] == 1_700_000_000.0
    end = pd.Timestamp("2013-03-08", tz="UTC").timestamp()
    assert got[(f"{P}_monitoring_period_end_timestamp_seconds", v4)] == end
    info = [dict(k) for (n, k) in got if n == f"{P}_monitoring_model_info"]
    assert info == [{"model_name": CASE.model_name, "model_version": "4"}]


def test_undefined_figures_are_left_out_not_pushed_as_nan():
    got = samples(monitoring_registry(REPORT, DRIFT))
    names = {name for name, _ in got}
    assert f"{P}_monitoring_realized_roc_auc" not in names
    assert f"{P}_monitoring_realized_log_loss" not in names
    assert (f"{P}_monitoring_score_psi", labels(model_version="4", source="online")) not in got
    assert not [value for value in got.values() if math.isnan(value)]


def test_the_champion_is_an_info_metric():
    got = samples(champion_registry("some-model", "7", "some_prefix"))
    assert got == {
        ("some_prefix_registry_champion_info", labels(bundle_name="some-model", bundle_version="7")): 1.0
    }


def test_a_prefix_that_is_no_prometheus_name_is_refused_naming_it():
    with pytest.raises(ValueError, match="metric prefix 'bike-share' is not a Prometheus name"):
        champion_registry("some-model", "7", "bike-share")


def test_the_metrics_follow_the_use_case():
    """Another use case's run: its prefix and model name, nothing of the process's use case."""
    case = renamed()
    got = samples(monitoring_registry(REPORT, DRIFT, now=1.0, case=case))
    assert got and {name.split("_monitoring_")[0] for name, _ in got} == {case.metric_prefix}
    info = [dict(k) for (n, k) in got if n.endswith("_monitoring_model_info")]
    assert info == [{"model_name": case.model_name, "model_version": "4"}]


def test_the_estimate_without_labels_is_pushed_beside_drift():
    from dataclasses import replace

    estimated = replace(
        REPORT,
        estimated_auc=0.71,
        estimated_true_positive=0.12,
        estimated_false_positive=0.15,
        estimated_true_negative=0.6,
        estimated_false_negative=0.13,
    )
    got = samples(monitoring_registry(estimated, DRIFT))
    v4 = labels(model_version="4")
    assert got[(f"{P}_monitoring_estimated_roc_auc", v4)] == 0.71
    cells = {dict(k)["cell"]: v for (n, k), v in got.items() if n == f"{P}_monitoring_estimated_confusion"}
    assert cells == {"tp": 0.12, "fp": 0.15, "tn": 0.6, "fn": 0.13}
    # no estimate (no calibration in the bundle, nothing unseen): nothing pushed, not NaN
    names = {name for name, _ in samples(monitoring_registry(REPORT, DRIFT))}
    assert not names & {f"{P}_monitoring_estimated_roc_auc", f"{P}_monitoring_estimated_confusion"}
