"""The guarded JSON decoder, the version-name check and the overflow rule, without a server."""

from __future__ import annotations

import json

import pytest

from scoring.validation import RequestError, RequestSchema
from seldon.pointer import VersionError, checked_version_dir, pointed_dir, write_pointer
from seldon.wrapper_changes import MAX_JSON_DEPTH, decode_json


def test_decoder_reads_what_orjson_refuses_and_names_what_nobody_can():
    big = 123456789012345678901234567890
    assert decode_json(b'{"a": NaN, "b": %d}' % big)["b"] == big
    deep = b"[" * 5000 + b"]" * 5000
    for raw, rule, says in [
        (deep, "nesting", f"deeper than {MAX_JSON_DEPTH}"),
        (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), "nesting", "deeper"),
        (b"", "not_json", "empty"),
        (b"{'a': 1}", "not_json", "not valid JSON"),
        (b'{"a": ' + b"9" * 5000 + b"}", "not_json", "digits"),
        (b'"\xff"', "not_json", "not valid JSON"),
    ]:
        with pytest.raises(RequestError) as caught:
            decode_json(raw)
        assert caught.value.rule == rule and says in caught.value.message, caught.value.message
    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert decode_json(at_limit.encode()) == json.loads(at_limit)
    # many brackets side by side are not depth: a 1000-row batch decodes
    batch = json.dumps({"data": {"ndarray": [[1, 2]] * 1000}}).encode()
    assert len(decode_json(batch)["data"]["ndarray"]) == 1000


@pytest.mark.parametrize("name", ["../1", "..", ".", "/etc", "1/../../x", "a b", "1\n", "ü", ""])
def test_version_names_that_could_leave_versions_are_refused(tmp_path, name):
    (tmp_path / "versions" / "1").mkdir(parents=True)
    with pytest.raises(VersionError):
        checked_version_dir(tmp_path, name)
    with pytest.raises(VersionError):
        pointed_dir(tmp_path, {"version": name, "path": f"versions/{name}"})


def test_a_symlinked_version_and_a_pointer_path_elsewhere_are_refused(tmp_path):
    (tmp_path / "versions" / "1").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "versions" / "2").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(VersionError, match="outside"):
        checked_version_dir(tmp_path, "2")
    with pytest.raises(VersionError):
        write_pointer(tmp_path, "2")
    assert checked_version_dir(tmp_path, "1") == tmp_path / "versions" / "1"
    with pytest.raises(VersionError, match="pointer path"):
        pointed_dir(tmp_path, {"version": "1", "path": "../elsewhere"})


def test_integer_beyond_float64_is_a_finite_rule_error(typed_schema, records):
    checker = RequestSchema(typed_schema, max_rows=10)
    body = {"jsonData": [records[0], dict(records[0], seats=10**400)]}
    with pytest.raises(RequestError) as caught:
        checker.check(body)
    assert (caught.value.field, caught.value.rule) == ("seats", "finite")
    assert "'seats' (row 1)" in caught.value.message and "401 digits" in caught.value.message
    with pytest.raises(RequestError) as caught:
        checker.check({"jsonData": dict(records[0], carrier=[["x" * 10_000]])})
    assert caught.value.rule == "type" and len(caught.value.message) < 200
