"""Alarms judged against decays (core.alarms) on hand-made day sequences."""

from __future__ import annotations

import math

import pandas as pd

from core.alarms import AlarmJudgement, choose, combine, judge, runs

DAYS = pd.date_range("2013-07-01", periods=60)


def flags(*spans: tuple[int, int]) -> pd.Series:
    """True on the days of each (first, last) span, as offsets from July 1st."""
    series = pd.Series(False, index=DAYS)
    for first, last in spans:
        series.iloc[first : last + 1] = True
    return series


def test_runs_merge_short_gaps_inside_one_decay():
    found = runs(flags((3, 5), (8, 9), (20, 20)))  # a two-day gap merges, a ten-day gap does not
    assert [(r.start.day, r.end.day) for r in found] == [(4, 10), (21, 21)]


def test_an_alarm_before_or_soon_after_a_decay_catches_it_with_its_days():
    decayed = flags((10, 20), (40, 45))
    alarms = flags((7, 8), (50, 50))  # three days early for the first; the second: 10 days late
    judged = judge(decayed, alarms, months=2)
    assert [c.outcome for c in judged.catches] == ["caught", "missed"]
    assert judged.catches[0].days == -3.0
    assert judged.catches[1].alarm_day is None and math.isnan(
        judged.catches[1].days
    )  # day 50: after it ended
    assert len(judged.false_alarms) == 1 and judged.false_alarms[0].start == DAYS[50]
    assert judged.summary()["caught"] == 1 and judged.summary()["missed"] == 1
    assert judged.false_alarm_days == 1 and judged.false_alarms_per_month == 0.5


def test_an_alarm_more_than_a_week_into_a_decay_is_late():
    judged = judge(flags((10, 30)), flags((19, 22)), months=1)
    assert [(c.outcome, c.days) for c in judged.catches] == [("late", 9.0)]
    assert judged.false_alarms == []


def test_an_alarm_far_from_any_decay_is_false_and_one_a_week_before_is_a_warning():
    judged = judge(flags((20, 25)), flags((2, 3), (13, 13)), months=1)
    assert [(c.outcome, c.days) for c in judged.catches] == [("caught", -7.0)]
    assert [(r.start.day, r.end.day) for r in judged.false_alarms] == [(3, 4)]


def test_combined_sequences_add_up():
    one = judge(flags((10, 12)), flags((11, 11)), months=2)
    two = judge(flags(), flags((5, 5)), months=2)
    both = combine([one, two])
    assert (both.count("caught"), len(both.false_alarms), both.false_alarm_days, both.months) == (1, 1, 1, 4)
    assert both.false_alarms_per_month == 0.25


def test_the_choice_catches_most_within_the_false_alarm_budget():
    decayed = flags((10, 20), (40, 45))
    candidates = {
        0.01: judge(
            decayed, flags((2, 2), (9, 9), (25, 26), (30, 30), (41, 41), (55, 55)), months=2
        ),  # noisy
        0.02: judge(decayed, flags((12, 13), (44, 44)), months=2),  # both caught, late-ish
        0.03: judge(decayed, flags((11, 11), (42, 42)), months=2),  # both caught, earlier
        0.05: judge(decayed, flags((15, 15)), months=2),  # one caught
    }
    assert candidates[0.01].false_alarms_per_month > 1
    assert choose(candidates) == 0.03
    assert choose({0.01: candidates[0.01]}) is None
    assert choose({0.05: candidates[0.05], 0.07: AlarmJudgement(months=2)}) == 0.05


def test_an_alarm_that_never_stops_is_false_between_the_decays():
    judged = judge(flags((10, 12), (40, 42)), flags((0, 59)), months=2)
    assert judged.count("caught") == 2  # it was on when each began ...
    # ... and on, falsely, before the first one's warning week, between the two (after the two
    # days a trailing window lags), and after the last: every such day counts
    spans = [(r.start, r.end) for r in judged.false_alarms]
    assert spans == [(DAYS[0], DAYS[2]), (DAYS[15], DAYS[32]), (DAYS[45], DAYS[59])]
    assert judged.false_alarm_days == 3 + 18 + 15
    assert judged.false_alarms_per_month == judged.false_alarm_days / 2
