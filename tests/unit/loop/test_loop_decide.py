"""The ok / drift / decay decision on hand-built figures."""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd

from core.monitoring import DECAY, DRIFT, OK, MonitoringReport, MonitoringThresholds, decide, judged_ok


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
        unseen_rows=10_000,
        labelled_rows=9_000,
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
    # input drift that alarms (a use case's limit: the default use case's input drift never does)
    drifting = MonitoringThresholds(max_weighted_psi=0.5)
    report = decide(_report(realized_auc=0.70), _table({"temp": 3.0, "score": 0.01}), drifting)
    assert (report.decision, report.retrain) == (DECAY, True)
    assert "realized ROC AUC 0.7000 is 0.0600 below" in report.reasons[0]
    assert any("temp (weight 1.000 x PSI 3.000)" in r for r in report.reasons)


def test_log_loss_rise_is_decay():
    report = decide(_report(realized_log_loss=0.70), _table({"temp": 0.0}), MonitoringThresholds())
    assert report.decision == DECAY
    assert "realized log loss" in report.reasons[0]


def test_feature_or_score_psi_over_the_line_is_drift():
    lines = MonitoringThresholds(max_weighted_psi=0.2, max_score_psi=0.2)
    assert decide(_report(), _table({"temp": 0.25}), lines).decision == DRIFT
    assert decide(_report(), _table({"temp": 0.0, "score": 0.3}), lines).decision == DRIFT
    assert decide(_report(), _table({"temp": 0.15, "score": 0.1}), lines).decision == OK


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
        _report(realized_auc=math.nan, realized_log_loss=math.nan, labelled_rows=0),
        _table({"temp": 0.0}),
        MonitoringThresholds(),
    )
    assert report.decision == OK
    assert "0 labelled rows the champion never fit (< 2000): realized decay not judged" in report.reasons[-1]


def test_realized_decay_waits_for_enough_labelled_rows():
    """Right after a retrain the champion has fit almost every row of the window: a realized AUC
    on the few hundred rows left is noise, not decay."""
    few = _report(realized_auc=0.60, labelled_rows=1_999)
    assert decide(few, _table({"temp": 0.0}), MonitoringThresholds()).decision == OK
    enough = _report(realized_auc=0.60, labelled_rows=2_000)
    assert decide(enough, _table({"temp": 0.0}), MonitoringThresholds()).decision == DECAY


def test_estimated_decay_is_decay_seen_before_the_labels():
    report = decide(
        _report(realized_auc=math.nan, realized_log_loss=math.nan, labelled_rows=0, estimated_auc=0.70),
        _table({"temp": 0.0}),
        MonitoringThresholds(max_estimated_auc_drop=0.03),
    )
    assert (report.decision, report.retrain, report.estimated_decayed, report.decayed) == (
        DECAY,
        True,
        True,
        False,
    )
    assert report.reasons[0] == (
        "estimated ROC AUC 0.7000 (without labels) is 0.0600 below the holdout's 0.7600 (limit 0.030)"
    )


def test_an_estimate_within_the_limit_or_on_too_few_rows_decides_nothing():
    within = _report(estimated_auc=0.74)
    assert (
        decide(within, _table({"temp": 0.0}), MonitoringThresholds(max_estimated_auc_drop=0.03)).decision
        == OK
    )
    few = _report(estimated_auc=0.60, unseen_rows=1_500, labelled_rows=1_000)
    report = decide(few, _table({"temp": 0.0}), MonitoringThresholds(max_estimated_auc_drop=0.03))
    assert (report.decision, report.estimated_decayed) == (OK, False)


def test_no_retrain_until_the_champion_has_new_days_to_learn_from():
    """A champion retrained three days ago fit every label but those three days: drift or decay
    still show (the decision says so) but a retrain would only repeat it."""
    fresh = _report(realized_auc=0.60, period_end="2013-07-08", last_fit_day="2013-07-04")
    report = decide(fresh, _table({"temp": 0.0}), MonitoringThresholds(min_new_days=7))
    assert (report.decision, report.retrain) == (DECAY, False)
    assert report.reasons[-1] == (
        "no retrain: the last training learnt every label to 2013-07-04, 3 day(s) before the "
        "period's end (< 7): nothing new to learn from yet"
    )
    stale = _report(realized_auc=0.60, period_end="2013-07-08", last_fit_day="2013-06-30")
    assert decide(stale, _table({"temp": 0.0}), MonitoringThresholds(min_new_days=7)).retrain
    # a candidate the gate kept out three days ago learnt what a retrain now would: no retrain
    tried = _report(
        realized_auc=0.60, period_end="2013-07-08", last_fit_day="2013-06-30", last_trained_day="2013-07-04"
    )
    assert not decide(tried, _table({"temp": 0.0}), MonitoringThresholds(min_new_days=7)).retrain


def test_an_alarm_that_lasted_since_the_last_training_waits_for_the_cool_down():
    """No window judged ok since the last training: it did not cure the alarm (a harder season,
    not a stale model), and another retrain a week later would not either."""
    thresholds = MonitoringThresholds(min_new_days=7, min_days_after_uncured=21)
    lasting = _report(
        realized_auc=0.60, period_end="2013-07-20", last_fit_day="2013-07-09", ok_since_training=False
    )
    report = decide(lasting, _table({"temp": 0.0}), thresholds)
    assert (report.decision, report.retrain) == (DECAY, False)
    assert report.reasons[-1] == (
        "no retrain: no window judged ok since the last training (every label to 2013-07-09): it "
        "did not cure the alarm; the next waits for 21 days of new labels (10 now)"
    )
    # a window judged ok since: this alarm is new, a week of new labels is enough
    new = _report(realized_auc=0.60, period_end="2013-07-20", last_fit_day="2013-07-09")
    assert decide(new, _table({"temp": 0.0}), thresholds).retrain
    # the cool-down over: 22 days of new labels
    over = _report(
        realized_auc=0.60, period_end="2013-08-01", last_fit_day="2013-07-09", ok_since_training=False
    )
    assert decide(over, _table({"temp": 0.0}), thresholds).retrain


def test_a_decay_the_weeks_traffic_explains_does_not_retrain():
    """Realized ROC AUC 0.06 under the holdout's: when the estimate on the same rows fell as far,
    the week is harder for any model; when the realized fell below the estimate, the model went
    stale. The default (-inf) retrains on every decay."""
    thresholds = MonitoringThresholds(min_unexplained_auc_drop=0.02)
    harder = _report(realized_auc=0.70, estimated_auc=0.71, unseen_rows=10_000)
    report = decide(harder, _table({"temp": 0.0}), thresholds)
    assert (report.decision, report.retrain) == (DECAY, False)
    assert report.reasons[-1] == (
        "no retrain: the realized ROC AUC 0.7000 is +0.0100 from the 0.7100 estimated on the same "
        "rows (a retrain needs more than 0.020 below it): the week's traffic explains the drop"
    )
    stale = _report(realized_auc=0.70, estimated_auc=0.75, unseen_rows=10_000)
    assert decide(stale, _table({"temp": 0.0}), thresholds).retrain
    assert decide(harder, _table({"temp": 0.0}), MonitoringThresholds()).retrain
    # drift, or no estimate, leaves the retrain as it was
    drifting = replace(thresholds, max_score_psi=0.2)
    assert decide(harder, _table({"temp": 0.0, "score": 0.5}), drifting).retrain
    assert decide(_report(realized_auc=0.70), _table({"temp": 0.0}), thresholds).retrain


def test_only_an_ok_window_with_decay_judged_shows_a_training_cured_the_alarm():
    thresholds = MonitoringThresholds(min_performance_rows=2000)
    ok = decide(_report(), _table({"temp": 0.0}), thresholds)
    assert judged_ok(ok, thresholds)
    # ok only because too few labels are in to judge decay: says nothing of the cure
    unlabelled = decide(_report(labelled_rows=1500), _table({"temp": 0.0}), thresholds)
    assert unlabelled.decision == OK and not judged_ok(unlabelled, thresholds)
    decayed = decide(_report(realized_auc=0.60), _table({"temp": 0.0}), thresholds)
    assert not judged_ok(decayed, thresholds)
