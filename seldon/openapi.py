"""The OpenAPI document of the served API, generated from the served bundle's `Schema`.

`seldon/openapi.json` holds what does not depend on the model (routes, statuses, responses);
each feature's name, type, range and nullability come from the schema, so the document cannot
drift from what the server validates.
"""

from __future__ import annotations

import json
from pathlib import Path

from contract.bundle import CATEGORY, FeatureSpec, Schema

TEMPLATE = Path(__file__).with_name("openapi.json")
CATEGORY_NOTE = "category; one unseen in training is scored as missing and counted"
# The online store's keys (scoring.validation checks them): a request names the flight.
KEY_PROPERTIES: dict[str, dict] = {
    "sched_dep": {
        "type": "string",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?$",
        "example": "2013-06-14T07:05",
        "description": "scheduled departure, the airport's local time to the minute: the operational "
        "features are read from the online store as of the model's horizon before it",
    },
    "tailnum": {
        "type": "string",
        "nullable": True,
        "minLength": 1,
        "maxLength": 10,
        "description": "tail number (null when unknown): finds the plane's previous departure that day",
    },
}


def document(schema: Schema) -> dict:
    doc = json.loads(TEMPLATE.read_text())
    properties = {spec.name: _property(spec) for spec in schema.request_features}
    if schema.online_store is not None:  # the flight's keys, in place of the store's features
        properties.update(KEY_PROPERTIES)
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
    return doc


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
