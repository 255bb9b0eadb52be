"""The online store's request fields are the bundle's (`OnlineStoreSpec.time`, `.entities`): a
request of any use case carries its event time and the entities that are not features, checked
with messages naming the field; those that are features are checked as features."""

from __future__ import annotations

import pytest

from contract.bundle import EntitySpec, FeatureSpec, OnlineStoreSpec, OutputSpec, Schema
from operational.definitions import minute_of
from scoring.online import request_inputs
from scoring.validation import MAX_ENTITY_CHARS, RequestError, RequestSchema

SCHEMA = Schema(
    features=(
        FeatureSpec("station", "category", categories=("KJFK",)),
        FeatureSpec("recent_rain", "number", nullable=True),
        FeatureSpec("temp", "number"),
    ),
    output=OutputSpec(0.5, ("probability", "predicted_fog"), "fog", "fog", "clear"),
    online_store=OnlineStoreSpec(
        features=("recent_rain",),
        horizon_minutes=120,
        time="observed_at",
        entities=(EntitySpec("station"), EntitySpec("sensor"), EntitySpec("crew", nullable=True)),
        stream={"key": "reading_id", "watermark": "observed_at", "partition": "station"},
        declared=(
            {
                "name": "recent_rain",
                "entity": "station",
                "time": "observed_at",
                "aggregation": "sum",
                "value": "rain",
                "window_minutes": 120,
            },
        ),
    ),
)
RECORD = {"station": "KJFK", "temp": 12.5, "observed_at": "2013-03-01T06:00", "sensor": "s-1", "crew": None}


def _error(**changes) -> RequestError:
    with pytest.raises(RequestError) as caught:
        RequestSchema(SCHEMA, max_rows=5).check({"jsonData": {**RECORD, **changes}})
    return caught.value


def test_the_declared_fields_are_what_a_request_carries():
    checked = RequestSchema(SCHEMA, max_rows=5).check({"jsonData": [RECORD, {**RECORD, "crew": "c7"}]})
    assert checked.keys == {
        "observed_at": [minute_of("2013-03-01T06:00")] * 2,
        "sensor": ["s-1", "s-1"],
        "crew": [None, "c7"],
    }
    assert checked.columns["station"] == ["KJFK", "KJFK"]  # an entity that is a feature: its column
    assert [i["name"] for i in request_inputs(SCHEMA)] == ["station", "temp", "observed_at", "sensor", "crew"]
    assert request_inputs(SCHEMA)[-1] == {
        "name": "crew",
        "kind": "entity",
        "nullable": True,
        "max_length": 64,
    }


@pytest.mark.parametrize(
    ("changes", "field", "rule", "message"),
    [
        ({"observed_at": None}, "observed_at", "null", "field 'observed_at' is null: a value is required"),
        (
            {"observed_at": 7},
            "observed_at",
            "type",
            "field 'observed_at' must be a string, a local time like",
        ),
        (
            {"observed_at": "yesterday"},
            "observed_at",
            "format",
            "field 'observed_at' must be a local time like",
        ),
        ({"sensor": None}, "sensor", "null", "field 'sensor' is null: a value is required"),
        (
            {"sensor": ""},
            "sensor",
            "type",
            f"field 'sensor' must be a string of 1 to {MAX_ENTITY_CHARS} characters,",
        ),
        (
            {"sensor": 17},
            "sensor",
            "type",
            f"field 'sensor' must be a string of 1 to {MAX_ENTITY_CHARS} characters,",
        ),
        ({"crew": "c" * 65}, "crew", "type", f"of 1 to {MAX_ENTITY_CHARS} characters or null, got 'ccc"),
        (
            {"recent_rain": 1.0},
            "recent_rain",
            "online_store",
            "is read from the online store at request time",
        ),
    ],
)
def test_a_bad_request_field_is_named_with_its_rule(changes, field, rule, message):
    error = _error(**changes)
    assert (error.field, error.rule) == (field, rule)
    assert message in error.message


def test_a_missing_request_field_is_named():
    record = dict(RECORD)
    del record["sensor"]
    with pytest.raises(RequestError, match="missing field 'sensor': every feature is required"):
        RequestSchema(SCHEMA, max_rows=5).check({"jsonData": record})
