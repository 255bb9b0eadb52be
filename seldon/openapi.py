"""The OpenAPI document of the served API, generated from the served bundle.

`seldon/openapi.json` holds what does not depend on the model (routes, statuses, responses);
each feature's name, type, range and nullability, the online store's request fields, the
answer's names and the truth's come from the bundle's `Schema` and the model's name from its
metadata, so the document cannot drift from what the server validates and answers.
"""

from __future__ import annotations

import json
from pathlib import Path

from contract.bundle import CATEGORY, EntitySpec, FeatureSpec, OnlineStoreSpec, Schema
from scoring.validation import LOCAL_TIME_EXAMPLE, MAX_ENTITY_CHARS

TEMPLATE = Path(__file__).with_name("openapi.json")
CATEGORY_NOTE = "category; one unseen in training is scored as missing and counted"
FLAG = "predicted"  # the template's name for the predicted flag, replaced by the bundle's
LOCAL_TIME_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?$"


def document(schema: Schema, model_name: str) -> dict:
    doc = json.loads(TEMPLATE.read_text())
    doc["info"]["title"] = f"{model_name} model server"
    properties = {spec.name: _property(spec) for spec in schema.request_features}
    if schema.online_store is not None:  # the keys that find the online features, in their place
        properties[schema.online_store.time] = _time_property(schema.online_store)
        properties.update({entity.name: _entity_property(entity) for entity in schema.entity_keys})
    names = list(properties)
    schemas = doc["components"]["schemas"]
    schemas["Record"] = {
        "type": "object",
        "additionalProperties": False,
        "required": names,
        "properties": properties,
    }
    data = schemas["NdarrayRequest"]["properties"]["data"]["properties"]
    data["names"].update(items={"type": "string", "enum": names}, minItems=len(names), maxItems=len(names))
    data["ndarray"]["items"].update(minItems=len(names), maxItems=len(names))
    _name_outputs(schemas, schema)
    return doc


def _name_outputs(schemas: dict, schema: Schema) -> None:
    """The answer's column names, the explained row's flag and the truth's name: the bundle's."""
    output = schema.output
    answer = schemas["PredictionResponse"]["properties"]["data"]["properties"]["names"]
    answer.update(
        example=list(output.names), description=f"{output.names[0]}, then the 0/1 flag {output.predicted}"
    )
    explained = schemas["ExplanationResponse"]["properties"]["jsonData"]["properties"]["explanations"][
        "items"
    ]
    explained["required"] = [output.predicted if name == FLAG else name for name in explained["required"]]
    explained["properties"] = {
        (output.predicted if name == FLAG else name): value for name, value in explained["properties"].items()
    }
    truth = schemas["Feedback"]["properties"]["truth"]
    truth["description"] = (
        f"the truth of each row, 0 or 1: the column '{output.truth}' of data (names + ndarray), "
        "a one-column ndarray, or jsonData records"
    )


def _time_property(online: OnlineStoreSpec) -> dict:
    return {
        "type": "string",
        "pattern": LOCAL_TIME_PATTERN,
        "example": LOCAL_TIME_EXAMPLE,
        "description": "the event time, local wall clock to the minute: the online features are read "
        f"from the store as of {online.horizon_minutes} minutes before it",
    }


def _entity_property(entity: EntitySpec) -> dict:
    found: dict = {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_ENTITY_CHARS,
        "description": "finds the online features kept for it"
        + (" (null when unknown)" if entity.nullable else ""),
    }
    if entity.nullable:
        found["nullable"] = True
    return found


def _property(spec: FeatureSpec) -> dict:
    if spec.kind == CATEGORY:
        found: dict = {"type": "string", "description": CATEGORY_NOTE}
    else:
        found = {"type": "number"}
        if spec.min is not None:
            found["minimum"] = spec.min
        if spec.max is not None:
            found["maximum"] = spec.max
        if spec.min_exclusive:
            found["exclusiveMinimum"] = True
    if spec.nullable:
        found["nullable"] = True
    return found
