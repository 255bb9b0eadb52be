"""The served model reads the operational features from the online store (a real redis-server)
at request time: a replayed 2013 day gives every flight exactly the batch features and the batch
probability; a stopped store under load gives missing features, named and counted, never a 5xx."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pandas as pd
import pytest
import requests
from serving_support import Server, make_root, metric_sum, parse_metrics, request_records

from contract.request_log import read_request_log
from operational.store import OnlineStore
from tests.support.processes import stop_group
from tests.support.system_tools import start_redis
from usecases.flights.operational import OPERATIONAL_FEATURES, departure_events
from usecases.flights.source import default_source, read_table

DAY = datetime(2013, 6, 14)
MISSING = "flights_online_features_missing_total"


@pytest.fixture(scope="module")
def day_table():
    from usecases.flights.features import build_features
    from usecases.flights.source import load_window

    return build_features(load_window("", DAY, datetime(2013, 6, 15)))


def _feed(port: int) -> None:
    from usecases.flights import USE_CASE

    online = USE_CASE.online
    assert online is not None
    flights = read_table(default_source(), "flights")
    events = departure_events(flights[(flights["month"] == 6) & flights["day"].isin([13, 14])])
    OnlineStore.from_url(f"redis://127.0.0.1:{port}/0").ingest(
        online.layout(),
        events,
        complete_until=pd.Timestamp("2013-06-15"),
    )


@pytest.fixture(scope="module")
def online_server(tmp_path_factory, bundles):
    from serving_support import free_port

    base = tmp_path_factory.mktemp("online")
    port = free_port()
    redis = start_redis(base, port)
    _feed(port)
    server = Server(
        make_root(base, bundles),
        env={"ONLINE_STORE_URL": f"redis://127.0.0.1:{port}/0", "REQUEST_LOG_DIR": str(base / "log")},
    )
    try:
        yield server.start(), redis, port, base / "log"
    finally:
        server.stop()
        stop_group(redis)


def _probabilities(response: requests.Response) -> list[float]:
    body = response.json()
    names = body["data"]["names"]
    return [row[names.index("probability")] for row in body["data"]["ndarray"]]


def test_each_flight_of_a_replayed_day_gets_the_batch_features_and_probability(
    online_server, day_table, bundles
):
    from contract.bundle import load_bundle
    from scoring.predictor import Predictor

    server, _, _, log_dir = online_server
    records = request_records(day_table)
    assert not set(OPERATIONAL_FEATURES) & set(records[0])  # the request never carries them
    whole_day = server.predict({"jsonData": records})
    assert whole_day.status_code == 200, whole_day.text
    assert whole_day.json()["meta"]["tags"].get("missing_features", []) == []
    batch = Predictor(load_bundle(bundles["1"])).score_frame(day_table)
    assert _probabilities(whole_day) == batch.tolist()  # the same rows, the same path: exact
    for index in range(0, len(records), 25):  # one flight per request: the compiled one-row path
        one = server.predict({"jsonData": records[index]})
        assert one.status_code == 200, one.text
        assert abs(_probabilities(one)[0] - batch[index]) <= 1e-9
    logged = [r for r in read_request_log(log_dir) if r["request_id"] == whole_day.json()["meta"]["puid"]]
    served = pd.DataFrame(logged)[OPERATIONAL_FEATURES].astype(float)
    pd.testing.assert_frame_equal(
        served, day_table[OPERATIONAL_FEATURES].reset_index(drop=True), check_exact=True
    )


def test_the_explain_route_explains_the_features_the_store_gave(online_server, day_table):
    server = online_server[0]
    flights = day_table.iloc[::50]  # a spread of the day's hours
    answer = requests.post(
        f"{server.url}/api/v1.0/explain", json={"jsonData": request_records(flights)}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["meta"]["tags"].get("missing_features", []) == []
    rows = answer.json()["jsonData"]["explanations"]
    moved = set()
    for row, (_, flight) in zip(rows, flights.iterrows(), strict=True):
        given = {item["feature"]: item for item in row["contributions"]}
        for name in OPERATIONAL_FEATURES:
            expected = None if pd.isna(flight[name]) else float(flight[name])
            assert given[name]["value"] == expected, (name, given[name], expected)
            if given[name]["contribution"] != 0:
                moved.add(name)
    assert moved == set(OPERATIONAL_FEATURES)  # each of them moves some flight's score


def test_operational_features_sent_by_a_caller_are_refused(online_server, day_table):
    server = online_server[0]
    record = {**request_records(day_table.head(1))[0], "origin_backlog": 0.0}
    answer = server.predict({"jsonData": record})
    assert answer.status_code == 400
    status = answer.json()["status"]
    assert status["field"] == "origin_backlog" and "online store" in status["info"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2013-06-14", "field 'sched_dep' must be a local time like '2013-06-14T07:05', got '2013-06-14'"),
        (
            "2013-02-30T07:05",
            "field 'sched_dep' must be a local time like '2013-06-14T07:05', got '2013-02-30T07:05'",
        ),
        (None, "field 'sched_dep' is null: a value is required"),
    ],
)
def test_a_bad_scheduled_departure_is_a_400_naming_the_field(online_server, day_table, value, message):
    record = {**request_records(day_table.head(1))[0], "sched_dep": value}
    answer = online_server[0].predict({"jsonData": record})
    assert answer.status_code == 400
    assert answer.json()["status"]["info"] == message and answer.json()["status"]["field"] == "sched_dep"


def test_a_stopped_store_under_load_gives_missing_features_never_a_5xx(online_server, day_table, tmp_path):
    server, redis, port, _ = online_server
    records = request_records(day_table.head(200))
    codes: list[int] = []
    tags: list[dict] = []
    stop = threading.Event()

    def load() -> None:
        session = requests.Session()
        index = 0
        while not stop.is_set():
            answer = session.post(
                f"{server.url}/api/v1.0/predictions", json={"jsonData": records[index % 200]}
            )
            codes.append(answer.status_code)
            tags.append(answer.json().get("meta", {}).get("tags", {}))
            index += 1

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    stop_group(redis)  # the store goes away under load
    # counted once it is gone: answers given while it was shutting down are not judged
    before = len(codes)
    time.sleep(3.0)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert len(codes) > before + 50  # the predictions went on
    assert set(codes) == {200}, sorted(set(codes))
    after = tags[before + 20 :]
    assert after and all(t["missing_features"] == OPERATIONAL_FEATURES for t in after)
    assert all(t["online_store"] == "store_unavailable" for t in after)
    samples = parse_metrics(requests.get(server.metrics_url, timeout=10).text)
    assert metric_sum(samples, MISSING, feature="origin_backlog", reason="store_unavailable") > 0
    # the store comes back (empty): behind until the feed refills it, then whole again
    restarted = start_redis(tmp_path, port)
    try:
        time.sleep(0.6)
        assert (
            server.predict({"jsonData": records[0]}).json()["meta"]["tags"]["online_store"] == "store_behind"
        )
        _feed(port)
        assert (
            server.predict({"jsonData": records[0]}).json()["meta"]["tags"].get("missing_features", []) == []
        )
    finally:
        stop_group(restarted)
