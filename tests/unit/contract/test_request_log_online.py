"""The request log keeps the values the online store gave each row, and the reader puts them
back into the row beside what the caller sent (monitoring measures what the model saw)."""

from contract.request_log import (
    ONLINE_FEATURES,
    RequestLog,
    iter_request_lines,
    read_request_log,
    request_json,
)


def test_online_features_are_logged_per_row_and_read_back(tmp_path):
    log = RequestLog(tmp_path)
    body = {"jsonData": [{"carrier": "UA", "origin": "EWR"}, {"carrier": "B6", "origin": "JFK"}]}
    online = {"origin_backlog": [3.0, None], "tail_prev_dep_delay": [None, 12.0]}
    log.write("a", "m", "1", request_json(body, None), [0.2, 0.6], [0, 1], {}, online_features=online)
    log.write("b", "m", "1", request_json({"jsonData": {"carrier": "AA"}}, None), [0.1], [0], {})
    log.close()
    rows = read_request_log(tmp_path)
    assert [(r["origin_backlog"], r["tail_prev_dep_delay"]) for r in rows[:2]] == [(3.0, None), (None, 12.0)]
    assert "origin_backlog" not in rows[2]  # a model without online features logs none
    lines = {line["request_id"]: line for line in iter_request_lines(tmp_path)}
    assert ONLINE_FEATURES in lines["a"] and ONLINE_FEATURES not in lines["b"]
