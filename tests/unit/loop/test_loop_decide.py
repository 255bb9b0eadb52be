"""The ok / drift / decay decision on hand-built figures."""

from __future__ import annotations

import math

import pandas as pd

from core.monitoring import DECAY, DRIFT, OK, MonitoringReport, MonitoringThresholds, decide


def _table(psi: dict[str, float], n: int = 10_000) -> pd.DataFrame:
    """Drift rows of one batch source; features weigh equally, noise is negligible at this n."""
    weight = 1.0 / max(sum(k != "score" for k in psi), 1)
    rows = [
        {
            "feature": k,
            "psi": v,
            "psi_noise": 0.0,
            "n": n,
            "weight": 0.0 if k == "score" else weight,
            "source": "batch",
            "judged": n >= 500,
        }
        for k, v in psi.items()
    ]
    return pd.DataFrame(rows).sort_values("psi", ascending=False).reset_index(drop=True)


def _report(**figures) -> MonitoringReport:
    base = dict(
        n_rows=10_000,
        validation_auc=0.76,
        validation_log_loss=0.55,
        realized_auc=0.755,
        realized_log_loss=0.56,
    )
    return MonitoringReport(**{**base, **figures})


def test_stable_period_is_ok():
    report = decide(_report(), _table({"temp": 0.05, "score": 0.01}), MonitoringThresholds())
    assert (report.decision, report.retrain) == (OK, False)
    assert report.worst_feature == "temp"


def test_auc_drop_beyond_the_limit_is_decay_and_outranks_drift():
    report = decide(_report(realized_auc=0.70), _table({"temp": 3.0, "score": 0.01}), MonitoringThresholds())
    assert (report.decision, report.retrain) == (DECAY, True)
    assert "realized ROC AUC 0.7000 is 0.0600 below" in report.reasons[0]
    assert any("temp (weight 1.000 x PSI 3.000)" in r for r in report.reasons)


def test_log_loss_rise_is_decay():
    report = decide(_report(realized_log_loss=0.70), _table({"temp": 0.0}), MonitoringThresholds())
    assert report.decision == DECAY
    assert "realized log loss" in report.reasons[0]


def test_feature_or_score_psi_over_the_line_is_drift():
    assert decide(_report(), _table({"temp": 0.25}), MonitoringThresholds()).decision == DRIFT
    assert decide(_report(), _table({"temp": 0.0, "score": 0.3}), MonitoringThresholds()).decision == DRIFT


def test_ignored_features_do_not_count():
    thresholds = MonitoringThresholds(ignore_features=["temp"])
    report = decide(_report(), _table({"temp": 5.0, "dest": 0.02}), thresholds)
    assert report.decision == OK
    assert report.worst_feature == "dest"


def test_too_few_rows_decide_nothing():
    report = decide(_report(n_rows=10, realized_auc=0.5), _table({"temp": 9.0}, n=10), MonitoringThresholds())
    assert (report.decision, report.retrain) == (OK, False)
    assert report.reasons == [
        "batch: 10 rows (< 500): its drift is not judged",
        "too few to judge, no action",
    ]


def test_no_labels_means_decay_is_not_measured():
    report = decide(
        _report(realized_auc=math.nan, realized_log_loss=math.nan),
        _table({"temp": 0.0}),
        MonitoringThresholds(),
    )
    assert report.decision == OK
    assert "no labels in the period" in report.reasons[-1]
