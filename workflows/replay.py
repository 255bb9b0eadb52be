"""The candidate workflow: the training workflow without its gate, what an unconditional monthly
retrain deploys. The replay (`scripts/replay.py`, `make replay`) runs it beside the loop."""

from __future__ import annotations

from datetime import datetime

from flytekit import workflow

from core.model import Hyperparameters, use_case_hyperparameters
from core.registry import RegisteredVersion
from tasks.data import DataConfig
from workflows.training import candidate_nodes


@workflow
def candidate_workflow(
    as_of: datetime,
    hyperparameters: Hyperparameters = use_case_hyperparameters(),
    data: DataConfig = DataConfig(),
) -> RegisteredVersion:
    """The training workflow without its gate: what an unconditional monthly retrain deploys.
    The same tasks with the same inputs as `training_workflow`, so each is one cached computation."""
    return candidate_nodes(as_of, hyperparameters, data).registered
