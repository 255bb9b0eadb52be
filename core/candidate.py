"""A trained candidate's evaluation and bundle, and its registration: what the training workflow's
`evaluate_model` and `register_model` tasks do, as plain functions that never import flytekit."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import usecases
from contract.bundle import Metadata, TrainingWindow
from core.evaluation import EvaluationMetrics
from core.model import Hyperparameters
from core.refusals import RefusedRows
from core.registry import RegisteredVersion
from core.threads import tree_threads


@dataclass(frozen=True)
class FitCost:
    """CPU seconds of the candidate's two fits (all threads): what a retrain costs."""

    judged: float = 0.0
    refit: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "fit_cpu_seconds": round(self.judged + self.refit, 2),
            "judged_fit_cpu_seconds": self.judged,
            "refit_cpu_seconds": self.refit,
        }


@dataclass(frozen=True)
class CandidateEvaluation:
    """The judged model's holdout figures, what the evaluation deck shows, and the bundle."""

    scores: np.ndarray  # the judged model's holdout scores
    metrics: EvaluationMetrics
    slices: pd.DataFrame  # `core.evaluation.slice_table`
    importance: pd.DataFrame  # `core.reports.feature_importance` on the holdout
    bundle_dir: Path


@tree_threads()  # a fresh thread choice at each call
def evaluate_candidate(
    judged: Any,
    deployed: Any,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    hyperparameters: Hyperparameters,
    bundle_dir: Path,
    cost: FitCost = FitCost(),
    recency_half_life_months: float = 0.0,
) -> CandidateEvaluation:
    """Score the holdout with the judged model (fit on `train` only), compute its metrics, slices
    and permutation importance, and write the bundle of the deployed model (refit on training +
    holdout) into `bundle_dir`: model.skops, trees.treelite, schema.json, reference.json,
    metadata.json without registry fields yet. The trees predict thousands of times here
    (holdout, permutation importance, parity): on the free cores, one thread when they are taken,
    as a fit (core/threads.py)."""
    from core import bundle, drift, evaluation, reports
    from core.estimation import fit_calibration
    from core.model import predict_scores

    label = usecases.current().label
    scores = predict_scores(judged, holdout)
    metrics = evaluation.evaluate(holdout[label].to_numpy(), scores, hyperparameters.threshold)
    # What monitoring estimates performance without labels from: the score's calibration on rows
    # the judged model never fit.
    calibration = fit_calibration(holdout[label].to_numpy(), scores)
    slices = evaluation.slice_table(holdout, scores)
    # one permutation pass, the costliest part after the explanations: the deck shows it, the
    # bundle weighs drift by it
    importance = reports.feature_importance(judged, holdout)
    fitted = pd.concat([train, holdout], ignore_index=True)
    # The score's drift baseline: the judged model's holdout scores (out of sample, like
    # production's), not scores of rows a model fit (more confident than anything served).
    bundle.write_bundle(
        bundle_dir,
        deployed,
        bundle.build_schema(fitted, hyperparameters.threshold),
        bundle.build_reference(fitted, scores, float(fitted[label].mean()), calibration),
        Metadata(
            training_window=training_window(train, holdout, fitted, recency_half_life_months),
            metrics=metrics.as_dict(),
            # What monitoring weighs drift by: the share of each feature in what the model uses,
            # measured on rows the judged model never fit.
            feature_importance=drift.importance_weights(importance),
            hyperparameters=hyperparameters.as_params(),
            training_cost=cost.as_dict(),
        ),
    )
    return CandidateEvaluation(scores, metrics, slices, importance, Path(bundle_dir))


def training_window(
    train: pd.DataFrame, holdout: pd.DataFrame, fitted: pd.DataFrame, recency_half_life_months: float
) -> TrainingWindow:
    """The dates the judged model fit, the holdout it was judged on, and what the refit fit."""
    time = usecases.current().timestamp
    return TrainingWindow(
        train_start=f"{train[time].min():%Y-%m-%d}",
        train_end=f"{train[time].max():%Y-%m-%d}",
        holdout_start=f"{holdout[time].min():%Y-%m-%d}",
        holdout_end=f"{holdout[time].max():%Y-%m-%d}",
        fit_start=f"{fitted[time].min():%Y-%m-%d}",
        fit_end=f"{fitted[time].max():%Y-%m-%d}",
        recency_half_life_months=recency_half_life_months,
    )


def register_candidate(
    bundle_dir: Path,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    metrics: EvaluationMetrics,
    hyperparameters: Hyperparameters,
    as_of: str,
    execution_id: str,
    evaluation_dir: Path,
    refused: RefusedRows,
    started_at: datetime | None = None,
) -> RegisteredVersion:
    """Prove the compiled trees in `bundle_dir` reproduce the Pipeline on the whole holdout (else
    raise: such a bundle never registers), log the MLflow run (params, metrics, dataset digests,
    the Flyte execution, evaluation figures, bundle) and register the bundle as a model version,
    tagged with the code's commit and the time since `started_at` (`core.lineage`).
    Idempotent on the model file (`core.registry.log_training_run`)."""
    from contract.bundle import load_bundle
    from core import registry
    from core.lineage import Lineage, code_version
    from scoring.parity import check_parity

    loaded = load_bundle(bundle_dir, require_reference=False)
    parity = check_parity(loaded, holdout)
    metadata = replace(
        loaded.metadata,
        flyte_execution_id=execution_id,
        run_name=f"as-of-{as_of}",
        training_window=replace(loaded.metadata.training_window, as_of=as_of),
        compiled=replace(
            parity.compiled, parity_rows=parity.rows, parity_max_abs_diff=parity.compiled_max_abs_diff
        ),
    )
    return registry.log_training_run(
        bundle_dir=bundle_dir,
        metadata=metadata,
        params=hyperparameters.as_params(),
        metrics=metrics.as_dict(),
        train=train,
        holdout=holdout,
        evaluation_dir=evaluation_dir,
        refused=refused,
        lineage=Lineage(code_version(), started_at),
    )
