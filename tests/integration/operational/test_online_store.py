"""The online store on a real redis-server (Debian's, on loopback): a real 2013 day replayed into
it gives every flight exactly the offline features as of its t; down, empty or behind it gives
missing features and says why, without waiting."""

from __future__ import annotations

import socket
import subprocess
import time

import numpy as np
import pandas as pd
import pytest

from operational.definitions import minutes
from operational.store import STORE_BEHIND, STORE_DOWN, OnlineStore
from tests.support.processes import stop_group
from tests.support.system_tools import start_redis
from usecases.flights.operational import OPERATIONAL_FEATURES, departure_events, operational_features
from usecases.flights.source import default_source, read_table

DAY = pd.Timestamp("2013-06-14")


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


@pytest.fixture(scope="module")
def june_events() -> pd.DataFrame:
    """The departure events of 2013-06-14 and of the day before (its first flights look back)."""
    flights = read_table(default_source(), "flights")
    flights = flights[(flights["month"] == 6) & flights["day"].isin([13, 14])]
    return departure_events(flights).reset_index(drop=True)


def _offline_and_online(store: OnlineStore, events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    today = events.loc[events["sched_dep"].dt.normalize() == DAY]
    offline = operational_features(events, today)
    lookups = store.features_many(
        [
            (origin, tail if isinstance(tail, str) else None, int(sched))
            for origin, tail, sched in zip(
                today["origin"], today["tailnum"], minutes(today["sched_dep"]), strict=True
            )
        ]
    )
    assert {lookup.unavailable for lookup in lookups} == {None}
    online = pd.DataFrame([lookup.values for lookup in lookups], index=today.index, dtype=np.float64)
    return offline, online[OPERATIONAL_FEATURES]


def test_a_replayed_day_gives_every_flight_its_offline_features(store, june_events):
    written = store.ingest(june_events, complete_until=DAY + pd.Timedelta(days=1))
    assert written == len(june_events)
    offline, online = _offline_and_online(store, june_events)
    assert len(offline) > 900
    pd.testing.assert_frame_equal(online, offline, check_exact=True)
    # the day is not trivially empty: every feature takes many values
    assert all(offline[name].nunique() > 5 for name in OPERATIONAL_FEATURES)


def test_ingestion_is_idempotent_and_order_free(store, june_events):
    shuffled = june_events.sample(frac=1.0, random_state=3)
    store.ingest(shuffled.iloc[: len(shuffled) // 2])
    store.ingest(shuffled)  # half of it again, then the rest
    store.ingest(june_events.iloc[:0], complete_until=DAY + pd.Timedelta(days=1))
    offline, online = _offline_and_online(store, june_events)
    pd.testing.assert_frame_equal(online, offline, check_exact=True)


def test_a_lookup_answers_a_few_integers_however_busy_the_airport(store, june_events):
    """The features are computed in Redis: the reply carries six integers a flight, not the
    members of the origin's last two hours for the client to parse."""
    store.ingest(june_events, complete_until=DAY + pd.Timedelta(days=1))
    evening = june_events.loc[
        (june_events["origin"] == "EWR") & (june_events["sched_dep"] == DAY + pd.Timedelta(hours=18))
    ]
    tail = next(t for t in evening["tailnum"] if isinstance(t, str))
    flight = ("EWR", tail, int(minutes(pd.Series([DAY + pd.Timedelta(hours=18)]))[0]))
    store.features(*flight)  # the lookups' connection made (its handshake is not a lookup's)
    store.client.config_resetstat()  # its own "+OK" is the one other reply counted below
    lookup = store.features(*flight)
    sent = store.client.info("stats")["total_net_output_bytes"]
    assert lookup.unavailable is None and lookup.values["origin_recent_departures"] > 20
    assert sent < 80, f"{sent} bytes for one flight's lookup"


def test_a_store_that_lost_its_scripts_still_answers(store, june_events):
    store.ingest(june_events, complete_until=DAY + pd.Timedelta(days=1))
    noon = int(minutes(pd.Series([DAY + pd.Timedelta(hours=12)]))[0])
    known = store.features("EWR", None, noon)
    store.client.script_flush()  # as after a restart: the next lookup meets NOSCRIPT
    assert store.features("EWR", None, noon) == known and known.unavailable is None


def test_an_empty_store_gives_missing_features_and_says_so(store):
    lookup = store.features("EWR", "N14228", int(minutes(pd.Series([DAY + pd.Timedelta(hours=9)]))[0]))
    assert lookup.unavailable == STORE_BEHIND
    assert lookup.missing == OPERATIONAL_FEATURES


def test_a_store_behind_t_gives_missing_features(store, june_events):
    noon = DAY + pd.Timedelta(hours=12)
    store.ingest(june_events.loc[june_events["actual_dep"] <= noon])  # the feed has reached noon
    at_eleven = int(minutes(pd.Series([noon]))[0])  # t = 11:00 for a 12:00 departure: known
    assert store.features("EWR", None, at_eleven).unavailable is None
    evening = int(minutes(pd.Series([DAY + pd.Timedelta(hours=18)]))[0])  # t = 17:00: not yet
    lookup = store.features("EWR", None, evening)
    assert lookup.unavailable == STORE_BEHIND and lookup.missing == OPERATIONAL_FEATURES


def test_a_timetable_alone_does_not_move_the_watermark(store, june_events):
    store.ingest(june_events.assign(actual_dep=pd.NaT))
    assert store.client.get("ops:EWR:complete") is None


def test_old_events_are_trimmed_behind_the_newest(store, june_events):
    store.ingest(june_events)
    old = june_events.assign(
        sched_dep=june_events["sched_dep"] - pd.Timedelta(days=10),
        actual_dep=june_events["actual_dep"] - pd.Timedelta(days=10),
        flight_id="old" + june_events["flight_id"],
    )
    before = store.client.zcard("ops:EWR:sched")
    store.ingest(old)  # written, then trimmed at once: ten days behind the newest event
    assert store.client.zcard("ops:EWR:sched") == before
    assert store.client.ttl(next(store.client.scan_iter("ops:tail:*"))) > 0


def test_a_stopped_store_gives_missing_features_at_once_then_recovers(tmp_path, june_events):
    port = _free_port()
    process = start_redis(tmp_path, port)
    store = OnlineStore.from_url(f"redis://127.0.0.1:{port}/0", retry_after_seconds=0.2)
    store.ingest(june_events, complete_until=DAY + pd.Timedelta(days=1))
    noon = int(minutes(pd.Series([DAY + pd.Timedelta(hours=12)]))[0])
    assert store.features("EWR", None, noon).unavailable is None
    stop_group(process)
    started = time.perf_counter()
    lookups = [store.features("EWR", None, noon) for _ in range(50)]
    assert time.perf_counter() - started < 1.0  # no connect timeout per request
    assert {lookup.unavailable for lookup in lookups} == {STORE_DOWN}
    assert lookups[0].missing == OPERATIONAL_FEATURES
    process = start_redis(tmp_path, port)  # back, empty: behind until the feed refills it
    try:
        time.sleep(0.25)
        assert store.features("EWR", None, noon).unavailable == STORE_BEHIND
        store.ingest(june_events, complete_until=DAY + pd.Timedelta(days=1))
        assert store.features("EWR", None, noon).unavailable is None
    finally:
        stop_group(process)


def test_a_restarted_store_answers_the_next_lookup(tmp_path, june_events):
    """The lookups' own connection outlives the server it was made to: the first lookup after a
    restart makes a new one instead of reporting the store down."""
    port = _free_port()
    process = start_redis(tmp_path, port)
    try:
        store = OnlineStore.from_url(f"redis://127.0.0.1:{port}/0")
        store.ingest(june_events, complete_until=DAY + pd.Timedelta(days=1))
        noon = int(minutes(pd.Series([DAY + pd.Timedelta(hours=12)]))[0])
        known = store.features("EWR", None, noon)
        stop_group(process)
        process = start_redis(tmp_path, port)  # empty, and without the script
        store.ingest(june_events, complete_until=DAY + pd.Timedelta(days=1))
        assert store.features("EWR", None, noon) == known and known.unavailable is None
    finally:
        stop_group(process)


def _lookups_in_a_child(store: OnlineStore, flights: list, answers) -> None:
    answers.put([store.features(*flight) for flight in flights])


def test_a_forked_worker_does_not_share_its_parents_connection(store, june_events):
    """Gunicorn forks its workers: a child looking up at the same time as its parent gets its
    own answers, not replies meant for the other process on a shared socket."""
    import multiprocessing

    store.ingest(june_events, complete_until=DAY + pd.Timedelta(days=1))
    day = june_events.loc[june_events["sched_dep"].dt.normalize() == DAY].head(300)
    flights = [
        (origin, None, int(sched))
        for origin, sched in zip(day["origin"], minutes(day["sched_dep"]), strict=True)
    ]
    expected = [store.features(*flight) for flight in flights]  # the parent's connection made
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    child = context.Process(target=_lookups_in_a_child, args=(store, flights[::-1], answers))
    child.start()
    mine = [store.features(*flight) for flight in flights]
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


def test_the_feed_command_fills_the_store_for_a_day(store, redis_server):
    import subprocess as sp
    import sys

    from tests.support.processes import REPO

    url = f"redis://127.0.0.1:{redis_server[1]}/0"
    done = sp.run(
        [sys.executable, "-m", "scripts.feed_departures", "--day", "2013-06-14", "--url", url],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"events into {url}" in done.stderr
    nine = int(minutes(pd.Series([DAY + pd.Timedelta(hours=9)]))[0])
    lookup = store.features("EWR", None, nine)
    assert lookup.unavailable is None and lookup.values["origin_recent_departures"] > 0
    refused = sp.run(
        [sys.executable, "-m", "scripts.feed_departures", "--day", "2014-06-14", "--url", url],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0 and "the source has no events on 2014-06-14" in refused.stderr
