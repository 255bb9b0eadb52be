"""The request log's own fields have one name whatever the use case (`predicted`, `truth`): a
reader of any use case's log needs no name of its. A line of the earlier format (its flag or truth
under a use case's name) is skipped, counted and logged, never read as a row without a flag."""

import json
import logging

from contract.request_log import PREDICTED, TRUTH, RequestLog, read_feedback, read_request_log, request_json


def _line(request_id: str, flag: str) -> dict:
    return {
        "ts": "2026-12-01T12:00:00+00:00",
        "request_id": request_id,
        "model_name": "m",
        "model_version": "1",
        "n_rows": 1,
        "probability": [0.2],
        flag: [1],
        "unknown_categories": {},
        "request": {"jsonData": {"station": "A"}},
    }


def test_the_flag_and_the_truth_are_logged_under_the_logs_own_names(tmp_path):
    log = RequestLog(tmp_path)
    log.write("a", "m", "1", request_json({"jsonData": {"station": "A"}}, None), [0.7], [1], {})
    log.write_feedback("a", [0])
    log.close()
    (row,) = read_request_log(tmp_path)
    assert (PREDICTED, TRUTH) == ("predicted", "truth")
    assert row[PREDICTED] == 1 and row["probability"] == 0.7
    assert read_feedback(tmp_path) == {("a", 0): 0}


def test_lines_of_the_earlier_format_are_skipped_counted_and_logged(tmp_path, caplog):
    lines = [
        _line("new", PREDICTED),
        _line("old", "predicted_x"),
        {"ts": "2026-12-01T12:00:01+00:00", "kind": "feedback", "request_id": "old", "x": [1]},
        {"ts": "2026-12-01T12:00:02+00:00", "kind": "feedback", "request_id": "new", TRUTH: [0]},
    ]
    (tmp_path / "requests-1-20261201T120000000000Z.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in lines)
    )
    with caplog.at_level(logging.WARNING, logger="contract.request_log"):
        assert [r["request_id"] for r in read_request_log(tmp_path)] == ["new"]
        assert read_feedback(tmp_path) == {("new", 0): 0}
    assert "skipped 1 prediction line(s)" in caplog.text and "no 'predicted' field" in caplog.text
    assert "skipped 1 feedback line(s)" in caplog.text and "no 'truth' field" in caplog.text
