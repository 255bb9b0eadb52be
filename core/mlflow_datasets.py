"""MLflow's dataset records of the frames a training run logs (`mlflow.log_input`).

`mlflow.data.from_pandas` computes the digest over the whole frame (numpy-fast), but the schema it
logs is inferred value by value in Python: 1.4 s for make demo's 137,915 training rows, most of
a registration's MLflow time (`make bench-pipeline`). The schema depends only on each column's
type and on whether the column has a missing value, so it is inferred here from the rows that
show both: the first rows, and each column's first missing and first present value. The digest,
the row count and the source stay MLflow's own, over the whole frame.
"""

from __future__ import annotations

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


def frame_dataset(frame: pd.DataFrame, name: str, targets: str):
    """`mlflow.data.from_pandas(frame, ...)` with its schema from `frame_schema`."""
    from mlflow.data.pandas_dataset import from_pandas

    dataset = from_pandas(frame, name=name, targets=targets)
    # PandasDataset.schema is a functools.cached_property: filling it skips the value-by-value pass
    dataset.__dict__["schema"] = frame_schema(frame)
    return dataset
