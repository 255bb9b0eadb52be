"""The data workflow and a fit on its training rows: the smallest run in which a feature table
has something downstream (`tests/e2e/pipeline/test_code_versions.py` runs it with `pyflyte run`)."""

from __future__ import annotations

from datetime import datetime

from flytekit import workflow

from core.model import Hyperparameters
from tasks.data import DataConfig
from tasks.training import TrainOutputs, train_model
from workflows.data import data_workflow


@workflow
def features_then_fit(as_of: datetime, config: DataConfig, hyperparameters: Hyperparameters) -> TrainOutputs:
    split = data_workflow(as_of=as_of, config=config)
    return train_model(train=split.train, hyperparameters=hyperparameters)
