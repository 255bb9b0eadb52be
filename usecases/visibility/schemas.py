"""Pandera models of the visibility use case: the station readings of a window, as of each
reading's time, and the feature table built from them.

Ranges are those of the source: ASOS stations report visibility in statute miles up to 10,
temperatures and dew points in °F, wind in mph (direction in degrees), precipitation in inches,
pressure in hPa. The bundle's `schema.json` is derived from `ReadingFeatures`, so serving checks
the same ranges training saw.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from usecases.tables import calendar_date_cells

STATION = "origin"  # the weather station, named after its airport (EWR, JFK, LGA)
KEY = "reading_id"
TIMESTAMP = "observed"  # the reading's local wall-clock time: the prediction time
LABEL = "low_visibility"

# The reading itself (the source's columns).
READINGS = [
    "visib",
    "temp",
    "dewp",
    "humid",
    "wind_dir",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
]
# The station's recent past, as of the reading (`usecases.visibility.source`).
TRENDS = [
    "visib_min_6h",
    "visib_change_3h",
    "spread_change_3h",
    "pressure_change_3h",
    "hours_since_low",
]
# What happens after the reading: the truth, never a feature.
OUTCOME = ["future_min_visib", "future_readings"]

CATEGORICAL_FEATURES = [STATION]
NUMERIC_FEATURES = ["hour_of_day", *READINGS, *TRENDS]

DESCRIPTIONS = {
    STATION: "the weather station (its airport)",
    "hour_of_day": "local hour of the reading (fog forms overnight and lifts after sunrise)",
    "visib": "visibility of the reading, statute miles (10 means 10 or more)",
    "temp": "temperature, °F",
    "dewp": "dew point, °F",
    "humid": "relative humidity, %",
    "wind_dir": "wind direction, degrees",
    "wind_speed": "wind speed, mph",
    "wind_gust": "wind gust, mph (missing when none was reported)",
    "precip": "precipitation in the hour, inches",
    "pressure": "sea-level pressure, hPa",
    "visib_min_6h": "lowest visibility of the station's readings in (t - 6 h, t]",
    "visib_change_3h": "visibility now minus at the latest reading at or before t - 3 h",
    "spread_change_3h": "temperature minus dew point (°F; near 0 the air is saturated) now minus at "
    "the latest reading at or before t - 3 h",
    "pressure_change_3h": "pressure now minus at the latest reading at or before t - 3 h",
    "hours_since_low": "hours since the station's latest reading below 3 miles, up to 48 (missing: none)",
}

_MILES = {"min_value": 0, "max_value": 10}
_TEMP = {"min_value": -60, "max_value": 130}
_DEWP = {"min_value": -80, "max_value": 100}
_PERCENT = {"min_value": 0, "max_value": 100}
_DEGREES = {"min_value": 0, "max_value": 360}
_WIND = {"min_value": 0, "max_value": 200}
_GUST = {"min_value": 0, "max_value": 250}
_PRECIP = {"min_value": 0, "max_value": 20}
_PRESSURE = {"min_value": 900, "max_value": 1100}
_MILES_CHANGE = {"min_value": -10, "max_value": 10}
_SPREAD_CHANGE = {"min_value": -100, "max_value": 100}
_PRESSURE_CHANGE = {"min_value": -50, "max_value": 50}
_HOURS_SINCE = {"min_value": 0, "max_value": 48}


class StationReadings(pa.DataFrameModel):
    """One row per station reading taken in the window, with the station's recent past as of
    the reading and, apart, what the next readings showed (the outcome)."""

    origin: Series[str] = pa.Field(str_length={"min_value": 3, "max_value": 4})
    year: Series[int] = pa.Field(in_range={"min_value": 2000, "max_value": 2100})
    month: Series[int] = pa.Field(in_range={"min_value": 1, "max_value": 12})
    day: Series[int] = pa.Field(in_range={"min_value": 1, "max_value": 31})
    hour: Series[int] = pa.Field(in_range={"min_value": 0, "max_value": 23})
    observed: Series[pd.Timestamp] = pa.Field(nullable=True)  # missing only where the date is not one
    # A reading may miss a value (no gust reported, a sensor out); visibility is what the
    # problem is about: a reading without it is refused.
    visib: Series[float] = pa.Field(in_range=_MILES, coerce=True)
    temp: Series[float] = pa.Field(in_range=_TEMP, nullable=True, coerce=True)
    dewp: Series[float] = pa.Field(in_range=_DEWP, nullable=True, coerce=True)
    humid: Series[float] = pa.Field(in_range=_PERCENT, nullable=True, coerce=True)
    wind_dir: Series[float] = pa.Field(in_range=_DEGREES, nullable=True, coerce=True)
    wind_speed: Series[float] = pa.Field(in_range=_WIND, nullable=True, coerce=True)
    wind_gust: Series[float] = pa.Field(in_range=_GUST, nullable=True, coerce=True)
    precip: Series[float] = pa.Field(in_range=_PRECIP, nullable=True, coerce=True)
    pressure: Series[float] = pa.Field(in_range=_PRESSURE, nullable=True, coerce=True)
    visib_min_6h: Series[float] = pa.Field(in_range=_MILES, coerce=True)
    visib_change_3h: Series[float] = pa.Field(in_range=_MILES_CHANGE, nullable=True, coerce=True)
    spread_change_3h: Series[float] = pa.Field(in_range=_SPREAD_CHANGE, nullable=True, coerce=True)
    pressure_change_3h: Series[float] = pa.Field(in_range=_PRESSURE_CHANGE, nullable=True, coerce=True)
    hours_since_low: Series[float] = pa.Field(in_range=_HOURS_SINCE, nullable=True, coerce=True)
    future_min_visib: Series[float] = pa.Field(in_range=_MILES, nullable=True, coerce=True)
    future_readings: Series[int] = pa.Field(in_range={"min_value": 0, "max_value": 360})

    @pa.dataframe_check(error="the window holds no readings: check the source and [start, end)")
    def window_not_empty(cls, df: pd.DataFrame) -> bool:
        return len(df) > 0

    @pa.dataframe_check(error="year, month and day must form a calendar date")
    def valid_date(cls, df: pd.DataFrame) -> pd.DataFrame:
        return calendar_date_cells(df)  # refuses February 30, naming the date's cells

    class Config:
        strict = "filter"  # extra source columns (time_hour...) are dropped here


class ReadingFeatures(pa.DataFrameModel):
    """One row per station reading: the key, the time, the features known at it, the label."""

    reading_id: Series[str] = pa.Field(unique=True)
    observed: Series[pd.Timestamp]
    origin: Series[str]
    hour_of_day: Series[float] = pa.Field(in_range={"min_value": 0, "max_value": 23})
    visib: Series[float] = pa.Field(in_range=_MILES)
    temp: Series[float] = pa.Field(nullable=True, in_range=_TEMP)
    dewp: Series[float] = pa.Field(nullable=True, in_range=_DEWP)
    humid: Series[float] = pa.Field(nullable=True, in_range=_PERCENT)
    wind_dir: Series[float] = pa.Field(nullable=True, in_range=_DEGREES)
    wind_speed: Series[float] = pa.Field(nullable=True, in_range=_WIND)
    wind_gust: Series[float] = pa.Field(nullable=True, in_range=_GUST)
    precip: Series[float] = pa.Field(nullable=True, in_range=_PRECIP)
    pressure: Series[float] = pa.Field(nullable=True, in_range=_PRESSURE)
    visib_min_6h: Series[float] = pa.Field(in_range=_MILES)
    visib_change_3h: Series[float] = pa.Field(nullable=True, in_range=_MILES_CHANGE)
    spread_change_3h: Series[float] = pa.Field(nullable=True, in_range=_SPREAD_CHANGE)
    pressure_change_3h: Series[float] = pa.Field(nullable=True, in_range=_PRESSURE_CHANGE)
    hours_since_low: Series[float] = pa.Field(nullable=True, in_range=_HOURS_SINCE)
    # The truth: missing until known (LABEL_MATURITY after the reading), or when too few
    # readings followed to tell.
    low_visibility: Series[pd.Int64Dtype] = pa.Field(nullable=True, isin=[0, 1], coerce=True)

    class Config:
        strict = True
        ordered = False
