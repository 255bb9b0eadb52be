"""The online store on a real redis-server (Debian's, on loopback): a real 2013 day of every use
case replayed into it gives every row exactly the offline values of every declared feature as of
its t; down, empty or behind it gives missing features and says why, without waiting."""

from __future__ import annotations

import socket
import subprocess
import time

import numpy as np
import pandas as pd
import pytest

import usecases
from operational.definitions import minutes
from operational.offline import point_in_time
from operational.store import STORE_BEHIND, STORE_DOWN, Layout, Lookup, OnlineStore
from tests.support.processes import stop_group
from tests.support.system_tools import start_redis

DAY = pd.Timestamp("2013-06-14")
ONLINE_CASES = [name for name in usecases.available() if usecases.load(name).online is not None]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    process = start_redis(tmp_path_factory.mktemp("redis"), port)
    yield process, port
    stop_group(process)


@pytest.fixture
def store(redis_server) -> OnlineStore:
    online = OnlineStore.from_url(f"redis://127.0.0.1:{redis_server[1]}/0")
    online.client.flushdb()
    return online


class Replay:
    """One use case's events of DAY and the day before (DAY's first rows look back), its layout,
    and DAY's rows with their lookups' input."""

    def __init__(self, name: str):
        self.case = usecases.load(name)
        online = self.case.online
        assert online is not None and online.events is not None
        self.online = online
        self.layout = online.layout()
        self.events = online.events("", DAY - pd.Timedelta(days=1), DAY + pd.Timedelta(days=1))
        self.events = self.events.reset_index(drop=True)
        self.rows = self.events.loc[self.events[online.time].dt.normalize() == DAY]

    def keys(self, rows: pd.DataFrame | None = None) -> list[tuple]:
        rows = self.rows if rows is None else rows
        entities = [[v if isinstance(v, str) else None for v in rows[e]] for e in self.layout.entities]
        return list(zip(*entities, minutes(rows[self.online.time]).astype(int).tolist(), strict=True))

    def offline(self) -> pd.DataFrame:
        return self.online.columns(self.events, self.rows)

    def online_values(self, store: OnlineStore) -> pd.DataFrame:
        lookups = store.lookup(self.layout, self.keys())
        assert {lookup.unavailable for lookup in lookups} == {None}
        return pd.DataFrame([lookup.values for lookup in lookups], index=self.rows.index, dtype=np.float64)


@pytest.fixture(scope="module")
def replays() -> dict[str, Replay]:
    return {name: Replay(name) for name in ONLINE_CASES}


@pytest.fixture(scope="module")
def flights(replays) -> Replay:
    return replays["flights"]


def _at(replay: Replay, origin: str, hour: int, tail: str | None = None) -> tuple:
    """A lookup's input for a row of `origin` at DAY `hour`:00 (flights' entity order)."""
    own = int(minutes(pd.Series([DAY + pd.Timedelta(hours=hour)]))[0])
    return (origin, tail, own)


def test_every_use_case_with_online_features_gives_a_replayable_stream():
    """The parity test below replays each one's events: a use case without them is not covered."""
    assert {"flights", "visibility"} <= set(ONLINE_CASES)
    for name in ONLINE_CASES:
        assert usecases.load(name).online.events is not None, f"{name}: online.events is None"


@pytest.mark.parametrize("name", ONLINE_CASES)
def test_a_replayed_day_gives_every_row_its_offline_value_of_every_declared_feature(store, replays, name):
    replay = replays[name]
    written = store.ingest(replay.layout, replay.events, complete_until=DAY + pd.Timedelta(days=1))
    assert written == len(replay.events)
    offline = replay.offline()
    online = replay.online_values(store)
    assert len(offline) > 60 and list(offline.columns) == list(replay.online.features)
    pd.testing.assert_frame_equal(online, offline, check_exact=True)
    # the day is not trivially empty: every feature takes several values
    assert all(offline[name].nunique() > 3 for name in replay.online.features), offline.nunique()


@pytest.mark.parametrize("name", ONLINE_CASES)
def test_ingestion_is_idempotent_and_order_free(store, replays, name):
    replay = replays[name]
    shuffled = replay.events.sample(frac=1.0, random_state=3)
    store.ingest(replay.layout, shuffled.iloc[: len(shuffled) // 2])
    store.ingest(replay.layout, shuffled)  # half of it again, then the rest
    store.ingest(replay.layout, replay.events.iloc[:0], complete_until=DAY + pd.Timedelta(days=1))
    pd.testing.assert_frame_equal(replay.online_values(store), replay.offline(), check_exact=True)


def test_a_lookup_answers_a_few_values_however_busy_the_airport(store, flights):
    """The features are computed in Redis: the reply carries a few numbers a row, not the members
    of the origin's last two hours for the client to parse."""
    store.ingest(flights.layout, flights.events, complete_until=DAY + pd.Timedelta(days=1))
    evening = flights.rows.loc[(flights.rows["origin"] == "EWR") & (flights.rows["sched_dep"].dt.hour == 18)]
    tail = next(t for t in evening["tailnum"] if isinstance(t, str))
    row = _at(flights, "EWR", 18, tail)
    store.lookup(flights.layout, [row])  # the lookups' connection made (its handshake is not a lookup's)
    store.client.config_resetstat()  # its own "+OK" is the one other reply counted below
    (lookup,) = store.lookup(flights.layout, [row])
    sent = store.client.info("stats")["total_net_output_bytes"]
    assert lookup.unavailable is None and lookup.values["origin_recent_departures"] > 20
    assert sent < 120, f"{sent} bytes for one row's lookup"


def test_a_store_that_lost_its_scripts_still_answers(store, flights):
    store.ingest(flights.layout, flights.events, complete_until=DAY + pd.Timedelta(days=1))
    noon = [_at(flights, "EWR", 12)]
    known = store.lookup(flights.layout, noon)
    store.client.script_flush()  # as after a restart: the next lookup meets NOSCRIPT
    assert store.lookup(flights.layout, noon) == known and known[0].unavailable is None
    store.client.script_flush()  # and a request of many rows, pipelined, too
    many = store.lookup(flights.layout, flights.keys()[:200])
    assert len(many) == 200 and {lookup.unavailable for lookup in many} == {None}


def test_an_empty_store_gives_missing_features_and_says_so(store, flights):
    (lookup,) = store.lookup(flights.layout, [_at(flights, "EWR", 9, "N14228")])
    assert lookup.unavailable == STORE_BEHIND
    assert lookup.missing == list(flights.online.features)


def test_a_store_behind_t_gives_missing_features(store, flights):
    noon = DAY + pd.Timedelta(hours=12)
    events = flights.events
    store.ingest(flights.layout, events.loc[events["actual_dep"] <= noon])  # the feed has reached noon
    assert store.lookup(flights.layout, [_at(flights, "EWR", 12)])[0].unavailable is None  # t = 11:00
    (lookup,) = store.lookup(flights.layout, [_at(flights, "EWR", 18)])  # t = 17:00: not yet
    assert lookup.unavailable == STORE_BEHIND and lookup.missing == list(flights.online.features)


def test_a_timetable_alone_does_not_move_the_watermark(store, flights):
    store.ingest(flights.layout, flights.events.assign(actual_dep=pd.NaT, dep_delay=np.nan))
    assert store.client.get(flights.layout.watermark_key("EWR")) is None
    assert store.client.dbsize() > 0  # the timetable itself is written


def test_old_events_are_trimmed_behind_the_newest(store, flights):
    layout, events = flights.layout, flights.events
    store.ingest(layout, events)
    old = events.assign(
        sched_dep=events["sched_dep"] - pd.Timedelta(days=10),
        actual_dep=events["actual_dep"] - pd.Timedelta(days=10),
        flight_id="old" + events["flight_id"],
    )
    partition_keys = [k for k in store.client.scan_iter(f"{layout.prefix}:*:EWR") if "watermark" not in k]
    before = {k: store.client.zcard(k) for k in partition_keys}
    assert len(before) == 2 and all(before.values())
    store.ingest(layout, old)  # written, then trimmed at once: ten days behind the newest event
    assert {k: store.client.zcard(k) for k in partition_keys} == before
    expiring = [k for k in store.client.scan_iter(f"{layout.prefix}:*") if layout.partition_of(k) is None]
    assert expiring and all(store.client.ttl(k) > 0 for k in expiring if "watermark" not in k)


def test_an_event_key_with_a_control_character_is_refused_naming_it(store, flights):
    bad = flights.events.head(3).assign(flight_id=["a", "b\x1fc", "d"])
    with pytest.raises(
        ValueError, match=r"event key 'flight_id' holds control characters \(first: 'b\\x1fc'\)"
    ):
        store.ingest(flights.layout, bad)


def test_events_lacking_a_declared_column_are_refused_naming_it(store, flights):
    with pytest.raises(ValueError, match=r"the events lack the column\(s\) \['dep_delay'\]"):
        store.ingest(flights.layout, flights.events.drop(columns="dep_delay"))


def test_a_stopped_store_gives_missing_features_at_once_then_recovers(tmp_path, flights):
    port = _free_port()
    process = start_redis(tmp_path, port)
    store = OnlineStore.from_url(f"redis://127.0.0.1:{port}/0", retry_after_seconds=0.2)
    store.ingest(flights.layout, flights.events, complete_until=DAY + pd.Timedelta(days=1))
    noon = [_at(flights, "EWR", 12)]
    assert store.lookup(flights.layout, noon)[0].unavailable is None
    stop_group(process)
    started = time.perf_counter()
    lookups = [store.lookup(flights.layout, noon)[0] for _ in range(50)]
    assert time.perf_counter() - started < 1.0  # no connect timeout per request
    assert {lookup.unavailable for lookup in lookups} == {STORE_DOWN}
    assert lookups[0].missing == list(flights.online.features)
    process = start_redis(tmp_path, port)  # back, empty: behind until the feed refills it
    try:
        time.sleep(0.25)
        assert store.lookup(flights.layout, noon)[0].unavailable == STORE_BEHIND
        store.ingest(flights.layout, flights.events, complete_until=DAY + pd.Timedelta(days=1))
        assert store.lookup(flights.layout, noon)[0].unavailable is None
    finally:
        stop_group(process)


def test_a_restarted_store_answers_the_next_lookup(tmp_path, flights):
    """The lookups' own connection outlives the server it was made to: the first lookup after a
    restart makes a new one instead of reporting the store down."""
    port = _free_port()
    process = start_redis(tmp_path, port)
    try:
        store = OnlineStore.from_url(f"redis://127.0.0.1:{port}/0")
        store.ingest(flights.layout, flights.events, complete_until=DAY + pd.Timedelta(days=1))
        noon = [_at(flights, "EWR", 12)]
        known = store.lookup(flights.layout, noon)
        stop_group(process)
        process = start_redis(tmp_path, port)  # empty, and without the script
        store.ingest(flights.layout, flights.events, complete_until=DAY + pd.Timedelta(days=1))
        assert store.lookup(flights.layout, noon) == known and known[0].unavailable is None
    finally:
        stop_group(process)


def _lookups_in_a_child(store: OnlineStore, layout: Layout, rows: list, answers) -> None:
    answers.put([store.lookup(layout, [row])[0] for row in rows])


def test_a_forked_worker_does_not_share_its_parents_connection(store, flights):
    """Gunicorn forks its workers: a child looking up at the same time as its parent gets its
    own answers, not replies meant for the other process on a shared socket."""
    import multiprocessing

    store.ingest(flights.layout, flights.events, complete_until=DAY + pd.Timedelta(days=1))
    rows = [(origin, None, own) for origin, _, own in flights.keys()[:300]]
    expected: list[Lookup] = [store.lookup(flights.layout, [row])[0] for row in rows]  # connection made
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    child = context.Process(target=_lookups_in_a_child, args=(store, flights.layout, rows[::-1], answers))
    child.start()
    mine = [store.lookup(flights.layout, [row])[0] for row in rows]
    theirs = answers.get(timeout=60)
    child.join(timeout=30)
    assert child.exitcode == 0
    assert mine == expected and theirs == expected[::-1]
    assert len({lookup.values["origin_recent_departures"] for lookup in expected}) > 10


def test_the_redis_launcher_binds_loopback_only(redis_server):
    info = OnlineStore.from_url(f"redis://127.0.0.1:{redis_server[1]}/0").client.config_get("bind")
    assert info == {"bind": "127.0.0.1"}
    assert OnlineStore.from_url(f"redis://127.0.0.1:{redis_server[1]}/0").client.config_get("save") == {
        "save": ""
    }


@pytest.mark.parametrize("name", ONLINE_CASES)
def test_the_feed_command_fills_the_store_for_a_day(store, redis_server, replays, name):
    import subprocess as sp
    import sys

    from tests.support.processes import REPO

    replay = replays[name]
    url = f"redis://127.0.0.1:{redis_server[1]}/0"
    env = {**__import__("os").environ, usecases.ENV: name}

    def feed(day: str) -> sp.CompletedProcess:
        command = [sys.executable, "-m", "scripts.feed_events", "--day", day, "--url", url]
        return sp.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, env=env)

    done = feed("2013-06-14")
    assert done.returncode == 0, done.stderr
    assert f"events into {url}" in done.stderr
    pd.testing.assert_frame_equal(replay.online_values(store), replay.offline(), check_exact=True)
    refused = feed("2014-06-14")
    assert refused.returncode != 0 and "the source has no events on 2014-06-14" in refused.stderr


def _visits() -> pd.DataFrame:
    """A queue at two counters over two days: arrivals, their service (or none), a wait value
    with fractions and a missing one, ties in time."""
    rng = np.random.default_rng(7)
    n = 400
    arrived = (
        DAY - pd.Timedelta(days=1) + pd.to_timedelta(rng.integers(0, 2 * 24 * 60, n) // 5 * 5, unit="min")
    )
    served = arrived + pd.to_timedelta(rng.integers(-5, 90, n), unit="min")
    return pd.DataFrame(
        {
            "visit": [f"v{i}" for i in range(n)],
            "counter": rng.choice(["A", "B"], n),
            "arrived": arrived,
            "booked": arrived - pd.to_timedelta(rng.integers(0, 3, n) * 10, unit="min"),
            "served": served.where(rng.random(n) > 0.2),
            "wait": np.where(rng.random(n) > 0.1, rng.normal(20, 15, n).round(3), np.nan),
        }
    )


def test_every_aggregation_and_rule_gives_the_offline_value(store, redis_server):
    """Each aggregation under each rule, on a constructed stream: the store's generic lookup and the
    offline columns agree exactly (floats included)."""
    from operational.declarations import AGGREGATIONS, OF_VALUE, EventStream, OnlineFeature

    rules = {
        "window": dict(window_minutes=90),
        "until": dict(window_minutes=90, until="served"),
        "before": dict(window_minutes=240, before_own="booked"),
        "day": dict(same_day="booked", before_own="booked"),
    }
    features = [
        OnlineFeature(
            f"{aggregation}_{rule}",
            entity="counter",
            time="arrived",
            aggregation=aggregation,
            value="wait" if aggregation in OF_VALUE else None,
            **options,
        )
        for aggregation in AGGREGATIONS
        for rule, options in rules.items()
    ]
    visits = _visits()
    layout = Layout(features, EventStream("visit", "served", "counter"), horizon_minutes=30)
    # 28 features a row, in scripts of 64 rows: more than a served lookup's 50 ms on a busy machine
    store = OnlineStore.from_url(f"redis://127.0.0.1:{redis_server[1]}/0", timeout_seconds=5)

    store.ingest(layout, visits, complete_until=DAY + pd.Timedelta(days=1))
    rows = visits.loc[visits["arrived"] >= DAY].rename(columns={"arrived": "time"})
    offline = point_in_time(features, visits, rows, "time", 30, "visit")
    lookups = store.lookup(layout, list(zip(rows["counter"], minutes(rows["time"]).astype(int), strict=True)))
    assert {lookup.unavailable for lookup in lookups} == {None}
    online = pd.DataFrame([lookup.values for lookup in lookups], index=rows.index, dtype=np.float64)
    pd.testing.assert_frame_equal(online, offline, check_exact=True)
    assert all(offline[f.name].nunique() > 3 for f in features), offline.nunique()
