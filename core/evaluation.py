"""Holdout evaluation: threshold-free scores, calibration, and slices by the use case's slice
columns (`UseCase.slices`).

scikit-learn is imported inside the functions: `EvaluationMetrics` is a task output type, and
reading a workflow's signature should not cost scikit-learn's import time."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

import usecases
from usecases.spec import UseCase

CALIBRATION_BINS = 10


@dataclass
class EvaluationMetrics:
    """Holdout figures of one model; these are what the promotion gate and MLflow see."""

    roc_auc: float = 0.0
    log_loss: float = 0.0
    brier: float = 0.0
    calibration_error: float = 0.0  # expected calibration error over equal-width bins
    label_rate: float = 0.0
    mean_score: float = 0.0
    flagged_rate: float = 0.0  # share of rows at or above the threshold
    precision: float = 0.0
    recall: float = 0.0
    f1: float = 0.0
    n_rows: int = 0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def expected_calibration_error(labels: np.ndarray, scores: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(labels[mask].mean() - scores[mask].mean())
    return float(error)


def evaluate(labels: np.ndarray, scores: np.ndarray, threshold: float) -> EvaluationMetrics:
    from sklearn.metrics import (
        brier_score_loss,
        f1_score,
        log_loss,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    if len(np.unique(labels)) < 2:
        raise ValueError("the holdout holds a single class: ROC AUC is undefined")
    flagged = (scores >= threshold).astype(np.int64)
    return EvaluationMetrics(
        roc_auc=float(roc_auc_score(labels, scores)),
        log_loss=float(log_loss(labels, scores, labels=[0, 1])),
        brier=float(brier_score_loss(labels, scores)),
        calibration_error=expected_calibration_error(labels, scores),
        label_rate=float(labels.mean()),
        mean_score=float(scores.mean()),
        flagged_rate=float(flagged.mean()),
        precision=float(precision_score(labels, flagged, zero_division=0)),
        recall=float(recall_score(labels, flagged, zero_division=0)),
        f1=float(f1_score(labels, flagged, zero_division=0)),
        n_rows=int(len(labels)),
    )


SLICE_TABLE_COLUMNS = ["slice", "value", "n", "label_rate", "mean_score", "roc_auc"]


def slice_table(holdout: pd.DataFrame, scores: np.ndarray, case: UseCase | None = None) -> pd.DataFrame:
    """Per value of each of the use case's slice columns (the process's use case unless one is
    given): volume, label rate, mean score and ROC AUC (when both classes)."""
    from sklearn.metrics import roc_auc_score

    case = case or usecases.current()
    missing = [column for column in case.slices if column not in holdout.columns]
    if missing:
        raise ValueError(f"the holdout has no slice column(s) {missing} (use case '{case.name}', slices)")
    frame = holdout.assign(score=scores)
    label = case.label
    rows = []
    for column in case.slices:
        for value, group in frame.groupby(column, sort=True, observed=True):
            both = group[label].nunique() == 2
            rows.append(
                {
                    "slice": column,
                    "value": value,
                    "n": len(group),
                    "label_rate": group[label].mean(),
                    "mean_score": group["score"].mean(),
                    "roc_auc": roc_auc_score(group[label], group["score"]) if both else np.nan,
                }
            )
    return pd.DataFrame(rows, columns=SLICE_TABLE_COLUMNS)


def calibration_points(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean predicted, observed rate) per bin, for the reliability plot."""
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(labels, scores, n_bins=CALIBRATION_BINS, strategy="quantile")
    return predicted, observed
