"""Flights' pandera models: the raw table of a window (`RawFlights`) and the feature table
(`FeatureTable`), the declaration's `raw_schema` and `feature_schema`.

They are the typed contract of the data workflow: flytekitplugins-pandera validates every task
input and output annotated with them, so a bad source fails at the task boundary with the column
and the rule it broke. The model bundle's `schema.json` is derived from `FeatureTable` too, so the
serving side checks the same ranges training saw.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from usecases.flights.operational import OPERATIONAL_FEATURES
from usecases.tables import calendar_date_cells

CATEGORICAL_FEATURES = ["carrier", "origin", "dest"]
# The origin's latest weather observation before departure: the source's weather columns.
WEATHER_FEATURES = [
    "temp",
    "dewp",
    "humid",
    "wind_dir",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
]
NUMERIC_FEATURES = [
    "dep_hour",
    "arr_hour",
    "day_of_week",
    "distance",
    "origin_hour_departures",
    "origin_day_departures",
    "plane_age",
    "seats",
    *WEATHER_FEATURES,
    *OPERATIONAL_FEATURES,  # what had happened at the airport by t: served from the online store
]
FEATURES = CATEGORICAL_FEATURES + NUMERIC_FEATURES
LABEL = "late"
KEY = "flight_id"
TIMESTAMP = "sched_dep"
# The plane: not a feature, the key the online store finds its previous departure by.
TAILNUM = "tailnum"


class RawFlights(pa.DataFrameModel):
    """Scheduled flights of the window joined with origin weather and plane facts."""

    year: Series[int] = pa.Field(in_range={"min_value": 2000, "max_value": 2100})
    month: Series[int] = pa.Field(in_range={"min_value": 1, "max_value": 12})
    day: Series[int] = pa.Field(in_range={"min_value": 1, "max_value": 31})
    sched_dep_time: Series[int] = pa.Field(in_range={"min_value": 0, "max_value": 2359})
    sched_arr_time: Series[int] = pa.Field(in_range={"min_value": 0, "max_value": 2359})
    arr_delay: Series[float] = pa.Field(nullable=True, in_range={"min_value": -180, "max_value": 3000})
    carrier: Series[str] = pa.Field(str_length={"min_value": 2, "max_value": 3})
    flight: Series[int] = pa.Field(ge=0)
    tailnum: Series[str] = pa.Field(nullable=True)
    origin: Series[str] = pa.Field(str_length={"min_value": 3, "max_value": 4})
    dest: Series[str] = pa.Field(str_length={"min_value": 3, "max_value": 4})
    distance: Series[float] = pa.Field(gt=0, le=10000, coerce=True)
    hour: Series[int] = pa.Field(in_range={"min_value": 0, "max_value": 23})
    minute: Series[int] = pa.Field(in_range={"min_value": 0, "max_value": 59})
    # Weather and plane facts may be missing: an hour without a reading, an unknown tail number.
    temp: Series[float] = pa.Field(in_range={"min_value": -60, "max_value": 130}, nullable=True, coerce=True)
    dewp: Series[float] = pa.Field(in_range={"min_value": -80, "max_value": 100}, nullable=True, coerce=True)
    humid: Series[float] = pa.Field(in_range={"min_value": 0, "max_value": 100}, nullable=True, coerce=True)
    wind_dir: Series[float] = pa.Field(
        in_range={"min_value": 0, "max_value": 360}, nullable=True, coerce=True
    )
    wind_speed: Series[float] = pa.Field(
        in_range={"min_value": 0, "max_value": 200}, nullable=True, coerce=True
    )
    wind_gust: Series[float] = pa.Field(
        in_range={"min_value": 0, "max_value": 250}, nullable=True, coerce=True
    )
    precip: Series[float] = pa.Field(in_range={"min_value": 0, "max_value": 20}, nullable=True, coerce=True)
    pressure: Series[float] = pa.Field(
        in_range={"min_value": 900, "max_value": 1100}, nullable=True, coerce=True
    )
    visib: Series[float] = pa.Field(in_range={"min_value": 0, "max_value": 100}, nullable=True, coerce=True)
    plane_year: Series[float] = pa.Field(
        nullable=True, coerce=True, in_range={"min_value": 1900, "max_value": 2100}
    )
    seats: Series[float] = pa.Field(nullable=True, coerce=True, in_range={"min_value": 1, "max_value": 1000})
    # What had happened at the airport by t (usecases.flights.operational), from the departure events;
    # missing where nothing tells (no recent departure, no earlier leg of the plane that day).
    origin_recent_departures: Series[float] = pa.Field(
        coerce=True, in_range={"min_value": 0, "max_value": 1000}
    )
    origin_recent_dep_delay: Series[float] = pa.Field(
        nullable=True, coerce=True, in_range={"min_value": -1440, "max_value": 2880}
    )
    origin_backlog: Series[float] = pa.Field(coerce=True, in_range={"min_value": 0, "max_value": 1000})
    tail_prev_dep_delay: Series[float] = pa.Field(
        nullable=True, coerce=True, in_range={"min_value": -1440, "max_value": 2880}
    )
    tail_prev_dep_minutes: Series[float] = pa.Field(
        nullable=True, coerce=True, in_range={"min_value": 0, "max_value": 2880}
    )

    @pa.dataframe_check(error="the window holds no flights: check the source and [start, end)")
    def window_not_empty(cls, df: pd.DataFrame) -> bool:
        return len(df) > 0

    @pa.dataframe_check(error="year, month and day must form a calendar date")
    def valid_date(cls, df: pd.DataFrame) -> pd.DataFrame:
        return calendar_date_cells(df)  # refuses February 30, naming the date's cells

    # A side table with no row that matches the window leaves every weather (or plane) value
    # missing: nothing to learn from, and nothing in a range check would notice.
    @pa.dataframe_check(
        error="the weather table has no usable rows for the window: no flight has an observation "
        "of its origin before departure"
    )
    def weather_found(cls, df: pd.DataFrame) -> bool:
        present = df.reindex(columns=WEATHER_FEATURES).notna()
        return df.empty or bool(present.to_numpy().any())

    @pa.dataframe_check(
        error="the planes table has no usable rows for the window: no flight's tailnum has a "
        "plane year or seat count"
    )
    def planes_found(cls, df: pd.DataFrame) -> bool:
        present = df.reindex(columns=["plane_year", "seats"]).notna()
        return df.empty or bool(present.to_numpy().any())

    class Config:
        strict = "filter"  # extra source columns (dep_time, air_time...) are dropped here


class FeatureTable(pa.DataFrameModel):
    """One row per scheduled flight: the key, the time, the features known before departure, the label."""

    flight_id: Series[str] = pa.Field(unique=True)
    sched_dep: Series[pd.Timestamp]
    tailnum: Series[str] = pa.Field(nullable=True)
    carrier: Series[str]
    origin: Series[str]
    dest: Series[str]
    dep_hour: Series[float] = pa.Field(in_range={"min_value": 0, "max_value": 24})
    arr_hour: Series[float] = pa.Field(in_range={"min_value": 0, "max_value": 24})
    day_of_week: Series[float] = pa.Field(in_range={"min_value": 0, "max_value": 6})
    distance: Series[float] = pa.Field(gt=0, le=10000)
    origin_hour_departures: Series[float] = pa.Field(in_range={"min_value": 1, "max_value": 500})
    origin_day_departures: Series[float] = pa.Field(in_range={"min_value": 1, "max_value": 5000})
    plane_age: Series[float] = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": 100})
    seats: Series[float] = pa.Field(nullable=True, in_range={"min_value": 1, "max_value": 1000})
    temp: Series[float] = pa.Field(nullable=True, in_range={"min_value": -60, "max_value": 130})
    dewp: Series[float] = pa.Field(nullable=True, in_range={"min_value": -80, "max_value": 100})
    humid: Series[float] = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": 100})
    wind_dir: Series[float] = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": 360})
    wind_speed: Series[float] = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": 200})
    wind_gust: Series[float] = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": 250})
    precip: Series[float] = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": 20})
    pressure: Series[float] = pa.Field(nullable=True, in_range={"min_value": 900, "max_value": 1100})
    visib: Series[float] = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": 100})
    # As of t (usecases.flights.operational). Offline the counts are always known; online any of the
    # five may be missing (the store down, empty or behind), so all are nullable in the schema.
    origin_recent_departures: Series[float] = pa.Field(
        nullable=True, in_range={"min_value": 0, "max_value": 1000}
    )
    origin_recent_dep_delay: Series[float] = pa.Field(
        nullable=True, in_range={"min_value": -1440, "max_value": 2880}
    )
    origin_backlog: Series[float] = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": 1000})
    tail_prev_dep_delay: Series[float] = pa.Field(
        nullable=True, in_range={"min_value": -1440, "max_value": 2880}
    )
    tail_prev_dep_minutes: Series[float] = pa.Field(
        nullable=True, in_range={"min_value": 0, "max_value": 2880}
    )
    # The truth: missing until known (a flight that has not flown yet has none).
    late: Series[pd.Int64Dtype] = pa.Field(nullable=True, isin=[0, 1], coerce=True)

    class Config:
        strict = True
        ordered = False
