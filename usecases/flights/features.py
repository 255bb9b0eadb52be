"""Flights' feature builder and label rule (the declaration's `build_features`): plain pandas,
nothing known only after departure."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from usecases.flights.operational import OPERATIONAL_FEATURES
from usecases.flights.schemas import FEATURES, KEY, LABEL, TAILNUM, TIMESTAMP, WEATHER_FEATURES

LATE_MINUTES = 15
# A flight with no recorded arrival a day after its scheduled departure was cancelled or diverted;
# before that, it may simply not have happened (or landed) yet.
OUTCOME_KNOWN_AFTER = pd.Timedelta(hours=24)


def build_features(raw: pd.DataFrame, known_at: datetime | None = None) -> pd.DataFrame:
    """One row per flight: key, scheduled departure, features, label.

    Label (nullable): arrival 15+ minutes late, or no arrival at all (cancelled or diverted:
    arr_delay is missing). Features use the schedule, the plane, how busy the origin is scheduled
    to be and, as of the prediction time t, the origin's latest weather observation and the
    operational features (what had happened at the airport by t); the flight's own dep_delay,
    dep_time, arr_time and air_time never enter.

    `known_at` is when the data is read: the truth of a flight scheduled after it is missing (it
    has not flown), and so is a missing arrival less than `OUTCOME_KNOWN_AFTER` after the
    scheduled departure (it may still be in the air). `None` reads a closed historical record,
    every outcome final.
    """
    sched_dep = pd.to_datetime(
        dict(
            year=raw["year"],
            month=raw["month"],
            day=raw["day"],
            hour=raw["hour"],
            minute=raw["minute"],
        )
    )
    date = sched_dep.dt.strftime("%Y-%m-%d")
    table = pd.DataFrame(
        {
            KEY: date + "_" + raw["carrier"] + raw["flight"].astype(str) + "_" + raw["origin"],
            TIMESTAMP: sched_dep,
            TAILNUM: raw["tailnum"],
            "carrier": raw["carrier"].astype(str),
            "origin": raw["origin"].astype(str),
            "dest": raw["dest"].astype(str),
            "dep_hour": raw["hour"] + raw["minute"] / 60.0,
            "arr_hour": (raw["sched_arr_time"] // 100) + (raw["sched_arr_time"] % 100) / 60.0,
            "day_of_week": sched_dep.dt.dayofweek.astype(np.float64),
            "distance": raw["distance"].astype(np.float64),
            "plane_age": (raw["year"] - raw["plane_year"]).clip(lower=0),
            "seats": raw["seats"],
        }
    )
    # Scheduled load on the origin airport: from the timetable, known in advance.
    by_day = [raw["origin"], date]
    table["origin_day_departures"] = raw.groupby(by_day)["flight"].transform("size").astype(np.float64)
    table["origin_hour_departures"] = (
        raw.groupby(by_day + [raw["hour"]])["flight"].transform("size").astype(np.float64)
    )
    for column in WEATHER_FEATURES + OPERATIONAL_FEATURES:  # both as of t (source.load_window)
        table[column] = raw[column].astype(np.float64)
    table[LABEL] = truth(raw["arr_delay"], sched_dep, known_at)
    # A flight number can repeat on one day from one origin (a later leg): keep the first.
    table = table.drop_duplicates(KEY).sort_values([TIMESTAMP, KEY], kind="stable")
    return table[[KEY, TIMESTAMP, TAILNUM, *FEATURES, LABEL]].reset_index(drop=True)


def truth(arr_delay: pd.Series, sched_dep: pd.Series, known_at: datetime | None) -> pd.Series:
    """Late (1) / on time (0) where the outcome is known at `known_at`, missing (<NA>) elsewhere."""
    arrived = arr_delay.notna()
    late = (~arrived | (arr_delay >= LATE_MINUTES)).astype("Int64")
    if known_at is None:
        return late
    now = pd.Timestamp(known_at)
    now = now.tz_localize(None) if now.tzinfo is not None else now  # Flyte hands over UTC
    known = (arrived & (sched_dep <= now)) | (sched_dep + OUTCOME_KNOWN_AFTER <= now)
    return late.where(known.to_numpy(), pd.NA)
