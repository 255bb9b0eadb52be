"""Feature table, label and time split on tiny frames built here."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from core.features import judged_holdout_start, month_window, split_by_time
from tests.support.tables import raw_rows
from usecases.flights.features import build_features
from usecases.flights.schemas import FEATURES, FeatureTable, RawFlights

POST_DEPARTURE = {"dep_delay", "dep_time", "arr_time", "air_time", "arr_delay"}


def test_label_is_late_by_15_minutes_or_no_arrival():
    table = build_features(raw_rows([-5.0, 14.0, 15.0, 90.0, None]))
    assert table["late"].tolist() == [0, 0, 1, 1, 1]


def test_features_hold_nothing_known_only_after_departure():
    assert not POST_DEPARTURE & set(FEATURES)
    table = build_features(raw_rows([1.0, 20.0]))
    assert not POST_DEPARTURE & set(table.columns)
    FeatureTable.validate(table)


def test_schedule_derived_features():
    table = build_features(raw_rows([1.0, 2.0]))
    assert table["dep_hour"].tolist() == [9.25, 9.25]
    assert table["arr_hour"].tolist() == [12.5, 12.5]
    assert table["plane_age"].tolist() == [8.0, 8.0]
    assert table["day_of_week"].tolist() == [5.0, 6.0]  # 2013-06-01 was a Saturday
    assert table["origin_hour_departures"].tolist() == [1.0, 1.0]  # different days


def test_month_window_matches_the_documented_cut():
    window = month_window(datetime(2013, 7, 1), train_months=5, holdout_months=1)
    assert window == (datetime(2013, 1, 1), datetime(2013, 6, 1), datetime(2013, 7, 1), datetime(2013, 7, 1))
    # Flyte hands over timezone-aware UTC datetimes: same window
    assert month_window(datetime(2013, 7, 1, tzinfo=UTC), 5, 1) == window


def test_mid_month_window_ends_on_its_date():
    """A retrain monitoring triggers on the 15th trains on data up to the 15th: never a copy (or
    a cache hit) of the model the monthly schedule made on the 1st."""
    window = month_window(datetime(2013, 7, 15, 6, 30, tzinfo=UTC), train_months=5, holdout_months=1)
    assert window == (
        datetime(2013, 1, 15),
        datetime(2013, 6, 15),
        datetime(2013, 7, 15),
        datetime(2013, 7, 15),
    )


def test_the_judged_model_fits_every_row_its_champion_fit():
    """A retrain as of 08-15 facing a champion refit as of 08-01 (last fit day 07-31): the month
    holdout (07-15..08-14) would judge a model fit to 07-14 against a champion fit to 07-31, two
    weeks behind it. The holdout starts the day after the champion's last fit day instead: the
    judged model fits every row the champion fit, and both are judged on the rows neither fit."""
    mid = month_window(datetime(2013, 8, 15), train_months=0, holdout_months=1)
    assert judged_holdout_start(mid.holdout_start, mid.holdout_end, "2013-07-31") == datetime(2013, 8, 1)
    assert judged_holdout_start(mid.holdout_start, mid.holdout_end, "2013-08-07") == datetime(2013, 8, 8)
    # the 1st facing the champion of the 1st before (make demo's 2013-08-01): the month holdout
    first = month_window(datetime(2013, 8, 1), train_months=0, holdout_months=1)
    for fit_end in ("2013-06-30", "2013-05-31", ""):  # that champion, an older one, none
        assert judged_holdout_start(first.holdout_start, first.holdout_end, fit_end) == datetime(2013, 7, 1)
    # a champion that fit the holdout's last day or later (models trained out of order) leaves no
    # row unseen by it: the month holdout, and the gate refuses to compare
    for fit_end in ("2013-07-31", "2013-09-30"):
        assert judged_holdout_start(first.holdout_start, first.holdout_end, fit_end) == datetime(2013, 7, 1)


def test_split_by_time_refuses_an_empty_part():
    table = build_features(raw_rows([1.0, 2.0]))
    with pytest.raises(ValueError, match="the holdout split is empty"):
        split_by_time(table, datetime(2013, 7, 1))
    train, holdout = split_by_time(table, datetime(2013, 6, 2))
    assert (len(train), len(holdout)) == (1, 1)


def test_raw_schema_names_column_and_rule():
    raw = raw_rows([1.0]).assign(minute=75)
    with pytest.raises(Exception, match=r"(?s)minute.*in_range\(0, 59\)"):
        RawFlights.validate(raw, lazy=True)


def test_truth_is_missing_until_known():
    """Known at 2013-06-03 00:00: an arrival is known (late or not); a flight of June 1 with no
    arrival was cancelled or diverted (late); one scheduled on June 3 or later has not happened
    yet: no truth, whether or not the source already holds an arrival for it."""
    raw = raw_rows([-5.0, 30.0, None, None, 20.0, None])
    raw["day"] = [1, 1, 1, 2, 3, 4]
    raw["flight"] = np.arange(6)
    table = build_features(raw, known_at=datetime(2013, 6, 3))
    truth = dict(zip(table["flight_id"].str[11:-4], table["late"], strict=True))
    assert str(table["late"].dtype) == "Int64"
    assert {k: (None if pd.isna(v) else int(v)) for k, v in truth.items()} == {
        "UA0": 0,
        "UA1": 1,
        "UA2": 1,  # no arrival, a day and more after its departure: cancelled/diverted, known
        "UA3": None,  # no arrival, scheduled 09:15 on June 2: its outcome may still be open
        "UA4": None,  # scheduled after known_at: the future
        "UA5": None,
    }
    FeatureTable.validate(table)


def test_training_and_holdout_take_only_flights_with_known_truth():
    raw = raw_rows([1.0, 20.0, 2.0, 40.0])
    raw["day"] = [1, 2, 3, 4]
    table = build_features(raw, known_at=datetime(2013, 6, 4))
    train, holdout = split_by_time(table, datetime(2013, 6, 2))
    assert (len(train), len(holdout)) == (1, 2)
    assert holdout["late"].notna().all() and str(holdout["late"].dtype) == "Int64"
