"""A use case's declaration is checked when it loads: a bad one fails naming the field."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pandera.pandas as pa
import pytest
from pandera.typing import Series

import usecases
from operational.declarations import EventStream
from usecases.spec import OnlineFeatures, UseCaseError


def _flights():
    return usecases.load("flights")


def _online(**changes) -> OnlineFeatures:
    """Flights' online declarations with the first one changed."""
    online = _flights().online
    assert online is not None
    first = dataclasses.replace(online.declared[0], **changes)
    return dataclasses.replace(online, declared=(first, *online.declared[1:]))


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
            {"monitoring": {"max_psi": 0.2}},
            r"monitoring: 'max_psi' is not a setting of monitoring \(known: max_auc_drop,",
        ),
        ({"monitoring": {"min_new_days": 7.5}}, r"monitoring: min_new_days: 7.5 is not a whole number"),
        (
            {"monitoring": {"ignore_features": "temp"}},
            r"monitoring: ignore_features: 'temp' is not a list of column",
        ),
        ({"gate": {"max_refresh_loss": "0.004"}}, r"gate: max_refresh_loss: '0.004' is not a number"),
        ({"monitoring_days": 0}, r"monitoring_days: 0 is not a whole number of days from 1 to 92"),
        ({"monitoring_days": 7.0}, r"monitoring_days: 7.0 is not a whole number of days from 1 to 92"),
        ({"gate": {"max_refresh_loss": True}}, r"gate: max_refresh_loss: True is not a number"),
        (
            {"online": _online(name="carrier")},
            r"online.features: \['carrier'\] are not numeric features",
        ),
        (
            {"online": _online(name="distance", entity="gate")},
            r"online: online feature 'distance': entity 'gate' is not a column of the event stream",
        ),
        (
            {"online": _online(name="distance", value="runway_minutes")},
            r"online: online feature 'distance': value 'runway_minutes' is not a column of the event stream",
        ),
        (
            {"online": _online(name="distance", time="landed")},
            r"online: online feature 'distance': time 'landed' is not a column of the event stream",
        ),
        (
            {"online": _online(name="distance", window_minutes=0)},
            r"online: online feature 'distance': window_minutes must be a positive whole number of "
            r"minutes, got 0",
        ),
        (
            {"online": _online(name="distance", window_minutes=-30)},
            r"online feature 'distance': window_minutes must be a positive whole number of minutes, got -30",
        ),
        (
            {"online": _online(name="distance", aggregation="median")},
            r"online: online feature 'distance': aggregation 'median' is not one the store computes "
            r"\(count, sum, mean, max, min, last, time_since_last\)",
        ),
        (
            {"online": _online(name="distance", aggregation="count", value="dep_delay")},
            r"online feature 'distance': aggregation 'count' reads no value column",
        ),
        (
            {"online": _online(name="distance", aggregation="max", value=None)},
            r"online feature 'distance': aggregation 'max' needs a value column",
        ),
        (
            {"online": _online(name="distance", window_minutes=None, same_day=None)},
            r"online feature 'distance': no window and no same_day: the store keeps a bounded past",
        ),
        (
            {"online": _online(name="distance", window_minutes=30 * 24 * 60)},
            r"online feature 'distance': window_minutes 43200 is longer than the store keeps \(10080\)",
        ),
        (
            {"online": dataclasses.replace(_flights().online, time="departs_at")},
            r"online: request key 'departs_at' is not a column of the feature schema",
        ),
        (
            {"online": dataclasses.replace(_flights().online, events="x")},
            r"online.events: a function \(source_dir, start, end\) -> events, or None",
        ),
        (
            {"online": dataclasses.replace(_flights().online, stream=EventStream("flight_id", "landed"))},
            r"online: event stream watermark 'landed' is not a column of the events",
        ),
        (
            {
                "online": dataclasses.replace(
                    _flights().online, stream=EventStream("flight_id", "actual_dep", "gate")
                )
            },
            r"online: event stream partition 'gate' is not the entity of any online feature",
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


def test_the_base_defaults_name_every_monitoring_threshold_and_gate_setting_and_nothing_else():
    from dataclasses import fields

    from core.gate import GateConfig
    from core.monitoring import MonitoringThresholds
    from usecases.loop_defaults import BASE_GATE, BASE_MONITORING

    assert [f.name for f in fields(MonitoringThresholds)] == list(BASE_MONITORING)
    assert [f.name for f in fields(GateConfig)] == list(BASE_GATE)


def test_a_use_cases_monitoring_and_gate_overrides_are_the_defaults_the_loop_runs_with(monkeypatch):
    """What a use case declares is what `MonitoringThresholds()` and `GateConfig()` give (the
    workflows', launch plans' and replays' defaults); an explicit value still wins, and a list is
    each instance's own."""
    from dataclasses import replace

    import usecases
    from core.gate import GateConfig
    from core.monitoring import MonitoringThresholds
    from usecases.loop_defaults import BASE_GATE, BASE_MONITORING

    case = replace(
        usecases.current(),
        monitoring={"max_weighted_psi": 0.2, "min_new_days": 14, "ignore_features": ["temp"]},
        gate={"max_refresh_loss": 0.0},
    )
    monkeypatch.setattr(usecases, "current", lambda: case)
    thresholds, gate = MonitoringThresholds(), GateConfig()
    assert (thresholds.max_weighted_psi, thresholds.min_new_days, thresholds.ignore_features) == (
        0.2,
        14,
        ["temp"],
    )
    assert thresholds.max_score_psi == BASE_MONITORING["max_score_psi"]
    assert gate.max_refresh_loss == 0.0 and gate.min_auc_gain == BASE_GATE["min_auc_gain"]
    assert MonitoringThresholds(min_new_days=3).min_new_days == 3
    thresholds.ignore_features.append("dewp")
    assert MonitoringThresholds().ignore_features == ["temp"]


def test_the_estimate_alert_of_a_use_case_uses_its_own_declared_limit():
    from dataclasses import replace

    import usecases
    from seldon.k8s import rules

    case = replace(usecases.current(), monitoring={"max_estimated_auc_drop": 0.03})
    (expression,) = [
        rule["expr"]
        for rule in rules.monitoring_alerts(case)
        if rule["alert"].endswith("EstimatedPerformanceDrop")
    ]
    assert expression.endswith("_monitoring_estimated_roc_auc > 0.03")
