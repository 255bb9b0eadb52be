"""Performance estimated without labels (core.estimation) on constructed scores whose truth is
drawn from known probabilities: what it recovers, and what it cannot see."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, roc_auc_score

from contract.bundle import BundleError, Calibration
from core.estimation import (
    IDENTITY,
    ISOTONIC,
    calibrate,
    estimate,
    estimate_from_scores,
    estimated_roc_auc,
    fit_calibration,
)
from core.evaluation import expected_calibration_error

N = 20_000


def probabilities(n: int = N, seed: int = 0, a: float = 2.0, b: float = 5.0) -> np.ndarray:
    return np.random.default_rng(seed).beta(a, b, n)


def draw(p: np.ndarray, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).uniform(size=p.size) < p).astype(int)


def test_with_certain_outcomes_the_estimate_is_the_realized_auc_ties_included():
    """When each probability is 0 or 1 the expected curve is the realized one: the estimate
    must equal roc_auc_score exactly, scores tied in blocks included."""
    rng = np.random.default_rng(1)
    scores = np.round(rng.uniform(size=5_000), 2)  # about 100 distinct values: many ties
    labels = draw(scores, 2)
    assert estimated_roc_auc(labels.astype(float), scores) == pytest.approx(
        roc_auc_score(labels, scores), abs=1e-12
    )


def test_calibrated_scores_estimate_the_auc_their_labels_show():
    p = probabilities()
    realized = [roc_auc_score(draw(p, seed), p) for seed in range(20)]
    assert estimated_roc_auc(p, p) == pytest.approx(np.mean(realized), abs=0.002)


def test_the_confusion_matrix_is_what_the_labels_give_on_average():
    p, threshold = probabilities(), 0.35
    flagged = (p >= threshold).astype(int)
    # confusion_matrix rows are the truth (0, 1), columns the flag (0, 1)
    mean = np.mean([confusion_matrix(draw(p, s), flagged, labels=[0, 1]) for s in range(50)], axis=0) / N
    estimated = estimate(p, p, threshold)
    assert estimated.true_negative == pytest.approx(mean[0, 0], abs=0.002)
    assert estimated.false_positive == pytest.approx(mean[0, 1], abs=0.002)
    assert estimated.false_negative == pytest.approx(mean[1, 0], abs=0.002)
    assert estimated.true_positive == pytest.approx(mean[1, 1], abs=0.002)
    assert estimated.true_positive + estimated.false_positive + estimated.true_negative + (
        estimated.false_negative
    ) == pytest.approx(1.0)
    assert estimated.precision == pytest.approx(mean[1, 1] / (mean[1, 1] + mean[0, 1]), abs=0.005)
    assert estimated.recall == pytest.approx(mean[1, 1] / (mean[1, 1] + mean[1, 0]), abs=0.005)
    assert estimated.n_rows == N


def test_a_miscalibrated_score_is_calibrated_on_the_holdout_and_then_estimates_right():
    """The model ranks well but its scores are squashed (p squared): the raw scores taken as
    probabilities mislead the estimate; the isotonic map fit on a holdout repairs it."""
    p = probabilities()
    scores = p**2
    holdout = fit_calibration(draw(p, 3), scores)
    assert holdout.method == ISOTONIC and holdout.rows == N
    later = probabilities(seed=4)  # new rows: the same relation between score and outcome
    realized = np.mean([roc_auc_score(draw(later, s), later**2) for s in range(20)])
    raw = estimated_roc_auc(later**2, later**2)
    repaired = estimate_from_scores(holdout, later**2, 0.35).roc_auc
    assert abs(repaired - realized) < 0.005 < abs(raw - realized)
    labels = draw(later, 5)
    assert expected_calibration_error(labels, calibrate(holdout, later**2)) < 0.02
    assert expected_calibration_error(labels, later**2) > 0.05


def test_scores_already_calibrated_keep_the_identity():
    p = probabilities(seed=6)
    kept = fit_calibration(draw(p, 7), p)
    assert kept.method == IDENTITY and kept.scores == []
    assert np.array_equal(calibrate(kept, p), p)


def test_the_estimate_follows_a_change_of_the_inputs():
    """Covariate shift: the period holds more of the easy rows (scores near 0 or 1). The relation
    between score and outcome is unchanged, so the estimate moves with the realized AUC."""
    before, after = probabilities(seed=8), probabilities(seed=9, a=0.6, b=1.5)
    realized = [np.mean([roc_auc_score(draw(p, s), p) for s in range(10)]) for p in (before, after)]
    estimated = [estimated_roc_auc(p, p) for p in (before, after)]
    assert realized[1] - realized[0] > 0.05
    assert estimated[1] - estimated[0] == pytest.approx(realized[1] - realized[0], abs=0.005)


def test_the_estimate_cannot_see_a_change_in_how_inputs_relate_to_the_outcome():
    """Concept drift: the same scores, but the outcome now depends on them half as much. The
    labels show the model decayed; the estimate, which reads only the scores, does not move."""
    p = probabilities(seed=10)
    changed = 0.5 * p + 0.5 * p.mean()
    realized_before = roc_auc_score(draw(p, 11), p)
    realized_after = roc_auc_score(draw(changed, 12), p)
    assert realized_before - realized_after > 0.05
    assert estimated_roc_auc(p, p) == pytest.approx(realized_before, abs=0.01)  # still the old figure


def test_undefined_estimates_are_nan_not_a_number_made_up():
    assert math.isnan(estimated_roc_auc(np.zeros(10), np.linspace(0, 1, 10)))  # no expected positive
    assert math.isnan(estimate(np.empty(0), np.empty(0), 0.5).roc_auc)
    with pytest.raises(ValueError, match="both classes"):
        fit_calibration(np.zeros(100, dtype=int), np.linspace(0, 1, 100))


def test_a_malformed_calibration_is_refused_naming_the_field():
    with pytest.raises(BundleError, match="calibration: scores and probabilities differ in length"):
        Calibration(method="isotonic", rows=10, scores=[0.1, 0.2], probabilities=[0.1])
    with pytest.raises(BundleError, match="calibration method 'platt'"):
        Calibration(method="platt", rows=10)  # type: ignore[arg-type]
    with pytest.raises(BundleError, match="an isotonic map needs its points"):
        Calibration(method="isotonic", rows=10)


def test_the_bundle_carries_the_holdout_calibration_and_an_older_bundle_has_none(tmp_path):
    import json

    from contract.bundle import NumericReference, Reference, read_reference, write_reference

    p = probabilities(n=3_000, seed=13)
    calibration = fit_calibration(draw(p, 14), p**2)
    score = NumericReference(edges=[0.2, 0.4], proportions=[0.3, 0.4, 0.3], missing_rate=0.0)
    write_reference(tmp_path, Reference(3_000, 0.3, {}, score, calibration))
    read = read_reference(tmp_path)
    assert read.calibration == calibration
    assert np.array_equal(calibrate(read.calibration, p**2), calibrate(calibration, p**2))
    older = json.loads((tmp_path / "reference.json").read_text())
    del older["calibration"]
    (tmp_path / "reference.json").write_text(json.dumps(older))
    assert read_reference(tmp_path).calibration is None
    older["calibration"] = {"method": "isotonic", "rows": 3, "scores": [0.1], "probabilities": []}
    (tmp_path / "reference.json").write_text(json.dumps(older))
    with pytest.raises(BundleError, match="calibration: scores and probabilities differ in length"):
        read_reference(tmp_path)
