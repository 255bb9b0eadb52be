"""Tuning tasks: cut the validation month, build the grid, score one candidate (the mapped
task), pick the best and track the search in MLflow (a parent run, one child run a candidate)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from flytekit import Resources

from core.model import Hyperparameters
from core.tuning import TuningGrid
from tasks.frames import USE_CASE, FeatureFrame
from tasks.util import Service, pipeline_task

TUNE_RESOURCES = Resources(cpu="2", mem="3Gi")
TUNING_EXPERIMENT = f"{USE_CASE.experiment}-tuning"


class TuningSplit(NamedTuple):
    fit: FeatureFrame
    validation: FeatureFrame


@pipeline_task(cache=True)
def tuning_split(train: FeatureFrame, holdout_start: datetime, validation_months: int) -> TuningSplit:
    """Fit on the training months before the validation month(s), validate on them: all of it
    strictly before the holdout."""
    from core.tuning import validation_split

    fit, validation = validation_split(train, holdout_start, validation_months)
    return TuningSplit(fit=fit, validation=validation)


@pipeline_task(cache=True)
def tuning_grid(base: Hyperparameters, grid: TuningGrid) -> list[Hyperparameters]:
    from core.tuning import candidates

    return candidates(base, grid)


@pipeline_task(cache=True, requests=TUNE_RESOURCES)
def score_candidate(hyperparameters: Hyperparameters, fit: FeatureFrame, validation: FeatureFrame) -> float:
    """Validation ROC AUC of one candidate: one element of the map."""
    from sklearn.metrics import roc_auc_score

    from core.model import fit as fit_model
    from core.model import predict_scores

    model = fit_model(fit, hyperparameters)
    labels = validation[USE_CASE.label].to_numpy(dtype=int)
    return float(roc_auc_score(labels, predict_scores(model, validation)))


class TuningOutputs(NamedTuple):
    best: Hyperparameters
    validation_auc: float
    mlflow_run_id: str


@pipeline_task(cache=True, calls=[Service.TRACKING])
def pick_best(
    tracking_uri: str, grid: list[Hyperparameters], scores: list[float], as_of: str
) -> TuningOutputs:
    """The best candidate; the search logged as a parent run with one child run per candidate."""
    import mlflow

    from core import registry
    from core.tuning import best

    chosen, auc = best(grid, scores)
    registry.client()
    experiment = registry.experiment_id(TUNING_EXPERIMENT)
    with mlflow.start_run(experiment_id=experiment, run_name=f"tuning-as-of-{as_of}") as parent:
        mlflow.log_params({f"best_{k}": str(v) for k, v in chosen.as_params().items()})
        mlflow.log_metric("best_validation_auc", auc)
        for index, (candidate, score) in enumerate(zip(grid, scores, strict=True)):
            with mlflow.start_run(experiment_id=experiment, run_name=f"candidate-{index}", nested=True):
                mlflow.log_params({k: str(v) for k, v in candidate.as_params().items()})
                mlflow.log_metric("validation_auc", score)
        return TuningOutputs(best=chosen, validation_auc=auc, mlflow_run_id=parent.info.run_id)
