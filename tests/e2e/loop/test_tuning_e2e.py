"""The tuning workflow on a small real window: a map over the grid, the validation month before
the holdout, the search in MLflow as a parent run with one child run a candidate."""

from __future__ import annotations

from datetime import datetime

import pytest

from core import registry
from core.model import Hyperparameters
from core.tuning import TuningGrid
from tasks.data import DataConfig

pytestmark = pytest.mark.slow


def test_tuning_picks_the_best_validation_auc_and_tracks_each_candidate(fresh_store):
    from tasks.tuning import TUNING_EXPERIMENT
    from workflows.tuning import tuning_workflow

    outcome = tuning_workflow(
        as_of=datetime(2013, 4, 1),  # holdout March; validation February; fit January
        base=Hyperparameters(max_iter=15, early_stopping=False),
        grid=TuningGrid(learning_rate=[0.02, 0.2], max_leaf_nodes=[15], min_samples_leaf=[40]),
        data=DataConfig(train_months=2, holdout_months=1),
    )
    assert 0.5 < outcome.validation_auc < 1.0
    client = registry.client()
    experiment = client.get_experiment_by_name(TUNING_EXPERIMENT).experiment_id
    children = client.search_runs(
        [experiment], filter_string=f"tags.mlflow.parentRunId = '{outcome.mlflow_run_id}'"
    )
    scores = {float(run.data.params["learning_rate"]): run.data.metrics["validation_auc"] for run in children}
    assert set(scores) == {0.02, 0.2}
    assert outcome.validation_auc == max(scores.values())
    assert outcome.best.learning_rate == max(scores, key=scores.get)
