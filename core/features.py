"""Feature table and time split: plain pandas, nothing known only after departure."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import numpy as np
import pandas as pd

from core.schemas import FEATURES, KEY, LABEL, TAILNUM, TIMESTAMP, WEATHER_FEATURES
from operational.definitions import OPERATIONAL_FEATURES

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
    for column in WEATHER_FEATURES + OPERATIONAL_FEATURES:  # both as of t (core.source.load_window)
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
    now = naive(known_at)
    known = (arrived & (sched_dep <= now)) | (sched_dep + OUTCOME_KNOWN_AFTER <= now)
    return late.where(known.to_numpy(), pd.NA)


def naive(moment: datetime) -> pd.Timestamp:
    """Flyte hands datetimes over in UTC; the flights' times are local wall-clock times."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


class Window(NamedTuple):
    train_start: datetime
    holdout_start: datetime
    end: datetime


# The start of an expanding window: every flight the source holds before the holdout.
EVERY_KNOWN_MONTH = datetime(1900, 1, 1)


def month_window(as_of: datetime, train_months: int, holdout_months: int) -> Window:
    """Holdout: the `holdout_months` before `as_of`'s date; training: the `train_months` before
    that (a sliding window), or every month the source holds before the holdout when
    `train_months` is 0 (an expanding window). A mid-month `as_of` (a retrain monitoring
    triggered) cuts mid-month: the data up to that day, not the months before the 1st."""
    if train_months < 0 or holdout_months < 1:
        raise ValueError(
            f"train_months must be 0 (every known month) or more, holdout_months 1 or more: "
            f"got {train_months} and {holdout_months}"
        )
    end = naive(as_of).normalize()
    holdout_start = end - pd.DateOffset(months=holdout_months)
    if train_months == 0:
        train_start = pd.Timestamp(EVERY_KNOWN_MONTH)
    else:
        train_start = holdout_start - pd.DateOffset(months=train_months)
    return Window(train_start.to_pydatetime(), holdout_start.to_pydatetime(), end.to_pydatetime())


def recency_weights(sched_dep: pd.Series, half_life_months: float) -> np.ndarray | None:
    """Sample weights that halve every `half_life_months` (30.44-day months) of age before the
    latest flight of the frame; None (every row weighs the same) when the half-life is 0."""
    if half_life_months <= 0:
        return None
    times = pd.to_datetime(sched_dep)
    age_months = (times.max() - times).dt.total_seconds().to_numpy() / (30.44 * 86400)
    return np.power(0.5, age_months / half_life_months)


def split_by_time(table: pd.DataFrame, holdout_start: datetime) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows before `holdout_start` train; rows from it on are the holdout; only rows whose truth
    is known enter either. Both must be non-empty."""
    table = table.loc[table[LABEL].notna()]
    is_holdout = table[TIMESTAMP] >= naive(holdout_start)
    train, holdout = table.loc[~is_holdout], table.loc[is_holdout]
    for name, part in (("train", train), ("holdout", holdout)):
        if part.empty:
            raise ValueError(f"the {name} split is empty: holdout starts {holdout_start:%Y-%m-%d}")
    return train.reset_index(drop=True), holdout.reset_index(drop=True)
