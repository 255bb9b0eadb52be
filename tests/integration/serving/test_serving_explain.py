"""The explain route of the real seldon-core-microservice: exact contributions that agree with the
predictions route, the same 4xx as predictions, its own row limit, counted in the metrics."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
import requests
from serving_support import load_cases, metric_sum, parse_metrics

from scoring.explanation import DEFAULT_MAX_ROWS

cases = load_cases()
pytestmark = pytest.mark.slow

EXPLAIN = "/api/v1.0/explain"
PREDICT = "/api/v1.0/predictions"


def post(server, path: str, body, **kwargs) -> requests.Response:
    if isinstance(body, str):
        return requests.post(
            f"{server.url}{path}", data=body, headers={"Content-Type": "application/json"}, timeout=30
        )
    return requests.post(f"{server.url}{path}", json=body, timeout=30, **kwargs)


def scrape(server) -> dict:
    requests.get(f"{server.url}/health/status", timeout=5)  # health probes carry the explain gauges
    return parse_metrics(requests.get(server.metrics_url, timeout=5).text)


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _as_scored(record: dict) -> dict:
    """The features a request's row is scored with on a server without an online store: the
    record's, less the store's keys, and the operational features missing."""
    from usecases.flights.operational import OPERATIONAL_FEATURES

    row = {k: v for k, v in record.items() if k not in ("sched_dep", "tailnum")}
    return {**row, **dict.fromkeys(OPERATIONAL_FEATURES)}


def test_one_row_explained_exactly_and_like_its_prediction(server, bundles, july_records):
    record = july_records[3]
    explained = post(server, EXPLAIN, {"jsonData": record})
    assert explained.status_code == 200, explained.text
    body = explained.json()
    assert body["meta"]["tags"]["model_version"] == "1"
    [row] = body["jsonData"]["explanations"]
    predicted = post(server, PREDICT, {"jsonData": record}).json()["data"]["ndarray"][0]
    assert row["probability"] == pytest.approx(predicted[0], abs=1e-12)
    assert row["predicted_late"] == predicted[1]
    base = body["jsonData"]["base_value"]
    assert row["base_value"] == base
    total = base + sum(item["contribution"] for item in row["contributions"])
    assert total == pytest.approx(_logit(row["probability"]), abs=1e-6)
    assert total == pytest.approx(row["raw_score"], abs=1e-9)
    schema = json.loads((bundles["1"] / "schema.json").read_text())
    assert sorted(item["feature"] for item in row["contributions"]) == sorted(
        feature["name"] for feature in schema["features"]
    )
    sizes = [abs(item["contribution"]) for item in row["contributions"]]
    assert sizes == sorted(sizes, reverse=True)
    for item in row["contributions"]:  # this server has no online store: those are missing
        assert item["value"] == record.get(item["feature"])


def test_a_batch_is_explained_row_by_row_as_ndarray_too(server, july_records):
    records = july_records[:40]
    names = list(records[0])
    as_records = post(server, EXPLAIN, {"jsonData": records}).json()["jsonData"]
    as_ndarray = post(
        server, EXPLAIN, {"data": {"names": names, "ndarray": [[r[n] for n in names] for r in records]}}
    ).json()["jsonData"]
    assert as_records == as_ndarray
    predicted = post(server, PREDICT, {"jsonData": records}).json()["data"]["ndarray"]
    rows = as_records["explanations"]
    assert len(rows) == len(records)
    for row, (probability, flag), record in zip(rows, predicted, records, strict=True):
        assert row["probability"] == pytest.approx(probability, abs=1e-12)
        assert row["predicted_late"] == flag
        total = as_records["base_value"] + sum(item["contribution"] for item in row["contributions"])
        assert total == pytest.approx(_logit(probability), abs=1e-6)
        assert {item["feature"]: item["value"] for item in row["contributions"]} == _as_scored(record)
    # the explanation differs from row to row: not one constant answer
    leading = {row["contributions"][0]["feature"] for row in rows}
    assert len(leading) > 1 or len({row["probability"] for row in rows}) > 1


@pytest.mark.parametrize(("name", "body", "expect"), cases.bad_cases(), ids=[c[0] for c in cases.bad_cases()])
def test_bad_request_gets_the_same_400_as_a_prediction(server, name, body, expect):
    explained = post(server, EXPLAIN, body)
    predicted = post(server, PREDICT, body)
    assert explained.status_code == 400, explained.text
    status = explained.json()["status"]
    assert status["rule"] == expect["rule"] and status["field"] == expect["field"]
    if expect["field"]:
        assert f"'{expect['field']}'" in status["info"]
    assert status == predicted.json()["status"]


def test_too_many_rows_for_an_explanation_names_the_limit(server, july_records):
    records = july_records[: DEFAULT_MAX_ROWS + 1]
    response = post(server, EXPLAIN, {"jsonData": records})
    assert response.status_code == 400
    status = response.json()["status"]
    assert status["rule"] == "batch_limit" and status["field"] == "jsonData"
    assert status["info"] == (
        f"'jsonData' holds {DEFAULT_MAX_ROWS + 1} rows, over the limit of {DEFAULT_MAX_ROWS} per request"
    )
    assert post(server, PREDICT, {"jsonData": records}).status_code == 200  # predictions allow more


def test_explanations_and_their_rejections_are_counted(server, july_records):
    before = scrape(server)
    missing = {k: v for k, v in july_records[0].items() if k != "distance"}
    assert post(server, EXPLAIN, {"jsonData": missing}).status_code == 400
    not_json = requests.post(
        f"{server.url}{EXPLAIN}", data="x=1", headers={"Content-Type": "application/json"}, timeout=5
    )
    assert not_json.status_code == 400 and not_json.json()["status"]["rule"] == "not_json"
    form = requests.post(f"{server.url}{EXPLAIN}", data={"x": "1"}, timeout=5)
    assert form.status_code == 415
    assert post(server, EXPLAIN, {"jsonData": july_records[:5]}).status_code == 200
    assert post(server, EXPLAIN, {"jsonData": july_records[:2]}).status_code == 200
    expected = {
        ("flights_explain_requests_total", ("outcome", "ok")): 2,
        ("flights_explain_requests_total", ("outcome", "rejected")): 3,
        ("flights_explain_rejected_requests_total", ("reason", "missing")): 1,
        ("flights_explain_rejected_requests_total", ("reason", "not_json")): 1,
        ("flights_explained_rows_total", None): 7,
    }

    def moved(samples: dict, name: str, label: tuple | None) -> float:
        labels = dict([label]) if label else {}
        return metric_sum(samples, name, **labels) - metric_sum(before, name, **labels)

    # Rejections answered before the explain handler leave the worker with its next response
    # (any kind, here a health probe): probe until every count arrived, or fail with the counts.
    deadline = time.monotonic() + 15
    while True:
        after = scrape(server)
        got = {key: moved(after, *key) for key in expected}
        if got == expected or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert got == expected
    assert moved(after, "flights_explain_duration_seconds_count", None) >= 2
    assert np.isfinite(metric_sum(after, "flights_explain_duration_seconds_sum"))
