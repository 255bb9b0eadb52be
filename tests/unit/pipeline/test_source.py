"""The source seam: any directory with flights/weather/planes tables loads like the package data."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from pandera.errors import SchemaErrors

from usecases.flights.schemas import RawFlights
from usecases.flights.source import default_source, load_window, read_table

START, END = datetime(2013, 2, 1), datetime(2013, 2, 8)


@pytest.fixture(scope="module")
def package_window() -> pd.DataFrame:
    return load_window("", START, END)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_file_source_loads_the_same_window(package_window, tmp_path, fmt):
    for name in ("flights", "weather", "planes"):
        frame = read_table(default_source(), name)
        if name == "flights":  # the window and the day before it (operational features look back)
            frame = frame[frame["month"].isin([1, 2])]
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
    raw = load_window(str(tmp_path), START, END, horizon_minutes=0)  # weather as of departure
    # the 09:51 reading is what flights departing after 09:51 and up to 10:51 see
    after = (raw["hour"] == 9) & (raw["minute"] > 51) | (raw["hour"] == 10) & (raw["minute"] <= 51)
    affected = (raw["origin"] == "EWR") & (raw["day"] == 1) & after
    assert affected.sum() > 0
    assert raw.loc[affected, "wind_speed"].isna().all()
    assert raw.loc[~affected, "wind_speed"].max() < 200


def test_missing_table_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="has no table 'flights'"):
        load_window(str(tmp_path), START, END)


def _constructed_source(tmp_path, flights: list[tuple[int, int, int]], hours: list[tuple[int, int]]) -> str:
    """A source of EWR flights (day, hour, minute) on 2013-02-xx and weather observations
    (day, hour) whose temperature encodes when they were taken: 100 * day + hour."""
    planes = pd.DataFrame({"tailnum": ["N1"], "year": [2005], "seats": [180]})
    rows = []
    for number, (day, hour, minute) in enumerate(flights):
        rows.append(
            dict(
                year=2013,
                month=2,
                day=day,
                dep_time=np.nan,
                sched_dep_time=hour * 100 + minute,
                dep_delay=np.nan,
                arr_time=np.nan,
                sched_arr_time=2359,
                arr_delay=5.0,
                carrier="UA",
                flight=100 + number,
                tailnum="N1",
                origin="EWR",
                dest="ORD",
                air_time=np.nan,
                distance=719,
                hour=hour,
                minute=minute,
            )
        )
    weather = pd.DataFrame(
        [
            dict(
                origin="EWR",
                year=2013,
                month=2,
                day=d,
                hour=h,
                temp=float(100 * d + h),
                dewp=20.0,
                humid=50.0,
                wind_dir=180.0,
                wind_speed=5.0,
                wind_gust=np.nan,
                precip=0.0,
                pressure=1015.0,
                visib=10.0,
            )
            for d, h in hours
        ]
    )
    pd.DataFrame(rows).to_parquet(tmp_path / "flights.parquet", index=False)
    weather.to_parquet(tmp_path / "weather.parquet", index=False)
    planes.to_parquet(tmp_path / "planes.parquet", index=False)
    return str(tmp_path)


def test_weather_is_the_latest_observation_taken_before_departure(tmp_path):
    """Observations are taken at HH:51: a 07:05 departure sees the 06:51 reading, never the 07:51
    one (46 minutes after it left); a 07:55 departure sees 07:51; just after midnight, the previous
    day's 23:51; a gap in the readings falls back to the last one taken before departure."""
    source = _constructed_source(
        tmp_path,
        flights=[(2, 7, 5), (2, 7, 55), (3, 0, 10), (2, 7, 51), (2, 12, 30)],
        hours=[(2, 6), (2, 7), (2, 8), (2, 10), (2, 23), (3, 0)],
    )
    raw = load_window(source, datetime(2013, 2, 2), datetime(2013, 2, 4), horizon_minutes=0)
    seen = dict(zip(raw["sched_dep_time"] + 10_000 * raw["day"], raw["temp"], strict=True))
    assert seen == {
        20_705: 206.0,  # 07:05 -> 06:51
        20_755: 207.0,  # 07:55 -> 07:51
        30_010: 223.0,  # 00:10 on the 3rd -> 23:51 on the 2nd
        20_751: 206.0,  # 07:51 -> 06:51 (strictly before departure)
        21_230: 210.0,  # 12:30 -> 10:51 (11:51 missing)
    }


def test_weather_older_than_the_tolerance_is_missing(tmp_path):
    """A reading more than `WEATHER_MAX_AGE` old says nothing about the departure: missing."""
    source = _constructed_source(tmp_path, flights=[(2, 20, 0)], hours=[(2, 6)])
    raw = load_window(source, datetime(2013, 2, 2), datetime(2013, 2, 3), horizon_minutes=0)
    assert raw["temp"].isna().all()


def test_weather_is_as_of_the_prediction_time(tmp_path):
    """With the default horizon (60 minutes), t = scheduled departure - 1 h: a 07:05 departure
    (t 06:05) sees the 05:51 reading, not the 06:51 one taken after t."""
    source = _constructed_source(
        tmp_path, flights=[(2, 7, 5), (2, 7, 55), (3, 0, 10)], hours=[(2, 5), (2, 6), (2, 7), (2, 22)]
    )
    raw = load_window(source, datetime(2013, 2, 2), datetime(2013, 2, 4))
    seen = dict(zip(raw["sched_dep_time"] + 10_000 * raw["day"], raw["temp"], strict=True))
    assert seen == {20_705: 205.0, 20_755: 206.0, 30_010: 222.0}


def test_a_source_without_departure_delays_is_named(tmp_path):
    source = _constructed_source(tmp_path, flights=[(2, 7, 5)], hours=[(2, 6)])
    flights = pd.read_parquet(f"{source}/flights.parquet").drop(columns="dep_delay")
    flights.to_parquet(f"{source}/flights.parquet", index=False)
    with pytest.raises(ValueError, match=r"source table 'flights' is missing column\(s\) \['dep_delay'\]"):
        load_window(source, datetime(2013, 2, 2), datetime(2013, 2, 3))


def _rewrite(tmp_path, name: str, change) -> None:
    path = tmp_path / f"{name}.parquet"
    change(pd.read_parquet(path)).to_parquet(path, index=False)


def test_rows_with_an_invalid_date_are_kept_and_fail_validation_naming_the_rule(tmp_path):
    """Month 13 and February 30 fall in no window: they used to vanish from every window (and a
    run trained on the rest). Each window now keeps them, and validation names the column and
    rule."""
    source = _constructed_source(tmp_path, flights=[(2, 7, 5), (2, 8, 0), (2, 9, 0)], hours=[(2, 6), (2, 7)])

    def invalidate(flights):
        flights.loc[1, "month"] = 13
        flights.loc[2, "day"] = 30
        return flights

    _rewrite(tmp_path, "flights", invalidate)
    raw = load_window(source, datetime(2013, 2, 2), datetime(2013, 2, 3))
    assert sorted(zip(raw["month"], raw["day"], strict=True)) == [(2, 2), (2, 30), (13, 2)]
    with pytest.raises(SchemaErrors) as caught:
        RawFlights.validate(raw, lazy=True)
    message = str(caught.value)
    assert (
        "Column 'month' failed element-wise validator number 0: in_range(1, 12) failure cases: 13" in message
    )
    assert "year, month and day must form a calendar date failure cases: " in message
    assert "{'year': 2013.0, 'month': 2.0, 'day': 30.0}" in message


def test_an_empty_weather_table_fails_validation_naming_the_table(tmp_path):
    """A weather table with its header and no rows passed validation (weather may be missing)
    and failed later inside the fit with numpy's "window shape cannot be larger than input"."""
    source = _constructed_source(tmp_path, flights=[(2, 7, 5), (2, 8, 0)], hours=[(2, 6), (2, 7)])
    _rewrite(tmp_path, "weather", lambda weather: weather.iloc[:0])
    raw = load_window(source, datetime(2013, 2, 2), datetime(2013, 2, 3))
    with pytest.raises(SchemaErrors, match="the weather table has no usable rows for the window"):
        RawFlights.validate(raw, lazy=True)


def test_weather_of_other_days_only_is_no_usable_weather(tmp_path):
    source = _constructed_source(tmp_path, flights=[(2, 7, 5)], hours=[(5, 6), (5, 7)])
    raw = load_window(source, datetime(2013, 2, 2), datetime(2013, 2, 3))
    with pytest.raises(SchemaErrors, match="the weather table has no usable rows for the window"):
        RawFlights.validate(raw, lazy=True)


def test_a_planes_table_without_the_windows_planes_fails_validation_naming_the_table(tmp_path):
    source = _constructed_source(tmp_path, flights=[(2, 7, 5), (2, 8, 0)], hours=[(2, 6), (2, 7)])
    _rewrite(tmp_path, "planes", lambda planes: planes.assign(tailnum="N999"))
    raw = load_window(source, datetime(2013, 2, 2), datetime(2013, 2, 3))
    with pytest.raises(SchemaErrors, match="the planes table has no usable rows for the window") as caught:
        RawFlights.validate(raw, lazy=True)
    assert "weather table" not in str(caught.value)
