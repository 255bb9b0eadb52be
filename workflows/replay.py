"""The replays' workflows: the candidate workflow (the training workflow without its gate, what
an unconditional monthly retrain deploys), which the replays run beside the loop, and the feature
table of the daily replay's period."""

from __future__ import annotations

from datetime import datetime

from flytekit import workflow

from core.model import Hyperparameters, use_case_hyperparameters
from core.registry import RegisteredVersion
from tasks.batch import period_features
from tasks.data import DataConfig, load_source
from tasks.frames import FeatureFrame
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


@workflow
def replay_table_workflow(
    start: datetime, end: datetime, known_at: datetime, data: DataConfig = DataConfig()
) -> FeatureFrame:
    """The feature table of [start, end) with the truth known at `known_at`: what the daily replay
    (`scripts/daily_replay.py`) scores and monitors, one cached computation for every policy."""
    loaded = load_source(source_dir=data.source_dir, start=start, end=end)
    return period_features(raw=loaded.raw, known_at=known_at)
