"""Feature table, label and time split on tiny frames built here."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from core.features import build_features, month_window, split_by_time
from core.schemas import FEATURES, FeatureTable, RawFlights

POST_DEPARTURE = {"dep_delay", "dep_time", "arr_time", "air_time", "arr_delay"}


def raw_rows(arr_delays: list[float | None]) -> pd.DataFrame:
    n = len(arr_delays)
    return pd.DataFrame(
        {
            "year": 2013,
            "month": 6,
            "day": 1 + np.arange(n) % 28,
            "sched_dep_time": 915,
            "sched_arr_time": 1230,
            "arr_delay": pd.array(arr_delays, dtype="float64"),
            "carrier": "UA",
            "flight": 100 + np.arange(n),
            "tailnum": "N1",
            "origin": "EWR",
            "dest": "ORD",
            "distance": 719.0,
            "hour": 9,
            "minute": 15,
            "temp": 70.0,
            "dewp": 50.0,
            "humid": 60.0,
            "wind_dir": 180.0,
            "wind_speed": 10.0,
            "wind_gust": np.nan,
            "precip": 0.0,
            "pressure": 1015.0,
            "visib": 10.0,
            "plane_year": 2005.0,
            "seats": 180.0,
        }
    )


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
    assert window == (datetime(2013, 1, 1), datetime(2013, 6, 1), datetime(2013, 7, 1))
    # Flyte hands over timezone-aware UTC datetimes: same window; mid-month rounds down
    assert month_window(datetime(2013, 7, 15, tzinfo=UTC), 5, 1) == window


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
