"""Data workflow: source window -> validated raw table -> feature table -> time split.

pyflyte run workflows/data.py data_workflow --as_of 2013-07-01
"""

from __future__ import annotations

from datetime import datetime

from flytekit import workflow

from tasks.data import (
    DataConfig,
    SplitOutputs,
    build_feature_table,
    data_window,
    load_flights,
    split_train_holdout,
)


@workflow
def data_workflow(as_of: datetime, config: DataConfig = DataConfig()) -> SplitOutputs:
    """Train on the `train_months` before the holdout, hold out the `holdout_months` before `as_of`."""
    window = data_window(as_of=as_of, config=config)
    raw = load_flights(source_dir=config.source_dir, start=window.train_start, end=window.end)
    table = build_feature_table(raw=raw, known_at=window.end)
    return split_train_holdout(table=table, holdout_start=window.holdout_start)
