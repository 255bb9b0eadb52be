"""Tuning workflow: a grid of hyperparameters as a map task, each candidate fitted on the training
months before a validation month and scored on it; the validation month ends strictly before the
holdout of `as_of` (which the promotion gate judges on), so the holdout never picks the winner.
Cached, tracked in MLflow (`<experiment>-tuning`: a parent run, a child run each).

    pyflyte run workflows/tuning.py tuning_workflow --as_of 2013-07-01

Pass the best hyperparameters to the training workflow (`--hyperparameters`).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from flytekit import map_task, workflow

from core.model import Hyperparameters, use_case_hyperparameters
from core.tuning import TuningGrid
from tasks.data import DataConfig, data_window
from tasks.tuning import TuningOutputs, pick_best, score_candidate, tuning_grid, tuning_split
from tasks.util import date_label, tracking_target
from workflows.data import data_workflow

TUNE_CONCURRENCY = 6


@workflow
def tuning_workflow(
    as_of: datetime,
    base: Hyperparameters = use_case_hyperparameters(),
    grid: TuningGrid = TuningGrid(),
    data: DataConfig = DataConfig(),
) -> TuningOutputs:
    window = data_window(as_of=as_of, config=data)
    split = data_workflow(as_of=as_of, config=data)
    parts = tuning_split(
        train=split.train, holdout_start=window.holdout_start, validation_months=grid.validation_months
    )
    candidates = tuning_grid(base=base, grid=grid)
    scores = map_task(
        partial(score_candidate, fit=parts.fit, validation=parts.validation), concurrency=TUNE_CONCURRENCY
    )(hyperparameters=candidates)
    return pick_best(
        tracking_uri=tracking_target(), grid=candidates, scores=scores, as_of=date_label(moment=as_of)
    )
