"""Training workflow: data -> fit (judged) -> refit on every known label (deployed) -> evaluate
(deck) -> MLflow run + registered version -> gate.

pyflyte run workflows/training.py training_workflow --as_of 2013-07-01
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from flytekit import workflow

from core.gate import GateConfig, GateDecision
from core.model import Hyperparameters, use_case_hyperparameters
from tasks.data import DataConfig
from tasks.lineage import workflow_started
from tasks.training import evaluate_model, promotion_gate, refit_model, register_model, train_model
from tasks.util import date_label, tracking_target
from workflows.data import data_workflow


@workflow
def training_workflow(
    as_of: datetime,
    hyperparameters: Hyperparameters = use_case_hyperparameters(),
    data: DataConfig = DataConfig(),
    gate: GateConfig = GateConfig(),
) -> GateDecision:
    """Fit on the months before `as_of`'s holdout month and judge on the holdout; refit on every
    label known at `as_of`, register the refit, and let the gate decide on the holdout (where the
    judged model never fit). The holdout starts after the champion's last fit day when that falls
    inside it: the judged model fits every row the champion fit."""
    candidate = candidate_nodes(as_of, hyperparameters, data, faces_champion=True)
    return promotion_gate(
        tracking_uri=candidate.tracking_uri,
        registered=candidate.registered,
        metrics=candidate.metrics,
        holdout=candidate.holdout,
        config=gate,
        judged_model_file=candidate.judged_model_file,
    )


class CandidateNodes(NamedTuple):
    """The outputs of `candidate_nodes` inside the workflow being compiled (Flyte promises)."""

    tracking_uri: Any
    registered: Any
    metrics: Any
    holdout: Any
    judged_model_file: Any


def candidate_nodes(
    as_of: datetime, hyperparameters: Hyperparameters, data: DataConfig, faces_champion: bool = False
) -> CandidateNodes:
    """Called in a workflow's body: adds data -> fit (judged) -> refit (deployed) -> evaluate ->
    MLflow run + registered version to that workflow. The training workflow adds the gate (and
    `faces_champion`: the holdout starts after the champion's last fit day when that falls inside
    it); the replay's unconditional monthly retrain stops here. Nodes, not a sub-workflow: both
    workflows run the same tasks with the same inputs, so a training they share (whenever the
    champion leaves the holdout unchanged) is one cached computation."""
    started_at = workflow_started()  # first, with no input: the training run's duration starts here
    split = data_workflow(as_of=as_of, config=data, faces_champion=faces_champion)
    # Each call reads the attribute itself: flytekit resolves a promise's attribute path in place,
    # so one promise shared by two tasks fails on the second.
    trained = train_model(
        train=split.train,
        hyperparameters=hyperparameters,
        recency_half_life_months=data.recency_half_life_months,
    )
    refit = refit_model(
        judged_model_file=trained.model_file,
        train=split.train,
        holdout=split.holdout,
        hyperparameters=hyperparameters,
        recency_half_life_months=data.recency_half_life_months,
    )
    evaluation = evaluate_model(
        model_file=trained.model_file,
        deployed_model_file=refit.model_file,
        train=split.train,
        holdout=split.holdout,
        hyperparameters=hyperparameters,
        fit_cpu_seconds=trained.fit_cpu_seconds,
        refit_cpu_seconds=refit.fit_cpu_seconds,
        recency_half_life_months=data.recency_half_life_months,
    )
    tracking_uri = tracking_target()
    registered = register_model(
        tracking_uri=tracking_uri,
        bundle=evaluation.bundle,
        train=split.train,
        holdout=split.holdout,
        metrics=evaluation.metrics,
        hyperparameters=hyperparameters,
        as_of=date_label(moment=as_of),
        figures=evaluation.figures,
        refused=split.refused,
        started_at=started_at,
    )
    return CandidateNodes(tracking_uri, registered, evaluation.metrics, split.holdout, trained.model_file)
