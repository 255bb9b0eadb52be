"""The shadow challenger's scores are lines of their own, written after the prediction's: the
reader joins them to their request's rows by id, still reads the fields on the prediction line
itself (as lines were written before), and drops scores whose row count is not the request's."""

import json

from contract.request_log import (
    CHALLENGER_PROBABILITY,
    CHALLENGER_VERSION,
    RequestLog,
    read_request_log,
    request_json,
)


def _challenger(rows: list[dict]) -> dict[tuple[str, int], tuple[str | None, float | None]]:
    return {
        (r["request_id"], r["row"]): (r.get(CHALLENGER_VERSION), r.get(CHALLENGER_PROBABILITY)) for r in rows
    }


def test_shadow_lines_are_joined_to_their_requests_rows(tmp_path):
    log = RequestLog(tmp_path, max_seconds=0)
    two = request_json({"jsonData": [{"carrier": "UA"}, {"carrier": "B6"}]}, None)
    one = request_json({"jsonData": {"carrier": "AA"}}, None)
    log.write("a", "m", "1", two, [0.2, 0.6], [0, 1], {})
    log.write("b", "m", "1", one, [0.1], [0], {})
    log.write("c", "m", "1", one, [0.3], [0], {})
    log.write_shadow("a", "2", [0.25, 0.55])
    log.write_shadow("c", "2", [0.4, 0.5])  # two scores for a one-row request: not its own
    log.close()
    assert _challenger(read_request_log(tmp_path)) == {
        ("a", 0): ("2", 0.25),
        ("a", 1): ("2", 0.55),
        ("b", 0): (None, None),  # never scored in shadow
        ("c", 0): (None, None),
    }


def test_lines_written_with_the_scores_inline_are_still_read(tmp_path):
    line = {
        "ts": "2026-12-01T12:00:00+00:00",
        "request_id": "old",
        "model_name": "m",
        "model_version": "1",
        "n_rows": 1,
        "probability": [0.2],
        "predicted": [0],
        "unknown_categories": {},
        CHALLENGER_VERSION: "2",
        CHALLENGER_PROBABILITY: [0.3],
        "request": {"jsonData": {"carrier": "UA"}},
    }
    (tmp_path / "requests-1-20261201T120000000000Z.jsonl").write_text(json.dumps(line) + "\n")
    assert _challenger(read_request_log(tmp_path)) == {("old", 0): ("2", 0.3)}
