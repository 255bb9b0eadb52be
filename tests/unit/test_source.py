"""The source seam: any directory with flights/weather/planes tables loads like the package data."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from core.schemas import RawFlights
from core.source import default_source, load_window, read_table

START, END = datetime(2013, 2, 1), datetime(2013, 2, 8)


@pytest.fixture(scope="module")
def package_window() -> pd.DataFrame:
    return load_window("", START, END)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_file_source_loads_the_same_window(package_window, tmp_path, fmt):
    for name in ("flights", "weather", "planes"):
        frame = read_table(default_source(), name)
        if name == "flights":
            frame = frame[frame["month"] == 2]
        getattr(frame, f"to_{fmt}")(tmp_path / f"{name}.{fmt}", index=False)
    loaded = load_window(str(tmp_path), START, END)
    pd.testing.assert_frame_equal(loaded, package_window)


def test_window_is_half_open_and_validates(package_window):
    days = pd.to_datetime(package_window[["year", "month", "day"]])
    assert days.min() == pd.Timestamp(START) and days.max() == pd.Timestamp("2013-02-07")
    RawFlights.validate(package_window, lazy=True)


def test_impossible_wind_reading_is_treated_as_missing():
    raw = load_window("", datetime(2013, 2, 12), datetime(2013, 2, 13))
    assert raw["wind_speed"].max() < 200  # the package's 1048 mph reading on 2013-02-12
    assert raw["wind_speed"].isna().any()


def test_missing_table_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="has no table 'flights'"):
        load_window(str(tmp_path), START, END)
