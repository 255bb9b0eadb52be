"""Request validation against schema.json: every rule, with the message a caller sees."""

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from operational.definitions import minute_of
from scoring.validation import RequestError, RequestSchema

DATA = Path(__file__).resolve().parents[2] / "data" / "serving"
_spec = importlib.util.spec_from_file_location("serving_cases", DATA / "cases.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)


@pytest.fixture
def checker(typed_schema) -> RequestSchema:
    return RequestSchema(typed_schema, max_rows=5)


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
    served = schema["online_store"]["features"]  # joined after the check, from the online store
    assert list(checked.columns) == [f["name"] for f in schema["features"] if f["name"] not in served]
    assert checked.keys == {
        "sched_dep": [minute_of(records[0]["sched_dep"])],
        "tailnum": [records[0]["tailnum"]],
    }
    assert checked.n_rows == 1
    assert checked.columns["carrier"] == [records[0]["carrier"]]
    assert type(checked.columns["dep_hour"][0]) is float  # a few rows: Python floats, not numpy
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
    with pytest.raises(RequestError, match="row 0 must hold 22 values"):  # 20 features, 2 keys
        checker.check(body)


def test_ndarray_repeated_name(checker, records):
    names = list(records[0]) + ["carrier"]
    body = {"data": {"names": names, "ndarray": [[records[0][n] for n in names]]}}
    with pytest.raises(RequestError, match=r"repeats \['carrier'\]"):
        checker.check(body)


# ---- the few-row path (Python floats) and the numpy path give the same answer ------------------
NUMBER_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([None, True, "7", [], {}, -0.0, 0, 1e308, 2**1030]),
)


def _outcome(checker: RequestSchema, body: dict):
    try:
        checked = checker.check(body)
    except RequestError as error:
        return ("error", error.message, error.field, error.rule, error.status_code)
    columns = {name: np.asarray(column).tolist() for name, column in checked.columns.items()}
    return ("ok", repr(columns), checked.n_rows, checked.unknown_categories)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_few_rows_path_answers_like_numpy_path(schema, typed_schema, records, data):
    numbers = {f["name"]: f for f in schema["features"] if f["kind"] == "number"}
    n_rows = data.draw(st.integers(min_value=1, max_value=4), label="rows")
    rows = [dict(records[i % len(records)]) for i in range(n_rows)]
    for _ in range(data.draw(st.integers(min_value=0, max_value=3), label="changes")):
        row = data.draw(st.sampled_from(rows), label="row")
        name = data.draw(st.sampled_from(sorted(numbers)), label="field")
        bounds = [b for b in (numbers[name].get("min"), numbers[name].get("max")) if b is not None]
        # on, just above and just below each bound (and the bound as an integer): the rules' edges
        edges = [e for b in bounds for e in (b, math.nextafter(b, math.inf), math.nextafter(b, -math.inf))]
        edges += [int(b) for b in bounds if b == int(b)]
        values = st.one_of(NUMBER_VALUES, st.sampled_from(edges)) if edges else NUMBER_VALUES
        row[name] = data.draw(values, label="value")
    body = {"jsonData": rows}
    few, numpy_path = (
        RequestSchema(typed_schema, max_rows=5),
        RequestSchema(typed_schema, max_rows=5, few_rows=0),
    )
    assert few.few_rows >= n_rows
    assert _outcome(few, body) == _outcome(numpy_path, body)


def test_few_rows_path_reports_first_row_of_the_first_rule(checker, typed_schema, records):
    """Rules are checked in order over all rows: a NaN in row 1 is named before an
    out-of-range value in row 0, on both paths."""
    rows = [dict(records[0], dep_hour=99.0), dict(records[1], dep_hour=math.nan)]
    for few_rows in (0, checker.few_rows):
        with pytest.raises(RequestError) as caught:
            RequestSchema(typed_schema, 5, few_rows).check({"jsonData": rows})
        assert caught.value.rule == "null"
        assert caught.value.message == "field 'dep_hour' (row 1) is NaN: a value is required"
