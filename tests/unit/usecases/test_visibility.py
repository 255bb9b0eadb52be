"""The visibility use case: its loader is point-in-time, its label rule honours the maturity."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from pandera.errors import SchemaError, SchemaErrors

import usecases
from usecases.visibility import features, schemas, source

CASE = usecases.load("visibility")
START, END = datetime(2013, 2, 1), datetime(2013, 2, 15)


def _readings(hours: int, visib: list[float] | None = None, station: str = "JFK") -> pd.DataFrame:
    """`hours` hourly readings of one station from 2013-03-01 00:51, visibility 10 unless given."""
    stamps = pd.date_range("2013-03-01 00:00", periods=hours, freq="h")
    return pd.DataFrame(
        {
            "origin": station,
            "year": stamps.year,
            "month": stamps.month,
            "day": stamps.day,
            "hour": stamps.hour,
            "temp": 50.0,
            "dewp": 40.0,
            "humid": 68.0,
            "wind_dir": 180.0,
            "wind_speed": 8.0,
            "wind_gust": np.nan,
            "precip": 0.0,
            "pressure": 1015.0,
            "visib": visib if visib is not None else 10.0,
        }
    )


def _load(
    tmp_path, table: pd.DataFrame, start=datetime(2013, 3, 1), end=datetime(2013, 3, 5)
) -> pd.DataFrame:
    table.to_csv(tmp_path / "weather.csv", index=False)
    return source.load_window(str(tmp_path), start, end)


@pytest.fixture(scope="module")
def package_window() -> pd.DataFrame:
    return source.load_window("", START, END)


def test_the_declaration_loads_with_its_own_names_and_a_maturity_of_six_hours():
    assert CASE.name == "visibility" and CASE.metric_prefix == "visibility"
    assert CASE.predicted == "predicted_low_visibility"
    assert CASE.label_maturity == timedelta(hours=6)
    assert CASE.label_maturity != usecases.load("flights").label_maturity
    # the station's lowest visibility of the last 6 hours is read from the online store
    assert CASE.online is not None and CASE.online.features == ("visib_min_6h",)
    assert CASE.online.entities == ("origin",) and CASE.online.time == "observed"
    assert set(CASE.description) == set(CASE.features)


def test_the_package_window_is_half_open_hourly_per_station_and_validates(package_window):
    schemas.StationReadings.validate(package_window, lazy=True)
    observed = package_window["observed"]
    assert observed.min() == pd.Timestamp("2013-02-01 00:51")
    assert observed.max() == pd.Timestamp("2013-02-14 23:51")
    assert sorted(package_window["origin"].unique()) == ["EWR", "JFK", "LGA"]
    assert package_window.groupby("origin").size().between(14 * 24 - 5, 14 * 24).all()


def test_a_window_handed_over_in_utc_reads_the_same_wall_clock_window(package_window):
    """Flyte hands datetimes over as UTC; the readings are local wall-clock times."""
    aware = source.load_window("", START.replace(tzinfo=UTC), END.replace(tzinfo=UTC))
    pd.testing.assert_frame_equal(aware, package_window)


def test_the_shipped_data_starts_at_the_declared_data_start():
    day = timedelta(days=1)
    assert len(source.load_window("", CASE.data_start - day, CASE.data_start)) == 0
    first = source.load_window("", CASE.data_start, CASE.data_start + day)
    assert sorted(first["origin"].unique()) == ["EWR", "JFK", "LGA"]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_directory_of_the_same_table_loads_the_same_window(package_window, tmp_path, fmt):
    weather = source.read_table(source.default_source(), "weather")
    weather = weather[weather["month"].isin([1, 2])]  # the window, the days before and after it
    getattr(weather, f"to_{fmt}")(tmp_path / f"weather.{fmt}", index=False)
    pd.testing.assert_frame_equal(source.load_window(str(tmp_path), START, END), package_window)


def test_features_and_matured_labels_do_not_change_when_every_reading_after_t_changes(tmp_path):
    """Leakage: scramble, remove and add readings after t; every row up to t keeps its features,
    and every label known at t stays as it was."""
    weather = source.read_table(source.default_source(), "weather")
    weather = weather[weather["month"].isin([1, 2, 3])].reset_index(drop=True)
    t = pd.Timestamp("2013-02-08 12:51")  # a snowstorm: visibility falls below 3 miles after t
    after = source.observation_times(weather) > t
    changed = weather.copy()
    rng = np.random.default_rng(0)
    for column in schemas.READINGS:
        low, high = changed[column].min(), changed[column].max()
        changed.loc[after, column] = rng.uniform(low, high, after.sum()).round(2)
    changed = changed.drop(index=changed.index[after][::7])  # some readings never come
    twice = changed.loc[after & (changed["origin"] == "JFK")].head(3)
    changed = pd.concat([changed, twice.assign(visib=0.0)])  # and some come twice
    (tmp_path / "real").mkdir()
    (tmp_path / "changed").mkdir()
    weather.to_parquet(tmp_path / "real" / "weather.parquet", index=False)
    changed.to_parquet(tmp_path / "changed" / "weather.parquet", index=False)

    window = (datetime(2013, 2, 1), datetime(2013, 3, 1))
    real = CASE.build_features(CASE.load_window(str(tmp_path / "real"), *window), t.to_pydatetime())
    other = CASE.build_features(CASE.load_window(str(tmp_path / "changed"), *window), t.to_pydatetime())
    by_key = other.set_index(CASE.key)
    upto = real.loc[real[CASE.timestamp] <= t].set_index(CASE.key)
    pd.testing.assert_frame_equal(upto, by_key.loc[upto.index])
    assert upto[CASE.label].notna().sum() > 0 and upto[CASE.label].isna().sum() > 0  # matured and not
    # the change did reach the data: the rows after t, and the outcome of the rows just before it
    later = real.loc[real[CASE.timestamp] > t, [CASE.key, "visib"]].merge(other, on=CASE.key)
    assert (later["visib_x"] != later["visib_y"]).mean() > 0.5
    raw_real = CASE.load_window(str(tmp_path / "real"), *window).set_index([CASE.timestamp, "origin"])
    raw_other = CASE.load_window(str(tmp_path / "changed"), *window).set_index([CASE.timestamp, "origin"])
    near = raw_real.index[raw_real.index.get_level_values(0) > t - pd.Timedelta(hours=6)]
    near = near[near.get_level_values(0) <= t]
    assert len(near) == 18
    assert not raw_real.loc[near, "future_min_visib"].equals(raw_other.loc[near, "future_min_visib"])


def test_the_trends_look_back_at_earlier_readings_only(tmp_path):
    visib = [10.0] * 10 + [2.0] + [10.0] * 20
    raw = _load(tmp_path, _readings(31, visib)).set_index("observed")

    def at(hour: int, column: str) -> float:
        return raw.loc[pd.Timestamp(f"2013-03-01 {hour:02d}:51"), column]

    # 10:51 is low; the row at 09:51 knows nothing of it, the rows after remember it
    assert at(9, "visib_min_6h") == 10.0 and np.isnan(at(9, "hours_since_low"))
    assert at(10, "visib_min_6h") == 2.0 and at(10, "hours_since_low") == 0.0
    assert at(16, "visib_min_6h") == 10.0 and at(16, "hours_since_low") == 6.0
    assert at(13, "visib_change_3h") == 8.0 and at(10, "visib_change_3h") == -8.0
    assert np.isnan(at(0, "visib_change_3h"))  # no reading 3 hours before the first


def test_the_label_is_a_low_reading_in_the_six_hours_after_and_known_six_hours_later(tmp_path):
    visib = [10.0] * 10 + [2.0] + [10.0] * 20
    raw = _load(tmp_path, _readings(31, visib))
    closed = features.build_features(raw, None).set_index("observed")["low_visibility"]
    at = pd.Timestamp("2013-03-01 10:51")
    hours = [at + pd.Timedelta(hours=h) for h in (-7, -6, -1, 0, 1)]
    assert closed.loc[hours].tolist() == [0, 1, 1, 0, 0]  # (t, t + 6 h]: not t itself
    # the reading at 04:51 is judged by 10:51: its truth is known then, not a minute before
    before = features.build_features(raw, at - pd.Timedelta(minutes=1)).set_index("observed")
    then = features.build_features(raw, at).set_index("observed")
    assert pd.isna(before.loc[hours[1], "low_visibility"]) and then.loc[hours[1], "low_visibility"] == 1
    assert then.loc[then.index > at - pd.Timedelta(hours=6), "low_visibility"].isna().all()
    assert then.loc[then.index <= at - pd.Timedelta(hours=6), "low_visibility"].notna().all()
    # a datetime in UTC (how Flyte hands it over) reads as the same wall-clock moment
    aware = features.build_features(raw, at.tz_localize("UTC").to_pydatetime())
    pd.testing.assert_frame_equal(aware, then.reset_index()[aware.columns])


def test_too_few_readings_after_leave_the_label_missing_unless_one_was_low(tmp_path):
    table = _readings(30)
    gap = table["hour"].between(12, 17) & (table["day"] == 1)  # 12:51 to 17:51 never came
    table = table.loc[~gap | (table["hour"] == 14)]  # but for 14:51
    table.loc[table["hour"].eq(14) & table["day"].eq(1), "visib"] = [10.0]
    labels = features.build_features(_load(tmp_path, table), None).set_index("observed")["low_visibility"]
    assert pd.isna(labels.loc[pd.Timestamp("2013-03-01 11:51")])  # one reading in (t, t + 6 h]
    table.loc[table["hour"].eq(14) & table["day"].eq(1), "visib"] = [1.0]
    labels = features.build_features(_load(tmp_path, table), None).set_index("observed")["low_visibility"]
    assert labels.loc[pd.Timestamp("2013-03-01 11:51")] == 1  # a low one settles it


def test_an_impossible_wind_becomes_missing_and_is_counted(tmp_path, caplog):
    table = _readings(30)
    table.loc[5, "wind_speed"] = 1048.36
    with caplog.at_level(logging.INFO, logger=source.__name__):
        raw = _load(tmp_path, table)
    assert np.isnan(raw.loc[5, "wind_speed"]) and raw["wind_speed"].notna().sum() == 29
    assert "1 wind speed(s) above 200.0 mph treated as missing" in caplog.text


def test_a_repeated_local_hour_keeps_the_first_reading_and_is_counted(tmp_path, caplog):
    table = _readings(30)
    table = pd.concat([table, table.iloc[[3]].assign(visib=1.0)], ignore_index=True)
    with caplog.at_level(logging.INFO, logger=source.__name__):
        raw = _load(tmp_path, table)
    assert len(raw) == 30 and raw.loc[3, "visib"] == 10.0
    assert "1 reading(s) repeat a station's local hour: the first is kept" in caplog.text


def test_a_date_that_is_not_one_is_refused_naming_the_rule(tmp_path):
    table = _readings(30)
    table.loc[4, ["month", "day"]] = [2, 30]
    raw = _load(tmp_path, table)
    with pytest.raises(SchemaErrors, match="year, month and day must form a calendar date"):
        schemas.StationReadings.validate(raw, lazy=True)


def test_a_visibility_out_of_range_is_refused_naming_the_column(tmp_path):
    table = _readings(30)
    table.loc[4, "visib"] = 12.0
    with pytest.raises(
        SchemaError, match=r"Column 'visib' failed element-wise validator .*in_range\(0, 10\)"
    ):
        schemas.StationReadings.validate(_load(tmp_path, table))


def test_a_missing_column_and_an_empty_window_name_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match=r"source table 'weather' is missing column\(s\) \['visib'\]"):
        _load(tmp_path, _readings(30).drop(columns="visib"))
    empty = _load(tmp_path, _readings(30), datetime(2013, 6, 1), datetime(2013, 6, 2))
    with pytest.raises(SchemaError, match="the window holds no readings"):
        schemas.StationReadings.validate(empty)
    with pytest.raises(FileNotFoundError, match=r"has no table 'weather' \(.parquet, .csv or .csv.zip\)"):
        source.load_window(str(tmp_path / "nowhere"), datetime(2013, 3, 1), datetime(2013, 3, 2))


def test_the_baseline_scores_each_month_with_a_model_of_the_months_before(monkeypatch):
    """`benchmarks/visibility_baseline.py` (the README's figures) on the fixtures: Feb. and March held out."""
    from benchmarks import visibility_baseline as baseline

    monkeypatch.setenv(usecases.ENV, "visibility")
    raw = CASE.load_window(str(CASE.fixtures), datetime(2013, 1, 1), datetime(2013, 4, 1))
    table = CASE.build_features(raw, None).dropna(subset=[CASE.label])
    months, scored = baseline.monthly_holdouts(table)
    assert months["month"].tolist() == ["2013-02", "2013-03"]
    month = table["observed"].dt.month
    assert months["training rows"].tolist() == [(month < 2).sum(), (month < 3).sum()]
    assert months["holdout rows"].tolist() == [(month == 2).sum(), (month == 3).sum()]
    assert len(scored) == months["holdout rows"].sum() and months["ROC AUC"].between(0.5, 1).all()
    thresholds = baseline.threshold_table(scored.assign(month=4))
    truth = scored["truth"] == 1
    for row in thresholds.itertuples():
        flagged = scored["score"] >= row.threshold
        assert row.flagged == round(flagged.mean(), 3)
        assert row.recall == round((flagged & truth).sum() / truth.sum(), 3)


def test_a_window_where_a_feature_has_no_value_fails_the_fit_naming_it(monkeypatch):
    """A month in which no station reported a gust: scikit-learn's own error says nothing of it."""
    from core.model import Hyperparameters, fit

    monkeypatch.setenv(usecases.ENV, "visibility")
    raw = CASE.load_window(str(CASE.fixtures), datetime(2013, 1, 1), datetime(2013, 2, 1))
    table = CASE.build_features(raw, None).dropna(subset=[CASE.label]).assign(wind_gust=np.nan)
    with pytest.raises(
        ValueError, match=r"feature\(s\) \['wind_gust'\] have no value in the 204 rows to fit on"
    ):
        fit(table, Hyperparameters(max_iter=5))


def test_partial_hyperparameters_keep_the_use_case_threshold(monkeypatch):
    """`pyflyte run ... --hyperparameters '{"max_iter": 60}'` fills the other fields with the use
    case's defaults, not flights': the bundle's threshold stays the declared one."""
    from flytekit.interaction.click_types import JsonParamType

    from core.model import Hyperparameters, use_case_hyperparameters

    monkeypatch.setenv(usecases.ENV, "visibility")
    given = JsonParamType(Hyperparameters).convert('{"max_iter": 60}', None, None)
    assert (given.max_iter, given.threshold) == (60, CASE.threshold) != (60, 0.35)
    assert Hyperparameters() == use_case_hyperparameters(CASE)
    monkeypatch.setenv(usecases.ENV, "flights")
    assert Hyperparameters().threshold == usecases.load("flights").threshold == 0.35
