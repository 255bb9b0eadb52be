"""The OpenAPI document is generated from the schema: a new feature needs no edit of it."""

from __future__ import annotations

import dataclasses

from contract.bundle import FeatureSpec
from seldon.openapi import document


def test_every_feature_is_documented_with_its_type_range_and_nullability(typed_schema):
    record = document(typed_schema)["components"]["schemas"]["Record"]
    sent = [spec.name for spec in typed_schema.request_features]  # the online store gives the rest
    assert record["required"] == [*sent, "sched_dep", "tailnum"] and record["additionalProperties"] is False
    for name in typed_schema.online_store.features:
        assert name not in record["properties"]
    assert record["properties"]["tailnum"]["nullable"] is True
    assert "pattern" in record["properties"]["sched_dep"]
    for spec in typed_schema.request_features:
        documented = record["properties"][spec.name]
        assert documented["type"] == ("string" if spec.kind == "category" else "number")
        assert documented.get("nullable", False) == spec.nullable
        assert (documented.get("minimum"), documented.get("maximum")) == (spec.min, spec.max)
        assert documented.get("exclusiveMinimum", False) == bool(spec.min_exclusive)


def test_a_new_feature_appears_in_records_and_ndarray_names(typed_schema):
    added = FeatureSpec(name="taxi_minutes", kind="number", nullable=True, min=0.0, max=180.0)
    schema = dataclasses.replace(typed_schema, features=(*typed_schema.features, added))
    schemas = document(schema)["components"]["schemas"]
    assert schemas["Record"]["properties"]["taxi_minutes"] == {
        "type": "number",
        "minimum": 0.0,
        "maximum": 180.0,
        "nullable": True,
    }
    names = schemas["NdarrayRequest"]["properties"]["data"]["properties"]["names"]
    assert "taxi_minutes" in names["items"]["enum"] and names["maxItems"] == len(schema.request_features) + 2
