"""Declared online features offline (`operational.offline.point_in_time`): each aggregation and
rule on a constructed stream, and no leakage for every declared feature of every use case on a real
2013 day: moving or changing every event after t changes no feature (and a change before t does)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import usecases
from operational.declarations import EventStream, OnlineFeature
from operational.offline import point_in_time

DAY = pd.Timestamp("2013-06-14")
ONLINE_CASES = [name for name in usecases.available() if usecases.load(name).online is not None]


def _stamp(clock: str | None) -> pd.Timestamp:
    return pd.NaT if clock is None else DAY + pd.Timedelta(f"{clock}:00")


# A queue at two counters: each visit arrives, may be served, and has a wait value.
VISITS = pd.DataFrame(
    {
        "visit": ["v1", "v2", "v3", "v4", "v5", "v6"],
        "counter": ["A", "A", "A", "A", "B", "A"],
        "arrived": [_stamp(c) for c in ("09:10", "09:40", "10:00", "10:30", "10:00", "11:30")],
        "served": [_stamp(c) for c in ("09:20", None, "10:50", "10:30", "10:05", "11:35")],
        "wait": [10.5, np.nan, 50.0, 0.25, 5.0, 5.0],
    }
)
STREAM = EventStream(key="visit", watermark="served", partition="counter")


def _feature(aggregation: str, **rules) -> OnlineFeature:
    value = "wait" if aggregation in ("sum", "mean", "max", "min", "last") else None
    fields = dict(entity="counter", time="arrived", aggregation=aggregation, value=value, window_minutes=120)
    return OnlineFeature(aggregation, **{**fields, **rules})


def _at_eleven(*features: OnlineFeature, horizon: int = 0, rows: pd.DataFrame | None = None) -> dict:
    """Each feature for a row at counter A at 11:00 (t = 11:00 - horizon)."""
    rows = pd.DataFrame({"counter": ["A"], "time": [_stamp("11:00")]}) if rows is None else rows
    out = point_in_time(features, VISITS, rows, "time", horizon, "visit")
    return {name: (None if np.isnan(v) else float(v)) for name, v in out.iloc[0].items()}


def test_each_aggregation_over_the_window():
    # at counter A, arrived in (09:00, 11:00]: v1, v2 (no wait), v3, v4
    got = _at_eleven(
        *(_feature(a) for a in ("count", "sum", "mean", "max", "min", "last", "time_since_last"))
    )
    assert got == {
        "count": 4.0,
        "sum": 60.75,  # the missing wait is skipped
        "mean": 20.25,
        "max": 50.0,
        "min": 0.25,
        "last": 0.25,  # v4, the latest arrival with a wait
        "time_since_last": 30.0,  # v4 arrived at 10:30
    }


def test_the_window_is_open_on_the_left_and_closed_at_t():
    assert _at_eleven(_feature("count", window_minutes=60))["count"] == 1  # (10:00, 11:00]: v4
    assert _at_eleven(_feature("count", window_minutes=61))["count"] == 2  # (09:59, 11:00]: v3, v4


def test_the_horizon_moves_t():
    assert _at_eleven(_feature("count"), horizon=60)["count"] == 3  # (08:00, 10:00]: v1, v2, v3
    assert _at_eleven(_feature("time_since_last"), horizon=45)["time_since_last"] == 15.0  # v3 at 10:00


def test_until_keeps_the_events_still_open_at_t():
    # arrived in (09:00, 11:00] and not served by 11:00: v2 (never), none else (v3 served 10:50)
    assert _at_eleven(_feature("count", until="served"))["count"] == 1
    assert _at_eleven(_feature("count", until="served"), horizon=15)["count"] == 2  # t 10:45: v2, v3


def test_before_own_keeps_the_events_ordered_before_the_row():
    rows = pd.DataFrame({"counter": ["A"], "time": [_stamp("10:00")]})
    visits = VISITS.assign(booked=VISITS["arrived"])
    feature = _feature("count", before_own="booked")
    out = point_in_time([feature], visits, rows, "time", 0, "visit")
    assert out.iloc[0, 0] == 2  # v1, v2: v3 was booked at 10:00, not before the row's own 10:00


def test_same_day_scopes_the_entity_to_the_rows_day():
    yesterday = VISITS.assign(arrived=VISITS["arrived"] - pd.Timedelta(days=1), visit=VISITS["visit"] + "y")
    visits = pd.concat([VISITS, yesterday], ignore_index=True)
    feature = _feature("count", window_minutes=None, same_day="arrived")
    rows = pd.DataFrame({"counter": ["A"], "time": [_stamp("11:00")]})
    assert point_in_time([feature], visits, rows, "time", 0, "visit").iloc[0, 0] == 4


def test_a_missing_entity_or_time_gives_missing_features():
    rows = pd.DataFrame({"counter": [None, "A", "C"], "time": [_stamp("11:00"), pd.NaT, _stamp("11:00")]})
    out = point_in_time([_feature("count"), _feature("max")], VISITS, rows, "time", 0, "visit")
    assert out["count"].isna().tolist() == [True, True, False] and out["count"].iloc[2] == 0
    assert out["max"].isna().all()  # counter C has no visit


def test_last_breaks_ties_in_time_by_the_ordering_time_then_the_key():
    tied = pd.DataFrame(
        {
            "visit": ["b", "a", "c"],
            "counter": ["A"] * 3,
            "arrived": [_stamp("10:00")] * 3,
            "booked": [_stamp("09:00"), _stamp("09:00"), _stamp("08:00")],
            "wait": [1.0, 2.0, 3.0],
        }
    )
    rows = pd.DataFrame({"counter": ["A"], "time": [_stamp("11:00")]})
    last = _feature("last", before_own="booked")
    assert point_in_time([last], tied, rows, "time", 0, "visit").iloc[0, 0] == 1.0  # "b" after "a"


# ---- no leakage, for every declared feature of every use case --------------------------------------


@pytest.fixture(scope="module")
def real_days() -> dict:
    out = {}
    for name in ONLINE_CASES:
        online = usecases.load(name).online
        # the day after too: every row of DAY has events after its t to move
        events = online.events("", DAY - pd.Timedelta(days=1), DAY + pd.Timedelta(days=2))
        out[name] = (online, events.reset_index(drop=True))
    return out


def _time_columns(online) -> list[str]:
    named = {c for f in online.declared for c in (f.time, f.before_own, f.same_day, f.until) if c}
    return sorted(named | {online.stream.watermark})


def _value_columns(online) -> list[str]:
    return sorted({f.value for f in online.declared if f.value})


def _after(online, events: pd.DataFrame, at: pd.Timestamp, rng: np.random.Generator) -> pd.DataFrame:
    """`events` with every event after `at` moved and changed, staying after `at`: an event whose
    watermark time (when the feed delivers it) is after `at` or missing has each of its times
    after `at` moved to another time after `at` (its watermark time may go missing: cancelled),
    and its values changed; what it had told by `at` (a time at or before it) stays."""
    changed = events.copy()
    mark = changed[online.stream.watermark]
    later = ~(mark <= at)
    for column in _time_columns(online):
        after = later & (changed[column] > at)
        moved = at + pd.to_timedelta(rng.integers(1, 600, len(changed)), unit="min")
        changed.loc[after, column] = moved[after.to_numpy()]
    gone = later & (rng.random(len(changed)) < 0.3)
    changed.loc[gone, online.stream.watermark] = pd.NaT
    for column in _value_columns(online):
        noise = rng.normal(0, 50, len(changed))
        changed.loc[later, column] = changed.loc[later, column] + noise[later.to_numpy()]
    return changed


@pytest.mark.parametrize("name", ONLINE_CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_no_event_after_t_changes_any_declared_feature(real_days, name, seed):
    online, events = real_days[name]
    rng = np.random.default_rng(seed)
    today = events.loc[events[online.time].dt.normalize() == DAY]
    targets = today.sample(30, random_state=seed)
    changed_any = 0
    for index, row in targets.iterrows():
        at = row[online.time] - pd.Timedelta(minutes=online.horizon_minutes)
        before = online.columns(events, targets.loc[[index]])
        changed = _after(online, events, at, rng)
        changed_any += int(not changed.equals(events))
        after = online.columns(changed, targets.loc[[index]])
        pd.testing.assert_frame_equal(before, after, check_exact=True)
    assert changed_any == len(targets)  # every target saw its future change


@pytest.mark.parametrize("name", ONLINE_CASES)
def test_a_change_to_the_events_before_t_does_change_every_declared_feature(real_days, name):
    """The leakage test can fail: the same comparison sees each feature move when the events move
    (every time 37 minutes earlier, every value changed)."""
    online, events = real_days[name]
    today = events.loc[events[online.time].dt.normalize() == DAY]
    rows = today.sample(min(200, len(today)), random_state=0)
    before = online.columns(events, rows)
    changed = events.copy()
    for column in _time_columns(online):
        changed[column] = changed[column] - pd.Timedelta(minutes=37)
    for column in _value_columns(online):
        changed[column] = changed[column] * 1.5 + 1
    after = online.columns(changed, rows)
    for feature in online.features:
        assert not before[feature].equals(after[feature]), feature


def test_a_store_layout_that_cannot_hold_the_declarations_is_refused_naming_them():
    from operational.declarations import DeclarationError
    from operational.store import Layout

    visits = VISITS.assign(a=1.0, b=2.0, c=3.0)
    assert set(visits.columns) >= {"a", "b", "c"}
    many = [_feature("max", value=column, window_minutes=60) for column in ("wait", "a", "b", "c")]
    many = [OnlineFeature(**{**f.to_dict(), "name": f"max_{f.value}"}) for f in many]
    with pytest.raises(
        DeclarationError,
        match=r"online features \['max_wait', 'max_a', 'max_b', 'max_c'\] read 4 value and until columns "
        r"\['wait', 'a', 'b', 'c'\] of the same events: the store keeps at most 3",
    ):
        Layout(many, STREAM, 0)
    assert Layout(many[:3], STREAM, 0).names == ("max_wait", "max_a", "max_b")
