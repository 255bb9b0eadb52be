"""Request log, metrics buffer and pointer: the pure parts of the server."""

import json
import threading

import numpy as np
import pytest

from contract.bundle import Metadata
from contract.request_log import RequestLog, read_request_log, request_json
from seldon.metrics import LATENCY, REJECTED, REQUESTS, ServingMetrics
from seldon.pointer import PointerWatcher, read_pointer, write_pointer


def _write(log, request_id, n=2, raw=None):
    body = {"jsonData": [{"carrier": "UA", "temp": None if i == 0 else 50.0} for i in range(n)]}
    log.write(request_id, "flights-late-arrival", "3", request_json(body, raw), [0.1] * n, [0] * n, {})


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
    assert rows[0]["predicted_late"] == 0 and "late" not in rows[0]  # the truth is not known here
    assert set(rows[0]) >= {"ts", "model_name", "carrier"}
    assert rows[3]["carrier"] == "AA" and rows[3]["temp"] == 61.5 and rows[3]["predicted_late"] == 1


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


def test_metrics_counters_leave_once_gauges_with_their_source():
    metrics = ServingMetrics()
    metrics.request("ok", 0.002)
    metrics.request("rejected", 0.0005, reason="max")
    metrics.predicted(np.array([0.1, 0.6]), np.array([False, True]), {"dest": 1})

    def tags(m):
        return tuple(sorted(m.get("tags", {}).items()))

    first = metrics.drain("health")
    counters = {(m["key"], tags(m)): m["value"] for m in first if m["type"] == "COUNTER"}
    assert counters[(REQUESTS, (("outcome", "ok"),))] == 1
    assert counters[(REJECTED, (("reason", "max"),))] == 1
    assert counters[("flights_unknown_category_total", (("feature", "dest"),))] == 1
    assert counters[("flights_predicted_rows_total", (("label", "late"),))] == 1
    assert not [m for m in first if m["type"] == "GAUGE"]  # histograms leave with predictions
    assert metrics.drain("health") == []  # deltas were handed over once

    gauges = {(m["key"], m["tags"].get("le")): m["value"] for m in metrics.drain("predict")}
    assert ("flights_model_score_bucket", "0.05") not in gauges  # unchanged: not sent
    assert gauges[("flights_model_score_bucket", "0.1")] == 1
    assert gauges[("flights_model_score_bucket", "0.5")] == 1
    assert gauges[("flights_model_score_bucket", "0.6")] == 2
    assert gauges[("flights_model_score_bucket", "+Inf")] == 2
    assert gauges[("flights_model_score_count", None)] == 2
    assert gauges[("flights_model_score_sum", None)] == pytest.approx(0.7)
    assert gauges[(LATENCY + "_bucket", "0.001")] == 1  # the 0.5 ms rejection
    assert gauges[(LATENCY + "_bucket", "0.0025")] == 2
    assert gauges[(LATENCY + "_count", None)] == 2
    assert gauges[(LATENCY + "_sum", None)] == pytest.approx(0.0025)
    assert gauges[("flights_positive_rate", None)] == 0.5
    assert metrics.drain("predict") == []

    metrics.request("ok", 0.003)
    again = {(m["key"], m["tags"].get("le")): m["value"] for m in metrics.drain("predict")}
    assert (LATENCY + "_bucket", "0.0025") not in again
    assert again[(LATENCY + "_bucket", "0.005")] == 3 and again[(LATENCY + "_count", None)] == 3


def test_metrics_model_info_moves_with_swap():
    metrics = ServingMetrics()
    first = Metadata(version="1", name="m", run_id="r1")
    metrics.model_loaded(first, None)
    metrics.model_loaded(Metadata(version="2", name="m", run_id="r2"), first)
    info = {
        m["tags"]["bundle_version"]: m["value"]
        for m in metrics.drain("feedback")
        if m["key"] == "flights_model_info"
    }
    assert info == {"1": 0.0, "2": 1.0}
    # every response carries the model info, whatever its kind
    assert [m["tags"]["bundle_version"] for m in metrics.drain("predict")] == ["1", "2"]


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
