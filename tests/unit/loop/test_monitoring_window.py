"""One monitoring window judged (core.monitoring_window) on a constructed bundle and period: only
rows the champion never fit are judged, truth only once mature, the estimate beside the realized
figures."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import usecases
from contract.bundle import Bundle, Metadata, TrainingWindow
from core.bundle import build_reference, build_schema
from core.estimation import estimate_from_scores, fit_calibration
from core.monitoring import DECAY, OK, MonitoringThresholds
from core.monitoring_window import Window, judge_window, mature_truth, measure_window

CASE = usecases.current()
START, END = datetime(2013, 6, 24), datetime(2013, 7, 8)
FIT_END = "2013-06-30"  # the champion's deployed model fit every row up to this day


def period(seed: int = 0) -> pd.DataFrame:
    """Two weeks of rows, 300 a day: features drawn once, truth drawn from the score."""
    rng = np.random.default_rng(seed)
    n = 14 * 300
    frame = pd.DataFrame({name: rng.uniform(1, 20, n) for name in CASE.numeric_features})
    for name in CASE.categorical_features:
        frame[name] = rng.choice(["A", "B", "C"], n)
    frame[CASE.timestamp] = pd.Timestamp(START) + pd.to_timedelta(np.arange(n) * (14 * 86400 // n), unit="s")
    frame[CASE.key] = [f"row{i}" for i in range(n)]
    frame["score"] = rng.beta(2, 5, n)
    frame[CASE.label] = pd.array((rng.uniform(size=n) < frame["score"]).astype(int), dtype="Int64")
    return frame


def bundle(frame: pd.DataFrame, calibrated: bool = True, fit_end: str = FIT_END) -> Bundle:
    holdout = frame.loc[frame[CASE.timestamp] < pd.Timestamp(fit_end)]
    labels, scores = holdout[CASE.label].astype(int).to_numpy(), holdout["score"].to_numpy()
    calibration = fit_calibration(labels, scores) if calibrated else None
    return Bundle(
        model=None,
        schema=build_schema(frame, threshold=0.35),
        reference=build_reference(frame, scores, float(labels.mean()), calibration),
        metadata=Metadata(
            version="7",
            training_window=TrainingWindow(train_start="2013-01-01", fit_start="2013-01-01", fit_end=fit_end),
            metrics={"roc_auc": float(roc_auc_score(labels, scores)), "log_loss": 0.5},
        ),
        path=Path("."),
    )


def whole(frame: pd.DataFrame) -> Window:
    """The window [START, END) of `frame`: its scores and features, no online rows."""
    return Window(frame, frame, frame.iloc[:0], START, END)


def test_only_the_rows_after_the_champions_last_fit_day_are_judged():
    frame = period()
    # The rows the champion fit are scored perfectly (as a model scores its own training rows):
    # judged with them, the window would look far better than it serves.
    fitted = frame[CASE.timestamp] < pd.Timestamp("2013-07-01")
    frame.loc[fitted, "score"] = frame.loc[fitted, CASE.label].astype(float) * 0.98 + 0.01
    unseen = frame.loc[~fitted]
    loaded = bundle(period())  # calibrated on rows drawn from the scores themselves
    report = judge_window(loaded, whole(frame), MonitoringThresholds()).report
    assert (report.n_rows, report.unseen_rows, report.labelled_rows) == (len(frame), len(unseen), len(unseen))
    assert report.realized_auc == pytest.approx(
        roc_auc_score(unseen[CASE.label].astype(int), unseen["score"])
    )
    expected = estimate_from_scores(loaded.require_reference().calibration, unseen["score"].to_numpy(), 0.35)
    assert report.estimated_auc == pytest.approx(expected.roc_auc)
    assert report.estimated_true_positive == pytest.approx(expected.true_positive)
    assert report.estimated_recall == pytest.approx(expected.recall)
    assert (
        f"judged on the {len(unseen)} of {len(frame)} rows after the champion's last fit day 2013-06-30"
        in (report.reasons)
    )


def test_a_window_the_champion_fit_entirely_judges_drift_but_no_performance():
    frame = period()
    loaded = bundle(frame, fit_end="2013-07-31")
    checked = judge_window(loaded, whole(frame), MonitoringThresholds())
    report = checked.report
    assert (report.decision, report.unseen_rows, report.labelled_rows) == (OK, 0, 0)
    assert math.isnan(report.realized_auc) and math.isnan(report.estimated_auc)
    assert set(checked.drift["feature"]) == {*CASE.features, "score"}  # drift: every row of the window
    assert checked.drift["n"].max() == len(frame)
    assert "0 labelled rows the champion never fit (< 2000): realized decay not judged" in report.reasons


def test_a_bundle_without_calibration_is_judged_without_an_estimate():
    frame = period()
    report = judge_window(bundle(frame, calibrated=False), whole(frame), MonitoringThresholds()).report
    assert math.isnan(report.estimated_auc) and not report.estimated_decayed
    assert "the bundle holds no calibration: performance not estimated" in report.reasons


def test_a_period_that_turned_harder_is_decay_by_the_estimate_before_any_label():
    """Scores pulled towards the middle after the fit (a harder population: the same relation
    between score and outcome, less sure): the estimate falls below the holdout's AUC with no
    label known."""
    frame = period()
    after = frame[CASE.timestamp] >= pd.Timestamp("2013-07-01")
    frame.loc[after, "score"] = 0.25 + 0.2 * frame.loc[after, "score"]
    frame[CASE.label] = pd.array([pd.NA] * len(frame), dtype="Int64")
    loaded = bundle(period())
    report = judge_window(loaded, whole(frame), MonitoringThresholds(max_estimated_auc_drop=0.03)).report
    assert report.labelled_rows == 0 and math.isnan(report.realized_auc)
    assert report.estimated_decayed and report.decision == DECAY
    assert report.reasons[0].startswith("estimated ROC AUC")


def test_measuring_takes_no_decision():
    frame = period()
    measured = measure_window(bundle(frame), whole(frame), MonitoringThresholds())
    assert measured.report.reasons == [] and measured.report.decision == OK and not measured.report.retrain


def test_truth_is_kept_only_once_it_is_mature():
    frame = period()
    known_at = datetime(2013, 7, 5)
    kept = mature_truth(frame, known_at)
    mature = frame[CASE.timestamp] + CASE.label_maturity <= pd.Timestamp(known_at)
    assert kept.loc[mature, CASE.label].notna().all() and kept.loc[~mature, CASE.label].isna().all()
    assert mature.any() and (~mature).any()
    pd.testing.assert_series_equal(kept.loc[mature, CASE.label], frame.loc[mature, CASE.label])
