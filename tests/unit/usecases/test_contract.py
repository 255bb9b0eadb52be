"""The use-case contract: what every package under `usecases/` must hold for the loop to run it.

Parameterized over `usecases.available()`, so a new use case (or one made by the scaffold) is
checked by adding its folder: its declaration loads, its fixtures load and validate against its
raw schema, its feature builder's output validates against its feature schema and keeps the
truth missing until known, its sample request carries exactly the fields a request must, with
values its feature schema accepts, and its docs page exists.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache

import pandas as pd
import pandera.pandas as pa
import pytest

import usecases
from usecases.spec import UseCase

CASES = usecases.available()
# Every row the fixtures hold, whatever their dates.
EVERYTHING = (datetime(1900, 1, 1), datetime(2100, 1, 1))
DOCS_PAGE = "README.md"


@cache
def _features(name: str) -> pd.DataFrame:
    case = usecases.load(name)
    raw = case.load_window(str(case.fixtures), *EVERYTHING)
    return case.build_features(case.raw_schema.validate(raw, lazy=True), None)


def test_every_use_case_is_listed():
    assert {"flights", "visibility"} <= set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_the_declaration_loads_under_its_own_name(name):
    case = usecases.load(name)
    assert isinstance(case, UseCase) and case.name == name
    assert case.package_dir.name == name.replace("-", "_")
    assert case.predicted not in case.feature_schema.to_schema().columns


@pytest.mark.parametrize("name", CASES)
def test_the_fixtures_load_and_validate_against_the_raw_schema(name):
    case = usecases.load(name)
    assert case.fixtures.is_dir(), f"{name}: no fixtures/ folder (a tiny source directory)"
    raw = case.load_window(str(case.fixtures), *EVERYTHING)
    case.raw_schema.validate(raw, lazy=True)
    assert len(raw) > 0


@pytest.mark.parametrize("name", CASES)
def test_the_feature_builder_output_validates_and_can_train_and_hold_out(name):
    case = usecases.load(name)
    table = _features(name)
    case.feature_schema.validate(table, lazy=True)
    assert table[case.key].is_unique
    assert list(table[case.timestamp]) == sorted(table[case.timestamp])
    labelled = table.loc[table[case.label].notna()]
    months = labelled[case.timestamp].dt.to_period("M")
    # the loop on the fixtures: a training month and a holdout month, each with both classes
    assert months.nunique() >= 2, f"{name}: the fixtures' labels cover {months.nunique()} month(s)"
    for month, labels in labelled.groupby(months)[case.label]:
        assert set(labels) == {0, 1}, f"{name}: fixtures of {month} hold only {set(labels)}"
    # the trees cannot bin a feature with no value in the rows they fit on
    present = labelled.groupby(months)[list(case.numeric_features)].count()
    empty = [(str(month), f) for month, row in present.iterrows() for f, n in row.items() if n == 0]
    assert not empty, f"{name}: features with no value in a month of the fixtures: {empty}"


@pytest.mark.parametrize("name", CASES)
def test_the_truth_is_missing_until_known_and_final_after_the_maturity(name):
    case = usecases.load(name)
    closed = _features(name)
    # just past the first event's maturity: that event's truth is final, the last one's unknown
    known_at = (closed[case.timestamp].min() + case.label_maturity).to_pydatetime()
    raw = case.load_window(str(case.fixtures), *EVERYTHING)
    then = case.build_features(raw, known_at).set_index(case.key)[case.label]
    closed = closed.set_index(case.key)
    future = closed[case.timestamp] > known_at
    assert future.any() and then[future].isna().all()  # an event after known_at has no truth yet
    matured = closed[case.timestamp] + case.label_maturity <= known_at
    assert matured.any()
    pd.testing.assert_series_equal(then[matured], closed.loc[matured, case.label])


@pytest.mark.parametrize("name", CASES)
def test_the_sample_request_carries_the_request_fields_with_values_the_schema_accepts(name):
    case = usecases.load(name)
    body = json.loads(case.sample_request.read_text())
    records = body["jsonData"]
    records = [records] if isinstance(records, dict) else records
    served = set(case.online.features) if case.online else set()
    keys = {case.online.time, *case.online.entities} if case.online else set()
    expected = (set(case.features) - served) | keys
    columns = case.feature_schema.to_schema().columns
    for record in records:
        assert set(record) == expected, f"{name}: sample request fields differ from {sorted(expected)}"
        sent = {field: value for field, value in record.items() if field in columns}
        row = pd.DataFrame([sent]).astype({f: float for f in case.numeric_features if f in sent})
        if case.online and case.online.time in row:
            row[case.online.time] = pd.to_datetime(row[case.online.time])
        pa.DataFrameSchema({field: columns[field] for field in sent}).validate(row, lazy=True)


@pytest.mark.parametrize("name", CASES)
def test_the_docs_page_exists_and_names_the_label_and_its_maturity(name):
    case = usecases.load(name)
    page = case.package_dir / DOCS_PAGE
    assert page.is_file(), f"{name}: no docs page {page}"
    text = page.read_text()
    assert case.label in text and case.title in text
