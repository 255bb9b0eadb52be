"""Batch scoring pieces on a tiny frame: partitions, lineage columns, schema, summaries."""

from __future__ import annotations

import pandas as pd
import pandera.errors
import pytest

import usecases
from core import batch
from core.batch import PredictionTable, prediction_columns


class _HalfModel:
    """Scores each row with its dep_hour / 24: enough to check the plumbing."""

    def score_frame(self, frame):
        return frame["dep_hour"].to_numpy() / 24.0


def _table() -> pd.DataFrame:
    from usecases.flights.schemas import FEATURES

    stamps = pd.to_datetime(["2013-07-01 06:00", "2013-07-01 20:00", "2013-07-02 12:00"])
    frame = pd.DataFrame({name: 1.0 for name in FEATURES}, index=range(3))
    frame["carrier"], frame["origin"], frame["dest"] = (
        ["UA", "AA", "UA"],
        ["EWR", "JFK", "LGA"],
        "ORD",
    )
    frame["dep_hour"] = [6.0, 20.0, 12.0]
    frame["flight_id"] = ["a", "b", "c"]
    frame["sched_dep"] = stamps
    frame["late"] = [0, 1, 1]
    return frame


def test_day_partitions_cut_by_calendar_day():
    parts = batch.day_partitions(_table())
    assert [len(p) for p in parts] == [2, 1]
    assert parts[1]["flight_id"].tolist() == ["c"]
    assert [len(p) for p in batch.day_partitions(_table(), days=2)] == [3]
    with pytest.raises(ValueError, match="at least 1"):
        batch.day_partitions(_table(), days=0)


def test_scored_partition_carries_lineage_and_validates():
    scored = batch.score_partition(_HalfModel(), _table(), threshold=0.5, version="7", run_id="r1")
    assert list(scored.columns) == prediction_columns()
    # flights' predictions table keeps its columns
    assert prediction_columns(usecases.load("flights")) == [
        *("flight_id", "sched_dep", "carrier", "origin", "score", "predicted_late", "late"),
        *("model_version", "run_id"),
    ]
    assert scored["predicted_late"].tolist() == [0, 1, 1]
    assert scored["score"].tolist() == pytest.approx([0.25, 20 / 24, 0.5])
    assert set(scored["model_version"]) == {"7"} and set(scored["run_id"]) == {"r1"}
    PredictionTable.validate(scored)


def test_truth_is_optional_but_columns_are_not():
    unlabelled = _table().drop(columns="late")
    scored = batch.score_partition(_HalfModel(), unlabelled, 0.5, "1", "r")
    assert scored["late"].isna().all()
    PredictionTable.validate(scored)
    with pytest.raises(pandera.errors.SchemaError, match="score"):
        PredictionTable.validate(scored.drop(columns="score"))
    with pytest.raises(ValueError, match=r"missing column\(s\) \['run_id'\]"):
        batch.require_prediction_columns(scored.drop(columns="run_id"))


def test_summaries_by_day_and_carrier():
    scored = batch.combine([batch.score_partition(_HalfModel(), _table(), 0.5, "1", "r")])
    days = batch.summary_by(scored, "day")
    assert days["rows"].tolist() == [2, 1]
    assert days["positive_rate"].tolist() == [0.5, 1.0]
    carriers = batch.summary_by(scored, "carrier").set_index("carrier")
    assert carriers.loc["UA", "label_rate"] == pytest.approx(0.5)
    assert batch.score_histogram(scored)["rows"].sum() == 3
    with pytest.raises(ValueError, match="period holds no rows"):
        batch.combine([])
