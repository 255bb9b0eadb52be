"""The operational features, their prediction time and the departure events they come from.

Every time-dependent feature of a flight is as of one prediction time
t = scheduled departure - `horizon_minutes`; only events at or before t are known then.
Times are whole minutes since 1970-01-01 of the airport's wall clock (the source's local times),
so that offline and online compare the same integers.
"""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np
import pandas as pd

HORIZON_MINUTES = 60  # an hour before departure: a passenger or an operations desk can still act
RECENT_MINUTES = 120  # the origin's recent past: the two hours before t

ORIGIN_RECENT_DEPARTURES = "origin_recent_departures"
ORIGIN_RECENT_DEP_DELAY = "origin_recent_dep_delay"
ORIGIN_BACKLOG = "origin_backlog"
TAIL_PREV_DEP_DELAY = "tail_prev_dep_delay"
TAIL_PREV_DEP_MINUTES = "tail_prev_dep_minutes"

OPERATIONAL_FEATURES = [
    ORIGIN_RECENT_DEPARTURES,
    ORIGIN_RECENT_DEP_DELAY,
    ORIGIN_BACKLOG,
    TAIL_PREV_DEP_DELAY,
    TAIL_PREV_DEP_MINUTES,
]
# What each one means, as of t (the README and the decks quote these).
DESCRIPTIONS = {
    ORIGIN_RECENT_DEPARTURES: "flights that departed the origin in (t - 2 h, t], scheduled before this one",
    ORIGIN_RECENT_DEP_DELAY: "their mean departure delay in minutes (missing when there were none)",
    ORIGIN_BACKLOG: "flights scheduled from the origin in (t - 2 h, t] that had not departed by t",
    TAIL_PREV_DEP_DELAY: "delay of the same plane's latest departure that day, if it had departed by t",
    TAIL_PREV_DEP_MINUTES: "minutes from that departure to t",
}

# Departure events: what an operations feed gives. `actual_dep` is missing until the flight
# departs (a timetable entry), and stays missing for a cancelled flight.
EVENT_KEY = "flight_id"
EVENT_COLUMNS = [EVENT_KEY, "origin", "tailnum", "sched_dep", "actual_dep"]

_EPOCH = np.datetime64("1970-01-01T00:00", "m")


def minutes(stamps: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Wall-clock timestamps as whole minutes since 1970 (float: NaN where missing)."""
    values = pd.DatetimeIndex(stamps).to_numpy().astype("datetime64[m]")
    out = (values - _EPOCH).astype(np.int64).astype(np.float64)
    out[np.isnat(values)] = np.nan
    return out


def check_horizon(horizon_minutes: int) -> None:
    if not 0 <= horizon_minutes <= 24 * 60:
        raise ValueError(f"horizon_minutes must be in [0, 1440], got {horizon_minutes}")


_EPOCH_CLOCK = datetime(1970, 1, 1)
_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")


def minute_of(text: str) -> int:
    """A local wall-clock time (ISO 8601, 'YYYY-MM-DDTHH:MM', seconds allowed and dropped) as
    whole minutes since 1970, the unit of `minutes`; ValueError for anything else, offsets included
    (the airport's wall clock is the clock of the data)."""
    if not isinstance(text, str) or not _LOCAL_TIME.fullmatch(text):
        raise ValueError("a local time like '2013-06-14T07:05'")
    moment = datetime.fromisoformat(text)  # the pattern leaves no offset; this checks the calendar
    return int((moment - _EPOCH_CLOCK).total_seconds() // 60)
