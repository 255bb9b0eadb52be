import importlib.util
import json
from pathlib import Path

import pytest

from contract.bundle import Schema

DATA = Path(__file__).resolve().parents[2] / "data" / "serving"


def _load_cases():
    spec = importlib.util.spec_from_file_location("serving_cases", DATA / "cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cases = _load_cases()


@pytest.fixture(scope="session")
def schema() -> dict:
    return json.loads((DATA / "schema.json").read_text())


@pytest.fixture
def records() -> list[dict]:
    return cases.records()


@pytest.fixture(scope="session")
def typed_schema(schema) -> Schema:
    return Schema.from_dict(schema)
