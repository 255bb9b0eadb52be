"""The operational features offline: each definition on a constructed airport, and no leakage on
a real 2013 day (moving or changing any event after t changes no feature)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from usecases.flights.operational import (
    OPERATIONAL_FEATURES,
    departure_delay,
    departure_events,
    operational_features,
)
from usecases.flights.source import default_source, read_table

DAY = pd.Timestamp("2013-06-14")


def _events(rows: list[tuple]) -> pd.DataFrame:
    """(flight_id, origin, tailnum, scheduled "HH:MM", actual "HH:MM" or None) on DAY."""

    def stamp(clock):
        return pd.NaT if clock is None else DAY + pd.Timedelta(f"{clock}:00")

    events = pd.DataFrame(
        {
            "flight_id": [r[0] for r in rows],
            "origin": [r[1] for r in rows],
            "tailnum": [r[2] for r in rows],
            "sched_dep": pd.to_datetime([stamp(r[3]) for r in rows]),
            "actual_dep": pd.to_datetime([stamp(r[4]) for r in rows]),
        }
    )
    return events.assign(dep_delay=departure_delay(events["sched_dep"], events["actual_dep"]))


def _features_of(events: pd.DataFrame, flight_id: str, horizon: int = 60) -> dict:
    row = operational_features(events, events.loc[events["flight_id"] == flight_id], horizon)
    return {name: (None if np.isnan(v) else float(v)) for name, v in row.iloc[0].items()}


# The flight under test: F, from EWR at 12:00, plane N1 -> t = 11:00, recent window (09:00, 11:00].
AIRPORT = [
    ("F", "EWR", "N1", "12:00", "12:30"),
    ("a", "EWR", "N2", "09:30", "09:50"),  # departed at 09:50: recent, delay 20
    ("b", "EWR", "N3", "10:00", "11:00"),  # departed exactly at t: recent, delay 60
    ("c", "EWR", "N4", "10:30", "11:01"),  # departs one minute after t: backlog, not recent
    ("d", "EWR", "N5", "10:45", None),  # cancelled: backlog
    ("e", "EWR", "N6", "08:50", "09:00"),  # departed at t - 2 h exactly: outside (open on the left)
    ("g", "JFK", "N7", "10:00", "10:10"),  # another airport
    ("h", "EWR", "N8", "11:30", "11:40"),  # scheduled after t: not in the backlog window
    ("p1", "EWR", "N1", "06:00", "06:10"),  # the plane's first leg
    ("p2", "LGA", "N1", "08:00", "08:25"),  # its latest departure by t (from another NYC airport)
]


def test_recent_departures_count_and_mean_delay():
    features = _features_of(_events(AIRPORT), "F")
    assert features["origin_recent_departures"] == 2  # a and b
    assert features["origin_recent_dep_delay"] == 40.0  # (20 + 60) / 2


def test_backlog_counts_scheduled_flights_not_departed_by_t():
    # scheduled in (09:00, 11:00]: a, b (departed by t), c (after t), d (cancelled)
    assert _features_of(_events(AIRPORT), "F")["origin_backlog"] == 2


def test_previous_departure_of_the_same_plane_that_day():
    features = _features_of(_events(AIRPORT), "F")
    assert features["tail_prev_dep_delay"] == 25.0  # p2, 08:00 -> 08:25
    assert features["tail_prev_dep_minutes"] == 155.0  # 08:25 -> 11:00


def test_a_previous_leg_not_departed_by_t_is_not_known():
    late_leg = [r if r[0] != "p2" else ("p2", "LGA", "N1", "08:00", "11:15") for r in AIRPORT]
    features = _features_of(_events(late_leg), "F")
    assert features["tail_prev_dep_delay"] == 10.0  # p1: p2 had not departed by 11:00


def test_the_day_before_is_not_that_day():
    yesterday = _events([("p0", "EWR", "N1", "20:00", "20:05")])
    yesterday[["sched_dep", "actual_dep"]] -= pd.Timedelta(days=1)
    only = pd.concat([_events([AIRPORT[0]]), yesterday], ignore_index=True)
    features = _features_of(only, "F")
    assert features["tail_prev_dep_delay"] is None and features["tail_prev_dep_minutes"] is None


def test_a_flight_that_departed_before_its_own_t_never_sees_itself():
    early = _events([("F", "EWR", "N1", "12:00", "10:30")])  # departed 90 minutes early
    features = _features_of(early, "F")
    assert features["origin_recent_departures"] == 0 and features["origin_recent_dep_delay"] is None
    assert features["tail_prev_dep_delay"] is None


def test_no_tail_number_gives_no_previous_departure():
    events = _events([("F", "EWR", None, "12:00", None), ("x", "EWR", None, "09:30", "09:40")])
    features = _features_of(events, "F")
    assert features["tail_prev_dep_delay"] is None
    assert features["origin_recent_departures"] == 1


def test_the_horizon_moves_t():
    features = _features_of(_events(AIRPORT), "F", horizon=0)  # t = 12:00: (10:00, 12:00]
    assert features["origin_recent_departures"] == 3  # b, c, h
    assert features["origin_backlog"] == 2  # d (cancelled) and F itself, not gone at 12:00


def test_the_horizon_is_checked():
    with pytest.raises(ValueError, match=r"horizon_minutes must be in \[0, 1440\], got -5"):
        operational_features(_events(AIRPORT), _events(AIRPORT), -5)


@pytest.fixture(scope="module")
def real_day() -> pd.DataFrame:
    """Departure events of 2013-06-14 and the day before, from the package data."""
    flights = read_table(default_source(), "flights")
    flights = flights[(flights["month"] == 6) & flights["day"].isin([13, 14])]
    return departure_events(flights).reset_index(drop=True)


def _after(events: pd.DataFrame, at: pd.Timestamp, rng: np.random.Generator) -> pd.DataFrame:
    """`events` with every event after `at` moved or changed, staying after `at`: departures
    after it move (or the flight is cancelled), and flights scheduled after it that had not
    departed by then move in the timetable."""
    changed = events.copy()
    departs_later = changed["actual_dep"] > at
    shift = pd.to_timedelta(rng.integers(1, 600, len(changed)), unit="min")
    moved = at + shift
    changed.loc[departs_later, "actual_dep"] = moved[departs_later.to_numpy()]
    cancel = departs_later & (rng.random(len(changed)) < 0.3)
    changed.loc[cancel, "actual_dep"] = pd.NaT
    scheduled_later = (changed["sched_dep"] > at) & ~(changed["actual_dep"] <= at)
    resched = at + pd.to_timedelta(rng.integers(1, 600, len(changed)), unit="min")
    changed.loc[scheduled_later, "sched_dep"] = resched[scheduled_later.to_numpy()]
    return changed


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_event_after_t_changes_any_feature(real_day, seed):
    rng = np.random.default_rng(seed)
    today = real_day.loc[real_day["sched_dep"].dt.day == 14]
    targets = today.sample(40, random_state=seed)
    for _, flight in targets.iterrows():
        at = flight["sched_dep"] - pd.Timedelta(minutes=60)
        before = operational_features(real_day, targets.loc[[flight.name]])
        changed = _after(real_day, at, rng)
        # the flight itself keeps its schedule: its t is the question, not an event
        changed.loc[flight.name, "sched_dep"] = flight["sched_dep"]
        after = operational_features(changed, targets.loc[[flight.name]])
        pd.testing.assert_frame_equal(before, after, check_exact=True)


def test_a_change_at_or_before_t_does_change_features(real_day):
    """The leakage test can fail: the same comparison sees a change made before t."""
    today = real_day.loc[(real_day["sched_dep"].dt.day == 14) & (real_day["origin"] == "EWR")]
    flight = today.loc[today["sched_dep"].dt.hour == 15].iloc[:1]
    at = flight["sched_dep"].iloc[0] - pd.Timedelta(minutes=60)
    before = operational_features(real_day, flight)
    changed = real_day.copy()
    window = (changed["actual_dep"] <= at) & (changed["actual_dep"] > at - pd.Timedelta(hours=1))
    recent = (changed["origin"] == "EWR") & window
    assert recent.any()
    changed.loc[recent, "sched_dep"] -= pd.Timedelta(minutes=30)  # the same departures, 30 minutes later
    changed.loc[recent, "dep_delay"] += 30
    after = operational_features(changed, flight)
    assert not before[OPERATIONAL_FEATURES].equals(after[OPERATIONAL_FEATURES])


def test_events_of_source_flights_use_the_delay_not_the_wrapping_clock():
    flights = pd.DataFrame(
        dict(
            year=[2013],
            month=[6],
            day=[14],
            hour=[23],
            minute=[30],
            carrier=["UA"],
            flight=[7],
            origin=["EWR"],
            tailnum=["N1"],
            dep_delay=[45.0],
            dep_time=[15],
        )
    )
    event = departure_events(flights).iloc[0]
    assert event["flight_id"] == "2013-06-14_UA7_EWR"
    assert event["actual_dep"] == pd.Timestamp("2013-06-15 00:15")
