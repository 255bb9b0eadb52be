"""A use case's declaration is checked when it loads: a bad one fails naming the field."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pandera.pandas as pa
import pytest
from pandera.typing import Series

import usecases
from usecases.spec import OnlineKeys, UseCaseError


def _flights():
    return usecases.load("flights")


def _replace(**changes):
    return dataclasses.replace(_flights(), **changes)


def test_the_default_use_case_is_flights_and_its_names_follow_from_it(monkeypatch):
    monkeypatch.delenv(usecases.ENV, raising=False)
    case = usecases.current()
    assert case.name == "flights"
    assert case.metric_prefix == "flights"
    assert case.predicted == "predicted_late"
    assert set(case.slices) <= set(case.features)


def test_an_unknown_use_case_names_the_setting_and_what_exists(monkeypatch):
    monkeypatch.setenv(usecases.ENV, "no-such-case")
    with pytest.raises(
        UseCaseError, match=r"MLOPS_USE_CASE: no package usecases/no_such_case \(have: .*flights"
    ):
        usecases.current()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": ""}, r"use case 'flights': title: required: a non-empty string"),
        ({"name": "Flights_Late"}, r"name: 'Flights_Late' must be lower-case letters"),
        ({"load_window": None}, r"load_window: required: a function"),
        ({"feature_schema": dict}, r"feature_schema: required: a pandera DataFrameModel class"),
        ({"label": "arrived"}, r"label: 'arrived' is not a column of the feature schema"),
        (
            {"numeric_features": ("distance", "runway_length")},
            r"numeric_features: \['runway_length'\] not in",
        ),
        ({"slices": ("airline",)}, r"slices: \['airline'\] not in the feature schema"),
        ({"categorical_features": ("carrier", "distance")}, r"features: \['distance'\] declared both"),
        ({"label_maturity": timedelta(hours=-1)}, r"label_maturity: required: a timedelta of zero or more"),
        ({"label_known_early": "yes"}, r"label_known_early: True or False"),
        ({"data_start": "2013-01-01"}, r"data_start: a datetime, or None"),
        (
            {"label_maturity": timedelta(days=400), "label_known_early": False},
            r"label_maturity: 400 days leaves no labelled month to train on at as_of 2013-07-01",
        ),
        ({"threshold": 1.0}, r"threshold: 1.0 must lie strictly between 0 and 1"),
        ({"hyperparameters": {"max_depth": 3}}, r"hyperparameters: \['max_depth'\] are not hyperparameters"),
        (
            {
                "online": OnlineKeys(
                    time="sched_dep", entities=("origin",), features=("carrier",), horizon_minutes=60
                )
            },
            r"online.features: \['carrier'\] are not numeric features",
        ),
        (
            {
                "online": OnlineKeys(
                    time="sched_dep", entities=("gate",), features=("distance",), horizon_minutes=60
                )
            },
            r"online: request key 'gate' is not a column of the feature schema",
        ),
        (
            {
                "online": OnlineKeys(
                    time="sched_dep",
                    entities=("origin",),
                    features=("distance",),
                    horizon_minutes=60,
                    events="x",
                )
            },
            r"online.events: a function \(source_dir, start, end\) -> events, or None",
        ),
    ],
)
def test_a_bad_declaration_fails_at_load_naming_the_field(changes, message):
    with pytest.raises(UseCaseError, match=message):
        _replace(**changes)


class _CountLabel(pa.DataFrameModel):
    flight_id: Series[str]
    sched_dep: Series[str]
    distance: Series[float]
    late: Series[int] = pa.Field(ge=0, nullable=True)  # a count, not a binary outcome


def test_a_label_that_is_not_binary_is_refused():
    with pytest.raises(
        UseCaseError, match=r"label: 'late' must be binary: its schema field needs isin=\[0, 1\]"
    ):
        _replace(
            feature_schema=_CountLabel,
            categorical_features=(),
            numeric_features=("distance",),
            slices=(),
            online=None,
        )


def test_the_base_defaults_name_every_hyperparameter_and_nothing_else():
    from dataclasses import fields

    from usecases.hyperparameters import Hyperparameters
    from usecases.model_defaults import BASE_HYPERPARAMETERS

    assert [f.name for f in fields(Hyperparameters)] == list(BASE_HYPERPARAMETERS)
