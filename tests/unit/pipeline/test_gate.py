"""The promotion decision as a plain function, and the paired bootstrap of the AUC gain."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from core.evaluation import EvaluationMetrics
from core.gate import (
    FitOnHoldoutError,
    GainInterval,
    GateConfig,
    decide,
    paired_auc_gain,
    paired_mean_auc_gain,
    require_unseen,
    sanity_failures,
    sanity_table,
    window_overlap,
)

SANE = EvaluationMetrics(roc_auc=0.75, calibration_error=0.02, flagged_rate=0.3, log_loss=0.5)


def _interval(gain: float, low: float, high: float) -> GainInterval:
    return GainInterval(gain, low, high, 0.9, 400)


def test_first_sane_model_is_promoted():
    assert decide(SANE, None, GateConfig()) == (
        True,
        ["no champion yet and every sanity check passed"],
    )


def test_candidate_wins_only_when_the_interval_clears_the_margin():
    config = GateConfig(min_auc_gain=0.002)
    champion = EvaluationMetrics(roc_auc=0.74)
    promoted, reasons = decide(SANE, champion, config, _interval(0.01, 0.004, 0.016))
    assert promoted and "interval [+0.0040, +0.0160]" in reasons[0] and "candidate wins" in reasons[0]
    # the same point gain, but noisy: the interval reaches below the margin
    promoted, reasons = decide(SANE, champion, config, _interval(0.01, -0.001, 0.021))
    assert not promoted and "within noise of the margin, champion stays" in reasons[0]
    promoted, reasons = decide(SANE, champion, config, _interval(-0.003, -0.006, 0.0))
    assert not promoted and reasons[0].endswith("champion stays")


def test_champion_that_trained_on_the_candidates_holdout_is_not_compared():
    """Trained out of order: the champion's window ends after the candidate's holdout begins."""
    not_compared = window_overlap("2013-09-30", "2013-08-01", unseen_rows=0, min_rows=1000)
    promoted, reasons = decide(SANE, None, GateConfig(), None, not_compared)
    assert not promoted
    assert reasons == [
        "the champion trained on rows up to 2013-09-30, inside the candidate's holdout from "
        "2013-08-01: not a fair comparison (models trained out of order), the champion stays"
    ]


def test_a_champion_refit_into_the_holdout_is_compared_on_the_rows_after_its_fit():
    """A mid-month retrain: the champion was refit up to 07-31, the holdout runs 07-15..08-14. The
    rows from 08-01 on are unseen by both: enough of them, and the comparison is fair there."""
    assert window_overlap("2013-07-31", "2013-07-15", unseen_rows=13000, min_rows=1000) is None
    assert "not a fair comparison" in window_overlap("2013-07-31", "2013-07-15", 999, 1000)
    assert window_overlap("2013-06-30", "2013-07-01", unseen_rows=0, min_rows=1000) is None  # in order


@pytest.mark.parametrize(
    ("fit_end", "message"),
    [
        ("2013-08-01", "fit rows up to 2013-08-01, inside the holdout from 2013-08-01"),
        ("2013-08-31", "fit rows up to 2013-08-31, inside the holdout from 2013-08-01"),
        ("", "fit window or the holdout start is unknown"),
    ],
)
def test_a_model_is_never_judged_on_rows_it_was_fit_on(fit_end, message):
    with pytest.raises(FitOnHoldoutError, match=message):
        require_unseen(fit_end, "2013-08-01", "candidate's judged model")
    require_unseen("2013-07-31", "2013-08-01", "candidate's judged model")  # the day before: fair


def test_insane_candidate_never_wins_even_against_a_weaker_champion():
    bad = EvaluationMetrics(roc_auc=0.9, calibration_error=0.3, flagged_rate=0.95)
    promoted, reasons = decide(bad, EvaluationMetrics(roc_auc=0.6), GateConfig(), _interval(0.3, 0.29, 0.31))
    assert not promoted
    assert reasons == [
        "sanity check failed: calibration error 0.3000 above 0.08",
        "sanity check failed: flagged rate 0.950 outside [0.01, 0.90]",
    ]


def test_non_finite_metrics_fail_sanity():
    assert "a holdout metric is not finite" in sanity_failures(
        EvaluationMetrics(roc_auc=0.8, log_loss=math.nan, flagged_rate=0.3), GateConfig()
    )


def test_paired_bootstrap_gain_matches_sklearn_and_brackets_it():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 3000)
    champion = labels * 0.5 + rng.normal(0, 0.6, 3000)
    candidate = np.round(labels * 0.5 + rng.normal(0, 0.5, 3000), 2)  # rounded: ties count half
    interval = paired_auc_gain(labels, candidate, champion, resamples=300)
    exact = roc_auc_score(labels, candidate) - roc_auc_score(labels, champion)
    assert interval.gain == pytest.approx(exact, abs=1e-12)
    assert interval.low < exact < interval.high and interval.resamples == 300
    # the same model against itself: no gain, a zero-width interval
    same = paired_auc_gain(labels, champion, champion, resamples=50)
    assert (same.gain, same.low, same.high) == (0.0, 0.0, 0.0)


def test_paired_interval_is_narrower_than_the_noise_of_each_auc():
    """Pairing removes what both models share: the gain's spread is far below either AUC's."""
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 4000)
    shared = labels * 0.6 + rng.normal(0, 0.7, 4000)
    candidate, champion = shared + rng.normal(0, 0.05, 4000), shared
    interval = paired_auc_gain(labels, candidate, champion, resamples=300)
    single = paired_auc_gain(labels, candidate, rng.normal(0, 1, 4000), resamples=300)
    assert interval.high - interval.low < 0.25 * (single.high - single.low)


def test_the_deck_table_and_the_gate_reasons_are_the_same_checks():
    """A metric that is NaN fails every check that reads it, in the table and in the reasons."""
    config = GateConfig()
    for metrics in (
        EvaluationMetrics(roc_auc=0.9, calibration_error=0.3, flagged_rate=0.95),
        EvaluationMetrics(roc_auc=math.nan, calibration_error=0.01, flagged_rate=0.3),
        EvaluationMetrics(roc_auc=0.8, calibration_error=0.01, flagged_rate=0.3),
    ):
        table = sanity_table(metrics, config)
        failures = sanity_failures(metrics, config)
        assert len(failures) == sum(not row["passed"] for row in table), (table, failures)
    nan_auc = EvaluationMetrics(roc_auc=math.nan, calibration_error=0.01, flagged_rate=0.3)
    assert sanity_failures(nan_auc, config) == [
        "a holdout metric is not finite",
        "ROC AUC nan below the floor 0.60",
    ]


def test_the_mean_gain_over_months_is_the_mean_of_each_months_auc_gain():
    rng = np.random.default_rng(3)
    months = []
    for shift in (0.5, 1.0, 0.2):
        labels = rng.integers(0, 2, 2000)
        better = labels * shift + rng.normal(size=2000)
        worse = labels * 0.1 + rng.normal(size=2000)
        months.append((labels, better, worse))
    interval = paired_mean_auc_gain(months, resamples=200)
    expected = np.mean([roc_auc_score(y, a) - roc_auc_score(y, b) for y, a, b in months])
    assert interval.gain == pytest.approx(expected, abs=1e-12)
    assert 0 < interval.low < interval.gain < interval.high
    # one month: exactly the gate's paired bootstrap of that month
    single = paired_auc_gain(*months[0], resamples=200)
    assert paired_mean_auc_gain(months[:1], resamples=200) == single
    # the same scores on both sides: no gain, and an interval of zero width
    same = paired_mean_auc_gain([(y, a, a) for y, a, _ in months], resamples=50)
    assert (same.gain, same.low, same.high) == (0.0, 0.0, 0.0)


def test_a_fresher_candidate_wins_unless_it_is_worse_at_the_champions_data():
    """Refit on a month the champion never saw: the champion stays only when the interval shows
    the candidate's judged model (the champion's data) worse by more than the refresh margin, the
    whole interval below it; a candidate on the same data must clear the margin."""
    champion, config = EvaluationMetrics(roc_auc=0.74), GateConfig(min_auc_gain=0.002, max_refresh_loss=0.002)
    tie = _interval(0.0009, -0.0003, 0.0021)
    promoted, reasons = decide(SANE, champion, config, tie, candidate_fresher=True)
    assert promoted and reasons[0].endswith(
        "not shown worse than -0.0020 at the champion's data, and the candidate is refit on days "
        "the champion never saw: candidate wins"
    )
    assert decide(SANE, champion, config, tie, candidate_fresher=False)[0] is False
    # a little worse on the point estimate, the interval reaching above the refresh margin: the
    # data do not show it worse by more than the margin (a retrain of the July-December replay)
    noisy = _interval(-0.0022, -0.0038, -0.0005)
    assert decide(SANE, champion, config, noisy, candidate_fresher=True)[0]
    assert decide(SANE, champion, config, noisy, candidate_fresher=False)[0] is False
    worse = _interval(-0.004, -0.006, -0.0025)
    promoted, reasons = decide(SANE, champion, config, worse, candidate_fresher=True)
    assert not promoted and reasons[0].endswith(
        "the whole interval below -0.0020 at the champion's data: champion stays"
    )
    # the interval's upper end just inside and just outside the refresh margin
    assert decide(SANE, champion, config, _interval(-0.003, -0.005, -0.0019), candidate_fresher=True)[0]
    assert not decide(SANE, champion, config, _interval(-0.003, -0.005, -0.0021), candidate_fresher=True)[0]
    # no margin at all: the fresher candidate stays out only when the whole interval is below 0
    strict = GateConfig(min_auc_gain=0.002, max_refresh_loss=0.0)
    assert decide(SANE, champion, strict, _interval(-0.001, -0.002, 0.0001), candidate_fresher=True)[0]
    promoted, reasons = decide(
        SANE, champion, strict, _interval(-0.001, -0.002, -0.0001), candidate_fresher=True
    )
    assert not promoted and reasons[0].endswith(
        "the whole interval below 0 at the champion's data: champion stays"
    )
