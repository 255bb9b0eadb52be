"""The real seldon-core-microservice (2 gunicorn workers) serving a bundle on loopback."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest
import requests
from serving_support import (
    MAX_BATCH_ROWS,
    MAX_REQUEST_BYTES,
    load_cases,
    metric_sum,
    parse_metrics,
)

from contract.bundle import load_bundle
from contract.request_log import read_request_log

cases = load_cases()
pytestmark = pytest.mark.slow


def in_process_scores(bundle_dir, records):
    bundle = load_bundle(bundle_dir)
    # this server has no online store: the operational features are scored as missing
    frame = pd.DataFrame({n: [r.get(n) for r in records] for n in bundle.schema.names})
    for spec in bundle.schema.features:
        if spec.kind == "number":
            frame[spec.name] = frame[spec.name].astype(float)
    return bundle.model.predict_proba(frame)[:, 1], bundle.schema.threshold


def scrape(server) -> dict:
    requests.get(f"{server.url}/health/status", timeout=5)  # health probes export the gauges
    return parse_metrics(requests.get(server.metrics_url, timeout=5).text)


def test_predictions_equal_the_in_process_model(server, bundles, july_records):
    records = july_records[:200]
    expected, threshold = in_process_scores(bundles["1"], records)
    batch = server.predict({"jsonData": records})
    assert batch.status_code == 200, batch.text
    body = batch.json()
    assert body["data"]["names"] == ["probability", "predicted_late"]
    got = np.array([row[0] for row in body["data"]["ndarray"]])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert [row[1] for row in body["data"]["ndarray"]] == [int(p >= threshold) for p in expected]
    assert body["meta"]["tags"]["model_version"] == "1"
    assert "metrics" not in body["meta"]
    # one row at a time (the compiled trees), as records and as ndarray, gives the same numbers
    for record, score in zip(records[:5], expected[:5], strict=True):
        one = server.predict({"jsonData": record}).json()
        assert one["data"]["ndarray"][0][0] == pytest.approx(score, abs=1e-9)
        names = list(record)
        rows = server.predict({"data": {"names": names, "ndarray": [[record[n] for n in names]]}}).json()
        assert rows["data"]["ndarray"][0][0] == pytest.approx(score, abs=1e-9)


@pytest.mark.parametrize(("name", "body", "expect"), cases.bad_cases(), ids=[c[0] for c in cases.bad_cases()])
def test_bad_request_is_a_400_naming_the_field(server, name, body, expect):
    response = requests.post(
        f"{server.url}/api/v1.0/predictions",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400, response.text
    status = response.json()["status"]
    assert status["rule"] == expect["rule"] and status["field"] == expect["field"]
    if expect["field"]:
        assert f"'{expect['field']}'" in status["info"]


def test_wrapper_level_rejections_and_the_server_stays_up(server, july_records):
    url = f"{server.url}/api/v1.0/predictions"
    not_json = requests.post(url, data="carrier=UA", headers={"Content-Type": "application/json"}, timeout=5)
    assert not_json.status_code == 400 and not_json.json()["status"]["rule"] == "not_json"
    form = requests.post(url, data="hello", timeout=5)  # curl's default form content type
    assert form.status_code == 400 and "JSON" in form.json()["status"]["info"]
    big = requests.post(
        url,
        data=b"{" + b" " * (MAX_REQUEST_BYTES + 10) + b"}",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert big.status_code == 413 and big.json()["status"]["rule"] == "body_too_large"
    over = server.predict({"jsonData": (july_records * 2)[: MAX_BATCH_ROWS + 1]})
    assert over.status_code == 400
    assert f"over the limit of {MAX_BATCH_ROWS}" in over.json()["status"]["info"]
    for _ in range(4):  # both workers still answer
        assert server.predict({"jsonData": july_records[0]}).status_code == 200
    assert server.process.poll() is None


def test_metrics_move_as_requests_arrive(server, july_records):
    before = scrape(server)
    for record in july_records[:30]:
        assert server.predict({"jsonData": record}).status_code == 200
    for _ in range(3):
        server.predict({"jsonData": dict(july_records[0], dep_hour=99)})
    server.predict({"jsonData": [dict(r, dest="ZZZ") for r in july_records[:4]]})
    time.sleep(0.2)
    after = scrape(server)

    def moved(name, **labels):
        return metric_sum(after, name, **labels) - metric_sum(before, name, **labels)

    assert moved("flights_requests_total", outcome="ok") == 31
    assert moved("flights_requests_total", outcome="rejected") == 3
    assert moved("flights_rejected_requests_total", reason="max") == 3
    assert moved("flights_request_duration_seconds_count") == 34
    assert moved("flights_predicted_rows_total") == 34
    assert moved("flights_unknown_category_total", feature="dest") == 4
    assert moved("flights_model_score_bucket", le="+Inf") == 34
    assert moved("flights_model_score_count") == 34
    assert 0 < moved("flights_model_score_bucket", le="0.5") <= 34
    assert 0 < moved("flights_model_score_sum") < 34
    assert metric_sum(after, "flights_model_info", bundle_version="1") >= 1
    rates = [v for (n, _), v in after.items() if n == "flights_positive_rate"]
    assert rates and any(0 <= r <= 1 for r in rates)
    assert all(math.isnan(r) or 0 <= r <= 1 for r in rates)
    for (name, labels), _ in after.items():
        if name.startswith("flights_") and name.endswith("_total"):
            assert ("worker_id", "") not in labels


def test_health_and_metadata(server, bundles):
    health = requests.get(f"{server.url}/health/status", timeout=5)
    assert health.status_code == 200 and health.json()["jsonData"]["model_version"] == "1"
    meta = requests.get(f"{server.url}/api/v1.0/metadata", timeout=5).json()
    written = json.loads((bundles["1"] / "metadata.json").read_text())
    assert meta["name"] == "flights-late-arrival" and meta["version"] == "1"
    assert meta["run_id"] == written["run_id"] and meta["training_window"] == written["training_window"]
    assert meta["metrics"] == written["metrics"]
    # the registry writes the digests of both datasets; the server serves them (never a null)
    assert set(meta["dataset_digests"]) == {"training", "holdout"}
    assert meta["dataset_digests"] == written["dataset_digests"]
    assert meta["compiled"]["sha256"] == written["compiled"]["sha256"]
    assert meta["compiled"]["parity_max_abs_diff"] <= 1e-9
    assert [f["name"] for f in meta["inputs"]][:3] == ["carrier", "origin", "dest"]
    assert meta["outputs"]["names"] == ["probability", "predicted_late"]


def test_feedback_updates_online_accuracy(server, july_records):
    before = scrape(server)
    response = server.predict({"jsonData": july_records[:10]}).json()
    predicted = [row[1] for row in response["data"]["ndarray"]]
    truth = predicted[:7] + [1 - p for p in predicted[7:]]  # 7 right, 3 wrong
    feedback = requests.post(
        f"{server.url}/api/v1.0/feedback",
        json={"response": response, "truth": {"data": {"ndarray": [[t] for t in truth]}}},
        timeout=5,
    )
    assert feedback.status_code == 200, feedback.text
    bad = requests.post(
        f"{server.url}/api/v1.0/feedback",
        json={"response": response, "truth": {"data": {"ndarray": [[2]]}}},
        timeout=5,
    )
    assert bad.status_code == 400 and "truth" in bad.json()["status"]["info"]
    # without the response, the request is scored again and compared with the truth
    rescored = requests.post(
        f"{server.url}/api/v1.0/feedback",
        json={"request": {"jsonData": july_records[:2]}, "truth": {"data": {"ndarray": predicted[:2]}}},
        timeout=5,
    )
    assert rescored.status_code == 200, rescored.text
    assert rescored.json()["meta"]["tags"] == {"feedback_rows": "2", "correct": "2"}
    after = scrape(server)
    rows = metric_sum(after, "flights_feedback_rows_total") - metric_sum(
        before, "flights_feedback_rows_total"
    )
    right = metric_sum(after, "flights_feedback_correct_rows_total") - metric_sum(
        before, "flights_feedback_correct_rows_total"
    )
    assert (rows, right) == (12, 9)
    accuracy = [v for (n, _), v in after.items() if n == "flights_online_accuracy"]
    # one series per worker: NaN where a worker has had no feedback yet, never a made-up 0
    assert len(accuracy) == 2 and any(0 < a <= 1 for a in accuracy)
    assert all(math.isnan(a) or 0 < a <= 1 for a in accuracy)


def test_request_log_holds_every_prediction(server, july_records):
    response = server.predict({"jsonData": july_records[:3]}, headers={"X-Request-Id": "trace-42"})
    assert response.json()["meta"]["puid"] == "trace-42"
    log_dir = server.root.parent / "request-log"
    rows = [r for r in read_request_log(log_dir) if r["request_id"] == "trace-42"]
    assert [r["row"] for r in rows] == [0, 1, 2]
    scores = [row[0] for row in response.json()["data"]["ndarray"]]
    assert [r["probability"] for r in rows] == scores
    assert rows[0]["carrier"] == july_records[0]["carrier"] and rows[0]["model_version"] == "1"
    assert len({p.name for p in log_dir.glob("requests-*.jsonl")}) <= 2  # one file per worker


def test_admin_routes_are_disabled_without_a_token(server):
    response = requests.post(f"{server.url}/admin/pointer", json={"version": "2"}, timeout=5)
    assert response.status_code == 404
    assert requests.get(f"{server.url}/health/status", timeout=5).json()["jsonData"]["model_version"] == "1"
