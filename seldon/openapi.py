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


def document(schema: Schema) -> dict:
    doc = json.loads(TEMPLATE.read_text())
    names = schema.names
    schemas = doc["components"]["schemas"]
    schemas["Record"] = {
        "type": "object",
        "additionalProperties": False,
        "required": names,
        "properties": {spec.name: _property(spec) for spec in schema.features},
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
