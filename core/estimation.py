"""Performance estimated without labels: confidence-based performance estimation (CBPE).

A calibrated probability says how often the model is right: of the rows scored 0.3, three in ten
turn out positive. Summing the calibrated probabilities over a period's rows gives the expected
confusion matrix at any threshold, and over every threshold the expected ROC curve, so the ROC
AUC the labels will show, if the relation between the features and the outcome has not changed
(NannyML's CBPE; its documentation, "Estimation of Performance of the Monitored Model", names
the assumptions: calibrated probabilities, no covariate shift into unseen regions, no concept
drift, a large enough sample).

- The calibration is the champion's own, fit on its holdout (rows the judged model never fit):
  an isotonic map from score to the observed positive rate, kept in the bundle's reference.json
  (`contract.bundle.Calibration`). As NannyML does, the map is kept only when it lowers the
  expected calibration error on held-out folds of the holdout; otherwise the identity is kept.
- ROC AUC: rows sorted by the model's score (its ranking), each row counting its calibrated
  probability as an expected positive and the rest as an expected negative; the area under
  the expected curve, with tied scores taken together (the trapezoid, like `roc_auc_score`).
- Confusion matrix at the threshold: the flagged rows' summed probability is the expected true
  positives, the rest of them false positives; likewise for the rows not flagged.

Why not the nannyml package: it computes the same sums, but it brings about twenty dependencies
into the task image (FLAML's automl, LightGBM, plotly and kaleido, s3fs and gcsfs, APScheduler, a
telemetry client), works on raw reference frames where the bundle keeps a compact calibration,
and the estimate is about thirty lines of numpy.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Final, Literal

import numpy as np

from contract.bundle import Calibration

CALIBRATION_FOLDS = 3
CALIBRATION_TEST_SHARE = 0.3
IDENTITY: Final[Literal["identity"]] = "identity"
ISOTONIC: Final[Literal["isotonic"]] = "isotonic"


@dataclass(frozen=True)
class PerformanceEstimate:
    """What the labels are expected to show on a period's rows: ROC AUC and the confusion matrix
    at the threshold (shares of the rows), with the precision and recall they give."""

    roc_auc: float = math.nan
    true_positive: float = math.nan
    false_positive: float = math.nan
    true_negative: float = math.nan
    false_negative: float = math.nan
    precision: float = math.nan
    recall: float = math.nan
    expected_positive_rate: float = math.nan
    n_rows: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def fit_calibration(labels: np.ndarray, scores: np.ndarray, seed: int = 0) -> Calibration:
    """The isotonic map from score to observed positive rate on (holdout) `labels` and
    `scores`, or the identity when the map does not lower the expected calibration error on
    held-out folds (NannyML's rule: calibrate only when it helps)."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.model_selection import StratifiedShuffleSplit

    from core.evaluation import expected_calibration_error

    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    if len(np.unique(labels)) < 2:
        raise ValueError("calibration needs both classes among the holdout's labels")
    folds = StratifiedShuffleSplit(CALIBRATION_FOLDS, test_size=CALIBRATION_TEST_SHARE, random_state=seed)
    raw_error, calibrated_error = [], []
    for fit_rows, test_rows in folds.split(scores, labels):
        fold = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        fold.fit(scores[fit_rows], labels[fit_rows])
        raw_error.append(expected_calibration_error(labels[test_rows], scores[test_rows]))
        calibrated_error.append(
            expected_calibration_error(labels[test_rows], fold.predict(scores[test_rows]))
        )
    rows = int(len(labels))
    if np.mean(calibrated_error) >= np.mean(raw_error):
        return Calibration(method=IDENTITY, rows=rows)
    full = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(scores, labels)
    return Calibration(
        method=ISOTONIC,
        rows=rows,
        scores=[float(x) for x in full.X_thresholds_],
        probabilities=[float(y) for y in full.y_thresholds_],
    )


def calibrate(calibration: Calibration, scores: np.ndarray) -> np.ndarray:
    """The calibrated probability of each score (clipped to the map's ends outside its range)."""
    scores = np.asarray(scores, dtype=np.float64)
    if calibration.method == IDENTITY:
        return scores
    return np.interp(scores, calibration.scores, calibration.probabilities)


def estimated_roc_auc(probabilities: np.ndarray, scores: np.ndarray) -> float:
    """The area under the expected ROC curve: rows ranked by `scores`, each an expected positive
    of weight `probabilities` (calibrated) and an expected negative of the rest. NaN when the
    expectation holds no positive or no negative (all probabilities 0, or all 1)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if probabilities.size == 0:
        return math.nan
    order = np.argsort(-scores, kind="stable")
    ranked, expected = scores[order], probabilities[order]
    positives, negatives = np.cumsum(expected), np.cumsum(1.0 - expected)
    # One point of the curve per distinct score: tied rows move it together (a straight segment).
    last_of_tie = np.r_[ranked[1:] != ranked[:-1], True]
    tp, fp = np.r_[0.0, positives[last_of_tie]], np.r_[0.0, negatives[last_of_tie]]
    if tp[-1] <= 0.0 or fp[-1] <= 0.0:
        return math.nan
    tpr, fpr = tp / tp[-1], fp / fp[-1]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def estimate(probabilities: np.ndarray, scores: np.ndarray, threshold: float) -> PerformanceEstimate:
    """The expected ROC AUC and confusion matrix (shares of the rows) at `threshold` (a row is
    flagged when its score reaches it, as the model's output flag is)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    n = int(probabilities.size)
    if n == 0:
        return PerformanceEstimate()
    flagged = scores >= threshold
    tp = float(probabilities[flagged].sum()) / n
    fp = float((1.0 - probabilities[flagged]).sum()) / n
    fn = float(probabilities[~flagged].sum()) / n
    tn = float((1.0 - probabilities[~flagged]).sum()) / n
    return PerformanceEstimate(
        roc_auc=estimated_roc_auc(probabilities, scores),
        true_positive=tp,
        false_positive=fp,
        true_negative=tn,
        false_negative=fn,
        precision=tp / (tp + fp) if tp + fp > 0 else math.nan,
        recall=tp / (tp + fn) if tp + fn > 0 else math.nan,
        expected_positive_rate=tp + fn,
        n_rows=n,
    )


def estimate_from_scores(
    calibration: Calibration, scores: np.ndarray, threshold: float
) -> PerformanceEstimate:
    """`estimate` on the calibrated probabilities of `scores` (the model's raw output)."""
    return estimate(calibrate(calibration, scores), scores, threshold)
