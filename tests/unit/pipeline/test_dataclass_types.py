"""A dataclass's literal type is built once per dataclass (tasks/dataclass_types.py), and is the
one flytekit builds, a fresh copy for each caller."""

from __future__ import annotations

from dataclasses import dataclass

import mashumaro.jsonschema
from flytekit.core.type_engine import DataclassTransformer, TypeEngine

from core.gate import GateConfig, GateDecision
from core.model import Hyperparameters
from core.monitoring import MonitoringReport
from tasks import dataclass_types
from tasks.data import DataConfig
from tasks.util import pipeline_task


@dataclass
class Settings:
    threshold: float = 0.5


def tasks_naming_settings():
    """Two tasks declared when called, both naming `Settings`."""

    @pipeline_task(cache=False)
    def first(settings: Settings) -> float:
        return settings.threshold

    @pipeline_task(cache=False)
    def second(settings: Settings) -> Settings:
        return settings

    return first, second


def test_the_literal_type_is_flytekits():
    transformer = DataclassTransformer()
    # MonitoringReport: NaN defaults in its JSON schema
    for kind in (Hyperparameters, DataConfig, GateConfig, GateDecision, MonitoringReport):
        expected = dataclass_types.FLYTEKIT_GET_LITERAL_TYPE(transformer, kind)
        assert TypeEngine.to_literal_type(kind) == expected
        assert TypeEngine.to_literal_type(kind).to_flyte_idl() == expected.to_flyte_idl()


def test_tasks_naming_a_dataclass_build_its_schema_once(monkeypatch):
    built = []
    build = mashumaro.jsonschema.build_json_schema
    monkeypatch.setattr(
        mashumaro.jsonschema, "build_json_schema", lambda t, *a, **k: built.append(t) or build(t)
    )

    first, second = tasks_naming_settings()
    assert built == [Settings]
    assert second(settings=Settings(0.25)) == Settings(0.25) and first(settings=Settings(0.75)) == 0.75


def test_each_caller_gets_its_own_copy():
    one, two = TypeEngine.to_literal_type(GateConfig), TypeEngine.to_literal_type(GateConfig)
    assert one == two and one is not two
    one._structure = None  # flytekit's unions change what they are handed
    assert TypeEngine.to_literal_type(GateConfig).structure is not None
