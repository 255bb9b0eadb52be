"""Data workflow: source window -> validated raw table -> feature table -> time split.

pyflyte run workflows/data.py data_workflow --as_of 2013-07-01
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from flytekit import workflow

from core.refusals import RefusedRows
from tasks.data import (
    DataConfig,
    build_feature_table,
    data_window,
    judged_holdout,
    load_source,
    split_train_holdout,
)
from tasks.frames import FeatureFrame


class DataOutputs(NamedTuple):
    train: FeatureFrame
    holdout: FeatureFrame
    refused: RefusedRows  # the window's rows refused at validation, under the tolerance


@workflow
def data_workflow(
    as_of: datetime, config: DataConfig = DataConfig(), faces_champion: bool = False
) -> DataOutputs:
    """Hold out the `holdout_months` most recent labelled months at `as_of` (the months before it,
    unless the use case's label maturity moves them back); train on every month before the
    holdout (`train_months` 0, the default) or on the last `train_months` of them. Every event up
    to `as_of` is read with its truth as known then. `faces_champion` (the training workflow):
    the holdout starts after the registry's champion's last fit day when that falls inside it,
    so that the judged model fits every row the champion fit."""
    window = data_window(as_of=as_of, config=config)
    loaded = load_source(
        source_dir=config.source_dir,
        start=window.train_start,
        end=window.end,
        max_refused_share=config.max_refused_share,
    )
    table = build_feature_table(raw=loaded.raw, known_at=window.end, refused=loaded.refused)
    holdout_start = judged_holdout(
        holdout_start=window.holdout_start, holdout_end=window.holdout_end, faces_champion=faces_champion
    )
    split = split_train_holdout(table=table, holdout_start=holdout_start, holdout_end=window.holdout_end)
    return DataOutputs(train=split.train, holdout=split.holdout, refused=loaded.refused)
