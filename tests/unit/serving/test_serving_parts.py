"""Request log, metrics buffer and pointer: the pure parts of the server."""

import json
import math
import threading

import numpy as np
import pytest

from contract.bundle import Metadata
from contract.request_log import RequestLog, read_request_log, request_json
from seldon.metrics import (
    FEEDBACK_CORRECT,
    FEEDBACK_ROWS,
    LATENCY,
    MODEL_INFO,
    ONLINE_ACCURACY,
    POSITIVE_RATE,
    REJECTED,
    REQUESTS,
    ROWS,
    SCORE,
    SWAPS,
    UNKNOWN_CATEGORY,
    ServingMetrics,
)
from seldon.pointer import PointerWatcher, read_pointer, write_pointer


def _write(log, request_id, n=2, raw=None):
    body = {"jsonData": [{"carrier": "UA", "temp": None if i == 0 else 50.0} for i in range(n)]}
    log.write(request_id, "m", "3", request_json(body, raw), [0.1] * n, [0] * n, {})


def test_request_log_rows_round_trip(tmp_path):
    log = RequestLog(tmp_path)
    _write(log, "a", n=2)
    _write(log, "b", n=1)
    names = ["carrier", "temp"]
    ndarray = {"data": {"names": names, "ndarray": [["AA", 61.5]]}}
    log.write("c", "m", "3", request_json(ndarray, json.dumps(ndarray).encode()), [0.7], [1], {})
    log.close()
    rows = read_request_log(tmp_path)
    assert [(r["request_id"], r["row"]) for r in rows] == [("a", 0), ("a", 1), ("b", 0), ("c", 0)]
    assert rows[0]["temp"] is None and rows[1]["temp"] == 50.0
    assert rows[0]["model_version"] == "3" and rows[0]["probability"] == 0.1
    assert rows[0]["predicted"] == 0 and "truth" not in rows[0]  # the truth is not known here
    assert set(rows[0]) >= {"ts", "model_name", "carrier"}
    assert rows[3]["carrier"] == "AA" and rows[3]["temp"] == 61.5 and rows[3]["predicted"] == 1


def test_raw_body_is_logged_as_sent_unless_it_spans_lines():
    body = {"jsonData": {"carrier": "UA"}}
    assert request_json(body, b'{"jsonData": {"carrier": "UA"}}') == b'{"jsonData": {"carrier": "UA"}}'
    assert request_json(body, b'{\n "jsonData": {"carrier": "UA"}}') == b'{"jsonData":{"carrier":"UA"}}'
    assert request_json(body, None) == b'{"jsonData":{"carrier":"UA"}}'
    assert b"\\u00e9" in request_json({"a": "\u00e9"}, '{"a": "\u00e9"}'.encode())


def test_request_log_rotates_by_size_and_reader_reads_all(tmp_path):
    log = RequestLog(tmp_path, max_bytes=400, backups=10)
    for index in range(20):
        _write(log, f"r{index:02d}", n=1)
    log.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) > 3, files
    assert all(f.startswith("requests-") for f in files)
    got = sorted(r["request_id"] for r in read_request_log(tmp_path))
    assert got == [f"r{i:02d}" for i in range(20)]


def test_reader_skips_a_line_still_being_written(tmp_path):
    log = RequestLog(tmp_path)
    _write(log, "whole", n=1)
    log.close()
    with open(log.path, "a") as handle:
        handle.write('{"ts": "2026-01-01", "request_id": "half"')
    assert [r["request_id"] for r in read_request_log(tmp_path)] == ["whole"]


PREFIX = "p"  # the deployment's metric prefix (METRIC_PREFIX)


def _metrics() -> ServingMetrics:
    metrics = ServingMetrics(PREFIX)
    metrics.classes(("on_time", "late"))  # what a bundle's output.row_labels gives when it loads
    return metrics


def _samples(metrics: ServingMetrics) -> dict[tuple[str, tuple], float]:
    """{(sample name without the prefix, sorted labels): value} as the exposition would show it."""
    return {
        (sample.name.removeprefix(f"{PREFIX}_"), tuple(sorted(sample.labels.items()))): sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def test_every_metric_is_named_with_the_deployments_prefix():
    names = {sample.name for family in _metrics().registry.collect() for sample in family.samples}
    assert names and all(name.startswith("p_") for name in names), names
    other = ServingMetrics("bikes")
    other.classes(("no_rental", "rental"))
    other.predicted(np.array([0.9]), np.array([1]), {})
    other.explained(np.array([0]))
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in other.registry.collect()
        for sample in family.samples
    }
    assert samples[("bikes_predicted_rows_total", (("label", "rental"),))] == 1
    assert samples[("bikes_explained_rows_total", (("label", "no_rental"),))] == 1


def test_metrics_count_requests_rows_and_scores():
    metrics = _metrics()
    metrics.request("ok", 0.002)
    metrics.request("rejected", 0.0004, reason="max")
    metrics.predicted(np.array([0.1, 0.6]), np.array([0, 1]), {"dest": 1})
    samples = _samples(metrics)
    assert samples[(REQUESTS, (("outcome", "ok"),))] == 1
    assert samples[(REJECTED, (("reason", "max"),))] == 1
    assert samples[(UNKNOWN_CATEGORY, (("feature", "dest"),))] == 1
    assert samples[(ROWS, (("label", "late"),))] == 1 and samples[(ROWS, (("label", "on_time"),))] == 1
    score = {labels[0][1]: v for (name, labels), v in samples.items() if name == SCORE + "_bucket"}
    assert score["0.05"] == 0 and score["0.1"] == 1 and score["0.5"] == 1 and score["0.6"] == 2
    assert score["+Inf"] == 2
    assert samples[(SCORE + "_count", ())] == 2 and samples[(SCORE + "_sum", ())] == pytest.approx(0.7)
    latency = {labels[0][1]: v for (name, labels), v in samples.items() if name == LATENCY + "_bucket"}
    assert latency["0.0005"] == 1 and latency["0.0025"] == 2 and latency["+Inf"] == 2
    assert samples[(LATENCY + "_sum", ())] == pytest.approx(0.0024)
    assert samples[(POSITIVE_RATE, ())] == 0.5


def test_many_rows_count_like_one_at_a_time():
    scores = np.random.default_rng(0).uniform(0, 1, 1000)
    scores[:3] = [0.05, 0.35, 1.0]  # on bucket edges: `le` includes the edge
    bulk, single = _metrics(), _metrics()
    bulk.predicted(scores, (scores >= 0.35).astype(int), {})
    for score in scores:
        single.predicted(np.array([score]), np.array([int(score >= 0.35)]), {})
    left, right = _samples(bulk), _samples(single)
    assert left.keys() == right.keys()
    for key, value in left.items():
        assert value == pytest.approx(right[key], nan_ok=True), key
    assert math.isnan(left[(ONLINE_ACCURACY, ())])  # no feedback yet: no accuracy, not 0


def test_rate_gauges_are_nan_until_there_is_something_to_rate():
    samples = _samples(_metrics())
    assert math.isnan(samples[(POSITIVE_RATE, ())]) and math.isnan(samples[(ONLINE_ACCURACY, ())])


def test_metrics_model_info_moves_with_swap():
    metrics = _metrics()
    first = Metadata(version="1", name="m", run_id="r1")
    metrics.model_loaded(first, None)
    metrics.model_loaded(Metadata(version="2", name="m", run_id="r2"), first)
    metrics.swap_failed()
    samples = _samples(metrics)
    info = {dict(labels)["bundle_version"]: v for (name, labels), v in samples.items() if name == MODEL_INFO}
    assert info == {"1": 0.0, "2": 1.0}
    assert samples[(SWAPS, (("outcome", "ok"),))] == 1 and samples[(SWAPS, (("outcome", "failed"),))] == 1


def test_feedback_sets_online_accuracy():
    metrics = _metrics()
    metrics.feedback(10, 7)
    metrics.feedback(10, 9)
    samples = _samples(metrics)
    assert samples[(FEEDBACK_ROWS, ())] == 20 and samples[(FEEDBACK_CORRECT, ())] == 16
    assert samples[(ONLINE_ACCURACY, ())] == pytest.approx(0.8)


def test_pointer_is_replaced_atomically_and_watcher_follows(tmp_path):
    for version in ("1", "2"):
        (tmp_path / "versions" / version).mkdir(parents=True)
    with pytest.raises(FileNotFoundError):
        write_pointer(tmp_path, "9")
    write_pointer(tmp_path, "1")
    seen, changed = [], threading.Event()
    watcher = PointerWatcher(tmp_path, lambda p: (seen.append(p["version"]), changed.set()), 0.05)
    watcher.start()
    try:
        write_pointer(tmp_path, "2")
        assert changed.wait(5)
    finally:
        watcher.stop()
    assert seen == ["2"]
    assert read_pointer(tmp_path)["path"] == "versions/2"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert json.loads((tmp_path / "current.json").read_text())["version"] == "2"
