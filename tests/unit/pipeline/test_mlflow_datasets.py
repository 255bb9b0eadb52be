"""The dataset records a training run logs: the schema inferred from a few rows is the schema
MLflow infers from the whole frame, and the digest and profile are MLflow's own."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from mlflow.data.digest_utils import compute_pandas_digest
from mlflow.data.pandas_dataset import from_pandas
from mlflow.models import infer_signature

from core.mlflow_datasets import frame_dataset, frame_digest, frame_schema, schema_rows
from tests.support.tables import feature_table


def _awkward_frame(n: int = 6000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "carrier": rng.choice(["AA", "UA", "DL"], n).astype(object),
            "late_null": rng.normal(size=n),  # its only missing value far past the first rows
            "mostly_null_text": pd.Series([None] * n, dtype=object),  # present only late
            "count": pd.array(rng.integers(0, 9, n), dtype="Int64"),
            "when": pd.date_range("2013-01-01", periods=n, freq="min"),
            "late": rng.integers(0, 2, n),
        }
    )
    frame.loc[5000, "late_null"] = np.nan
    frame.loc[4321, "mostly_null_text"] = "EWR"
    frame.loc[77, "count"] = pd.NA
    return frame


@pytest.mark.parametrize(
    "make", [_awkward_frame, lambda: feature_table(3000, 0)], ids=["awkward", "features"]
)
def test_schema_from_a_few_rows_is_the_whole_frames(make):
    frame = make()
    assert len(schema_rows(frame)) < len(frame) / 10
    assert frame_schema(frame) == infer_signature(frame).inputs


def test_logged_record_is_mlflows_own():
    frame = _awkward_frame()
    ours = frame_dataset(frame, name="training", targets="late").to_dict()
    theirs = from_pandas(frame, name="training", targets="late").to_dict()
    assert ours == theirs  # digest, profile (row count), source, schema
    columns = {c["name"]: c for c in json.loads(ours["schema"])["mlflow_colspec"]}
    assert not columns["late_null"]["required"] and not columns["mostly_null_text"]["required"]
    assert columns["mostly_null_text"]["type"] == "string" and columns["carrier"]["required"]


def _digest_cases():
    awkward = _awkward_frame()
    mixed = awkward.assign(carrier=awkward["carrier"].where(awkward.index != 20000 % len(awkward), 7))
    return {
        "awkward": awkward,
        "features": feature_table(3000, 0),
        "over 10,000 rows": pd.concat([awkward, awkward], ignore_index=True),
        "a number among strings": mixed,
        "a null among strings": awkward.assign(carrier=awkward["carrier"].where(awkward.index != 9, None)),
        "empty": awkward.iloc[:0],
    }


@pytest.mark.parametrize("case", list(_digest_cases()))
def test_digest_is_mlflows(case):
    frame = _digest_cases()[case]
    assert frame_digest(frame) == compute_pandas_digest(frame)


def test_the_logged_record_never_infers_the_schema_value_by_value(monkeypatch):
    import mlflow.data.pandas_dataset

    def value_by_value(_frame):
        raise AssertionError("the whole frame's schema was inferred")

    monkeypatch.setattr(mlflow.data.pandas_dataset, "_infer_schema", value_by_value)
    dataset = frame_dataset(_awkward_frame(), name="training", targets="late")
    assert isinstance(dataset, mlflow.data.pandas_dataset.PandasDataset)
    assert json.loads(dataset.to_dict()["schema"])["mlflow_colspec"]
