"""The promotion gate: a plain decision over holdout figures, no registry calls in here."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from core.evaluation import EvaluationMetrics

CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass
class GateConfig:
    """A candidate replaces the champion only if it wins by `min_auc_gain` on the same holdout
    and passes every sanity check."""

    min_auc_gain: float = 0.002
    min_auc: float = 0.60
    max_calibration_error: float = 0.08
    min_flagged_rate: float = 0.01
    max_flagged_rate: float = 0.90


@dataclass
class GateDecision:
    model_name: str = ""
    version: str = ""
    alias: str = ""
    promoted: bool = False
    previous_champion: str = ""  # empty when there was none
    candidate_auc: float = 0.0
    champion_auc: float = 0.0  # the previous champion re-scored on the candidate's holdout
    reasons: list[str] = field(default_factory=list)


def sanity_failures(metrics: EvaluationMetrics, config: GateConfig) -> list[str]:
    failures = []
    values = metrics.as_dict().values()
    if any(isinstance(v, float) and not math.isfinite(v) for v in values):
        failures.append("a holdout metric is not finite")
    if metrics.roc_auc < config.min_auc:
        failures.append(f"ROC AUC {metrics.roc_auc:.4f} below the floor {config.min_auc:.2f}")
    if metrics.calibration_error > config.max_calibration_error:
        failures.append(
            f"calibration error {metrics.calibration_error:.4f} above {config.max_calibration_error:.2f}"
        )
    if not config.min_flagged_rate <= metrics.flagged_rate <= config.max_flagged_rate:
        failures.append(
            f"flagged rate {metrics.flagged_rate:.3f} outside "
            f"[{config.min_flagged_rate:.2f}, {config.max_flagged_rate:.2f}]"
        )
    return failures


def decide(
    candidate: EvaluationMetrics,
    champion: EvaluationMetrics | None,
    config: GateConfig,
) -> tuple[bool, list[str]]:
    """(promote?, reasons). `champion` is the current champion scored on the candidate's holdout."""
    failures = sanity_failures(candidate, config)
    if failures:
        return False, ["sanity check failed: " + f for f in failures]
    if champion is None:
        return True, ["no champion yet and every sanity check passed"]
    gain = candidate.roc_auc - champion.roc_auc
    verdict = (
        f"ROC AUC {candidate.roc_auc:.4f} vs champion {champion.roc_auc:.4f} on the same holdout "
        f"(gain {gain:+.4f}, margin {config.min_auc_gain:.4f})"
    )
    if gain >= config.min_auc_gain:
        return True, [verdict + ": candidate wins"]
    return False, [verdict + ": champion stays"]
