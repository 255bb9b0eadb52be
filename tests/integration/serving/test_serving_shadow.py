"""The shadow challenger on a real server: the champion answers alone, the request log carries the
challenger's probabilities (scored in batches, by rows and by age, after the answers), and a
challenger that goes, fails or meets a large request never changes an answer (counted). Then the
loop: live traffic and its feedback, read back from the request log, promote the challenger
through monitoring's online gate, or do not."""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from serving_support import Server, make_root, metric_sum, parse_metrics, sync_in_process

from contract.bundle import METADATA_FILE, SCHEMA_FILE, load_bundle
from contract.names import CHALLENGER, CHAMPION
from contract.request_log import (
    CHALLENGER_PROBABILITY,
    CHALLENGER_VERSION,
    SHADOW,
    iter_request_lines,
    read_feedback,
)
from scoring.predictor import Predictor
from seldon.pointer import CHALLENGER_POINTER_FILE, version_dir, write_pointer

SHADOW_MAX_ROWS = 8
BATCH_SECONDS = 0.3  # a worker's queue is scored at 4 rows or when its oldest request is this old
SHADOW_REQUESTS = "flights_shadow_requests_total"


@pytest.fixture(scope="module")
def shadow_server(tmp_path_factory, bundles):
    """Champion v1 and challenger v2 (challenger.json), two workers, a request log."""
    base = tmp_path_factory.mktemp("shadow")
    root = make_root(base, bundles)
    write_pointer(root, "2", name=CHALLENGER_POINTER_FILE)
    running = Server(
        root,
        env={
            "REQUEST_LOG_DIR": str(base / "request-log"),
            "REQUEST_LOG_SEGMENT_SECONDS": "0",
            "SHADOW_MAX_ROWS": str(SHADOW_MAX_ROWS),
            "SHADOW_SHARE": "1",  # every request: the tests compare each line
            "SHADOW_BATCH_ROWS": "4",
            "SHADOW_BATCH_SECONDS": str(BATCH_SECONDS),
        },
    )
    try:
        yield running.start()
    finally:
        running.stop()


def log_dir(server: Server) -> Path:
    return Path(server.env["REQUEST_LOG_DIR"])


def scrape(server: Server) -> dict:
    return parse_metrics(requests.get(server.metrics_url, timeout=5).text)


def logged(
    server: Server, request_ids: set[str], timeout: float = 10, scores: bool = False
) -> dict[str, dict]:
    """The prediction lines of these requests, each with the challenger's scores from its `shadow`
    line, once every one is written (with `scores`, once every one's scores are too: they follow
    in batches; without them after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        lines, shadows = {}, {}
        for line in iter_request_lines(log_dir(server)):
            if line["request_id"] in request_ids:
                kind = line.get("kind")
                if kind is None:
                    lines[line["request_id"]] = line
                elif kind == SHADOW:
                    shadows[line["request_id"]] = line
        for request_id, shadow in shadows.items():
            if request_id in lines:
                line = lines[request_id]
                line[CHALLENGER_VERSION] = shadow[CHALLENGER_VERSION]
                line[CHALLENGER_PROBABILITY] = shadow[CHALLENGER_PROBABILITY]
        complete = len(lines) == len(request_ids) and (not scores or len(shadows) == len(request_ids))
        if complete or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def predict_each(server: Server, records: list[dict]) -> list[dict]:
    answers = [server.predict({"jsonData": record}) for record in records]
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200]
    return [a.json() for a in answers]


def settle(server: Server) -> None:
    """Long enough for every worker to have polled the pointer files twice."""
    time.sleep(2 * float(server.env.get("MODEL_POLL_SECONDS", 0.5)) + 0.5)


def shadowed_lines(server: Server, record: dict, n: int = 10) -> list[bool]:
    """Whether each of `n` answers to `record` was logged with a challenger's scores (waiting at
    most long enough for every batch to be due)."""
    answers = predict_each(server, [record] * n)
    lines = logged(server, {a["meta"]["puid"] for a in answers}, timeout=4 * BATCH_SECONDS, scores=True)
    return [CHALLENGER_VERSION in lines[a["meta"]["puid"]] for a in answers]


def test_the_champion_answers_alone_and_the_log_carries_the_challengers_scores(
    shadow_server, server, bundles, july_records
):
    records = july_records[:30]
    before = scrape(shadow_server)
    shadowed = predict_each(shadow_server, records)
    champion_only = predict_each(server, records)  # the session's server: v1, no challenger
    assert [a["data"] for a in shadowed] == [a["data"] for a in champion_only]
    assert {a["meta"]["tags"]["model_version"] for a in shadowed} == {"1"}

    lines = logged(shadow_server, {a["meta"]["puid"] for a in shadowed}, scores=True)
    challenger = Predictor(load_bundle(bundles["2"]))
    expected = challenger.predict({"jsonData": records}).probability
    for answer, probability in zip(shadowed, expected, strict=True):
        line = lines[answer["meta"]["puid"]]
        assert line["model_version"] == "1" and line[CHALLENGER_VERSION] == "2"
        assert line["probability"] == [answer["data"]["ndarray"][0][0]]
        assert line[CHALLENGER_PROBABILITY] == pytest.approx([probability], abs=1e-12)
    champion = [a["data"]["ndarray"][0][0] for a in shadowed]
    assert max(abs(a - b) for a, b in zip(expected, champion, strict=True)) > 0.01  # two models

    after = scrape(shadow_server)
    scored = metric_sum(after, SHADOW_REQUESTS, outcome="scored")
    assert scored - metric_sum(before, SHADOW_REQUESTS, outcome="scored") == 30


def test_a_request_above_the_shadow_limit_is_answered_and_counted_not_shadowed(shadow_server, july_records):
    before = scrape(shadow_server)
    answer = shadow_server.predict({"jsonData": july_records[: SHADOW_MAX_ROWS + 1]})
    assert answer.status_code == 200
    puid = answer.json()["meta"]["puid"]
    line = logged(shadow_server, {puid}, timeout=4 * BATCH_SECONDS, scores=True)[puid]
    assert CHALLENGER_VERSION not in line and line["n_rows"] == SHADOW_MAX_ROWS + 1
    counted = metric_sum(scrape(shadow_server), SHADOW_REQUESTS, outcome="too_many_rows")
    assert counted - metric_sum(before, SHADOW_REQUESTS, outcome="too_many_rows") == 1


def test_feedback_is_logged_under_the_request_id(shadow_server, july_records):
    response = shadow_server.predict({"jsonData": july_records[40:43]}).json()
    truth = [1, 0, 1]
    feedback = requests.post(
        f"{shadow_server.url}/api/v1.0/feedback",
        json={"response": response, "truth": {"data": {"ndarray": [[t] for t in truth]}}},
        timeout=5,
    )
    assert feedback.status_code == 200, feedback.text
    known = read_feedback(log_dir(shadow_server))
    assert [known[(response["meta"]["puid"], row)] for row in range(3)] == truth


def test_a_removed_or_failing_challenger_never_changes_an_answer(shadow_server, bundles, july_records):
    root = shadow_server.root
    record = july_records[50]
    champion_answer = predict_each(shadow_server, [record])[0]["data"]

    (root / CHALLENGER_POINTER_FILE).unlink()
    settle(shadow_server)
    assert shadowed_lines(shadow_server, record) == [False] * 10

    # a challenger that expects a column the champion's checked request does not have
    broken = version_dir(root, "3")
    shutil.copytree(bundles["2"], broken)
    schema = json.loads((broken / SCHEMA_FILE).read_text())
    renamed = next(f for f in schema["features"] if f["name"] == "distance")
    renamed["name"] = "distance_km"
    (broken / SCHEMA_FILE).write_text(json.dumps(schema))
    metadata = json.loads((broken / METADATA_FILE).read_text())
    (broken / METADATA_FILE).write_text(json.dumps({**metadata, "version": "3"}))
    before = scrape(shadow_server)
    write_pointer(root, "3", name=CHALLENGER_POINTER_FILE)
    settle(shadow_server)
    answers = predict_each(shadow_server, [record] * 10)
    assert [a["data"] for a in answers] == [champion_answer] * 10
    lines = logged(
        shadow_server, {a["meta"]["puid"] for a in answers}, timeout=4 * BATCH_SECONDS, scores=True
    )
    assert not any(CHALLENGER_VERSION in line for line in lines.values())
    after = scrape(shadow_server)
    failed = metric_sum(after, SHADOW_REQUESTS, outcome="failed")
    assert failed - metric_sum(before, SHADOW_REQUESTS, outcome="failed") == 10

    write_pointer(root, "2", name=CHALLENGER_POINTER_FILE)  # back to the module's challenger
    settle(shadow_server)
    assert shadowed_lines(shadow_server, record) == [True] * 10


def live_traffic(server: Server, records: list[dict], truth_from: str) -> None:
    """One request a flight, then feedback for each: truth constructed so that the model named by
    `truth_from` (PROBABILITY or CHALLENGER_PROBABILITY) ranks every row right (late when its
    probability is above its median on this traffic)."""
    answers = predict_each(server, records)
    lines = logged(server, {a["meta"]["puid"] for a in answers}, scores=True)
    scores = [lines[a["meta"]["puid"]][truth_from][0] for a in answers]
    median = sorted(scores)[len(scores) // 2]
    for answer, score in zip(answers, scores, strict=True):
        truth = {"data": {"ndarray": [[int(score > median)]]}}
        sent = requests.post(
            f"{server.url}/api/v1.0/feedback", json={"response": answer, "truth": truth}, timeout=5
        )
        assert sent.status_code == 200, sent.text


@pytest.fixture
def registry_of_the_bundles(bundles, tmp_path, monkeypatch):
    """A copy of the store the bundles were trained in, champion v1 and challenger v2."""
    from core import registry

    shutil.copytree(bundles["1"].parent / "store", tmp_path / "store")
    monkeypatch.setenv("MLOPS_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("PUSHGATEWAY_URL", raising=False)
    registry.set_alias(registry.MODEL_NAME, CHAMPION, "1")
    registry.set_alias(registry.MODEL_NAME, CHALLENGER, "2")
    return registry


def test_live_traffic_and_feedback_promote_the_challenger_through_the_online_gate_or_not(
    shadow_server, july_records, registry_of_the_bundles
):
    from core.gate import GateConfig
    from core.online_gate import OnlineGateConfig
    from tasks.monitoring import online_gate, shadow_requests

    registry = registry_of_the_bundles
    log = str(log_dir(shadow_server))
    online = OnlineGateConfig(min_labelled_rows=150)

    def judge(start: datetime):
        shadow = shadow_requests(request_log_dir=log, start=start, end=utc_now())
        return online_gate(shadow=shadow, model_name=registry.MODEL_NAME, gate=GateConfig(), online=online)

    start = utc_now()
    live_traffic(shadow_server, july_records[100:300], truth_from="probability")  # the champion right
    stays = judge(start)
    assert not stays.promote and stays.labelled_rows == 200 and stays.auc_gain < 0, stays.reasons
    assert (stays.champion_version, stays.challenger_version) == ("1", "2")
    assert registry.alias_version(registry.MODEL_NAME, CHAMPION) == "1"

    start = utc_now()
    live_traffic(shadow_server, july_records[300:500], truth_from=CHALLENGER_PROBABILITY)
    promoted = judge(start)
    assert promoted.promote and promoted.labelled_rows == 200 and promoted.gain_low > 0, promoted.reasons
    assert registry.alias_version(registry.MODEL_NAME, CHAMPION) == "2"
    assert registry.alias_version(registry.MODEL_NAME, CHALLENGER) is None


def utc_now() -> datetime:
    """Now as the monitoring period's bounds are given: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def test_the_sync_publishes_the_challenger_beside_the_champion_and_withdraws_it(
    registry_of_the_bundles, tmp_path
):
    from contract.registry import tracking_uri
    from seldon.pointer import read_pointer
    from tests.support.processes import run_module

    registry, root, uri = registry_of_the_bundles, tmp_path / "model-root", tracking_uri()

    def sync() -> None:
        """In this process (`sync_in_process`); the first publication below runs it as the
        process a pod runs."""
        assert sync_in_process("--root", str(root), "--once", "--shadow-alias", CHALLENGER) == 0

    done = run_module("seldon.sync", "--root", str(root), "--once", "--shadow-alias", CHALLENGER, uri=uri)
    assert done.returncode == 0, done.stderr
    assert read_pointer(root)["version"] == "1"
    assert read_pointer(root, CHALLENGER_POINTER_FILE)["version"] == "2"
    assert load_bundle(root / read_pointer(root, CHALLENGER_POINTER_FILE)["path"]).metadata.version == "2"

    registry.set_alias(registry.MODEL_NAME, CHALLENGER, "1")  # the champion itself: nothing to compare
    sync()
    assert read_pointer(root, CHALLENGER_POINTER_FILE) is None

    registry.set_alias(registry.MODEL_NAME, CHALLENGER, "2")
    sync()
    assert read_pointer(root, CHALLENGER_POINTER_FILE)["version"] == "2"
    registry.client().delete_registered_model_alias(registry.MODEL_NAME, CHALLENGER)
    sync()
    assert read_pointer(root, CHALLENGER_POINTER_FILE) is None
