"""The promotion decision as a plain function."""

from __future__ import annotations

import math

from core.evaluation import EvaluationMetrics
from core.gate import GateConfig, decide, sanity_failures

SANE = EvaluationMetrics(roc_auc=0.75, calibration_error=0.02, flagged_rate=0.3, log_loss=0.5)


def test_first_sane_model_is_promoted():
    assert decide(SANE, None, GateConfig()) == (
        True,
        ["no champion yet and every sanity check passed"],
    )


def test_candidate_must_win_by_the_margin():
    config = GateConfig(min_auc_gain=0.01)
    champion = EvaluationMetrics(roc_auc=0.745)
    promoted, reasons = decide(SANE, champion, config)
    assert not promoted and "gain +0.0050, margin 0.0100" in reasons[0] and "champion stays" in reasons[0]
    promoted, reasons = decide(SANE, EvaluationMetrics(roc_auc=0.73), config)
    assert promoted and "candidate wins" in reasons[0]


def test_insane_candidate_never_wins_even_against_a_weaker_champion():
    bad = EvaluationMetrics(roc_auc=0.9, calibration_error=0.3, flagged_rate=0.95)
    promoted, reasons = decide(bad, EvaluationMetrics(roc_auc=0.6), GateConfig())
    assert not promoted
    assert reasons == [
        "sanity check failed: calibration error 0.3000 above 0.08",
        "sanity check failed: flagged rate 0.950 outside [0.01, 0.90]",
    ]


def test_non_finite_metrics_fail_sanity():
    assert "a holdout metric is not finite" in sanity_failures(
        EvaluationMetrics(roc_auc=0.8, log_loss=math.nan, flagged_rate=0.3), GateConfig()
    )
