"""The metrics one monitoring run publishes, built from a report and drift table made here."""

from __future__ import annotations

import math

import pandas as pd
from prometheus_client.parser import text_string_to_metric_families

from core.monitoring import MonitoringReport
from core.pushgateway import champion_registry, monitoring_registry


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
            assert got[("flights_monitoring_score_psi", key)] == row.psi
            assert got[("flights_monitoring_score_ks", key)] == row.ks
        else:
            key = labels(model_version="4", feature=row.feature, source=row.source)
            assert got[("flights_monitoring_feature_psi", key)] == row.psi
            assert got[("flights_monitoring_feature_ks", key)] == row.ks
    v4 = labels(model_version="4")
    assert got[("flights_monitoring_holdout_roc_auc", v4)] == REPORT.validation_auc
    assert got[("flights_monitoring_rows", labels(model_version="4", source="batch"))] == REPORT.n_rows
    assert (
        got[("flights_monitoring_rows", labels(model_version="4", source="online"))] == REPORT.n_online_rows
    )
    decisions = {dict(k)["decision"]: v for (n, k), v in got.items() if n == "flights_monitoring_decision"}
    assert decisions == {"ok": 0.0, "drift": 1.0, "decay": 0.0}
    assert got[("flights_monitoring_retrain", v4)] == 1.0
    assert got[("flights_monitoring_last_run_timestamp_seconds", frozenset())] == 1_700_000_000.0
    end = pd.Timestamp("2013-03-08", tz="UTC").timestamp()
    assert got[("flights_monitoring_period_end_timestamp_seconds", v4)] == end
    info = [dict(k) for (n, k) in got if n == "flights_monitoring_model_info"]
    assert info == [{"model_name": "flights-late-arrival", "model_version": "4"}]


def test_undefined_figures_are_left_out_not_pushed_as_nan():
    got = samples(monitoring_registry(REPORT, DRIFT))
    names = {name for name, _ in got}
    assert "flights_monitoring_realized_roc_auc" not in names
    assert "flights_monitoring_realized_log_loss" not in names
    assert ("flights_monitoring_score_psi", labels(model_version="4", source="online")) not in got
    assert not [value for value in got.values() if math.isnan(value)]


def test_the_champion_is_an_info_metric():
    got = samples(champion_registry("flights-late-arrival", "7"))
    assert got == {
        (
            "flights_registry_champion_info",
            labels(bundle_name="flights-late-arrival", bundle_version="7"),
        ): 1.0
    }
