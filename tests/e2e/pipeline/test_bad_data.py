"""Bad data fails the training workflow at validation, names the column and the rule, and
leaves the registry untouched."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from core import registry
from core.model import Hyperparameters
from tasks.data import DataConfig
from usecases.flights.source import default_source, read_table
from workflows.training import training_workflow

pytestmark = pytest.mark.slow

AS_OF = datetime(2013, 3, 1)


@pytest.fixture(scope="module")
def real_tables() -> dict[str, pd.DataFrame]:
    """January and February 2013 of the real data, as a user's own source would hold them."""
    flights = read_table(default_source(), "flights")
    return {
        "flights": flights[flights["month"] <= 2].reset_index(drop=True),
        "weather": read_table(default_source(), "weather"),
        "planes": read_table(default_source(), "planes"),
    }


def write_source(directory: Path, tables: dict[str, pd.DataFrame], fmt: str = "parquet") -> str:
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "parquet":
            frame.to_parquet(directory / f"{name}.parquet", index=False)
        else:
            frame.to_csv(directory / f"{name}.csv", index=False)
    return str(directory)


def run_on(source_dir: str, as_of: datetime = AS_OF):
    return training_workflow(
        as_of=as_of,
        data=DataConfig(source_dir=source_dir, train_months=1, holdout_months=1),
        hyperparameters=Hyperparameters(max_iter=30),
    )


def assert_nothing_registered():
    assert registry.client().search_registered_models() == []


def test_missing_column_names_the_column(real_tables, tmp_path, fresh_store):
    tables = {**real_tables, "flights": real_tables["flights"].drop(columns=["distance"])}
    with pytest.raises(Exception, match=r"(?s)column 'distance' not in dataframe"):
        run_on(write_source(tmp_path / "src", tables))
    assert_nothing_registered()


def test_missing_join_key_names_the_table_and_column(real_tables, tmp_path, fresh_store):
    tables = {**real_tables, "weather": real_tables["weather"].drop(columns=["origin"])}
    with pytest.raises(Exception, match=r"source table 'weather' is missing column\(s\) \['origin'\]"):
        run_on(write_source(tmp_path / "src", tables))
    assert_nothing_registered()


def test_wrong_dtype_names_the_column_and_type(real_tables, tmp_path, fresh_store):
    flights = real_tables["flights"].copy()
    flights["sched_dep_time"] = "at " + flights["sched_dep_time"].astype(str)
    with pytest.raises(Exception, match=r"(?s)sched_dep_time.*int64"):
        run_on(write_source(tmp_path / "src", {**real_tables, "flights": flights}, fmt="csv"))
    assert_nothing_registered()


def test_out_of_range_value_names_the_column_and_rule(real_tables, tmp_path, fresh_store):
    weather = real_tables["weather"].copy()
    weather.loc[weather.index[:5], "humid"] = 150.0
    with pytest.raises(Exception, match=r"(?s)humid.*in_range\(0, 100\)"):
        run_on(write_source(tmp_path / "src", {**real_tables, "weather": weather}))
    assert_nothing_registered()


def test_empty_window_says_so(real_tables, tmp_path, fresh_store):
    with pytest.raises(Exception, match="the window holds no flights"):
        run_on(write_source(tmp_path / "src", real_tables), as_of=datetime(2014, 6, 1))
    assert_nothing_registered()


def with_month_13(real_tables: dict[str, pd.DataFrame], rows: int = 40) -> dict[str, pd.DataFrame]:
    """`rows` January flights whose month reads 13: their date is in no window."""
    flights = real_tables["flights"].copy()
    flights.loc[flights.index[:rows], "month"] = 13
    return {**real_tables, "flights": flights}


def test_invalid_dates_fail_validation_naming_the_column_and_rule(real_tables, tmp_path, fresh_store):
    """These rows used to vanish: the run trained on the rest and registered a version."""
    with pytest.raises(Exception, match=r"(?s)month.*in_range\(1, 12\) failure cases: 13"):
        run_on(write_source(tmp_path / "src", with_month_13(real_tables)))
    assert_nothing_registered()


def test_an_empty_weather_table_fails_validation_naming_the_table(real_tables, tmp_path, fresh_store):
    """It used to pass validation and fail inside train_model with numpy's "window shape cannot
    be larger than input array shape"."""
    tables = {**real_tables, "weather": real_tables["weather"].iloc[:0]}
    with pytest.raises(Exception, match="the weather table has no usable rows for the window"):
        run_on(write_source(tmp_path / "src", tables))
    assert_nothing_registered()


def test_rows_refused_under_a_tolerance_are_counted_on_the_mlflow_run_and_the_champion_stays(
    real_tables, tmp_path, fresh_store
):
    """Under a tolerance the run trains without the 40 rows and says so on its MLflow run; then,
    with that version as champion, the same source without the tolerance and an empty weather
    table each fail at validation and leave the registry as it was."""
    source_dir = write_source(tmp_path / "src", with_month_13(real_tables))
    decision = training_workflow(
        as_of=AS_OF,
        data=DataConfig(source_dir=source_dir, train_months=1, holdout_months=1, max_refused_share=0.001),
        hyperparameters=Hyperparameters(max_iter=30),
    )
    mlflow_client = registry.client()
    run = mlflow_client.get_run(mlflow_client.get_model_version(registry.MODEL_NAME, decision.version).run_id)
    read = run.data.metrics["source_rows_read"]
    assert run.data.metrics["source_rows_refused"] == 40 and read > 40_000
    assert run.data.params["max_refused_share"] == "0.001"
    assert "column 'month': in_range(1, 12): 40 rows" in run.data.tags["refused_rows"]

    no_weather = {**real_tables, "weather": real_tables["weather"].iloc[:0]}
    for source, message in (
        (source_dir, r"in_range\(1, 12\) failure cases: 13"),
        (write_source(tmp_path / "no-weather", no_weather), "the weather table has no usable rows"),
    ):
        with pytest.raises(Exception, match=message):
            run_on(source)
        assert registry.alias_version(registry.MODEL_NAME, "champion") == decision.version
        versions = mlflow_client.search_model_versions(f"name = '{registry.MODEL_NAME}'")
        assert [str(found.version) for found in versions] == [decision.version]
