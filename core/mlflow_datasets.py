"""MLflow's dataset records of the frames a training run logs (`mlflow.log_input`).

`mlflow.data.from_pandas` spends most of a registration's MLflow time (`make bench-pipeline`) on
two passes over every value in Python: the schema it infers (1.55 s for make demo's 137,915
training rows) and, inside the digest, a type check of every cell (0.5 s). Both give the same
answer here from far less work:
- the schema depends only on each column's type and on whether the column has a missing value,
  so it is inferred from the rows that show both: the first rows, and each column's first
  missing and first present value;
- the digest is MLflow's `compute_pandas_digest` (the first 10,000 rows of the string and number
  columns, the row count, the column names), with "every value of the column is a `str`" found
  with C-level iteration instead of a Python call per cell.
Tests compare both with MLflow's own functions; the row count and the source are MLflow's.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

SCHEMA_HEAD_ROWS = 100


def schema_rows(frame: pd.DataFrame, head: int = SCHEMA_HEAD_ROWS) -> pd.DataFrame:
    """The first `head` rows plus, for every column, its first missing and first present row."""
    positions = set(range(min(head, len(frame))))
    missing = frame.isna().to_numpy()
    for column in range(frame.shape[1]):
        for found in (np.flatnonzero(missing[:, column]), np.flatnonzero(~missing[:, column])):
            if len(found):
                positions.add(int(found[0]))
    return frame.iloc[sorted(positions)]


def frame_schema(frame: pd.DataFrame):
    """The `mlflow.types.Schema` MLflow infers for `frame` (types, and optional where missing)."""
    from mlflow.models import infer_signature

    return infer_signature(schema_rows(frame)).inputs


def frame_digest(frame: pd.DataFrame) -> str:
    """`mlflow.data.digest_utils.compute_pandas_digest(frame)`, the same value."""
    from mlflow.data.digest_utils import MAX_ROWS, get_normalized_md5_digest

    trimmed = frame.head(MAX_ROWS)
    all_str = [_all_str(frame[name]) for name in frame.columns]
    columns = trimmed.columns[all_str].union(trimmed.select_dtypes(include=[np.number]).columns)
    return get_normalized_md5_digest(
        [pd.util.hash_pandas_object(trimmed[columns]).values, np.int64(len(frame))]
        + [str(name).encode() for name in frame.columns]
    )


def _all_str(column: pd.Series) -> bool:
    """Whether every value's type is exactly `str` (true of an empty column, as in MLflow)."""
    if len(column) == 0:
        return True
    if column.dtype != object:
        return False  # numbers, booleans, datetimes: never a str
    return set(map(type, column.to_numpy())) == {str}


def frame_dataset(frame: pd.DataFrame, name: str, targets: str):
    """`mlflow.data.from_pandas(frame, ...)` with its digest from `frame_digest` and its schema
    from `frame_schema`."""
    from mlflow.data.pandas_dataset import from_pandas

    inferred = from_pandas(frame, name=name, targets=targets, digest=frame_digest(frame))
    return _frame_dataset_class()(
        df=frame,
        source=inferred.source,
        targets=targets,
        name=name,
        digest=inferred.digest,
        schema=frame_schema(frame),
    )


@functools.cache
def _frame_dataset_class():
    """A `PandasDataset` whose schema is given: `schema` is an abstract property of MLflow's
    `Dataset`, which a subclass defines (PandasDataset's own infers it value by value)."""
    from mlflow.data.pandas_dataset import PandasDataset

    class FrameDataset(PandasDataset):
        def __init__(self, *, schema, **kwargs) -> None:
            super().__init__(**kwargs)
            self._given_schema = schema

        @property
        def schema(self):
            return self._given_schema

    return FrameDataset
