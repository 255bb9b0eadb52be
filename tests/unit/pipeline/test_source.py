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


def test_impossible_wind_reading_is_treated_as_missing(tmp_path):
    """The package holds one 1048 mph reading: such sensor errors become missing, not features."""
    weather = read_table(default_source(), "weather")
    at_nine = (
        (weather["origin"] == "EWR")
        & (weather["month"] == 2)
        & (weather["day"] == 1)
        & (weather["hour"] == 9)
    )
    weather.loc[at_nine, "wind_speed"] = 1048.36
    weather.to_parquet(tmp_path / "weather.parquet", index=False)
    for name in ("flights", "planes"):
        read_table(default_source(), name).to_parquet(tmp_path / f"{name}.parquet", index=False)
    raw = load_window(str(tmp_path), START, END)
    affected = (raw["origin"] == "EWR") & (raw["day"] == 1) & (raw["hour"] == 9)
    assert affected.sum() > 0
    assert raw.loc[affected, "wind_speed"].isna().all()
    assert raw.loc[~affected, "wind_speed"].max() < 200


def test_missing_table_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="has no table 'flights'"):
        load_window(str(tmp_path), START, END)
