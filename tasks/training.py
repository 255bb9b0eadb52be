"""Training tasks: fit, evaluate, bundle, register, and the promotion gate."""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import flytekit
from flytekit import Resources
from flytekit.types.directory import FlyteDirectory
from flytekit.types.file import FlyteFile

from core.evaluation import EvaluationMetrics
from core.gate import GateConfig, GateDecision
from core.model import Hyperparameters
from core.refusals import NOTHING_REFUSED, RefusedRows
from core.registry import RegisteredVersion
from tasks.frames import USE_CASE, FeatureFrame
from tasks.util import Service, pipeline_task

TRAIN_RESOURCES = Resources(cpu="2", mem="3Gi")


def execution_label() -> str:
    """`project:domain:name` of the Flyte execution. A local run is always `local:local:local` in
    flytekit: it gets a unique `local-<hex>` name so two local runs stay apart in the registry."""
    execution = flytekit.current_context().execution_id
    name = execution.name
    if (execution.project, execution.domain, name) == ("local", "local", "local"):
        name = f"local-{uuid.uuid4().hex[:12]}"
    return f"{execution.project}:{execution.domain}:{name}"


def _workdir(name: str) -> Path:
    path = Path(flytekit.current_context().working_directory) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


class TrainOutputs(NamedTuple):
    model_file: FlyteFile
    fit_cpu_seconds: float  # CPU time of the fit (all threads): what a retrain costs


@pipeline_task(cache=True, requests=TRAIN_RESOURCES)
def train_model(
    train: FeatureFrame, hyperparameters: Hyperparameters, recency_half_life_months: float = 0.0
) -> TrainOutputs:
    """Fit the Pipeline on the training months: the judged model, which the holdout and the gate
    judge on rows it never fit. It leaves the task as a skops file."""
    from core.features import recency_weights
    from core.model import fit

    weights = recency_weights(train[USE_CASE.timestamp], recency_half_life_months)
    return _timed_fit(lambda: fit(train, hyperparameters, weights), "model")


@pipeline_task(cache=True, requests=TRAIN_RESOURCES)
def refit_model(
    judged_model_file: FlyteFile,
    train: FeatureFrame,
    holdout: FeatureFrame,
    hyperparameters: Hyperparameters,
    recency_half_life_months: float = 0.0,
) -> TrainOutputs:
    """The deployed model: the judged model's configuration, with the tree count its early
    stopping found, refit on training + holdout, every label known at `as_of` (no model serves
    a month stale)."""
    import pandas as pd

    from contract.bundle import load_model
    from core.features import recency_weights
    from core.model import refit

    judged = load_model(judged_model_file.download())
    known = pd.concat([train, holdout], ignore_index=True)
    weights = recency_weights(known[USE_CASE.timestamp], recency_half_life_months)
    return _timed_fit(lambda: refit(known, hyperparameters, judged, weights), "refit")


def _timed_fit(fit_model, name: str) -> TrainOutputs:
    import time

    import skops.io as sio

    path = _workdir(name) / "model.skops"
    began = time.process_time()
    model = fit_model()
    cpu_seconds = time.process_time() - began
    sio.dump(model, path)
    return TrainOutputs(model_file=FlyteFile(str(path)), fit_cpu_seconds=round(cpu_seconds, 2))


class EvaluationOutputs(NamedTuple):
    metrics: EvaluationMetrics
    bundle: FlyteDirectory
    figures: FlyteDirectory


@pipeline_task(cache=True, deck=True, requests=TRAIN_RESOURCES)
def evaluate_model(
    model_file: FlyteFile,
    deployed_model_file: FlyteFile,
    train: FeatureFrame,
    holdout: FeatureFrame,
    hyperparameters: Hyperparameters,
    fit_cpu_seconds: float = 0.0,
    refit_cpu_seconds: float = 0.0,
    recency_half_life_months: float = 0.0,
) -> EvaluationOutputs:
    """Score the holdout with the judged model (`model_file`, fit on `train` only), compute the
    metrics, write the bundle of the deployed model (`deployed_model_file`, refit on training +
    holdout) without registry fields yet (`core.candidate.evaluate_candidate`), and render the
    evaluation deck, whose figures and slice table also leave as `figures`."""
    from contract.bundle import load_model
    from core.candidate import FitCost, evaluate_candidate
    from tasks.evaluation_deck import render_evaluation_deck

    judged = load_model(model_file.download())
    evaluated = evaluate_candidate(
        judged,
        load_model(deployed_model_file.download()),
        train,
        holdout,
        hyperparameters,
        _workdir("bundle"),
        FitCost(judged=fit_cpu_seconds, refit=refit_cpu_seconds),
        recency_half_life_months,
    )
    images = render_evaluation_deck(
        judged,
        holdout,
        evaluated.scores,
        hyperparameters.threshold,
        evaluated.metrics,
        evaluated.slices,
        evaluated.importance,
    )
    figures = _workdir("figures")
    for name, image in images.items():
        (figures / name).write_bytes(image)
    evaluated.slices.to_csv(figures / "slices.csv", index=False)
    return EvaluationOutputs(
        metrics=evaluated.metrics,
        bundle=FlyteDirectory(str(evaluated.bundle_dir)),
        figures=FlyteDirectory(str(figures)),
    )


# The run's start is not part of what is registered: a re-run of the same inputs is a cache hit.
@pipeline_task(cache=True, calls=[Service.TRACKING], deck=True, ignored_inputs=("started_at",))
def register_model(
    tracking_uri: str,
    bundle: FlyteDirectory,
    train: FeatureFrame,
    holdout: FeatureFrame,
    metrics: EvaluationMetrics,
    hyperparameters: Hyperparameters,
    as_of: str,
    figures: FlyteDirectory,
    refused: RefusedRows = NOTHING_REFUSED,
    started_at: datetime | None = None,
) -> RegisteredVersion:
    """Prove the compiled trees reproduce the Pipeline on the whole holdout (else fail), log the
    MLflow run and register the bundle as a model version (`core.candidate.register_candidate`),
    and render the MLflow deck. The version records the commit of the code and the time since
    `started_at` (the workflow's start, `tasks.lineage.workflow_started`).

    Cached per tracking URI: a re-run with the same inputs returns the version it registered.
    It is also idempotent on the model file (core.registry.log_training_run), so a cleared
    cache does not register the same model twice."""
    from core.candidate import register_candidate
    from tasks.mlflow_deck import render_mlflow_deck

    directory = _workdir("registered-bundle")
    shutil.copytree(bundle.download(), directory, dirs_exist_ok=True)
    registered = register_candidate(
        directory,
        train,
        holdout,
        metrics,
        hyperparameters,
        as_of,
        execution_label(),
        Path(figures.download()),
        refused,
        started_at,
    )
    render_mlflow_deck(registered.run_id)
    return registered


@pipeline_task(cache=True, calls=[Service.TRACKING, Service.PUSHGATEWAY], deck=True)
def promotion_gate(
    tracking_uri: str,
    registered: RegisteredVersion,
    metrics: EvaluationMetrics,
    holdout: FeatureFrame,
    config: GateConfig,
    judged_model_file: FlyteFile,
) -> GateDecision:
    """`champion` if there is none, or if the candidate passes the sanity checks and the paired
    bootstrap interval of its AUC gain over the current champion (on this holdout) clears the
    margin; `challenger` if it is sane but does not win; no alias (tagged `rejected`) if a sanity
    check fails. The candidate is scored by its judged model (`judged_model_file`, fit before the
    holdout), never by the registered refit, which fit the holdout. The "Promotion gate" deck
    shows the comparison.

    Cached: a version is judged once, against the champion of its time; replaying an old
    execution does not re-open that decision against a newer champion."""
    from contract.bundle import load_model
    from core.promotion import promote
    from tasks.gate_deck import render_gate_deck

    judged = load_model(judged_model_file.download())
    decision, comparison = promote(registered, metrics, holdout, config, judged)
    render_gate_deck(decision, comparison, metrics, config)
    return decision
