"""The best retrain days with hindsight (core.retrain_hindsight): the dynamic programme against
every schedule tried one by one, a constructed period whose best days are known, and the frames
it refuses."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from core.retrain_hindsight import best_schedules, held_out_gain, serving_auc

DAYS = pd.date_range("2013-07-01", periods=40)


def _frame(values: dict[pd.Timestamp, np.ndarray]) -> pd.DataFrame:
    """Each model's daily AUC from its own day on, NaN before."""
    frame = pd.DataFrame(index=DAYS, dtype=float)
    for as_of, auc in values.items():
        frame[as_of] = np.where(DAYS >= as_of, auc, np.nan)
    return frame


def test_the_best_days_are_found_on_a_constructed_period():
    # the first model is 0.70 throughout; the model as of day 10 is 0.80 until day 20, then 0.60;
    # the model as of day 20 is 0.75. One retrain: day 20 (0.70 x 20 + 0.75 x 20 = 29) beats
    # day 10 (0.70 x 10 + 0.80 x 10 + 0.60 x 20 = 27); two: days 10 and 20 (30)
    late = np.where(np.arange(40) < 20, 0.80, 0.60)
    auc = _frame({DAYS[0]: np.full(40, 0.70), DAYS[10]: late, DAYS[20]: np.full(40, 0.75)})
    never, one, two, three = best_schedules(auc, 3)
    assert never.days == () and never.mean_auc == pytest.approx(0.70)
    assert one.days == (DAYS[20],) and one.mean_auc == pytest.approx((0.70 * 20 + 0.75 * 20) / 40)
    assert two.days == (DAYS[10], DAYS[20])
    assert two.mean_auc == pytest.approx((0.70 * 10 + 0.80 * 10 + 0.75 * 20) / 40)
    # a third retrain has no day left to earn on: the best two are kept, none is forced
    assert three.retrains == 2 and three.days == two.days


def test_each_best_schedule_is_the_best_of_every_schedule_tried_one_by_one():
    rng = np.random.default_rng(7)
    candidates = [DAYS[0], DAYS[5], DAYS[9], DAYS[16], DAYS[23], DAYS[31], DAYS[36]]
    auc = _frame({day: rng.uniform(0.6, 0.8, 40) for day in candidates})
    auc.loc[DAYS[12]] = np.nan  # a day with one class: no model has a ROC AUC
    for schedule in best_schedules(auc, 4):
        tried = [
            np.nanmean(serving_auc(auc, days))
            for k in range(schedule.retrains + 1)
            for days in itertools.combinations(candidates[1:], k)
        ]
        assert schedule.mean_auc == pytest.approx(max(tried))
        assert schedule.mean_auc == pytest.approx(np.nanmean(serving_auc(auc, schedule.days)))


def test_serving_auc_takes_each_models_days_from_its_own_day_to_the_next():
    auc = _frame({DAYS[0]: np.full(40, 0.7), DAYS[3]: np.full(40, 0.8)})
    served = serving_auc(auc, (DAYS[3],))
    assert (served[:3] == 0.7).all() and (served[3:] == 0.8).all()


def test_a_frame_it_cannot_judge_is_refused_with_the_reason():
    auc = _frame({DAYS[2]: np.full(40, 0.7)})
    with pytest.raises(ValueError, match="first model must be as of the first day \\(2013-07-01\\)"):
        best_schedules(auc, 1)
    outside = _frame({DAYS[0]: np.full(40, 0.7)})
    outside[pd.Timestamp("2013-09-01")] = 0.8
    with pytest.raises(ValueError, match="as of days outside the period: 2013-09-01"):
        best_schedules(outside, 1)
    uneven = _frame({DAYS[0]: np.full(40, 0.7), DAYS[3]: np.full(40, 0.8)})
    uneven.loc[DAYS[8], DAYS[3]] = np.nan
    with pytest.raises(ValueError, match="on 2013-07-09 some models have a ROC AUC and others none"):
        best_schedules(uneven, 1)


def test_the_held_out_gain_is_not_flattered_by_the_days_noise():
    """Every model equally good, each day's AUC noise: over many draws, the best days in hindsight
    look better than the baseline on the days they were chosen on, and not on the days between."""
    days = pd.date_range("2013-07-01", periods=180)
    candidates = list(days[::7])
    baseline = tuple(c for c in candidates[1:] if c.day <= 7)  # about monthly
    in_sample, held_out = [], []
    for seed in range(12):
        rng = np.random.default_rng(seed)
        auc = pd.DataFrame(
            {c: np.where(days >= c, 0.7 + rng.normal(0, 0.03, len(days)), np.nan) for c in candidates},
            index=days,
        )
        best = best_schedules(auc, len(baseline))[len(baseline)].mean_auc
        in_sample.append(best - np.nanmean(serving_auc(auc, baseline)))
        held_out.append(held_out_gain(auc, len(baseline), baseline))
    assert min(in_sample) > 0  # the luck of the best of many schedules, every time
    assert np.mean(in_sample) > 0.004
    assert abs(np.mean(held_out)) < 0.0015


def test_a_real_gain_survives_holding_out_half_the_days():
    """A model that is better from its day on keeps its gain on the days it was not chosen on."""
    rng = np.random.default_rng(5)
    days = pd.date_range("2013-07-01", periods=120)
    auc = pd.DataFrame(
        {
            days[0]: 0.70 + rng.normal(0, 0.01, len(days)),
            days[30]: np.where(days >= days[30], 0.75 + rng.normal(0, 0.01, len(days)), np.nan),
        },
        index=days,
    )
    assert held_out_gain(auc, 1, ()) == pytest.approx(0.05 * 90 / 120, abs=0.005)
