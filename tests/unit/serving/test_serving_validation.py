"""Request validation against schema.json: every rule, with the message a caller sees."""

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from scoring.validation import RequestError, RequestSchema

DATA = Path(__file__).resolve().parents[2] / "data" / "serving"
_spec = importlib.util.spec_from_file_location("serving_cases", DATA / "cases.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)


@pytest.fixture
def checker(schema) -> RequestSchema:
    return RequestSchema(schema, max_rows=5)


@pytest.mark.parametrize(
    ("name", "body", "expect"),
    cases.bad_cases(),
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "",
)
def test_bad_request_names_field_and_rule(checker, name, body, expect):
    with pytest.raises(RequestError) as caught:
        checker.check(json.loads(body))
    error = caught.value
    assert error.status_code == 400
    assert error.rule == expect["rule"]
    assert error.field == expect["field"]
    if expect["field"]:
        assert f"'{expect['field']}'" in error.message
    if "message" in expect:
        assert expect["message"] in error.message
    status = error.to_dict()["status"]
    assert status["field"] == expect["field"] and status["rule"] == expect["rule"]
    assert status["reason"] == f"BAD_REQUEST_{expect['rule'].upper()}"


def test_one_record_gives_model_columns_in_schema_order(checker, records, schema):
    checked = checker.check({"jsonData": records[0]})
    assert list(checked.columns) == [f["name"] for f in schema["features"]]
    assert checked.n_rows == 1
    assert checked.columns["carrier"] == [records[0]["carrier"]]
    assert checked.columns["dep_hour"].dtype == np.float64
    assert math.isnan(checked.columns["wind_gust"][0])  # null in a nullable field: missing


def test_ndarray_batch_equals_records_batch(checker, records):
    names = list(records[0])[::-1]  # any column order: names say which is which
    ndarray = {"data": {"names": names, "ndarray": [[r[n] for n in names] for r in records]}}
    from_rows = checker.check(ndarray)
    from_records = checker.check({"jsonData": records})
    assert from_rows.n_rows == from_records.n_rows == len(records)
    for name, column in from_records.columns.items():
        np.testing.assert_array_equal(np.asarray(from_rows.columns[name]), np.asarray(column))


def test_unknown_category_is_accepted_and_counted(checker, records):
    rows = [dict(records[0], dest="ZZZ"), dict(records[1], dest="ZZZ", carrier="QQ")]
    checked = checker.check({"jsonData": rows})
    assert checked.unknown_categories == {"dest": 2, "carrier": 1}


def test_nan_in_nullable_field_is_missing(checker, records):
    checked = checker.check(json.loads(json.dumps({"jsonData": dict(records[0], temp=math.nan)})))
    assert math.isnan(checked.columns["temp"][0])


def test_integers_are_numbers(checker, records):
    checked = checker.check({"jsonData": dict(records[0], dep_hour=7, distance=500)})
    assert checked.columns["dep_hour"][0] == 7.0


def test_batch_over_limit(checker, records):
    with pytest.raises(RequestError) as caught:
        checker.check({"jsonData": [records[0]] * 6})
    assert caught.value.rule == "batch_limit"
    assert "6 rows, over the limit of 5" in caught.value.message


def test_ndarray_row_of_wrong_width(checker, records):
    names = list(records[0])
    body = {"data": {"names": names, "ndarray": [[records[0][n] for n in names][:-1]]}}
    with pytest.raises(RequestError, match="row 0 must hold 20 values"):
        checker.check(body)


def test_ndarray_repeated_name(checker, records):
    names = list(records[0]) + ["carrier"]
    body = {"data": {"names": names, "ndarray": [[records[0][n] for n in names]]}}
    with pytest.raises(RequestError, match=r"repeats \['carrier'\]"):
        checker.check(body)
