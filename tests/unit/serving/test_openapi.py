"""The OpenAPI document is generated from the served bundle: a new feature, another use case's
request fields or output names need no edit of it."""

from __future__ import annotations

import dataclasses

from contract.bundle import EntitySpec, FeatureSpec, OutputSpec
from seldon.openapi import document


def test_every_feature_is_documented_with_its_type_range_and_nullability(typed_schema):
    record = document(typed_schema, "m")["components"]["schemas"]["Record"]
    sent = [spec.name for spec in typed_schema.request_features]  # the online store gives the rest
    online = typed_schema.online_store
    keys = [online.time, *(e.name for e in typed_schema.entity_keys)]
    assert record["required"] == [*sent, *keys] and record["additionalProperties"] is False
    for name in online.features:
        assert name not in record["properties"]
    for entity in typed_schema.entity_keys:
        assert record["properties"][entity.name].get("nullable", False) == entity.nullable
    assert "pattern" in record["properties"][online.time]
    for spec in typed_schema.request_features:
        documented = record["properties"][spec.name]
        assert documented["type"] == ("string" if spec.kind == "category" else "number")
        assert documented.get("nullable", False) == spec.nullable
        assert (documented.get("minimum"), documented.get("maximum")) == (spec.min, spec.max)
        assert documented.get("exclusiveMinimum", False) == bool(spec.min_exclusive)


def test_a_new_feature_appears_in_records_and_ndarray_names(typed_schema):
    added = FeatureSpec(name="taxi_minutes", kind="number", nullable=True, min=0.0, max=180.0)
    schema = dataclasses.replace(typed_schema, features=(*typed_schema.features, added))
    schemas = document(schema, "m")["components"]["schemas"]
    assert schemas["Record"]["properties"]["taxi_minutes"] == {
        "type": "number",
        "minimum": 0.0,
        "maximum": 180.0,
        "nullable": True,
    }
    names = schemas["NdarrayRequest"]["properties"]["data"]["properties"]["names"]
    keys = 1 + len(schema.entity_keys)
    assert (
        "taxi_minutes" in names["items"]["enum"] and names["maxItems"] == len(schema.request_features) + keys
    )


def test_another_use_cases_names_are_the_documents(typed_schema):
    """Request fields, the answer's names, the explained flag, the truth and the title all come
    from the bundle: nothing of the tests' own use case is left in a document of another."""
    output = OutputSpec(
        threshold=0.5,
        names=("probability", "predicted_low_visibility"),
        truth="low_visibility",
        positive_class="low visibility",
        negative_class="clear",
    )
    served = typed_schema.online_store.features
    online = dataclasses.replace(
        typed_schema.online_store,
        features=served,
        horizon_minutes=180,
        time="observed_at",
        entities=(EntitySpec("station_id"),),
    )
    schema = dataclasses.replace(typed_schema, output=output, online_store=online)
    doc = document(schema, "visibility-drop")
    schemas = doc["components"]["schemas"]
    assert doc["info"]["title"] == "visibility-drop model server"
    assert schemas["Record"]["required"][-2:] == ["observed_at", "station_id"]
    assert "nullable" not in schemas["Record"]["properties"]["station_id"]
    assert "180 minutes" in schemas["Record"]["properties"]["observed_at"]["description"]
    answer = schemas["PredictionResponse"]["properties"]["data"]["properties"]["names"]
    assert answer["example"] == ["probability", "predicted_low_visibility"]
    explained = schemas["ExplanationResponse"]["properties"]["jsonData"]["properties"]["explanations"][
        "items"
    ]
    assert (
        "predicted_low_visibility" in explained["required"]
        and "predicted_low_visibility" in explained["properties"]
    )
    assert "'low_visibility'" in schemas["Feedback"]["properties"]["truth"]["description"]
    text = str(doc)
    for name in (typed_schema.online_store.time, typed_schema.output.predicted, "tailnum"):
        assert name not in text, name
